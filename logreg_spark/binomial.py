"""The binomial log-likelihood on one block of rows: the math of one pass.

For rows ``xᵢ`` with labels ``yᵢ ∈ {0, 1}``, weights ``wᵢ ≥ 0``, coefficients
``β`` and intercept ``b``::

    zᵢ = xᵢᵀβ + b                      (margin)
    hᵢ = sigmoid(zᵢ) = 1 / (1 + e^(−zᵢ))
    ℓᵢ = log(1 + e^(zᵢ)) − yᵢ zᵢ       (log loss of row i)

A block contributes these sums, which add up across blocks and partitions::

    Σ wᵢ ℓᵢ                            (loss)
    Σ wᵢ (hᵢ − yᵢ) xᵢ                  (gradient in β)
    Σ wᵢ (hᵢ − yᵢ)                     (gradient in b)
    Σ wᵢ [row i on the wrong side: (2yᵢ − 1) zᵢ ≤ 0]   (misclassified weight)
    Σ wᵢ hᵢ (1 − hᵢ) x̃ᵢ x̃ᵢᵀ, x̃ᵢ = (xᵢ, 1)   (Hessian, only when asked)

Dividing by ``W = Σ wᵢ`` gives the mean loss and its gradient
``+(1/W) Σ wᵢ (hᵢ − yᵢ) xᵢ``: the sign is plus, since ∂ℓᵢ/∂zᵢ = hᵢ − yᵢ.

With ``s = 1 − 2y`` (+1 for y = 0, −1 for y = 1) and ``m = s·z`` both
quantities come from one exponential and stay exact for any margin::

    ℓ = log(1 + e^m) = max(m, 0) + log1p(e^(−|m|))
    h − y = s · sigmoid(m)

so ``|z| = 1000`` gives no overflow, no NaN and no warning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

#: A block's features: a dense column-major array, or a CSR sparse array.
Features = np.ndarray | sparse.csr_array


def softplus_and_sigmoid(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(log(1 + e^m), 1 / (1 + e^(−m)))`` computed stably."""
    e = np.exp(-np.abs(m))
    softplus = np.maximum(m, 0.0) + np.log1p(e)
    sigmoid = np.where(m >= 0.0, 1.0, e) / (1.0 + e)
    return softplus, sigmoid


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow for large ``|z|``."""
    return softplus_and_sigmoid(z)[1]


_HEAD = 4  # scalars before the gradient


@dataclass(frozen=True)
class Layout:
    """Positions of the sums in the flat vector one block returns.

    A flat float64 vector is cheap to pickle and to add, which is all the
    distributed reduction does with it::

        [Σ w ℓ, Σ w, rows, misclassified weight, Σ w (h − y) x (d values),
         Σ w (h − y), Hessian of (x, 1) ((d + 1)² values, only when ``hessian``)]
    """

    n_features: int
    hessian: bool = False

    @property
    def size(self) -> int:
        d1 = self.n_features + 1
        return _HEAD + d1 + (d1 * d1 if self.hessian else 0)

    def zeros(self) -> np.ndarray:
        return np.zeros(self.size)

    def unpack(self, flat: np.ndarray) -> "Sums":
        d1 = self.n_features + 1
        hess = flat[_HEAD + d1:].reshape(d1, d1) if self.hessian else None
        return Sums(
            loss=float(flat[0]),
            weight=float(flat[1]),
            rows=int(round(flat[2])),
            misclassified=float(flat[3]),
            gradient=flat[_HEAD:_HEAD + d1],
            hessian=hess,
        )


@dataclass(frozen=True)
class Sums:
    """Sums over all rows; ``gradient`` and ``hessian`` have the intercept last."""

    loss: float
    weight: float
    rows: int
    misclassified: float  # weight of rows with (2y − 1)·z ≤ 0
    gradient: np.ndarray
    hessian: np.ndarray | None


#: Rows are processed in chunks of about this size, so that X·θ and rᵀX read
#: each chunk from memory once (the second use hits the CPU cache). Chunks of
#: a column-major X are strided views: no copy.
CHUNK_BYTES = 4 << 20


def block_sums(
    X: Features,
    y: np.ndarray,
    w: np.ndarray,
    coef: np.ndarray,
    intercept: float,
    layout: Layout,
) -> np.ndarray:
    """The flat sums (see :class:`Layout`) of one block of rows.

    ``X`` is ``(n, d)``, float64 or float32 (each chunk is then widened to
    float64, so all arithmetic and sums are float64), dense or CSR (then taken
    whole: its products only touch the non-zeros); ``y`` holds 0/1 labels and
    ``w`` non-negative weights, both of length ``n``. ``coef``/``intercept`` are
    on the scale of ``X``.
    """
    out = layout.zeros()
    if sparse.issparse(X):
        _add_chunk_sums(out, X.astype(np.float64, copy=False), y, w, coef, intercept, layout.hessian)
        return out
    step = max(1, CHUNK_BYTES // max(X.itemsize * X.shape[1], 1))
    for start in range(0, X.shape[0], step):
        rows = slice(start, start + step)
        chunk = np.asarray(X[rows], dtype=np.float64)
        _add_chunk_sums(out, chunk, y[rows], w[rows], coef, intercept, layout.hessian)
    return out


def _add_chunk_sums(out: np.ndarray, X: Features, y: np.ndarray, w: np.ndarray, coef: np.ndarray,
                    intercept: float, hessian: bool) -> None:
    d = X.shape[1]
    z = X @ coef
    z += intercept
    sign = 1.0 - 2.0 * y
    loss, sig = softplus_and_sigmoid(sign * z)
    residual = w * sign * sig  # wᵢ (hᵢ − yᵢ)
    out[0] += w @ loss
    out[1] += w.sum()
    out[2] += X.shape[0]
    out[3] += w @ (sign * z >= 0.0)
    out[_HEAD:_HEAD + d] += X.T @ residual if sparse.issparse(X) else residual @ X  # the faster form of each
    out[_HEAD + d] += residual.sum()
    if hessian:
        out[_HEAD + d + 1:] += _weighted_gram(X, w * sig * (1.0 - sig)).ravel()


def _weighted_gram(X: Features, v: np.ndarray) -> np.ndarray:
    """``X̃ᵀ diag(v) X̃`` for ``X̃ = [X, 1]``: the Hessian of the block's loss."""
    d = X.shape[1]
    gram = np.empty((d + 1, d + 1))
    root = np.sqrt(v)
    if sparse.issparse(X):
        scaled = sparse.csr_array(X.multiply(root[:, None]))
        gram[:d, :d] = (scaled.T @ scaled).toarray()
    else:
        scaled = X * root[:, None]
        gram[:d, :d] = scaled.T @ scaled  # the AᵀA form lets BLAS use syrk: half the flops
    gram[:d, d] = gram[d, :d] = scaled.T @ root
    gram[d, d] = v.sum()
    return gram
