"""The solver's coordinates: the data is never rescaled, the solver's variables are.

Solvers work on θ, one row per margin (1 for the binomial model, K for the
multinomial one), each row ``(β̃, b̃)`` with::

    βⱼ = uⱼ β̃ⱼ               (uⱼ = 0 for constant features: coefficient 0, as in MLlib)
    b  = v b̃ − Σⱼ μⱼ βⱼ      (μ = 0 without an intercept)

This map is linear, ``(β, b) = A θ``, so gradients and Hessians move back with
``Aᵀ g`` and ``Aᵀ H A``. It changes neither the objective nor the penalty's
meaning (see :mod:`logreg_spark.penalty`): it only chooses the variables.

They are chosen for conditioning: every coordinate gets curvature 1 at the
start. There (the intercept-only model, where every row has hₖ = πₖ, the
weighted share of class k) the Hessian's diagonal of the objective is, in βₖⱼ
and bₖ::

    cₖⱼ = qₖ m₂ⱼ + l2ⱼ,   qₖ = πₖ (1 − πₖ),   m₂ⱼ = Σᵢ wᵢ (xᵢⱼ − μⱼ)² / W

(``m₂ⱼ = Σᵢ wᵢ xᵢⱼ² / W`` and ``πₖ`` = 1/2 or 1/K without an intercept), plus
the L2 penalty's ``l2ⱼ`` on βⱼ; in bₖ it is ``qₖ``. So ``uₖⱼ = 1/√cₖⱼ`` and
``vₖ = 1/√qₖ``, and centring makes the intercept's cross terms vanish there.
With ``standardization = false`` a feature seen in a handful of rows has a
tiny m₂ⱼ and its curvature is the penalty's; scaling it by its standard
deviation instead (MLlib's coordinates) would give it a curvature of
``l2ⱼ/σⱼ²``, a million times the data's, and stall every solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import block_diag


#: Names these coordinates in checkpoints: a point saved in others is not resumed from.
COORDINATES = "unit curvature at the intercept-only model"
#: Floor of qₖ: a class with no weight (only in a degenerate problem) still gets a finite scale.
MIN_CURVATURE = 1e-12


@dataclass(frozen=True)
class FeatureScaling:
    """``A`` for each margin: ``inv_scale`` (m × d: the uₖⱼ) and ``intercept_scale`` (m: the vₖ)."""

    inv_scale: np.ndarray
    intercept_scale: np.ndarray
    mean: np.ndarray
    fit_intercept: bool

    @classmethod
    def build(cls, mean: np.ndarray, m2: np.ndarray, estimated: np.ndarray, class_share: np.ndarray,
              l2: np.ndarray, fit_intercept: bool) -> "FeatureScaling":
        """Unit curvature at the start (see the module docstring). ``m2`` is the weighted mean
        centred second moment of each feature, ``estimated`` which features get a coefficient,
        ``class_share`` the πₖ of each margin (one number for the binomial model), ``l2`` the
        penalty's L2 strength on each data-scale coefficient."""
        share = class_share if fit_intercept else np.full_like(class_share, 1.0 / max(class_share.size, 2))
        q = np.maximum(share * (1.0 - share), MIN_CURVATURE)
        moment = m2 if fit_intercept else m2 + mean * mean
        curvature = q[:, None] * moment + l2
        inv_scale = np.zeros_like(curvature)
        np.divide(1.0, np.sqrt(curvature), out=inv_scale, where=estimated & (curvature > 0))
        return cls(inv_scale, 1.0 / np.sqrt(q), mean if fit_intercept else np.zeros_like(mean), fit_intercept)

    @property
    def margins(self) -> int:
        return self.inv_scale.shape[0]

    @property
    def n_features(self) -> int:
        return self.inv_scale.shape[1]

    @property
    def n_params(self) -> int:
        """Solver coordinates of one margin."""
        return self.n_features + int(self.fit_intercept)

    @property
    def estimated(self) -> np.ndarray:
        """Which features have a coefficient (the others are fixed at 0)."""
        return self.inv_scale[0] > 0

    def coefficient_scale(self) -> np.ndarray:
        """``∂β/∂θ`` for every solver coordinate (m × n_params), 0 in the intercepts' slots:
        what a penalty on β becomes in θ (:meth:`~logreg_spark.penalty.ElasticNet.in_coordinates`)."""
        tail = np.zeros((self.margins, int(self.fit_intercept)))
        return np.concatenate([self.inv_scale, tail], axis=1)

    def to_data(self, theta: np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
        """Solver coordinates → (coefficients, intercept) on the data's scale. ``theta`` is one
        model's coordinates, or one row per class (then the intercepts are an array)."""
        rows = np.atleast_2d(theta)
        d = self.n_features
        coef = rows[:, :d] * self.inv_scale
        if self.fit_intercept:
            intercept = rows[:, d] * self.intercept_scale - coef @ self.mean
        else:
            intercept = np.zeros(rows.shape[0])
        if theta.ndim == 1:
            return coef[0], float(intercept[0])
        return coef, intercept

    def from_data(self, coef: np.ndarray, intercept: float | np.ndarray) -> np.ndarray:
        """(coefficients, intercept) on the data's scale → solver coordinates (the inverse of
        :meth:`to_data`), of the shape of ``coef`` plus the intercepts' column."""
        rows = np.atleast_2d(coef)
        scaled = np.divide(rows, self.inv_scale, out=np.zeros_like(rows, dtype=float), where=self.inv_scale > 0)
        if self.fit_intercept:
            centred = (np.atleast_1d(intercept) + rows @ self.mean) / self.intercept_scale
            scaled = np.concatenate([scaled, centred[:, None]], axis=1)
        return scaled[0] if coef.ndim == 1 else scaled

    def gradient_to_solver(self, grad: np.ndarray) -> np.ndarray:
        """``Aᵀ g`` for a data-scale gradient ``g = (g_β, g_b)`` (or one such row per class)."""
        rows = np.atleast_2d(grad)
        d = self.n_features
        g_coef = (rows[:, :d] - self.mean * rows[:, d:]) * self.inv_scale
        if self.fit_intercept:
            g_coef = np.concatenate([g_coef, rows[:, d:] * self.intercept_scale[:, None]], axis=1)
        return g_coef[0] if grad.ndim == 1 else g_coef

    def hessian_to_solver(self, hess: np.ndarray) -> np.ndarray:
        """``Aᵀ H A`` for a data-scale Hessian over every margin's ``(β, b)``."""
        A = block_diag(*(self.matrix(k) for k in range(self.margins)))
        return A.T @ hess @ A

    def matrix(self, margin: int = 0) -> np.ndarray:
        """``A`` of one margin, (d + 1) × n_params: solver coordinates → (β, b)."""
        d, u = self.n_features, self.inv_scale[margin]
        A = np.zeros((d + 1, self.n_params))
        A[np.arange(d), np.arange(d)] = u
        if self.fit_intercept:
            A[d, :d] = -self.mean * u
            A[d, d] = self.intercept_scale[margin]
        return A
