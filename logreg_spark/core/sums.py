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

from collections.abc import Iterable
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


#: Rows are processed in chunks of about this size, so that X·θ and rᵀX read
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
) -> np.ndarray:
    """The flat sums (see :class:`Layout`) of one block of rows.

    ``X`` is ``(n, d)``, float64 or float32 (each chunk is then widened to
    float64, so all arithmetic and sums are float64), dense or CSR (then taken
    whole: its products only touch the non-zeros); ``y`` holds the labels and
    ``w`` non-negative weights, both of length ``n``. ``coef``/``intercept`` are
    on the scale of ``X``: (d,) and a number, or (K, d) and (K,). Probabilities
    that underflow (margins beyond about ±745) are exactly 0 to float64, so
    underflow is not an error here.
    """
    with np.errstate(under="ignore"):
        return _block_sums(X, y, w, coef, intercept, layout)


def _block_sums(
    X: Features, y: np.ndarray, w: np.ndarray, coef: np.ndarray, intercept: float | np.ndarray, layout: Layout
) -> np.ndarray:
    out = layout.zeros()
    chunks: Iterable[tuple[Features, slice]]
    if isinstance(X, np.ndarray):
        step = max(1, CHUNK_BYTES // max(X.itemsize * X.shape[1], 1))
        chunks = (
            (np.asarray(X[rows], dtype=np.float64), rows)
            for rows in (slice(start, start + step) for start in range(0, X.shape[0], step))
        )
    else:
        chunks = [(X.astype(np.float64, copy=False), slice(None))]
    p, end = layout.n_params, _HEAD + layout.n_params + layout.hessian_size
    for chunk, rows in chunks:
        loss, misclassified, gradient, hessian, diagonal = layout.family.chunk_sums(
            chunk, y[rows], w[rows], coef, intercept, layout.hessian, layout.diagonal
        )
        out[:_HEAD] += (loss, w[rows].sum(), chunk.shape[0], misclassified)
        out[_HEAD : _HEAD + p] += gradient.ravel()
        if hessian is not None:
            out[_HEAD + p : end] += hessian.ravel()
        if diagonal is not None:
            out[end:] += diagonal.ravel()
    return out
