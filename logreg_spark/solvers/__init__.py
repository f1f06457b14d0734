"""The solvers: each a short function over an :class:`~logreg_spark.core.objective.Objective`.

:mod:`.loop` holds what they share (records, stopping rule, line search, the
loop itself); :mod:`.gd`, :mod:`.lbfgs` and :mod:`.newton` one solver each; :mod:`.lbfgsb` is L-BFGS within bounds.
"""

from __future__ import annotations

from .gd import gradient_descent
from .lbfgs import lbfgs
from .lbfgsb import projected_lbfgs
from .linear_system import newton_direction
from .loop import CONVERGED, SEPARABLE, STALLED, IterationRecord, OnIteration, Progress, SolverResult, SolverState
from .newton import newton

__all__ = [
    "CONVERGED",
    "SEPARABLE",
    "STALLED",
    "IterationRecord",
    "OnIteration",
    "Progress",
    "SolverResult",
    "SolverState",
    "gradient_descent",
    "lbfgs",
    "newton",
    "newton_direction",
    "projected_lbfgs",
    "resolve_solver",
]

#: ``auto`` picks Newton up to this many parameters p (coefficients and intercepts of
#: every class): each row then costs p² for the Hessian instead of 2p, and partitions
#: ship p² sums instead of p.
NEWTON_MAX_PARAMS = 101


def resolve_solver(name: str, has_l1: bool, n_params: int, bounded: bool = False) -> str:
    """``auto`` → ``newton`` without L1 or bounds and with at most NEWTON_MAX_PARAMS parameters (a
    binomial model of 100 features; Newton's work per row grows with their square), else
    ``lbfgs`` (within bounds: :func:`projected_lbfgs`)."""
    if name != "auto":
        return name
    return "newton" if not (has_l1 or bounded) and n_params <= NEWTON_MAX_PARAMS else "lbfgs"
