"""Standard errors, z values and p values of an unpenalized fit (what MLlib does not give).

At the maximum-likelihood estimate the covariance of the coefficients is the
inverse of the Hessian of the summed (weighted) log loss::

    Cov(β, b) = (Σᵢ wᵢ hᵢ (1 − hᵢ) x̃ᵢ x̃ᵢᵀ)⁻¹,   x̃ᵢ = (xᵢ, 1)

so that ``std_error = √diag(Cov)``, ``z = coefficient / std_error`` and the
two-sided ``p = erfc(|z| / √2)``. The Hessian comes in the solver's
coordinates (``H_s = Aᵀ H A / W``); with ``(β, b) = A θ``, ``Cov = A (W·H_s)⁻¹ Aᵀ``.
Constant features, whose coefficient is fixed at 0 and not estimated, get NaN.

Collinear features (a duplicated column) make the Hessian singular, but in
floating point its Cholesky factorization may still succeed, with a pivot made
of roundoff. The squared pivot over the diagonal entry, ``L_jj² / H_jj``, is
the share of column j's curvature that the columns before it do not explain
(1 − R² of that column on them); below :data:`COLLINEAR` the variance would be
mostly roundoff, and the Hessian counts as singular.
"""

from __future__ import annotations

import math

import numpy as np

from .scaling import FeatureScaling

#: The smallest share of a column's curvature not explained by the others (see above).
COLLINEAR = 1e-10


class SingularHessian(ValueError):
    """The Hessian at the optimum cannot be inverted (collinear or duplicated features)."""


def coefficient_statistics(
    solver_hessian: np.ndarray,
    total_weight: float,
    scaling: FeatureScaling,
    coef: np.ndarray,
    intercept: float | np.ndarray,
) -> dict[str, np.ndarray]:
    """``std_error``, ``z_value``, ``p_value`` per coefficient, the intercept last."""
    estimated = np.append(scaling.estimated, True)[: scaling.n_params]
    A = scaling.matrix()[:, estimated]
    H = total_weight * solver_hessian[np.ix_(estimated, estimated)]
    try:
        factor = np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        raise SingularHessian("the Hessian at the optimum is singular") from None
    if np.min(np.diag(factor) ** 2 / np.diag(H)) < COLLINEAR:
        raise SingularHessian("the Hessian at the optimum is singular up to roundoff")
    inverse_factor = np.linalg.solve(factor, A.T)  # L⁻¹ Aᵀ, so Cov = (L⁻¹Aᵀ)ᵀ(L⁻¹Aᵀ)
    variance = np.sum(inverse_factor * inverse_factor, axis=0)
    fixed = np.append(~scaling.estimated, not scaling.fit_intercept)
    std_error = np.where(fixed, np.nan, np.sqrt(variance))
    with np.errstate(invalid="ignore", divide="ignore"):
        z_value = np.append(coef, intercept) / std_error
    p_value = np.array([math.erfc(abs(z) / math.sqrt(2.0)) if np.isfinite(z) else np.nan for z in z_value])
    return {"std_error": std_error, "z_value": z_value, "p_value": p_value}
