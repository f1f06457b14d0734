"""Solvers: each a short function over an :class:`~logreg_spark.objective.Objective`.

A solver only asks the objective for loss and gradient (and, for Newton, the
Hessian) at a point; it knows nothing of Spark. Each records one
:class:`IterationRecord` per iteration, iteration 0 being the starting point,
and reports its :class:`Progress` after every iteration; given a Progress
back (``resume``), it goes on exactly as it would have without the stop.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

from .objective import Evaluation, Objective


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
Memory = dict[str, Union[np.ndarray, float]]


@dataclass(frozen=True)
class Progress:
    """Where a solver is after an iteration: enough to go on after a restart."""

    theta: np.ndarray
    history: list[IterationRecord]
    memory: Memory  # gd: the step size; lbfgs: the curvature pairs; newton: nothing

    @property
    def last(self) -> IterationRecord:
        return self.history[-1]


OnIteration = Callable[[Progress], None]


class _Recorder:
    """Times iterations, keeps the history and reports the progress after each."""

    def __init__(self, objective: Objective, memory: Callable[[], Memory], on_iteration: OnIteration | None,
                 history: list[IterationRecord]) -> None:
        self.objective = objective
        self.memory = memory
        self.on_iteration = on_iteration
        self.history = history
        self.started = time.perf_counter()

    def record(self, ev: Evaluation, step: float) -> float:
        """Record the iteration that ended at ``ev``; return its optimality measure."""
        now = time.perf_counter()
        norm = self.objective.optimality(ev)
        rec = IterationRecord(len(self.history), ev.total, norm, step, now - self.started,
                              self.objective.passes)
        self.started = now
        self.history.append(rec)
        if self.on_iteration:
            self.on_iteration(Progress(ev.theta, list(self.history), self.memory()))
        return norm


#: Why a run ended at the optimum: the optimality measure (:meth:`Objective.optimality`) is below tol.
CONVERGED = "gradient norm below tol"
#: Why a run ended short of it: the objective stopped changing while the gradient was not small.
STALLED = "stalled: the objective stopped decreasing before the gradient norm reached tol"
#: A run is stalled when the objective changed by at most tol² (relative) over this many
#: iterations while the gradient norm stayed above tol. Near the optimum the gap to it is about
#: half the squared gradient norm, so a run that still makes progress changes it by more.
STALL_ITERATIONS = 5


def _stop_reason(history: list[IterationRecord], tol: float) -> str | None:
    """Why to stop after the last iteration of ``history``, or None to go on."""
    if not np.isfinite(history[-1].loss):
        return "diverged"
    if history[-1].grad_norm <= tol:
        return CONVERGED
    if len(history) > STALL_ITERATIONS:
        before, now = history[-STALL_ITERATIONS - 1].loss, history[-1].loss
        if abs(before - now) <= tol * tol * max(abs(now), np.finfo(float).tiny):
            return STALLED
    return None


#: L-BFGS takes the Hessian's diagonal from the pass that ends every this many iterations (a
#: pass then sums 2d + 1 more numbers per margin) as its first guess of the Hessian: where
#: the curvature of coordinates has drifted apart from the start's (rows whose predictions
#: became confident contribute little), this keeps the steps to scale. 5 measured best of
#: 1, 3, 5, 10 and 20 on lognormal sparse features (29–52 passes against 141 without).
DIAGONAL_EVERY = 5

#: Armijo constant: accept a step that achieves this fraction of the predicted decrease.
ARMIJO = 1e-4
#: Halvings of the step before a line search gives up.
MAX_HALVINGS = 40
#: ``auto`` picks Newton up to this many parameters p (coefficients and intercepts of
#: every class): each row then costs p² for the Hessian instead of 2p, and partitions
#: ship p² sums instead of p.
NEWTON_MAX_PARAMS = 101


def _backtrack(
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


#: Stop reason when an unpenalized fit finds every row on its correct side.
SEPARABLE = "separable data: the unpenalized maximum-likelihood estimate does not exist"

#: One iteration: from the current evaluation to (accepted evaluation, step), or None.
Step = Callable[[Evaluation], "tuple[Evaluation, float] | None"]


def _iterate(objective: Objective, theta0: np.ndarray, step: Step, memory: Callable[[], Memory], *,
             max_iter: int, tol: float, hessian: bool, on_iteration: OnIteration | None,
             resume: Progress | None) -> SolverResult:
    """The loop every solver shares: evaluate, step, record, test for convergence.

    With ``resume`` the loop starts at its point, history and iteration count;
    the solver has restored its memory from it.
    """
    recorder = _Recorder(objective, memory, on_iteration, list(resume.history) if resume else [])
    ev = objective.evaluate(resume.theta if resume else theta0, hessian=hessian)
    if not resume and recorder.record(ev, 0.0) <= tol:
        return SolverResult(ev.theta, True, CONVERGED, recorder.history, ev)
    for _ in range(max_iter - (len(recorder.history) - 1)):
        accepted = step(ev)
        if accepted is None:
            return SolverResult(ev.theta, False, "line search failed", recorder.history, ev)
        ev, size = objective.recentred(accepted[0]), accepted[1]
        recorder.record(ev, size)
        reason = _stop_reason(recorder.history, tol)
        if objective.penalty.is_zero and ev.misclassified == 0:
            return SolverResult(ev.theta, False, SEPARABLE, recorder.history, ev)
        if reason:
            return SolverResult(ev.theta, reason == CONVERGED, reason, recorder.history, ev)
    return SolverResult(ev.theta, False, "max_iter reached", recorder.history, ev)


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
    last_step = float(resume.memory["step"]) if resume else learning_rate

    def step(current: Evaluation) -> tuple[Evaluation, float] | None:
        nonlocal last_step

        def trial(eta: float) -> np.ndarray:
            return objective.penalty.prox(current.theta - eta * current.gradient, eta)

        def sufficient(eta: float, new: Evaluation) -> bool:
            delta = new.theta - current.theta
            bound = current.value + current.gradient @ delta + delta @ delta / (2 * eta)
            return not line_search or new.value <= bound

        accepted = _backtrack(objective, trial, sufficient, last_step)
        if accepted:
            last_step = accepted[1]
            s, y = accepted[0].theta - current.theta, accepted[0].gradient - current.gradient
            if line_search and s @ y > 0:
                last_step = float(s @ s) / float(s @ y)
        return accepted

    return _iterate(objective, theta0, step, lambda: {"step": last_step}, max_iter=max_iter, tol=tol,
                    hessian=False, on_iteration=on_iteration, resume=resume)


def _two_loop(vector: np.ndarray, pairs: deque[tuple[np.ndarray, np.ndarray]],
              diagonal: np.ndarray | None = None) -> np.ndarray:
    """The L-BFGS inverse-Hessian approximation applied to ``vector``; its initial guess is the
    inverse of the Hessian's ``diagonal`` when given, else the scalar ``sᵀy / yᵀy`` of the last pair."""
    q = vector.copy()
    alphas = []
    for s, y in reversed(pairs):
        alpha = (s @ q) / (s @ y)
        q -= alpha * y
        alphas.append(alpha)
    if diagonal is not None:
        q /= diagonal
    elif pairs:
        s, y = pairs[-1]
        q *= (s @ y) / (y @ y)
    for (s, y), alpha in zip(pairs, reversed(alphas)):
        q += (alpha - (y @ q) / (s @ y)) * s
    return q


