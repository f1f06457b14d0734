"""What every solver shares: the iteration records, the stopping rule, the line search, the loop.

A solver only asks the objective for loss and gradient (and, for Newton, the
Hessian) at a point; it knows nothing of Spark. Each records one
:class:`IterationRecord` per iteration, iteration 0 being the starting point,
and reports its :class:`Progress` after every iteration; given a Progress
back (``resume``), it goes on exactly as it would have without the stop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.objective import Evaluation, Objective


@dataclass(frozen=True)
class IterationRecord:
    iteration: int
    loss: float  # the full objective, penalty included
    grad_norm: float  # the optimality measure: norm of the minimum-norm subgradient in unit-curvature coordinates
    step_size: float
    seconds: float
    passes: int  # data passes so far, line-search trials included


@dataclass
class SolverResult:
    theta: np.ndarray
    converged: bool
    reason: str
    history: list[IterationRecord]
    final: Evaluation  # the objective at ``theta``


#: A solver's own state between iterations: named arrays and numbers.
SolverState = dict[str, np.ndarray | float]


@dataclass(frozen=True)
class Progress:
    """Where a solver is after an iteration: enough to go on after a restart."""

    theta: np.ndarray
    history: list[IterationRecord]
    #: The solver's state, made when asked, as it is then: an ``on_iteration`` that keeps it (a
    #: checkpoint that is due) asks during its call. (L-BFGS's pairs are 2 m d numbers, not worth
    #: copying every iteration.) gd: the step size; lbfgs: the curvature pairs; newton: nothing.
    state_of: Callable[[], SolverState]

    @property
    def state(self) -> SolverState:
        return self.state_of()

    @property
    def last(self) -> IterationRecord:
        return self.history[-1]


OnIteration = Callable[[Progress], None]


class _Recorder:
    """Times iterations, keeps the history and reports the progress after each."""

    def __init__(
        self,
        objective: Objective,
        state: Callable[[], SolverState],
        on_iteration: OnIteration | None,
        history: list[IterationRecord],
    ) -> None:
        self.objective = objective
        self.state = state
        self.on_iteration = on_iteration
        self.history = history
        self.started = time.perf_counter()

    def record(self, ev: Evaluation, step: float) -> float:
        """Record the iteration that ended at ``ev``; return its optimality measure."""
        now = time.perf_counter()
        norm = self.objective.optimality(ev)
        rec = IterationRecord(len(self.history), ev.total, norm, step, now - self.started, self.objective.passes)
        self.started = now
        self.history.append(rec)
        if self.on_iteration:
            self.on_iteration(Progress(ev.theta, list(self.history), self.state))
        return norm


#: Why a run ended at the optimum: the optimality measure (:meth:`Objective.optimality`) is below tol.
CONVERGED = "gradient norm below tol"
#: Why a run ended short of it: the objective stopped changing while the gradient was not small.
STALLED = "stalled: the objective stopped decreasing before the gradient norm reached tol"
#: Why a run ended short of it: it used its ``max_iter`` iterations.
MAX_ITER = "max_iter reached"
#: A run is stalled when the lowest objective improved by at most tol² (relative) over this
#: many iterations while the gradient norm stayed above tol. Near the optimum the gap to it is
#: about half the squared gradient norm, so a run that still makes progress improves it by more.
#: (The lowest seen, not the last: gd's non-monotone steps may go up for a while.)
STALL_ITERATIONS = 5
#: What float64 resolves of a change of the objective, relative: below a tol of about 1e-7 tol²
#: is finer, and the objective's rounding (its sums over rows) hides the remaining decrease.
ROUNDOFF = 16 * np.finfo(float).eps


def _stop_reason(history: list[IterationRecord], tol: float, stall_window: int) -> str | None:
    """Why to stop after the last iteration of ``history``, or None to go on. Stalled when, over
    ``stall_window`` iterations, the lowest objective improved by at most tol² (relative), or at
    the float64 floor: by at most :data:`ROUNDOFF` while the gradient norm did not fall tenfold
    (a run that converges shrinks it steadily; one at the floor only sees its rounding)."""
    if not np.isfinite(history[-1].loss):
        return "diverged"
    if history[-1].grad_norm <= tol:
        return CONVERGED
    if len(history) > stall_window:
        earlier, window = history[:-stall_window], history[-stall_window:]
        now = min(record.loss for record in window)
        decrease = min(record.loss for record in earlier) - now
        scale = max(abs(now), np.finfo(float).tiny)
        gradient_fell = min(r.grad_norm for r in window) <= 0.1 * min(r.grad_norm for r in earlier)
        if decrease <= tol * tol * scale or (decrease <= ROUNDOFF * scale and not gradient_fell):
            return STALLED
    return None


#: L-BFGS and gd take the Hessian's diagonal from the pass that ends every this many iterations
#: (a pass then sums 2d + 1 more numbers per margin): L-BFGS as its first guess of the Hessian,
#: gd as the metric of its steps. Where the curvature of coordinates has drifted apart from the
#: start's (rows whose predictions became confident contribute little), this keeps the steps to
#: scale. 5 measured best of 1, 3, 5, 10 and 20 for L-BFGS on lognormal sparse features (29–52
#: passes against 141 without).
DIAGONAL_EVERY = 5


def metric(diagonal: np.ndarray) -> np.ndarray:
    """The Hessian's ``diagonal`` as a positive scaling: coordinates fixed at 0 (features absent
    from the data) have none, and keep the start's unit curvature."""
    return np.where(diagonal > 0, diagonal, 1.0)


