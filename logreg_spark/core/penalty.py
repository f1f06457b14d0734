"""The elastic-net penalty, with its proximal operator.

    P = Σⱼ [ ½ l2ⱼ βⱼ² + l1ⱼ |βⱼ| ]

on the data-scale coefficients β, intercepts unpenalized. MLlib's meaning of
``standardization`` sets the strengths: with it the penalty is on the
coefficients of standardized features σⱼβⱼ (``l2ⱼ = λ(1 − α)σⱼ²``,
``l1ⱼ = λασⱼ``); without it on β itself (``l2ⱼ = λ(1 − α)``, ``l1ⱼ = λα``).

In the solver's coordinates (:mod:`logreg_spark.scaling`), where
``βⱼ = uⱼ θⱼ``, the same penalty has strengths ``l2ⱼ uⱼ²`` and ``l1ⱼ |uⱼ|``
per coordinate, 0 on the intercepts: :meth:`ElasticNet.in_coordinates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class ElasticNet:
    """Per-coordinate strengths ``l2`` and ``l1`` of ``Σ ½ l2ⱼ xⱼ² + l1ⱼ |xⱼ|``."""

    l2: np.ndarray
    l1: np.ndarray

    @classmethod
    def on_coefficients(
        cls, reg_param: float, elastic_net_param: float, feature_std: np.ndarray, standardization: bool
    ) -> ElasticNet:
        """MLlib's penalty on the d data-scale coefficients (constant features: none)."""
        present = (feature_std > 0).astype(float)
        l2_unit, l1_unit = (feature_std * feature_std, feature_std) if standardization else (present, present)
        return cls(l2=reg_param * (1.0 - elastic_net_param) * l2_unit, l1=reg_param * elastic_net_param * l1_unit)

    def in_coordinates(self, coefficient_scale: np.ndarray, copies: int = 1) -> ElasticNet:
        """The same penalty on variables θ with ``β = coefficient_scale · θ`` per coefficient (a
        trailing intercept slot of scale 0 is left unpenalized), repeated ``copies`` times: the
        multinomial model's rows, every class penalized alike."""
        n = self.l2.size
        scale = coefficient_scale[:n]
        pad = (0, coefficient_scale.size - n)
        return ElasticNet(
            l2=np.tile(np.pad(self.l2 * scale * scale, pad), copies),
            l1=np.tile(np.pad(self.l1 * np.abs(scale), pad), copies),
        )

    @cached_property
    def has_l1(self) -> bool:
        """Whether any coordinate has an L1 part (asked every iteration: kept, not rescanned)."""
        return bool(np.any(self.l1 > 0))

    @property
    def is_zero(self) -> bool:
        return not (self.has_l1 or np.any(self.l2 > 0))

    def smooth_value_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """The L2 part ½ Σ l2ⱼ θⱼ² and its gradient."""
        gradient = self.l2 * theta
        return 0.5 * float(theta @ gradient), gradient

    def l1_value(self, theta: np.ndarray) -> float:
        return float(self.l1 @ np.abs(theta)) if self.has_l1 else 0.0

    def prox(self, theta: np.ndarray, step: float | np.ndarray) -> np.ndarray:
        """argmin_u Σ (uⱼ − θⱼ)² / (2 stepⱼ) + Σ l1ⱼ|uⱼ|: soft thresholding at stepⱼ·l1ⱼ (one step for
        every coordinate, or a step per coordinate: the prox in a diagonal metric)."""
        return np.sign(theta) * np.maximum(np.abs(theta) - step * self.l1, 0.0)

    def common_shift(self, rows: np.ndarray) -> np.ndarray:
        """For K rows of coordinates penalized alike (``rows`` K × n, this penalty K·n long), the
        shift t per column minimizing ``Σₖ ½ a (θₖ − t)² + c |θₖ − t|`` (a, c: the column's L2
        and L1 strengths); 0 where the column is unpenalized.

        The sum is convex in t, with right derivative ``a (K t − Σθ) + c (2m − K)`` just above
        the m-th smallest θ (m of them at or below t). With m* the number of sorted values
        where that is negative, the minimum lies in (θ₍ₘ*₎, θ₍ₘ*₊₁₎]: at the stationary point
        ``(Σθ − c (2m* − K)/a)/K`` of that piece, or at its right end when that comes first
        (always so for a = 0, where the answer is a median).
        """
        K, n = rows.shape
        a, c = self.l2[:n], self.l1[:n]
        ordered = np.sort(rows, axis=0)
        total = ordered.sum(axis=0)
        rank = np.arange(1, K + 1)[:, None]
        below = np.sum(a * (K * ordered - total) + c * (2 * rank - K) < 0, axis=0)
        right_end = np.take_along_axis(ordered, below[None, :], axis=0)[0]
        stationary = np.divide(total - c * (2 * below - K) / np.where(a > 0, a, 1.0), K)
        shift = np.where(a > 0, np.minimum(stationary, right_end), right_end)
        return np.where((a > 0) | (c > 0), shift, 0.0)

    def pseudo_gradient(self, theta: np.ndarray, smooth_grad: np.ndarray) -> np.ndarray:
        """The minimum-norm subgradient of smooth + L1 at θ: zero exactly at the optimum (without
        an L1 part, ``smooth_grad`` itself)."""
        if not self.has_l1:
            return smooth_grad
        at_zero = theta == 0.0
        shrunk = np.sign(smooth_grad) * np.maximum(np.abs(smooth_grad) - self.l1, 0.0)
        return np.where(at_zero, shrunk, smooth_grad + self.l1 * np.sign(theta))
