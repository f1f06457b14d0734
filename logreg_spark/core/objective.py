"""The training objective in the solver's coordinates.

    F(θ) = (1/W) Σᵢ wᵢ ℓᵢ(θ) + P(θ)

where the data term comes from one pass over the data (:mod:`sums`, whichever
way they are computed) and ``P`` is the elastic-net penalty. The smooth part
(data + L2) has gradient and Hessian; solvers treat the L1 part through
:class:`~logreg_spark.penalty.ElasticNet`'s proximal operator.

Solvers see one flat vector θ. For the multinomial model it holds K rows of
``d + 1`` solver coordinates (each class's coefficients, intercept last).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bounds import Bounds, Box
from .data import Summary
from .engine import PassEngine
from .family import BINOMIAL, Family
from .penalty import ElasticNet
from .scaling import FeatureScaling
from .sums import Layout


@dataclass(frozen=True)
class Evaluation:
    """The smooth objective at ``theta``; ``hessian`` and its ``diagonal`` only when asked for."""

    theta: np.ndarray
    value: float
    gradient: np.ndarray
    hessian: np.ndarray | None
    total: float  # value + the L1 part: the full objective
    misclassified: float  # weight of rows on the wrong side of the decision boundary
    diagonal: np.ndarray | None = None


class Objective:
    """Loss, gradient and Hessian of the full-batch objective; counts data passes."""

    def __init__(
        self,
        engine: PassEngine,
        scaling: FeatureScaling,
        penalty: ElasticNet,
        total_weight: float,
        family: Family,
        box: Box | None = None,
    ) -> None:
        self.engine = engine
        self.scaling = scaling
        self.penalty = penalty
        self.total_weight = total_weight
        self.family = family
        self.box = box  # the bounds on θ, if any (:mod:`.bounds`)
        self.passes = 0

    @classmethod
    def build(
        cls,
        engine: PassEngine,
        summary: Summary,
        *,
        reg_param: float,
        elastic_net_param: float = 0.0,
        standardization: bool = True,
        fit_intercept: bool = True,
        family: Family = BINOMIAL,
        bounds: Bounds | None = None,
    ) -> Objective:
        """The objective of a model with these settings (MLlib's meaning) on data with ``summary``,
        in coordinates of unit curvature at the start (:mod:`~logreg_spark.scaling`);
        ``family`` says binomial or multinomial of K classes; ``bounds`` (data scale, MLlib's
        meaning) make it a problem over a :class:`~.bounds.Box`, in uncentred coordinates when
        an intercept is bounded."""
        std = summary.std
        on_coefficients = ElasticNet.on_coefficients(reg_param, elastic_net_param, std, standardization)
        share = np.zeros(family.classes)
        share[: summary.class_weight.size] = summary.class_weight[: share.size] / summary.weight
        centred = bounds is None or not bounds.on_intercepts
        scaling = FeatureScaling.build(
            summary.mean, summary.m2 / summary.weight, std > 0, share, on_coefficients.l2, fit_intercept, centred
        )
        penalty = on_coefficients.in_coordinates(scaling.coefficient_scale(), copies=family.n_margins)
        box = Box.build(bounds, scaling) if bounds else None
        return cls(engine, scaling, penalty, summary.weight, family, box)

    @property
    def n_params(self) -> int:
        return self.family.n_margins * self.scaling.n_params

    def to_data(self, theta: np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
        """Solver coordinates → (coefficients, intercept): (d,) and a number, or (K, d) and (K,)."""
        return self.scaling.to_data(self.family.rows(theta))

    def from_data(self, coef: np.ndarray, intercept: float | np.ndarray) -> np.ndarray:
        """(coefficients, intercept) of either shape → solver coordinates."""
        return self.scaling.from_data(coef, intercept).ravel()

    def evaluate(self, theta: np.ndarray, hessian: bool = False, diagonal: bool = False) -> Evaluation:
        """One pass over the data at ``theta``, with the Hessian or its diagonal if asked."""
        coef, intercept = self.to_data(theta)
        sums = self.engine.run(coef, intercept, Layout(self.scaling.n_features, self.family, hessian, diagonal))
        self.passes += 1
        scale = 1.0 / self.total_weight
        l2_value, l2_grad = self.penalty.smooth_value_and_gradient(theta)
        value = sums.loss * scale + l2_value
        gradient = self.scaling.gradient_to_solver(sums.gradient * scale).ravel()
        gradient += l2_grad
        hess = None
        if hessian:
            assert sums.hessian is not None, "a layout with hessian=True unpacks a Hessian"
            hess = self.scaling.hessian_to_solver(sums.hessian * scale, self.family.n_margins) + np.diag(
                self.penalty.l2
            )
        diag = None
        if diagonal:
            assert sums.diagonal is not None, "a layout with diagonal=True unpacks the diagonal's sums"
            diag = self.scaling.diagonal_to_solver(sums.diagonal * scale).ravel()
            diag += self.penalty.l2
        return Evaluation(theta, value, gradient, hess, value + self.penalty.l1_value(theta), sums.misclassified, diag)

    def recentred(self, ev: Evaluation) -> Evaluation:
        """``ev`` moved to the best point along the directions the data cannot see, without a pass.

        The softmax loss does not change when one vector t is added to every class's
        coefficients (and the margins of every row move alike), so along t only the penalty
        has curvature: the L2 part's, small beside the data's. Under L1 the solvers drift there
        slowly; here t is chosen exactly (:meth:`ElasticNet.common_shift`). The data's gradient
        in the solver's coordinates is the same at both points. The binomial model, or a
        bounded one (the shift could leave the box; MLlib does not centre bounded models): ``ev``.
        """
        if not self.family.is_multinomial or self.penalty.is_zero or self.box:
            return ev
        rows = self.family.rows(ev.theta)
        shift = self.penalty.common_shift(rows)
        if not np.any(shift):
            return ev
        theta = (rows - shift).ravel()
        old_l2, old_grad = self.penalty.smooth_value_and_gradient(ev.theta)
        new_l2, new_grad = self.penalty.smooth_value_and_gradient(theta)
        value = ev.value - old_l2 + new_l2
        total = value + self.penalty.l1_value(theta)
        if not total < ev.total:  # already there, to rounding
            return ev
        return Evaluation(
            theta, value, ev.gradient - old_grad + new_grad, ev.hessian, total, ev.misclassified, ev.diagonal
        )

    def optimality(self, ev: Evaluation) -> float:
        """‖minimum-norm subgradient‖₂ of the full objective at ``ev.theta``; within a box, of the
        projected one (:meth:`~.bounds.Box.projected_gradient`): 0 exactly at the constrained optimum."""
        subgradient = self.penalty.pseudo_gradient(ev.theta, ev.gradient)
        if self.box:
            subgradient = self.box.projected_gradient(ev.theta, subgradient)
        return float(np.linalg.norm(subgradient))
