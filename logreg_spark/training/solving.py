"""The training job's solver steps: which solver, and running it with checkpoints and a log.

Each iteration is logged (and checkpointed when one is due); the run ends with
one line saying how it ended and how close to the optimum, and a warning that
says what to change unless it converged.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from typing import TypedDict

import numpy as np

from ..artifacts.checkpoint import Checkpoints
from ..core.data import Summary
from ..core.objective import Objective
from ..errors import ConfigError
from ..settings.schema import SolverConf
from ..solvers import (
    MAX_ITER,
    SEPARABLE,
    STALLED,
    FitShape,
    OnIteration,
    Progress,
    SolverResult,
    gradient_descent,
    lbfgs,
    newton,
    projected_lbfgs,
    resolve_solver,
)

log = logging.getLogger("logreg_spark")

#: Newton is refused beyond this many parameters: its Hessian (8 p² bytes, 200 MB here) is
#: summed in every partition and sent to the driver on every pass.
NEWTON_LIMIT = 5000


def check_newton_size(solver: str, n_params: int) -> None:
    """Refuse Newton beyond :data:`NEWTON_LIMIT` parameters, with what to use instead."""
    if solver == "newton" and n_params > NEWTON_LIMIT:
        raise ConfigError(
            f'solver.name = "newton": the Hessian of {n_params} parameters would take '
            f'{8 * n_params**2 / 1e9:.1f} GB in every partition; use "lbfgs" (or '
            f'"auto") beyond {NEWTON_LIMIT} parameters'
        )


def choose_solver(conf: SolverConf, objective: Objective, summary: Summary, parallelism: int) -> str:
    """The solver ``solver.name`` asks for (``auto``: the one estimated to take less time on these
    rows, with passes run by ``parallelism`` tasks: :func:`~logreg_spark.solvers.resolve_solver`)."""
    shape = FitShape(summary.rows, summary.n_features, objective.family.n_margins, parallelism)
    solver = resolve_solver(conf.name, shape, objective.box is not None)
    check_newton_size(solver, objective.n_params)
    log.info(
        "solver %s on %d rows x %d features%s",
        solver,
        summary.rows,
        summary.n_features,
        f", {objective.family.classes} classes" if objective.family.is_multinomial else "",
    )
    return solver


class _Shared(TypedDict):
    """The keyword arguments every solver takes."""

    max_iter: int
    tol: float
    on_iteration: OnIteration | None
    resume: Progress | None


def one_blas_thread() -> AbstractContextManager[object]:
    """While it is entered, BLAS runs on the calling threads only (threadpoolctl); where
    threadpoolctl is not installed (an environment packed by hand before it was a dependency),
    nothing changes but speed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        log.debug("threadpoolctl is not installed: BLAS keeps its threads")
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def run_solver(
    name: str,
    objective: Objective,
    theta0: np.ndarray,
    conf: SolverConf,
    on_iteration: OnIteration | None = None,
    resume: Progress | None = None,
) -> SolverResult:
    """Run solver ``name`` from ``theta0`` (or ``resume``) with ``conf``'s settings, silently;
    ``lbfgs`` within the objective's bounds, if any, is :func:`projected_lbfgs` (the conf refuses
    the other solvers with bounds)."""
    assert objective.box is None or name == "lbfgs", "only lbfgs takes bounds"
    common: _Shared = {"max_iter": conf.max_iter, "tol": conf.tol, "on_iteration": on_iteration, "resume": resume}
    if name == "newton":  # its (d + 1)² solve gains from BLAS threads
        return newton(objective, theta0, **common)
    # Between passes L-BFGS and gd only add and multiply vectors. OpenBLAS runs each dot product of
    # over 10,000 numbers on several threads, whose spinning then takes the cores from the
    # executors in local mode: 1,000,000 × 100,000 sparse, 6.5 -> 6.0 s of training with one
    # thread here (5.4 s with OPENBLAS_NUM_THREADS=1 for the whole driver process).
    with one_blas_thread():
        if name == "gd":
            return gradient_descent(
                objective, theta0, learning_rate=conf.learning_rate, line_search=conf.line_search, **common
            )
        quasi_newton = projected_lbfgs if objective.box else lbfgs
        return quasi_newton(objective, theta0, memory=conf.memory, **common)


def solve(
    name: str, objective: Objective, theta0: np.ndarray, conf: SolverConf, checkpoints: Checkpoints | None
) -> SolverResult:
    """Run solver ``name`` from ``theta0`` (or the latest checkpoint), logging each iteration,
    then say how it ended."""
    resume = checkpoints.load(conf.resume) if checkpoints else None
    result = run_solver(name, objective, theta0, conf, _on_iteration(checkpoints), resume)
    _report_end(name, result, conf)
    return result


def _on_iteration(checkpoints: Checkpoints | None) -> OnIteration:
    """Log each iteration; write a checkpoint when one is due."""

    def report(progress: Progress) -> None:
        rec = progress.last
        log.info(
            "iteration %d: loss %.12g grad_norm %.3e step %.3g seconds %.3f passes %d",
            rec.iteration,
            rec.loss,
            rec.grad_norm,
            rec.step_size,
            rec.seconds,
            rec.passes,
        )
        if checkpoints:
            checkpoints.save(progress)

    return report


def _report_end(solver: str, result: SolverResult, conf: SolverConf) -> None:
    """The run's last word: how it ended and how close to the optimum, a warning unless converged."""
    optimality = result.history[-1].grad_norm
    log.info(
        "%s %s after %d iterations: %s; optimality %.2e (solver.tol %g)",
        solver,
        "converged" if result.converged else "did not converge",
        len(result.history) - 1,
        result.reason,
        optimality,
        conf.tol,
    )
    if result.reason == SEPARABLE:
        log.warning("%s: every row is classified correctly; set model.reg_param > 0 for a finite model", SEPARABLE)
    elif result.reason == MAX_ITER:
        log.warning(
            "%s stopped at solver.max_iter = %d with optimality %.2e > solver.tol = %g: the model is "
            "not at the optimum; raise solver.max_iter",
            solver,
            conf.max_iter,
            optimality,
            conf.tol,
        )
    elif result.reason == STALLED:
        log.warning(
            "%s stalled with optimality %.2e > solver.tol = %g: the objective no longer decreases, so "
            'the model is not at the optimum; try solver.name = "newton" (up to a few thousand '
            'parameters) or "lbfgs", or accept this model with a solver.tol of %.0e',
            solver,
            optimality,
            conf.tol,
            10 ** np.ceil(np.log10(optimality)),
        )
    elif not result.converged:
        log.warning("%s stopped without converging: %s", solver, result.reason)
