"""Solvers: each a short function over an :class:`~logreg_spark.objective.Objective`.

A solver only asks the objective for loss and gradient (and, for Newton, the
Hessian) at a point; it knows nothing of Spark. Each records one
:class:`IterationRecord` per iteration, iteration 0 being the starting point.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .objective import Evaluation, Objective


@dataclass(frozen=True)
class IterationRecord:
    iteration: int
    loss: float  # the full objective, penalty included
    grad_norm: float  # norm of the minimum-norm subgradient
    step_size: float
    seconds: float


@dataclass
class SolverResult:
    theta: np.ndarray
    converged: bool
    reason: str
    history: list[IterationRecord] = field(default_factory=list)


OnIteration = Callable[[IterationRecord], None]


class _Recorder:
    """Times iterations, keeps the history and reports each record."""

    def __init__(self, objective: Objective, on_iteration: OnIteration | None) -> None:
        self.objective = objective
        self.on_iteration = on_iteration
        self.history: list[IterationRecord] = []
        self.started = time.perf_counter()

    def record(self, ev: Evaluation, step: float) -> float:
        """Record the iteration that ended at ``ev``; return its optimality norm."""
        now = time.perf_counter()
        norm = self.objective.optimality(ev)
        rec = IterationRecord(len(self.history), ev.total, norm, step, now - self.started)
        self.started = now
        self.history.append(rec)
        if self.on_iteration:
            self.on_iteration(rec)
        return norm


def _stop_reason(previous: Evaluation, current: Evaluation, grad_norm: float, tol: float) -> str | None:
    """Why to stop at ``current``, or None to go on."""
    if not np.isfinite(current.total):
        return "diverged"
    if grad_norm <= tol:
        return "gradient norm below tol"
    change = abs(previous.total - current.total) / max(abs(current.total), np.finfo(float).tiny)
    if change <= tol:
        return "relative loss change below tol"
    return None


def gradient_descent(
    objective: Objective,
    theta0: np.ndarray,
    *,
    learning_rate: float,
    max_iter: int,
    tol: float,
    on_iteration: OnIteration | None = None,
) -> SolverResult:
    """Full-batch (proximal) gradient descent with a fixed step.

    ``θ ← prox(θ − η ∇f(θ), η)``, where ``f`` is the smooth part and the
    proximal operator handles the L1 part (plain gradient descent without L1).
    """
    recorder = _Recorder(objective, on_iteration)
    ev = objective.evaluate(theta0)
    if recorder.record(ev, 0.0) <= tol:
        return SolverResult(ev.theta, True, "gradient norm below tol", recorder.history)
    for _ in range(max_iter):
        theta = objective.penalty.prox(ev.theta - learning_rate * ev.gradient, learning_rate)
        new = objective.evaluate(theta)
        reason = _stop_reason(ev, new, recorder.record(new, learning_rate), tol)
        ev = new
        if reason:
            return SolverResult(ev.theta, reason != "diverged", reason, recorder.history)
    return SolverResult(ev.theta, False, "max_iter reached", recorder.history)
