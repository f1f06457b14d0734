"""The (λ, α) grid: the user's λ values, or a regularization path from λ_max down.

With α > 0, λ_max is the smallest λ whose model has every coefficient zero. At
the intercept-only model (zero coefficients, each intercept at its optimum) the
data's gradient of coefficient j is gⱼ = (1/W) Σᵢ wᵢ (hᵢ − yᵢ) xᵢⱼ (per class k
for the multinomial model). The penalty's L1 part there has subgradients
[−λ α uⱼ, λ α uⱼ], with uⱼ = σⱼ under ``standardization`` and 1 without
(:mod:`~logreg_spark.core.penalty`), and its L2 part has gradient 0. So zero is
optimal for every coefficient exactly when |gₖⱼ| ≤ λ α uⱼ for all k, j:

    λ_max = maxₖⱼ |gₖⱼ| / (α uⱼ)        over the features with uⱼ > 0.

Pure L2 (α = 0) never makes coefficients zero; as glmnet does, its path starts
at the λ_max of α = 0.001, a scale taken from the data. The path is
``path_length`` values from λ_max down to ``path_min_ratio · λ_max``, evenly
spaced on a log scale. Every (α, fold) walks its λ values from the largest down,
each fit starting from the one before (a warm start).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

#: The α that stands in for pure L2 when the path's λ_max is derived (glmnet's choice).
RIDGE_ALPHA = 1e-3


def lambda_max(gradient: np.ndarray, unit: np.ndarray, alpha: float) -> float:
    """λ_max of α from the data's gradient (d,) or (K, d) at the intercept-only model and each
    coefficient's penalty unit ``unit`` (d,): σⱼ under standardization, else 1 (0 for a
    constant feature, which is never penalized)."""
    alpha = max(alpha, RIDGE_ALPHA)
    penalized = unit > 0
    if not np.any(penalized):
        return 0.0
    scaled = np.abs(np.reshape(gradient, (-1, unit.size))[:, penalized]) / unit[penalized]
    return float(scaled.max()) / alpha


def path(top: float, length: int, min_ratio: float) -> list[float]:
    """``length`` values from ``top`` down to ``min_ratio · top``, geometric."""
    if length == 1:
        return [top]
    return [float(top * min_ratio ** (i / (length - 1))) for i in range(length)]


@dataclass(frozen=True)
class Grid:
    """The λ values (descending) of each α, in the order of ``elastic_net_params``."""

    elastic_net_params: tuple[float, ...]
    reg_params: tuple[tuple[float, ...], ...]

    @classmethod
    def of(
        cls,
        elastic_net_params: Sequence[float],
        reg_params: Sequence[float],
        path_length: int,
        path_min_ratio: float,
        gradient: np.ndarray,
        unit: np.ndarray,
    ) -> Grid:
        """The user's ``reg_params`` for every α, or each α's path (``gradient`` and ``unit`` as
        :func:`lambda_max` takes them). A path whose λ_max is 0 (no feature the penalty can
        act on, or a model already optimal at zero) is an :class:`InputError`."""
        if reg_params:
            values = tuple(sorted(reg_params, reverse=True))
            return cls(tuple(elastic_net_params), tuple(values for _ in elastic_net_params))
        paths = []
        for alpha in elastic_net_params:
            top = lambda_max(gradient, unit, alpha)
            if not top > 0:
                raise InputError(
                    "tune: the regularization path has no scale (λ_max = 0): no penalized feature "
                    "varies or every coefficient is already zero without a penalty; give tune.reg_params"
                )
            paths.append(tuple(path(top, path_length, path_min_ratio)))
        return cls(tuple(elastic_net_params), tuple(paths))

    def points(self) -> list[tuple[float, float]]:
        """Every (λ, α), α by α, λ descending."""
        return [(lam, alpha) for alpha, lams in zip(self.elastic_net_params, self.reg_params) for lam in lams]

    def to_dict(self) -> dict[str, list[float]]:
        return {str(alpha): list(lams) for alpha, lams in zip(self.elastic_net_params, self.reg_params)}
