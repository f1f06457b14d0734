"""Newton's method (IRLS), proximal under an L1 part."""

from __future__ import annotations

import numpy as np

from ..core.objective import Evaluation, Objective
from .l1_quadratic import l1_quadratic_minimum
from .linear_system import newton_direction
from .loop import ARMIJO, IterationRecord, OnIteration, Progress, SolverResult, backtrack, iterate


def newton(
    objective: Objective,
    theta0: np.ndarray,
    *,
    max_iter: int,
    tol: float,
    on_iteration: OnIteration | None = None,
    resume: Progress | None = None,
) -> SolverResult:
    """Newton's method (IRLS) with a backtracking Armijo line search; proximal Newton under L1.

    Every pass returns the Hessian with the gradient, so the accepted trial point comes with
    everything the next Newton step needs. With an L1 part each step goes towards the minimum
    of Newton's model with the L1 part (:func:`~.l1_quadratic.l1_quadratic_minimum`), and the
    line search asks of the whole objective a share of the model's decrease (Lee, Sun &
    Saunders, 2014); near the optimum the full step is taken and convergence is Newton's.
    """
    penalty = objective.penalty

    def step(current: Evaluation, _: list[IterationRecord]) -> tuple[Evaluation, float] | None:
        assert current.hessian is not None, "iterate(hessian=True) evaluates every point with its Hessian"
        theta = current.theta
        if penalty.has_l1:
            direction = l1_quadratic_minimum(current.hessian, current.gradient, penalty.l1, theta) - theta
            decrease = current.gradient @ direction + penalty.l1_value(theta + direction) - penalty.l1_value(theta)
        else:
            direction = newton_direction(current.hessian, current.gradient)
            decrease = current.gradient @ direction
        if not decrease < 0:  # Newton's model sees no descent: the point is its optimum, to rounding
            return None

        def sufficient(alpha: float, new: Evaluation) -> bool:
            return new.total <= current.total + ARMIJO * alpha * decrease

        return backtrack(objective, lambda alpha: theta + alpha * direction, sufficient, 1.0, hessian=True)

    return iterate(
        objective,
        theta0,
        step,
        dict,
        max_iter=max_iter,
        tol=tol,
        hessian=True,
        on_iteration=on_iteration,
        resume=resume,
    )
