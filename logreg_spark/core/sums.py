"""The sums one block of rows contributes to a pass, as one flat vector.

A block returns a flat float64 vector (cheap to pickle and to add, which is
all the distributed reduction does with it)::

    [Σ w ℓ, Σ w, rows, misclassified weight,
     gradient (m × (d + 1) values), Hessian ((m (d + 1))² values, only when asked),
     its diagonal's sums (m × (2d + 1) values, only when asked)]

where ``m`` is the number of margins of the :class:`~.family.Family`: 1 for
the binomial model (the margin of label 1), K for the multinomial one (one per
class). Each margin's ``d + 1`` entries have the intercept last.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
from scipy import sparse

from .family import Family

#: A block's features: a dense column-major array, or a CSR sparse array.
Features: TypeAlias = np.ndarray | sparse.csr_array

_HEAD = 4  # scalars before the gradient


@dataclass(frozen=True)
class Layout:
    """Positions of the sums in the flat vector one block returns."""

    n_features: int
    family: Family
    hessian: bool = False
    diagonal: bool = False

    @property
    def n_params(self) -> int:
        return self.family.n_margins * (self.n_features + 1)

    @property
    def hessian_size(self) -> int:
        return self.n_params**2 if self.hessian else 0

    @property
    def diagonal_size(self) -> int:
        return self.family.n_margins * (2 * self.n_features + 1) if self.diagonal else 0

    @property
    def size(self) -> int:
        return _HEAD + self.n_params + self.hessian_size + self.diagonal_size

    def zeros(self) -> np.ndarray:
        return np.zeros(self.size)

    def unpack(self, flat: np.ndarray) -> Sums:
        p = self.n_params
        gradient = flat[_HEAD : _HEAD + p]
        return Sums(
            loss=float(flat[0]),
            weight=float(flat[1]),
            rows=int(round(flat[2])),
            misclassified=float(flat[3]),
            gradient=self.family.rows(gradient),
            hessian=flat[_HEAD + p : _HEAD + p + self.hessian_size].reshape(p, p) if self.hessian else None,
            diagonal=flat[_HEAD + p + self.hessian_size :].reshape(self.family.n_margins, -1)
            if self.diagonal
            else None,
        )


@dataclass(frozen=True)
class Sums:
    """Sums over all rows. ``gradient`` is (d + 1,) or (K, d + 1), intercepts last;
    ``hessian`` is over the gradient's entries in row-major order; ``diagonal`` holds, per
    margin, ``[Σ v x², Σ v x, Σ v]`` with v the Hessian's row weights (w h(1 − h), or
    w pₖ(1 − pₖ)), from which its diagonal in any centred coordinates follows."""

    loss: float
    weight: float
    rows: int
    misclassified: float  # weight of rows the model gets wrong
    gradient: np.ndarray
    hessian: np.ndarray | None
    diagonal: np.ndarray | None = None


@dataclass(frozen=True)
class HeldOut:
    """Sums over the rows a model holds out (its fold): the loss it would have there."""

    loss: float
    weight: float
    rows: int


#: The held-out rows' [Σ w ℓ, Σ w, rows] that follow each request's layout in a shared pass.
HELD_OUT_SIZE = 3


@dataclass(frozen=True)
class Request:
    """One model's point in a pass. Its sums (laid out by ``layout``) are over the rows whose
    fold is not ``held_out`` (every row when None); the held-out rows' :class:`HeldOut` sums
    follow them."""

    coef: np.ndarray
    intercept: float | np.ndarray
    layout: Layout
    held_out: int | None = None

    @property
    def size(self) -> int:
        return self.layout.size + HELD_OUT_SIZE


def shared_size(requests: Sequence[Request]) -> int:
    """Entries of a shared pass's flat sums: every request's layout and held-out sums."""
    return sum(request.size for request in requests)


def unpack_requests(flat: np.ndarray, requests: Sequence[Request]) -> list[tuple[Sums, HeldOut]]:
    """The flat sums of a shared pass (:func:`shared_block_sums`) → each request's."""
    out, start = [], 0
    for request in requests:
        end = start + request.layout.size
        loss, weight, rows = flat[end : end + HELD_OUT_SIZE]
        out.append((request.layout.unpack(flat[start:end]), HeldOut(float(loss), float(weight), int(round(rows)))))
        start = end + HELD_OUT_SIZE
    return out


