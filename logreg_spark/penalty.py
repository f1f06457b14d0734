"""The elastic-net penalty, in the solver's coordinates, with its proximal operator.

    P(θ) = Σⱼ [ ½ l2ⱼ θⱼ² + l1ⱼ |θⱼ| ]

with per-coordinate strengths ``l2ⱼ = λ(1 − α)·aⱼ`` and ``l1ⱼ = λα·cⱼ``; the
intercept coordinate has ``l2 = l1 = 0``. MLlib's meaning of
``standardization`` sets ``aⱼ, cⱼ``: with it the penalty is on the coefficients
of standardized features (``aⱼ = cⱼ = 1``); without it, on the original-scale
coefficients ``θⱼ/σⱼ`` (``aⱼ = 1/σⱼ²``, ``cⱼ = 1/σⱼ``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ElasticNet:
    l2: np.ndarray
    l1: np.ndarray

    @classmethod
    def build(
        cls,
        reg_param: float,
        elastic_net_param: float,
        feature_std: np.ndarray,
        standardization: bool,
        fit_intercept: bool,
        copies: int = 1,
    ) -> "ElasticNet":
        """Strengths for coefficients in standardized space (+ an intercept slot), repeated
        ``copies`` times (the multinomial model's rows: every class penalized alike)."""
        if standardization:
            per_l2 = per_l1 = (feature_std > 0).astype(float)
        else:
            inv = np.divide(1.0, feature_std, out=np.zeros_like(feature_std), where=feature_std > 0)
            per_l2, per_l1 = inv * inv, inv
        tail = [0.0] if fit_intercept else []
        return cls(
            l2=np.tile(np.append(reg_param * (1.0 - elastic_net_param) * per_l2, tail), copies),
            l1=np.tile(np.append(reg_param * elastic_net_param * per_l1, tail), copies),
        )

    @property
    def has_l1(self) -> bool:
        return bool(np.any(self.l1 > 0))

    @property
    def is_zero(self) -> bool:
        return not (self.has_l1 or np.any(self.l2 > 0))

    def smooth_value_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """The L2 part ½ Σ l2ⱼ θⱼ² and its gradient."""
        return 0.5 * float(self.l2 @ (theta * theta)), self.l2 * theta

    def l1_value(self, theta: np.ndarray) -> float:
        return float(self.l1 @ np.abs(theta))

    def prox(self, theta: np.ndarray, step: float) -> np.ndarray:
        """argmin_u ½‖u − θ‖² + step·Σ l1ⱼ|uⱼ|: soft thresholding."""
        return np.sign(theta) * np.maximum(np.abs(theta) - step * self.l1, 0.0)

    def pseudo_gradient(self, theta: np.ndarray, smooth_grad: np.ndarray) -> np.ndarray:
        """The minimum-norm subgradient of smooth + L1 at θ: zero exactly at the optimum."""
        at_zero = theta == 0.0
        shrunk = np.sign(smooth_grad) * np.maximum(np.abs(smooth_grad) - self.l1, 0.0)
        return np.where(at_zero, shrunk, smooth_grad + self.l1 * np.sign(theta))
