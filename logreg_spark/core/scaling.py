"""The solver's coordinates: the data is never rescaled, the solver's variables are.

Solvers work on θ, one row per margin (1 for the binomial model, K for the
multinomial one), each row ``(β̃, b̃)`` with::

    βⱼ = uⱼ β̃ⱼ               (uⱼ = 0 for constant features: coefficient 0, as in MLlib)
    b  = v b̃ − Σⱼ μⱼ βⱼ      (μ = 0 without an intercept)

This map is linear, ``(β, b) = A θ``, so gradients and Hessians move back with
``Aᵀ g`` and ``Aᵀ H A``. It changes neither the objective nor the penalty's
meaning (see :mod:`logreg_spark.penalty`): it only chooses the variables.

They are chosen for conditioning: every coordinate gets curvature about 1 at
the start. There (the intercept-only model, where every row has hₖ = πₖ, the
weighted share of class k) the Hessian's diagonal of the objective is, in βⱼ
and b of margin k::

    qₖ m₂ⱼ + l2ⱼ  and  qₖ,   qₖ = πₖ (1 − πₖ),   m₂ⱼ = Σᵢ wᵢ (xᵢⱼ − μⱼ)² / W

(``m₂ⱼ = Σᵢ wᵢ xᵢⱼ² / W`` and ``πₖ`` = 1/2 or 1/K without an intercept), plus
the L2 penalty's ``l2ⱼ`` on βⱼ. With q the mean of the qₖ, ``uⱼ = 1/√(q m₂ⱼ + l2ⱼ)``
and ``v = 1/√q``, and centring makes the intercept's cross terms vanish there.
Every margin gets the same scales: the softmax loss does not change when one
vector is added to every class's coefficients, and with common scales the
solvers' steps (sums of gradients, which sum to zero over the classes) never
move the point along that direction, where only the penalty gives curvature.

With ``standardization = false`` a feature seen in a handful of rows has a
tiny m₂ⱼ and its curvature is the penalty's; scaling it by its standard
deviation instead (MLlib's coordinates) would give it a curvature of
``l2ⱼ/σⱼ²``, a million times the data's, and stall every solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Names these coordinates in checkpoints: a point saved in others is not resumed from.
COORDINATES = "unit curvature at the intercept-only model"
#: Floor of qₖ: a class with no weight (only in a degenerate problem) still gets a finite scale.
MIN_CURVATURE = 1e-12


@dataclass(frozen=True)
class FeatureScaling:
    """``A`` of every margin: ``inv_scale`` (the uⱼ) and ``intercept_scale`` (v)."""

    inv_scale: np.ndarray
    intercept_scale: float
    mean: np.ndarray
    fit_intercept: bool

    @classmethod
    def build(
        cls,
        mean: np.ndarray,
        m2: np.ndarray,
        estimated: np.ndarray,
        class_share: np.ndarray,
        l2: np.ndarray,
        fit_intercept: bool,
        centred: bool = True,
    ) -> FeatureScaling:
        """Unit curvature at the start (see the module docstring). ``m2`` is the weighted mean
        centred second moment of each feature, ``estimated`` which features get a coefficient,
        ``class_share`` the πₖ of every class (with an intercept), ``l2`` the penalty's L2
        strength on each data-scale coefficient. ``centred = False`` keeps μ = 0 with an
        intercept too (``b = v b̃``, so bounds on b are bounds on b̃; :mod:`.bounds`): the
        curvature in βⱼ is then ``q E[xⱼ²] = q (m₂ⱼ + μⱼ²)``, as without an intercept."""
        share = class_share if fit_intercept else np.full_like(class_share, 1.0 / class_share.size)
        q = max(float(np.mean(share * (1.0 - share))), MIN_CURVATURE)
        centre = fit_intercept and centred
        curvature = q * (m2 if centre else m2 + mean * mean) + l2
        inv_scale = np.zeros_like(curvature)
        np.divide(1.0, np.sqrt(curvature), out=inv_scale, where=estimated & (curvature > 0))
        return cls(inv_scale, 1.0 / np.sqrt(q), mean if centre else np.zeros_like(mean), fit_intercept)

    @property
    def n_features(self) -> int:
        return self.inv_scale.size

    @property
    def n_params(self) -> int:
        """Solver coordinates of one margin."""
        return self.n_features + int(self.fit_intercept)

    @property
    def estimated(self) -> np.ndarray:
        """Which features have a coefficient (the others are fixed at 0)."""
        return self.inv_scale > 0

    def coefficient_scale(self) -> np.ndarray:
        """``∂β/∂θ`` for each solver coordinate of one margin, 0 in the intercept's slot: what a
        penalty on β becomes in θ (:meth:`~logreg_spark.penalty.ElasticNet.in_coordinates`)."""
        return np.append(self.inv_scale, [0.0] * self.fit_intercept)

    def to_data(self, theta: np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
        """Solver coordinates → (coefficients, intercept) on the data's scale. ``theta`` is one
        model's coordinates, or one row per class (then the intercepts are an array)."""
        d = self.n_features
        coef = theta[..., :d] * self.inv_scale
        if not self.fit_intercept:
            intercept = np.zeros(theta.shape[:-1])
        else:
            intercept = theta[..., d] * self.intercept_scale - coef @ self.mean
        return coef, (float(intercept) if theta.ndim == 1 else intercept)

    def from_data(self, coef: np.ndarray, intercept: float | np.ndarray) -> np.ndarray:
        """(coefficients, intercept) on the data's scale → solver coordinates (the inverse of
        :meth:`to_data`)."""
        scaled = np.divide(coef, self.inv_scale, out=np.zeros_like(coef, dtype=float), where=self.inv_scale > 0)
        if not self.fit_intercept:
            return scaled
        centred = (intercept + coef @ self.mean) / self.intercept_scale
        return np.concatenate([scaled, np.expand_dims(centred, -1)], axis=-1)

    def gradient_to_solver(self, grad: np.ndarray) -> np.ndarray:
        """``Aᵀ g`` for a data-scale gradient ``g = (g_β, g_b)`` (or one such row per class):
        ``(g_β − μ g_b) · u`` and ``g_b · v``, computed in the result (on a wide model every fresh
        d-sized temporary is tens of megabytes to page in)."""
        d = self.n_features
        out = np.empty(grad.shape[:-1] + (self.n_params,))
        coef = out[..., :d]
        np.multiply(self.mean, grad[..., d:], out=coef)
        np.subtract(grad[..., :d], coef, out=coef)
        coef *= self.inv_scale
        if self.fit_intercept:
            out[..., d] = grad[..., d] * self.intercept_scale
        return out

    def hessian_to_solver(self, hess: np.ndarray, margins: int = 1) -> np.ndarray:
        """``Aᵀ H A`` for a data-scale Hessian over ``(β, b)``, or over ``margins`` such blocks."""
        A = self.matrix()
        if margins > 1:
            A = np.kron(np.eye(margins), A)
        return A.T @ hess @ A

    def diagonal_to_solver(self, sums: np.ndarray) -> np.ndarray:
        """The diagonal of ``Aᵀ H A`` (m × n_params) from the sums ``[Σ v x², Σ v x, Σ v]``
        of each margin (:class:`~logreg_spark.sums.Sums`): ``uⱼ² Σ v (xⱼ − μⱼ)²``, computed as
        ``uⱼ² (Σ v x² + μⱼ (μⱼ Σ v − 2 Σ v x))`` in the result, and ``v² Σ v`` for the intercept."""
        d = self.n_features
        squares, firsts, totals = sums[:, :d], sums[:, d : 2 * d], sums[:, 2 * d :]
        out = np.empty((sums.shape[0], self.n_params))
        coef = out[:, :d]
        np.multiply(self.mean, totals, out=coef)
        coef -= firsts
        coef -= firsts
        coef *= self.mean
        coef += squares
        coef *= self.inv_scale
        coef *= self.inv_scale
        if self.fit_intercept:
            out[:, d:] = totals * self.intercept_scale**2
        return out

    def matrix(self) -> np.ndarray:
        """``A``, (d + 1) × n_params: solver coordinates → (β, b) of one margin."""
        d = self.n_features
        A = np.zeros((d + 1, self.n_params))
        A[np.arange(d), np.arange(d)] = self.inv_scale
        if self.fit_intercept:
            A[d, :d] = -self.mean * self.inv_scale
            A[d, d] = self.intercept_scale
        return A