#: Rows are processed in chunks of about this size, so that X·Θ and Rᵀ X read
#: each chunk from memory once (the second use hits the CPU cache). Chunks of
#: a column-major X are strided views: no copy.
CHUNK_BYTES = 4 << 20


def block_sums(
    X: Features,
    y: np.ndarray,
    w: np.ndarray,
    coef: np.ndarray,
    intercept: float | np.ndarray,
    layout: Layout,
    offset: np.ndarray | None = None,
) -> np.ndarray:
    """The flat sums (see :class:`Layout`) of one block of rows at one point: :func:`shared_block_sums`
    of one request on every row."""
    return shared_block_sums(X, y, w, None, [Request(coef, intercept, layout)], offset)[: layout.size]


def shared_block_sums(
    X: Features,
    y: np.ndarray,
    w: np.ndarray,
    fold: np.ndarray | None,
    requests: Sequence[Request],
    offset: np.ndarray | None = None,
) -> np.ndarray:
    """The flat sums of every request on one block of rows, concatenated (each request's layout,
    then its :class:`HeldOut` sums), from one product X·Θ for all their margins and one Rᵀ X
    for all their gradients.

    ``X`` is ``(n, d)``, float64 or float32 (each chunk is then widened to
    float64, so all arithmetic and sums are float64), dense or CSR (then taken
    whole: its products only touch the non-zeros); ``y`` holds the labels and
    ``w`` non-negative weights, both of length ``n``; ``fold`` each row's fold id
    (needed when a request holds one out); ``offset`` each row's fixed term added to its
    margin (None: 0), ``z = xᵀβ + b + offset``, which changes h and so every sum but enters
    no derivative: it is not a parameter. Each request's ``coef``/``intercept`` are
    on the scale of ``X``: (d,) and a number, or (K, d) and (K,). Probabilities
    that underflow (margins beyond about ±745) are exactly 0 to float64, so
    underflow is not an error here.
    """
    with np.errstate(under="ignore"):
        return _shared_block_sums(X, y, w, fold, requests, offset)


#: Rows per chunk of a CSR block when many models share a pass: their per-row arithmetic then
#: stays in the CPU cache (80 models, 10,000 features: a quarter faster than the block whole).
SPARSE_CHUNK_ROWS = 8192


