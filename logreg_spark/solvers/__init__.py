"""The solvers: each a short function over an :class:`~logreg_spark.core.objective.Objective`.

:mod:`.loop` holds what they share (records, stopping rule, line search, the
loop itself); :mod:`.gd`, :mod:`.lbfgs` and :mod:`.newton` one solver each; :mod:`.lbfgsb` is L-BFGS within bounds;
:mod:`.choice` picks one for ``auto``.
"""

from __future__ import annotations

from .choice import FitShape, resolve_solver
from .gd import gradient_descent
from .lbfgs import lbfgs
from .lbfgsb import projected_lbfgs
from .linear_system import newton_direction
from .loop import (
    CONVERGED,
    MAX_ITER,
    SEPARABLE,
    STALLED,
    IterationRecord,
    OnIteration,
    Progress,
    SolverResult,
    SolverState,
)
from .newton import newton

__all__ = [
    "CONVERGED",
    "FitShape",
    "MAX_ITER",
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
