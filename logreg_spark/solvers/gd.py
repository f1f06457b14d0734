"""Full-batch (proximal) gradient descent."""

from __future__ import annotations

import numpy as np

from ..core.objective import Evaluation, Objective
from .loop import OnIteration, Progress, SolverResult, backtrack, iterate


def gradient_descent(
    objective: Objective,
    theta0: np.ndarray,
    *,
    learning_rate: float,
    max_iter: int,
    tol: float,
    line_search: bool = False,
    on_iteration: OnIteration | None = None,
    resume: Progress | None = None,
) -> SolverResult:
    """Full-batch (proximal) gradient descent.

    ``θ ← prox(θ − η ∇f(θ), η)``, where ``f`` is the smooth part and the
    proximal operator handles the L1 part. With ``line_search`` the step
    ``η`` is halved until ``f(θ⁺) ≤ f(θ) + ∇f(θ)ᵀΔ + ‖Δ‖²/(2η)``, so no step
    size can diverge; it starts at ``learning_rate``, then at the
    Barzilai–Borwein step ``sᵀs / sᵀy`` of the last move (s the change of θ,
    y of the gradient: the inverse of the curvature met along it), which lets
    it grow where the objective is flatter than the first step assumed.
    Without ``line_search`` every step is ``learning_rate``.
    """
    last_step = float(resume.state["step"]) if resume else learning_rate

    def step(current: Evaluation) -> tuple[Evaluation, float] | None:
        nonlocal last_step

        def trial(eta: float) -> np.ndarray:
            return objective.penalty.prox(current.theta - eta * current.gradient, eta)

        def sufficient(eta: float, new: Evaluation) -> bool:
            delta = new.theta - current.theta
            bound = current.value + current.gradient @ delta + delta @ delta / (2 * eta)
            return not line_search or new.value <= bound

        accepted = backtrack(objective, trial, sufficient, last_step)
        if accepted:
            last_step = accepted[1]
            s, y = accepted[0].theta - current.theta, accepted[0].gradient - current.gradient
            if line_search and s @ y > 0:
                last_step = float(s @ s) / float(s @ y)
        return accepted

    return iterate(
        objective,
        theta0,
        step,
        lambda: {"step": last_step},
        max_iter=max_iter,
        tol=tol,
        hessian=False,
        on_iteration=on_iteration,
        resume=resume,
    )
