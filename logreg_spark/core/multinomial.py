"""The multinomial (softmax) log-likelihood on one block of rows: the math of one pass.

For rows ``xᵢ`` with labels ``yᵢ ∈ {0, …, K − 1}``, weights ``wᵢ ≥ 0``, a
coefficient matrix ``B`` (K × d) and intercepts ``b`` (K)::

    zᵢ = B xᵢ + b                          (K margins)
    pᵢ = softmax(zᵢ),  pᵢₖ = e^(zᵢₖ) / Σₗ e^(zᵢₗ)
    ℓᵢ = log Σₗ e^(zᵢₗ) − zᵢ,yᵢ             (log loss of row i)

with the log-sum-exp taken after subtracting ``max zᵢ``, so no margin
overflows. A block contributes (laid out by :mod:`logreg_spark.sums`)::

    Σ wᵢ ℓᵢ                                          (loss)
    Σ wᵢ (pᵢ − eᵧᵢ) xᵢᵀ,  Σ wᵢ (pᵢ − eᵧᵢ)             (gradient in B, in b: K × (d + 1))
    Σ wᵢ [argmax zᵢ ≠ yᵢ]                             (misclassified weight)
    Σ wᵢ pᵢₖ (δₖₗ − pᵢₗ) x̃ᵢ x̃ᵢᵀ, x̃ᵢ = (xᵢ, 1)         (Hessian block (k, l), only when asked)

where ``eᵧ`` is the one-hot vector of the label. With K = 2 this is the
binomial model written with one margin per class: the loss is unchanged by
adding the same vector to every row of ``(B, b)``; MLlib's convention for
fixing that freedom is applied when a model is finished
(:func:`identifiable`).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .binomial import curvature_sums, weighted_gram


def log_softmax(Z: np.ndarray) -> np.ndarray:
    """``zₖ − log Σₗ e^(zₗ)`` per row of ``Z``, stable for any margins."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def chunk_sums(
    X: np.ndarray | sparse.csr_array,
    y: np.ndarray,
    w: np.ndarray,
    coef: np.ndarray,
    intercept: np.ndarray,
    hessian: bool,
    diagonal: bool = False,
) -> tuple[float, float, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(Σ w ℓ, misclassified weight, gradient (K × (d + 1)), Hessian or None, the sums of the
    Hessian's diagonal (:func:`~logreg_spark.binomial.curvature_sums` of w pₖ(1 − pₖ)) or None)
    of float64 rows."""
    n = X.shape[0]
    Z = X @ coef.T
    Z += intercept
    labels = y.astype(np.intp)
    log_p = log_softmax(Z)
    P = np.exp(log_p)
    residual = w[:, None] * P  # wᵢ (pᵢ − eᵧᵢ)
    residual[np.arange(n), labels] -= w
    by_feature = X.T @ residual  # d × K
    gradient = np.hstack([np.asarray(by_feature).T, residual.sum(axis=0)[:, None]])
    loss = -float(w @ log_p[np.arange(n), labels])
    misclassified = float(w[Z.argmax(axis=1) != labels].sum())
    squares = curvature_sums(X, w[:, None] * P * (1.0 - P)) if diagonal else None
    return loss, misclassified, gradient, _hessian(X, w, P) if hessian else None, squares


def _hessian(X: np.ndarray | sparse.csr_array, w: np.ndarray, P: np.ndarray) -> np.ndarray:
    """The K(d + 1) square Hessian, from the blocks ``X̃ᵀ diag(w pₖ (δₖₗ − pₗ)) X̃``; each weighted
    Gram has non-negative weights: ``w pₖ (1 − pₖ)`` on the diagonal, ``−(w pₖ pₗ)`` off it."""
    K, d1 = P.shape[1], X.shape[1] + 1
    H = np.empty((K, d1, K, d1))
    for k in range(K):
        H[k, :, k, :] = weighted_gram(X, w * P[:, k] * (1.0 - P[:, k]))
        for other in range(k + 1, K):
            H[k, :, other, :] = H[other, :, k, :] = -weighted_gram(X, w * P[:, k] * P[:, other])
    return H.reshape(K * d1, K * d1)


def identifiable(coef: np.ndarray, intercept: np.ndarray, penalized: bool) -> tuple[np.ndarray, np.ndarray]:
    """MLlib's convention for the freedom the softmax leaves: intercepts summing to zero
    (they are never penalized), and, without a penalty, coefficients of each feature too.
    Neither changes a probability or the objective."""
    intercept = intercept - intercept.mean()
    return (coef if penalized else coef - coef.mean(axis=0)), intercept
