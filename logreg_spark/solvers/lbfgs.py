"""L-BFGS, and OWL-QN when the penalty has an L1 part."""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np

from ..core.objective import Evaluation, Objective
from .loop import (
    DIAGONAL_EVERY,
    IterationRecord,
    OnIteration,
    Progress,
    SolverResult,
    SolverState,
    backtrack,
    iterate,
    metric,
)
from .orthant import OrthantStep


class Pair(NamedTuple):
    """A curvature pair: the step ``s``, the gradient's change ``y``, and ``sy = sᵀy``."""

    s: np.ndarray
    y: np.ndarray
    sy: float


def _two_loop(vector: np.ndarray, pairs: deque[Pair], diagonal: np.ndarray | None = None) -> np.ndarray:
    """The L-BFGS inverse-Hessian approximation applied to ``vector``; its initial guess is the
    inverse of the Hessian's ``diagonal`` when given, else the scalar ``sᵀy / yᵀy`` of the last pair.

    Each update ``q += a x`` goes through one scratch vector, with no fresh d-sized temporary per
    pair (on a driver holding a wide model, each is tens of megabytes to page in). NumPy rather
    than BLAS ``axpy``: OpenBLAS runs it in threads, and on a busy machine a call over 10⁵
    numbers then took 1 ms waiting for a core, NumPy's 0.15 ms."""
    q = np.array(vector, dtype=np.float64)
    scratch = np.empty_like(q)

    def add(a: float, x: np.ndarray) -> None:
        np.multiply(x, a, out=scratch)
        np.add(q, scratch, out=q)

    alphas = []
    for pair in reversed(pairs):
        alpha = (pair.s @ q) / pair.sy
        add(-alpha, pair.y)
        alphas.append(alpha)
    if diagonal is not None:
        q /= diagonal
    elif pairs:
        last = pairs[-1]
        q *= last.sy / (last.y @ last.y)
    for pair, alpha in zip(pairs, reversed(alphas)):
        add(alpha - (pair.y @ q) / pair.sy, pair.s)
    return q


def _curved(s: np.ndarray, y: np.ndarray) -> bool:
    """Whether a curvature pair has positive curvature (sᵀy > 0, beyond rounding): only such a
    pair keeps the L-BFGS approximation positive definite."""
    return bool(s @ y > 1e-12 * np.sqrt((s @ s) * (y @ y)))


def _on_free(pairs: deque[Pair], fixed: np.ndarray | None) -> deque[Pair]:
    """The curvature pairs restricted to the coordinates not ``fixed`` (held at zero by the L1
    part, or at a bound: :mod:`.lbfgsb`).

    The direction there should be −(H_FF)⁻¹ g_F, the Newton step of the free coordinates F
    with the others fixed. The full two-loop gives −(H⁻¹)_FF g_F instead, which along strongly
    correlated features (one of a pair at zero, the other free) is too long by about the
    inverse of their small curvature difference, so that every step backtracks. A pair whose
    restriction has no positive curvature is left out.
    """
    if fixed is None or not fixed.any():
        return pairs
    free = ~fixed
    kept = ((pair.s * free, pair.y * free) for pair in pairs)
    return deque(Pair(s, y, float(s @ y)) for s, y in kept if _curved(s, y))


class CurvatureMemory:
    """What L-BFGS learns between iterations: the last ``memory`` curvature pairs, and the
    Hessian's diagonal when a pass measured it (:data:`~.loop.DIAGONAL_EVERY`); restored from
    ``resume``, saved as the solver's state.

    A new pair is computed into the arrays of the pair it pushes out (or of one that was not
    kept): after the first ``memory`` iterations, learning allocates nothing."""

    def __init__(self, memory: int, n_params: int, resume: Progress | None) -> None:
        self.pairs: deque[Pair] = deque(maxlen=memory)
        self.diagonal: np.ndarray | None = None
        self._spare: tuple[np.ndarray, np.ndarray] | None = None
        if resume:
            s, y = (np.reshape(resume.state[name], (-1, n_params)) for name in ("s", "y"))
            self.pairs.extend(Pair(si.copy(), yi.copy(), float(si @ yi)) for si, yi in zip(s, y))
            if "diagonal" in resume.state:
                self.diagonal = np.asarray(resume.state["diagonal"], dtype=float)

    def state(self) -> SolverState:
        state: SolverState = {"s": np.array([p.s for p in self.pairs]), "y": np.array([p.y for p in self.pairs])}
        return state if self.diagonal is None else {**state, "diagonal": self.diagonal}

    def direction(self, gradient: np.ndarray, fixed: np.ndarray | None) -> np.ndarray:
        """The quasi-Newton direction for ``gradient`` with the ``fixed`` coordinates held (:func:`_on_free`;
        None: none)."""
        direction = _two_loop(gradient, _on_free(self.pairs, fixed), self.diagonal)
        return np.negative(direction, out=direction)

    def learn(self, current: Evaluation, accepted: Evaluation) -> None:
        """Keep the step's curvature pair if it has positive curvature, and the measured diagonal."""
        s, y = self._spare or (np.empty_like(current.theta), np.empty_like(current.gradient))
        np.subtract(accepted.theta, current.theta, out=s)
        np.subtract(accepted.gradient, current.gradient, out=y)
        if not _curved(s, y):
            self._spare = s, y
        else:
            oldest = self.pairs[0] if len(self.pairs) == self.pairs.maxlen else None
            self._spare = None if oldest is None else (oldest.s, oldest.y)
            self.pairs.append(Pair(s, y, float(s @ y)))
        if accepted.diagonal is not None:
            self.diagonal = metric(accepted.diagonal)


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

    With an L1 part each iteration is orthant-wise (:class:`~.orthant.OrthantStep`); the
    curvature pairs use the smooth part's gradient only. Without L1 this is plain L-BFGS.
    """
    learned = CurvatureMemory(memory, len(theta0), resume)

    def step(current: Evaluation, history: list[IterationRecord]) -> tuple[Evaluation, float] | None:
        iteration = len(history)  # the one this step makes
        orthant = OrthantStep.at(objective.penalty, current)
        direction = learned.direction(orthant.pseudo, orthant.held)
        if not orthant.kept(direction):  # not a descent direction: restart from steepest descent
            learned.pairs.clear()
            direction = -orthant.pseudo
        first_step = 1.0 if learned.pairs else min(1.0, float(1.0 / np.linalg.norm(orthant.pseudo)))
        accepted = backtrack(
            objective,
            orthant.trial(direction),
            orthant.sufficient,
            first_step,
            diagonal=iteration % DIAGONAL_EVERY == 0,
        )
        if accepted:
            learned.learn(current, accepted[0])
        return accepted

    return iterate(
        objective,
        theta0,
        step,
        learned.state,
        max_iter=max_iter,
        tol=tol,
        hessian=False,
        on_iteration=on_iteration,
        resume=resume,
    )