def _curved(s: np.ndarray, y: np.ndarray) -> bool:
    """Whether a curvature pair has positive curvature (sᵀy > 0, beyond rounding): only such a
    pair keeps the L-BFGS approximation positive definite."""
    return bool(s @ y > 1e-12 * np.sqrt((s @ s) * (y @ y)))


def _on_free(pairs: deque[tuple[np.ndarray, np.ndarray]], fixed: np.ndarray
             ) -> deque[tuple[np.ndarray, np.ndarray]]:
    """The curvature pairs restricted to the coordinates not held at zero by the L1 part.

    The direction there should be −(H_FF)⁻¹ g_F, the Newton step of the free coordinates F
    with the others fixed. The full two-loop gives −(H⁻¹)_FF g_F instead, which along strongly
    correlated features (one of a pair at zero, the other free) is too long by about the
    inverse of their small curvature difference, so that every step backtracks. A pair whose
    restriction has no positive curvature is left out.
    """
    if not fixed.any():
        return pairs
    free = ~fixed
    kept = ((s * free, y * free) for s, y in pairs)
    return deque((s, y) for s, y in kept if _curved(s, y))


def lbfgs(
    objective: Objective,
    theta0: np.ndarray,
    *,
    memory: int,
    max_iter: int,
    tol: float,
    on_iteration: OnIteration | None = None,
    resume: Progress | None = None,
) -> SolverResult:
    """Limited-memory BFGS with a backtracking Armijo line search; OWL-QN under L1.

    With an L1 part (Andrew & Gao, 2007) the quasi-Newton direction is built
    from the pseudo-gradient, kept in its orthant, and every trial point is
    projected back onto the orthant of the current point; the curvature pairs
    use the smooth part's gradient only. Without L1 the projections do nothing
    and this is plain L-BFGS.
    """
    penalty = objective.penalty
    l1 = penalty.l1 > 0
    pairs: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=memory)
    diagonal: np.ndarray | None = None
    if resume:
        n = len(theta0)
        pairs.extend(zip(np.reshape(resume.memory["s"], (-1, n)), np.reshape(resume.memory["y"], (-1, n))))
        if "diagonal" in resume.memory:
            diagonal = np.asarray(resume.memory["diagonal"], dtype=float)
    iteration = len(resume.history) - 1 if resume else 0

    def saved() -> Memory:
        state: Memory = {"s": np.array([s for s, _ in pairs]), "y": np.array([y for _, y in pairs])}
        return state if diagonal is None else {**state, "diagonal": diagonal}

    def step(current: Evaluation) -> tuple[Evaluation, float] | None:
        nonlocal diagonal, iteration
        iteration += 1
        pseudo = penalty.pseudo_gradient(current.theta, current.gradient)
        direction = -_two_loop(pseudo, _on_free(pairs, l1 & (current.theta == 0) & (pseudo == 0)), diagonal)
        # at zero, leave only into the orthant of −pseudo; elsewhere the trial projection keeps a
        # coordinate from crossing zero (constraining its sign too makes correlated pairs zigzag)
        direction[l1 & (current.theta == 0) & (np.sign(direction) != np.sign(-pseudo))] = 0.0
        if direction @ pseudo >= 0:  # not a descent direction: restart from steepest descent
            pairs.clear()
            direction = -pseudo
        orthant = np.where(current.theta != 0, np.sign(current.theta), np.sign(-pseudo))

        def trial(alpha: float) -> np.ndarray:
            point = current.theta + alpha * direction
            point[l1 & (np.sign(point) != orthant)] = 0.0
            return point

        def sufficient(alpha: float, new: Evaluation) -> bool:
            return new.total <= current.total + ARMIJO * pseudo @ (new.theta - current.theta)

        first_step = 1.0 if pairs else min(1.0, 1.0 / np.linalg.norm(pseudo))
        accepted = _backtrack(objective, trial, sufficient, first_step,
                              diagonal=iteration % DIAGONAL_EVERY == 0)
        if accepted:
            s, y = accepted[0].theta - current.theta, accepted[0].gradient - current.gradient
            if _curved(s, y):
                pairs.append((s, y))
            if accepted[0].diagonal is not None:  # coordinates fixed at 0 have none: keep them at 1
                diagonal = np.where(accepted[0].diagonal > 0, accepted[0].diagonal, 1.0)
        return accepted

    return _iterate(objective, theta0, step, saved, max_iter=max_iter, tol=tol, hessian=False,
                    on_iteration=on_iteration, resume=resume)


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
    for damping in [0.0, *(10.0 ** k for k in range(-10, 3))]:
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

    def step(current: Evaluation) -> tuple[Evaluation, float] | None:
        direction = newton_direction(current.hessian, current.gradient)
        slope = current.gradient @ direction

        def sufficient(alpha: float, new: Evaluation) -> bool:
            return new.value <= current.value + ARMIJO * alpha * slope

        return _backtrack(objective, lambda alpha: current.theta + alpha * direction, sufficient, 1.0,
                          hessian=True)

    return _iterate(objective, theta0, step, dict, max_iter=max_iter, tol=tol, hessian=True,
                    on_iteration=on_iteration, resume=resume)


def resolve_solver(name: str, has_l1: bool, n_params: int) -> str:
    """``auto`` → ``newton`` without L1 and with at most NEWTON_MAX_PARAMS parameters (a binomial
    model of 100 features; Newton's work per row grows with their square), else ``lbfgs``."""
    if name != "auto":
        return name
    return "newton" if not has_l1 and n_params <= NEWTON_MAX_PARAMS else "lbfgs"