#: Armijo constant: accept a step that achieves this fraction of the predicted decrease.
ARMIJO = 1e-4
#: Halvings of the step before a line search gives up.
MAX_HALVINGS = 40


def backtrack(
    objective: Objective,
    trial: Callable[[float], np.ndarray],
    sufficient: Callable[[float, Evaluation], bool],
    step: float,
    hessian: bool = False,
    diagonal: bool = False,
) -> tuple[Evaluation, float] | None:
    """Halve ``step`` until the point ``trial(step)`` decreases enough; None if it never does.

    The accepted evaluation is returned, to become the solver's next iterate:
    no pass is spent twice.
    """
    for _ in range(MAX_HALVINGS):
        new = objective.evaluate(trial(step), hessian=hessian, diagonal=diagonal)
        if np.isfinite(new.total) and sufficient(step, new):
            return new, step
        step *= 0.5
    return None


#: Stop reason when an unpenalized fit finds every row on its correct side (without bounds, which
#: may keep the optimum finite).
SEPARABLE = "separable data: the unpenalized maximum-likelihood estimate does not exist"

#: One iteration: from the current evaluation and the history so far (the records of every
#: iteration up to the current one) to (accepted evaluation, step), or None.
Step = Callable[[Evaluation, "list[IterationRecord]"], "tuple[Evaluation, float] | None"]


def iterate(
    objective: Objective,
    theta0: np.ndarray,
    step: Step,
    state: Callable[[], SolverState],
    *,
    max_iter: int,
    tol: float,
    hessian: bool,
    on_iteration: OnIteration | None,
    resume: Progress | None,
    stall_window: int = STALL_ITERATIONS,
) -> SolverResult:
    """The loop every solver shares: evaluate, step, record, test for convergence.

    A solver whose steps may raise the objective for a while (gd's non-monotone line search)
    asks for a longer ``stall_window``.

    With ``resume`` the loop starts at its point, history and iteration count;
    the solver has restored its state from it.
    """
    recorder = _Recorder(objective, state, on_iteration, list(resume.history) if resume else [])
    ev = objective.evaluate(resume.theta if resume else theta0, hessian=hessian)
    if not resume and recorder.record(ev, 0.0) <= tol:
        return SolverResult(ev.theta, True, CONVERGED, recorder.history, ev)
    for _ in range(max_iter - (len(recorder.history) - 1)):
        accepted = step(ev, recorder.history)
        if accepted is None:
            return SolverResult(ev.theta, False, "line search failed", recorder.history, ev)
        ev, size = objective.recentred(accepted[0]), accepted[1]
        recorder.record(ev, size)
        reason = _stop_reason(recorder.history, tol, stall_window)
        if objective.penalty.is_zero and objective.box is None and ev.misclassified == 0:
            return SolverResult(ev.theta, False, SEPARABLE, recorder.history, ev)
        if reason:
            return SolverResult(ev.theta, reason == CONVERGED, reason, recorder.history, ev)
    return SolverResult(ev.theta, False, MAX_ITER, recorder.history, ev)
