"""Box constraints on the coefficients and intercepts (MLlib's bounds), in the solver's coordinates.

The user bounds the model on the data's scale: ``lⱼ ≤ βⱼ ≤ uⱼ`` for each
coefficient of each margin, and ``l ≤ b ≤ u`` for each intercept (unset
entries are ±∞). In the solver's coordinates (:mod:`.scaling`)::

    βⱼ = sⱼ θⱼ   with sⱼ > 0   ⇒   lⱼ / sⱼ ≤ θⱼ ≤ uⱼ / sⱼ

so a coefficient's bounds are still a box, whatever the scaling. The intercept
``b = v b̃ − Σⱼ μⱼ βⱼ`` mixes every coordinate when centred; bounds on it are a box
only in uncentred coordinates (μ = 0, ``b = v b̃``), which the objective uses
whenever an intercept is bounded. A feature without a coefficient (constant in
the data: sⱼ = 0) keeps βⱼ = 0, which its bounds must allow (:func:`excluded_zero`).

At a minimiser θ* of F over the box, the projected gradient vanishes::

    θ* − P(θ* − ∇F(θ*)) = 0,   P = clipping to [lower, upper]

(each coordinate is free with zero gradient, or at a bound with the gradient
pointing out of the box); its norm is the optimality measure under bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scaling import FeatureScaling


@dataclass(frozen=True)
class Bounds:
    """Bounds on the data's scale: coefficients (margins × d), intercepts (margins,); ±∞ where unset."""

    coef_lower: np.ndarray
    coef_upper: np.ndarray
    intercept_lower: np.ndarray
    intercept_upper: np.ndarray

    @property
    def on_intercepts(self) -> bool:
        """Whether some intercept has a finite bound (then the coordinates are not centred)."""
        return bool(np.isfinite(self.intercept_lower).any() or np.isfinite(self.intercept_upper).any())


def excluded_zero(bounds: Bounds, scaling: FeatureScaling) -> np.ndarray:
    """The features without a coefficient (fixed at 0, as in MLlib) whose bounds exclude 0."""
    outside = (bounds.coef_lower > 0) | (bounds.coef_upper < 0)
    return np.flatnonzero(~scaling.estimated & outside.any(axis=0))


@dataclass(frozen=True)
class Box:
    """``lower ≤ θ ≤ upper`` over the flat solver coordinates (margin-major, intercept last)."""

    lower: np.ndarray
    upper: np.ndarray

    @classmethod
    def build(cls, bounds: Bounds, scaling: FeatureScaling) -> Box:
        """The box of ``bounds`` in ``scaling``'s coordinates (see the module docstring); intercept
        bounds need uncentred coordinates. A feature without a coefficient is left unbounded: its
        coordinate has no gradient and stays at 0."""
        assert not (bounds.on_intercepts and scaling.mean.any()), "a bounded intercept needs uncentred coordinates"
        estimated = scaling.estimated
        step = np.where(estimated, scaling.inv_scale, 1.0)
        coef_lower = np.where(estimated, bounds.coef_lower / step, -np.inf)
        coef_upper = np.where(estimated, bounds.coef_upper / step, np.inf)
        if scaling.fit_intercept:
            v = scaling.intercept_scale
            coef_lower = np.column_stack([coef_lower, bounds.intercept_lower / v])
            coef_upper = np.column_stack([coef_upper, bounds.intercept_upper / v])
        return cls(coef_lower.ravel(), coef_upper.ravel())

    def project(self, theta: np.ndarray) -> np.ndarray:
        """The nearest point of the box: each coordinate clipped to its bounds."""
        return np.clip(theta, self.lower, self.upper)

    def projected_gradient(self, theta: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        """``θ − P(θ − g)``: the gradient where a coordinate may move, cut where a bound stops it;
        zero exactly at a minimiser over the box."""
        return theta - self.project(theta - gradient)

    def held(self, theta: np.ndarray, gradient: np.ndarray, margin: float) -> np.ndarray:
        """The coordinates a step should leave where they are: within ``margin`` of a bound with
        the gradient pushing them out of the box, or with equal bounds (Bertsekas' ε-active set)."""
        at_lower = (theta <= self.lower + margin) & (gradient > 0)
        at_upper = (theta >= self.upper - margin) & (gradient < 0)
        return at_lower | at_upper | (self.lower == self.upper)

    def at_bound(self, theta: np.ndarray) -> np.ndarray:
        """Which coordinates sit on one of their bounds."""
        return (theta == self.lower) | (theta == self.upper)
