"""Projected L-BFGS (L-BFGS-B-style) for the objective over a box of bounds.

Each iteration (after Bertsekas, 1982, projected Newton methods):

1. the held set: coordinates within ε of a bound with the gradient pushing them
   out of the box (ε = min(‖projected gradient‖, :data:`NEAR_BOUND`)), and those
   with equal bounds;
2. the direction: the L-BFGS two-loop on the other (free) coordinates, with the
   curvature pairs restricted to them; steepest descent on the held ones, which
   the projection then stops at their bounds;
3. a backtracking line search along the projected path P(θ + α d), accepting a
   step with Armijo's decrease on the step actually taken,
   ``F(new) ≤ F(θ) + c ∇F(θ)ᵀ (new − θ)``;
4. the pair (s, y) joins the memory only when sᵀy > 0.

When the quasi-Newton direction finds no such step, the projected steepest
descent path does (for a small enough step it decreases F unless θ is
optimal). The run has converged when the projected gradient is below tol
(:meth:`~logreg_spark.core.objective.Objective.optimality`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..core.objective import Evaluation, Objective
from .lbfgs import CurvatureMemory
from .loop import ARMIJO, DIAGONAL_EVERY, IterationRecord, OnIteration, Progress, SolverResult, backtrack, iterate

#: Largest distance (in the solver's unit-curvature coordinates) at which a coordinate pushed
#: out of the box is held at its bound for an iteration.
NEAR_BOUND = 1e-3


def projected_lbfgs(
    objective: Objective,
    theta0: np.ndarray,
    *,
    memory: int,
    max_iter: int,
    tol: float,
    on_iteration: OnIteration | None = None,
    resume: Progress | None = None,
) -> SolverResult:
    """Minimise ``objective`` over its box (``objective.box``) from ``theta0`` (or ``resume``),
    both projected into the box first; see the module docstring."""
    box = objective.box
    assert box is not None, "projected L-BFGS needs a box"
    learned = CurvatureMemory(memory, len(theta0), resume)

    def step(current: Evaluation, history: list[IterationRecord]) -> tuple[Evaluation, float] | None:
        gradient = current.gradient
        projected = box.projected_gradient(current.theta, gradient)
        held = box.held(current.theta, gradient, min(float(np.linalg.norm(projected)), NEAR_BOUND))
        direction = np.where(held, -gradient, learned.direction(np.where(held, 0.0, gradient), held))
        if direction @ gradient >= 0:  # not a descent direction: restart from steepest descent
            learned.pairs.clear()
            direction = -gradient
        measure = len(history) % DIAGONAL_EVERY == 0

        def trial(alpha: float) -> np.ndarray:
            return box.project(current.theta + alpha * direction)

        def sufficient(alpha: float, new: Evaluation) -> bool:
            return new.total <= current.total + ARMIJO * gradient @ (new.theta - current.theta)

        first_step = 1.0 if learned.pairs else min(1.0, float(1.0 / np.linalg.norm(projected)))
        accepted = backtrack(objective, trial, sufficient, first_step, diagonal=measure)
        if accepted is None and learned.pairs:  # the projected steepest descent path
            learned.pairs.clear()
            direction = -gradient
            first_step = min(1.0, float(1.0 / np.linalg.norm(projected)))
            accepted = backtrack(objective, trial, sufficient, first_step, diagonal=measure)
        if accepted:
            learned.learn(current, accepted[0])
        return accepted

    return iterate(
        objective,
        box.project(theta0),
        step,
        learned.state,
        max_iter=max_iter,
        tol=tol,
        hessian=False,
        on_iteration=on_iteration,
        resume=replace(resume, theta=box.project(resume.theta)) if resume else None,
    )
