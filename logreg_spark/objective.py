"""The training objective in the solver's coordinates.

    F(θ) = (1/W) Σᵢ wᵢ ℓᵢ(θ) + P(θ)

where the data term comes from one pass over the data (:mod:`binomial` sums,
whichever way they are computed) and ``P`` is the elastic-net penalty. The
smooth part (data + L2) has gradient and Hessian; solvers treat the L1 part
through :class:`~logreg_spark.penalty.ElasticNet`'s proximal operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .binomial import Layout, Sums, block_sums
from .blocks import Summary
from .penalty import ElasticNet
from .scaling import FeatureScaling

#: One pass over the data: (coefficients, intercept, with_hessian) → sums.
DataPass = Callable[[np.ndarray, float, bool], Sums]


def in_memory_pass(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> DataPass:
    """A pass over arrays held in this process (tests, benchmarks, small data)."""

    def run(coef: np.ndarray, intercept: float, hessian: bool) -> Sums:
        layout = Layout(X.shape[1], hessian)
        return layout.unpack(block_sums(X, y, w, coef, intercept, layout))

    return run


@dataclass(frozen=True)
class Evaluation:
    """The smooth objective at ``theta``; ``hessian`` only when it was asked for."""

    theta: np.ndarray
    value: float
    gradient: np.ndarray
    hessian: np.ndarray | None
    total: float  # value + the L1 part: the full objective
    misclassified: float  # weight of rows on the wrong side of the decision boundary


class Objective:
    """Loss, gradient and Hessian of the full-batch objective; counts data passes."""

    def __init__(self, data_pass: DataPass, scaling: FeatureScaling, penalty: ElasticNet,
                 total_weight: float) -> None:
        self.data_pass = data_pass
        self.scaling = scaling
        self.penalty = penalty
        self.total_weight = total_weight
        self.passes = 0

    @classmethod
    def build(cls, data_pass: DataPass, summary: Summary, *, reg_param: float, elastic_net_param: float = 0.0,
              standardization: bool = True, fit_intercept: bool = True) -> "Objective":
        """The objective of a model with these settings (MLlib's meaning) on data with ``summary``."""
        scaling = FeatureScaling.build(summary.mean, summary.std, fit_intercept)
        penalty = ElasticNet.build(reg_param, elastic_net_param, summary.std, standardization, fit_intercept)
        return cls(data_pass, scaling, penalty, summary.weight)

    def evaluate(self, theta: np.ndarray, hessian: bool = False) -> Evaluation:
        """One pass over the data at ``theta``."""
        coef, intercept = self.scaling.to_data(theta)
        sums = self.data_pass(coef, intercept, hessian)
        self.passes += 1
        scale = 1.0 / self.total_weight
        l2_value, l2_grad = self.penalty.smooth_value_and_gradient(theta)
        value = sums.loss * scale + l2_value
        gradient = self.scaling.gradient_to_solver(sums.gradient * scale) + l2_grad
        hess = None
        if hessian:
            hess = self.scaling.hessian_to_solver(sums.hessian * scale) + np.diag(self.penalty.l2)
        return Evaluation(theta, value, gradient, hess, value + self.penalty.l1_value(theta),
                          sums.misclassified)

    def optimality(self, ev: Evaluation) -> float:
        """‖minimum-norm subgradient‖₂ of the full objective at ``ev.theta``."""
        return float(np.linalg.norm(self.penalty.pseudo_gradient(ev.theta, ev.gradient)))
