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
from .bounds import Bounds

#: Bytes of the rows' products with the probabilities (n × K(d + 1)) the Hessian takes at a time.
HESSIAN_CHUNK_BYTES = 16 << 20
#: Widths d + 1 up to which the Hessian's blocks come from one stacked product: narrower Grams
#: run far below BLAS's speed one by one (50 classes of 20 features: 3–4 times slower), wider
#: ones are as fast apart and the stacked product would sum the diagonal blocks twice.
STACKED_MAX_WIDTH = 100


def log_softmax(Z: np.ndarray) -> np.ndarray:
    """``zₖ − log Σₗ e^(zₗ)`` per row of ``Z``, stable for any margins."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def row_terms(Z: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row of margins ``Z`` (n × K) with weights ``w``: (ℓ, w (p − e_y) (n × K), whether
    argmax z ≠ y, p)."""
    n = Z.shape[0]
    labels = y.astype(np.intp)
    log_p = log_softmax(Z)
    P = np.exp(log_p)
    residual = w[:, None] * P
    residual[np.arange(n), labels] -= w
    return -log_p[np.arange(n), labels], residual, Z.argmax(axis=1) != labels, P


def curvature(
    X: np.ndarray | sparse.csr_array, w: np.ndarray, P: np.ndarray, hessian: bool, diagonal: bool
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(Hessian, the sums of its diagonal (:func:`~logreg_spark.binomial.curvature_sums` of
    w pₖ(1 − pₖ))) of rows weighted ``w``, each only when asked."""
    V = w[:, None] * P * (1.0 - P)
    squares = curvature_sums(X, V) if diagonal else None
    return (_hessian(X, w, P, V) if hessian else None), squares


def _hessian(X: np.ndarray | sparse.csr_array, w: np.ndarray, P: np.ndarray, V: np.ndarray) -> np.ndarray:
    """The K(d + 1) square Hessian, from the blocks ``X̃ᵀ diag(w pₖ (δₖₗ − pₗ)) X̃``.

    Off the diagonal the blocks are ``−GₖᵀGₗ`` with ``Gₖ = diag(√w pₖ) X̃``, so for narrow dense
    rows all of them come from one product ``−GᵀG`` of ``G = [G₁ … G_K]`` (BLAS's syrk, a few
    times faster than K(K − 1)/2 separate narrow products), over :data:`HESSIAN_CHUNK_BYTES` of
    G at a time. Its diagonal blocks ``Σ w pₖ² x̃x̃ᵀ`` are then replaced by ``Σ vₖ x̃x̃ᵀ`` with
    ``V = w pₖ(1 − pₖ)`` (:func:`curvature`): ``Σ w pₖ x̃x̃ᵀ − Σ w pₖ² x̃x̃ᵀ`` would cancel where
    pₖ → 1, the difference of two sums each near Σ w x̃x̃ᵀ. Wide or sparse rows take the blocks
    one by one."""
    n, K, d1 = X.shape[0], P.shape[1], X.shape[1] + 1
    H = np.zeros((K, d1, K, d1))
    if isinstance(X, np.ndarray) and d1 <= STACKED_MAX_WIDTH:
        flat = H.reshape(K * d1, K * d1)
        step = max(1, HESSIAN_CHUNK_BYTES // (8 * K * d1))
        for rows in (slice(start, start + step) for start in range(0, n, step)):
            chunk = X[rows]
            augmented = np.hstack([chunk, np.ones((chunk.shape[0], 1))])
            G = (np.sqrt(w[rows])[:, None] * P[rows])[:, :, None] * augmented[:, None, :]
            G = G.reshape(-1, K * d1)
            flat -= G.T @ G
    else:
        for k in range(K):
            for other in range(k + 1, K):
                H[k, :, other, :] = H[other, :, k, :] = -weighted_gram(X, w * P[:, k] * P[:, other])
    for k in range(K):
        H[k, :, k, :] = weighted_gram(X, V[:, k])
    return H.reshape(K * d1, K * d1)


def identifiable(
    coef: np.ndarray, intercept: np.ndarray, penalized: bool, bounds: Bounds | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """MLlib's convention for the freedom the softmax leaves: intercepts summing to zero
    (they are never penalized), and, without a penalty, coefficients of each feature too.
    Neither changes a probability or the objective. Within ``bounds`` (data scale) each shift
    is the one nearest that convention the bounds allow (:func:`_centred_within`), so a
    bounded model is reported one way too, whichever point of the flat optimum a solver ended at."""
    if bounds is None:
        intercept = intercept - intercept.mean()
        return (coef if penalized else coef - coef.mean(axis=0)), intercept
    intercept = _centred_within(intercept, bounds.intercept_lower, bounds.intercept_upper)
    return (coef if penalized else _centred_within(coef, bounds.coef_lower, bounds.coef_upper)), intercept


def _centred_within(values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``values − c``, one c per column, with the column's mean as near 0 as
    ``lower ≤ values − c ≤ upper`` allows: c is the mean clipped to
    ``[max(values − upper), min(values − lower)]``, an interval that holds 0 when
    ``values`` is within the bounds."""
    shift = np.clip(values.mean(axis=0), (values - upper).max(axis=0), (values - lower).min(axis=0))
    return values - shift
