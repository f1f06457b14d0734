"""One chain: the fits of one (α, held-out fold) at some λ values (descending), each warm-started
from the last.

A chain fits exactly what a separate training run on its training rows (every
row not in its held-out fold) would fit at each λ: the same objective, built from the statistics of those rows
(:meth:`Objective.build`), and the same solver and stopping rule. Only the
starting point differs: the intercept-only model for the largest λ, as a separate
run starts, then the previous λ's solution. Its passes go through a :class:`~.batching.ModelEngine`,
so the chain runs in a thread of the :class:`~.batching.Batcher`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.data import Summary
from ..core.family import Family
from ..core.objective import Objective
from ..core.sums import HeldOut
from ..settings.schema import SolverConf
from ..solvers import MAX_ITER, SolverResult
from ..training.solving import run_solver
from .batching import Batcher, ModelEngine


@dataclass(frozen=True)
class ModelSettings:
    """What every fit of a tuning run shares besides (λ, α) and its rows."""

    family: Family
    standardization: bool
    fit_intercept: bool
    solver: SolverConf
    #: ``solver.name = "auto"``: the L-BFGS iterations after which a fit that has not converged
    #: goes on with Newton (None: never), as :meth:`~logreg_spark.solvers.FitShape.newton_after` says.
    newton_after: int | None = None


@dataclass(frozen=True)
class Chain:
    """The fits of α at ``reg_params`` (descending) over the rows not in fold ``held_out``, whose
    statistics are ``summary``."""

    elastic_net_param: float
    held_out: int
    summary: Summary
    reg_params: tuple[float, ...]


@dataclass(frozen=True)
class PathFit:
    """One model of a chain: where it ended, and its loss on the held-out rows."""

    reg_param: float
    elastic_net_param: float
    held_out: int
    solver: str
    iterations: int
    passes: int
    objective: float  # the training objective, penalty included
    optimality: float
    converged: bool
    stop_reason: str
    held: HeldOut
    coef: np.ndarray  # data scale, in the family's identifiable form
    intercept: float | np.ndarray

    @property
    def validation_log_loss(self) -> float:
        """The weighted mean log loss of the held-out rows."""
        return self.held.loss / self.held.weight

    @property
    def nonzero(self) -> int:
        """Coefficients (not intercepts) that are not zero."""
        return int(np.count_nonzero(self.coef))


def objective_at(engine: ModelEngine, chain: Chain, settings: ModelSettings, reg_param: float) -> Objective:
    """The chain's training objective at ``reg_param``."""
    return Objective.build(
        engine,
        chain.summary,
        reg_param=reg_param,
        elastic_net_param=chain.elastic_net_param,
        standardization=settings.standardization,
        fit_intercept=settings.fit_intercept,
        family=settings.family,
    )


def walk(
    batcher: Batcher, chain: Chain, settings: ModelSettings, on_fit: Callable[[PathFit], None] | None = None
) -> list[PathFit]:
    """Fit ``chain`` at each of its λ values in turn, in the calling thread; ``on_fit`` is told of
    each fit as it ends."""
    engine = ModelEngine(batcher, chain.held_out)
    family = settings.family
    coef, intercept = family.prior(chain.summary.class_weight, chain.summary.n_features)
    intercept = intercept * settings.fit_intercept
    fits = []
    for reg_param in chain.reg_params:
        objective = objective_at(engine, chain, settings, reg_param)
        solver, result = _fit(objective, objective.from_data(coef, intercept), settings)
        coef, intercept = objective.to_data(result.theta)
        held = engine.held_out_at(coef, intercept)
        if held is None:  # a point no pass saw (the multinomial model's recentring): one more pass
            objective.evaluate(result.theta)
            held = engine.held_out_at(coef, intercept)
        assert held is not None, "the engine keeps the held-out sums of every point it evaluated"
        engine.forget()
        shown_coef, shown_intercept = family.identifiable(coef, intercept, penalized=reg_param > 0)
        fits.append(
            PathFit(
                reg_param,
                chain.elastic_net_param,
                chain.held_out,
                solver,
                result.history[-1].iteration,
                objective.passes,
                result.final.total,
                result.history[-1].grad_norm,
                result.converged,
                result.reason,
                held,
                shown_coef,
                shown_intercept,
            )
        )
        if on_fit is not None:
            on_fit(fits[-1])
    return fits


def _fit(objective: Objective, theta0: np.ndarray, settings: ModelSettings) -> tuple[str, SolverResult]:
    """The fit of ``objective`` from ``theta0`` by the search's solver: with ``newton_after``, L-BFGS
    for that many iterations, then, unless converged or stalled, Newton from where it stopped
    (an L-BFGS fit that has cost as much as a whole Newton fit would have pays Newton's price
    from there: never more than twice the cheaper of the two)."""
    conf, after = settings.solver, settings.newton_after
    if after is None or after >= conf.max_iter:
        return conf.name, run_solver(conf.name, objective, theta0, conf)
    first = run_solver("lbfgs", objective, theta0, dataclasses.replace(conf, max_iter=after))
    if first.converged or first.reason != MAX_ITER:
        return "lbfgs", first
    rest = run_solver("newton", objective, first.theta, dataclasses.replace(conf, max_iter=conf.max_iter - after))
    offset = first.history[-1]
    shifted = [dataclasses.replace(r, iteration=r.iteration + offset.iteration) for r in rest.history[1:]]
    return "lbfgs, then newton", dataclasses.replace(rest, history=first.history + shifted)
