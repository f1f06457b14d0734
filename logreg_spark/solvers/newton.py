"""Newton's method (IRLS) for L2 penalties."""

from __future__ import annotations

import numpy as np

from ..core.objective import Evaluation, Objective
from .loop import ARMIJO, IterationRecord, OnIteration, Progress, SolverResult, backtrack, iterate


def newton_direction(hessian: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """Solve ``H d = −g`` by Cholesky; damp ``H`` when it is singular or indefinite.

    The system is first scaled by the Hessian's diagonal ``D`` (Jacobi), so
    that coordinates whose curvatures differ by many orders of magnitude
    (unstandardized penalties on features of scales 1e-6 and 1e6) are treated
    alike. Duplicated or constant columns make ``H`` singular:
    ``H + μ D`` with ``μ`` growing from 1e-10 is tried until it factors; if
    none does, the steepest-descent direction ``−g`` is returned.
    """
    diagonal = np.diag(hessian)
    scale = np.sqrt(np.where(diagonal > 0, diagonal, 1.0))
    scaled = hessian / np.outer(scale, scale)
    for damping in [0.0, *(10.0**k for k in range(-10, 3))]:
        try:
            factor = np.linalg.cholesky(scaled + damping * np.eye(len(gradient)))
        except np.linalg.LinAlgError:
            continue
        direction = -np.linalg.solve(factor.T, np.linalg.solve(factor, gradient / scale)) / scale
        if np.all(np.isfinite(direction)):
            return direction
    return -gradient


def newton(
    objective: Objective,
    theta0: np.ndarray,
    *,
    max_iter: int,
    tol: float,
    on_iteration: OnIteration | None = None,
    resume: Progress | None = None,
) -> SolverResult:
    """Newton's method (IRLS) with a backtracking Armijo line search; L2 penalties only.

    Every pass returns the Hessian with the gradient, so the accepted trial
    point comes with everything the next Newton step needs.
    """
    if objective.penalty.has_l1:
        raise ValueError("newton handles L2 penalties only; use lbfgs for L1 or elastic net")

    def step(current: Evaluation, _: list[IterationRecord]) -> tuple[Evaluation, float] | None:
        assert current.hessian is not None, "iterate(hessian=True) evaluates every point with its Hessian"
        direction = newton_direction(current.hessian, current.gradient)
        slope = current.gradient @ direction

        def sufficient(alpha: float, new: Evaluation) -> bool:
            return new.value <= current.value + ARMIJO * alpha * slope

        return backtrack(objective, lambda alpha: current.theta + alpha * direction, sufficient, 1.0, hessian=True)

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