def _chunks(X: Features, margins: int) -> Iterable[tuple[Features, slice]]:
    """``X`` in float64 chunks of rows, with their rows. A CSR ``X`` is cut into chunks of
    :data:`SPARSE_CHUNK_ROWS` rows only when many models (``margins`` columns of Θ) share the
    pass and each chunk's dense Xᵀ R (8 d · margins bytes) stays within 4 :data:`CHUNK_BYTES`."""
    if isinstance(X, np.ndarray):
        step = max(1, CHUNK_BYTES // max(X.itemsize * X.shape[1], 1))
        return (
            (np.asarray(X[rows], dtype=np.float64), rows)
            for rows in (slice(start, start + step) for start in range(0, X.shape[0], step))
        )
    X = X.astype(np.float64, copy=False)
    if margins == 1 or 8 * X.shape[1] * margins > 4 * CHUNK_BYTES:
        return [(X, slice(None))]
    rows = (slice(start, start + SPARSE_CHUNK_ROWS) for start in range(0, X.shape[0], SPARSE_CHUNK_ROWS))
    return ((X[part], part) for part in rows)


def _shared_block_sums(
    X: Features,
    y: np.ndarray,
    w: np.ndarray,
    fold: np.ndarray | None,
    requests: Sequence[Request],
    offset: np.ndarray | None,
) -> np.ndarray:
    out = np.zeros(shared_size(requests))
    starts = np.cumsum([0, *(request.size for request in requests)])
    views = [out[start : start + request.size] for start, request in zip(starts, requests)]
    bounds = np.cumsum([0, *(request.layout.family.n_margins for request in requests)])
    columns = [slice(bounds[i], bounds[i + 1]) for i in range(len(requests))]
    coefs = np.vstack([np.reshape(request.coef, (-1, X.shape[1])) for request in requests]).T  # d × M
    intercepts = np.concatenate([np.ravel(request.intercept) for request in requests])
    by_feature, by_intercept = np.zeros(coefs.shape[::-1]), np.zeros(coefs.shape[1])
    for chunk, rows in _chunks(X, coefs.shape[1]):
        Z = _product(chunk, coefs)
        Z += intercepts
        if offset is not None:
            Z += offset[rows, None]
        split = _split_weights(None if fold is None else fold[rows], w[rows], {r.held_out for r in requests})
        residuals = [
            _add_request(view, chunk, y[rows], split[request.held_out], Z[:, cols], request.layout)
            for view, cols, request in zip(views, columns, requests)
        ]
        R = residuals[0] if len(residuals) == 1 else np.hstack(residuals)
        by_feature += _transposed_product(R, chunk)
        by_intercept += R.sum(axis=0)
    for view, cols, request in zip(views, columns, requests):
        gradient = np.hstack([by_feature[cols], by_intercept[cols, None]])
        view[_HEAD : _HEAD + request.layout.n_params] = gradient.ravel()
    return out


#: A chunk's rows as one request sees them: its training weights, its held-out weights (None
#: when it holds no rows out) and its number of training rows.
SplitWeights = tuple[np.ndarray, np.ndarray | None, int]


def _split_weights(fold: np.ndarray | None, w: np.ndarray, held_out: set[int | None]) -> dict[int | None, SplitWeights]:
    """For each fold some request holds out (None: none), the chunk's weights split into its
    training and held-out rows: once per fold, however many requests hold it out."""
    split: dict[int | None, SplitWeights] = {}
    for h in held_out:
        if h is None:
            split[h] = (w, None, w.size)
            continue
        assert fold is not None, "a request holding out a fold needs the rows' fold ids"
        held = fold == h
        split[h] = (np.where(held, 0.0, w), np.where(held, w, 0.0), w.size - int(np.count_nonzero(held)))
    return split


def _product(X: Features, coefs: np.ndarray) -> np.ndarray:
    """X·Θ (n × M); for one dense column as a matrix-vector product (a third faster)."""
    if coefs.shape[1] == 1 and isinstance(X, np.ndarray):
        return (X @ coefs[:, 0])[:, None]
    return X @ coefs


def _transposed_product(R: np.ndarray, X: Features) -> np.ndarray:
    """Rᵀ X (M × d), in the faster form for each kind of X."""
    if R.shape[1] == 1 and isinstance(X, np.ndarray):
        return (R[:, 0] @ X)[None, :]
    return np.asarray(X.T @ R).T  # (for a column-major X twice as fast as Rᵀ X)


def _add_request(
    out: np.ndarray, chunk: Features, y: np.ndarray, split: SplitWeights, Z: np.ndarray, layout: Layout
) -> np.ndarray:
    """Add one request's sums but the gradient (the product of its residuals with the chunk, done
    for all requests at once) to ``out``, over its training rows, and its held-out sums, as
    ``split`` (:func:`_split_weights`) divides the rows; return its weighted residuals R (n ×
    margins)."""
    train, held_w, rows = split
    loss, residual, wrong, terms = layout.family.row_terms(Z, y, train)
    if held_w is not None:
        out[layout.size :] += (held_w @ loss, held_w.sum(), Z.shape[0] - rows)
    out[:_HEAD] += (train @ loss, train.sum(), rows, train[wrong].sum())
    p, end = layout.n_params, _HEAD + layout.n_params + layout.hessian_size
    hessian, diagonal = layout.family.curvature(chunk, train, terms, layout.hessian, layout.diagonal)
    if hessian is not None:
        out[_HEAD + p : end] += hessian.ravel()
    if diagonal is not None:
        out[end : layout.size] += diagonal.ravel()
    return residual
