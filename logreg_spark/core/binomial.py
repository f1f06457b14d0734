"""The binomial log-likelihood on one block of rows: the math of one pass.

For rows ``xᵢ`` with labels ``yᵢ ∈ {0, 1}``, weights ``wᵢ ≥ 0``, coefficients
``β`` and intercept ``b``::

    zᵢ = xᵢᵀβ + b + oᵢ                 (margin; oᵢ the row's offset, 0 without one)
    hᵢ = sigmoid(zᵢ) = 1 / (1 + e^(−zᵢ))
    ℓᵢ = log(1 + e^(zᵢ)) − yᵢ zᵢ       (log loss of row i)

A block contributes these sums (laid out by :mod:`logreg_spark.sums`), which
add up across blocks and partitions::

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

so ``|z| = 1000`` gives no overflow, no NaN and no warning. An offset is data, not a
parameter (∂zᵢ/∂β = xᵢ, ∂zᵢ/∂b = 1 as without it): it enters every sum above through hᵢ
only, so the gradient, the Hessian and the standard errors from it need no other change.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse


def softplus_and_sigmoid(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(log(1 + e^m), 1 / (1 + e^(−m)))`` computed stably."""
    e = np.exp(-np.abs(m))
    softplus = np.maximum(m, 0.0) + np.log1p(e)
    sigmoid = np.where(m >= 0.0, 1.0, e) / (1.0 + e)
    return softplus, sigmoid


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow for large ``|z|``."""
    return softplus_and_sigmoid(z)[1]


def row_terms(z: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row of margins ``z`` (n × 1) with weights ``w``: (ℓ, w (h − y) as n × 1, whether the
    row is on the wrong side of the boundary, σ(s·z)), the last giving the curvature
    ``h(1 − h) = σ(1 − σ)``."""
    sign = 1.0 - 2.0 * y
    m = sign * z[:, 0]
    loss, sig = softplus_and_sigmoid(m)
    return loss, (w * sign * sig)[:, None], m >= 0.0, sig


def curvature(
    X: np.ndarray | sparse.csr_array, w: np.ndarray, sig: np.ndarray, hessian: bool, diagonal: bool
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(Hessian, :func:`curvature_sums`) of rows weighted ``w``, each only when asked."""
    v = w * sig * (1.0 - sig)
    return (weighted_gram(X, v) if hessian else None), (curvature_sums(X, v[:, None]) if diagonal else None)


def curvature_sums(X: np.ndarray | sparse.csr_array, V: np.ndarray) -> np.ndarray:
    """``[Σ vₖ x², Σ vₖ x, Σ vₖ]`` per column k of ``V`` (n × m): m × (2d + 1), what the Hessian's
    diagonal needs in centred coordinates, ``Σ vₖ (x − μ)²``, for any centre μ."""
    squared = (
        X * X if isinstance(X, np.ndarray) else sparse.csr_array((X.data * X.data, X.indices, X.indptr), shape=X.shape)
    )
    return np.hstack([np.asarray(squared.T @ V).T, np.asarray(X.T @ V).T, V.sum(axis=0)[:, None]])


def weighted_gram(X: np.ndarray | sparse.csr_array, v: np.ndarray) -> np.ndarray:
    """``X̃ᵀ diag(v) X̃`` for ``X̃ = [X, 1]`` and ``v ≥ 0``: the Hessian of the block's loss."""
    d = X.shape[1]
    gram = np.empty((d + 1, d + 1))
    root = np.sqrt(v)
    if isinstance(X, np.ndarray):
        scaled = X * root[:, None]
        gram[:d, :d] = scaled.T @ scaled  # the AᵀA form lets BLAS use syrk: half the flops
    else:
        scaled = sparse.csr_array(X.multiply(root[:, None]))
        gram[:d, :d] = (scaled.T @ scaled).toarray()
    gram[:d, d] = gram[d, :d] = scaled.T @ root
    gram[d, d] = v.sum()
    return gram
