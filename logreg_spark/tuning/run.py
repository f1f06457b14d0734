"""A whole tuning run on a DataFrame: rows cached once with their fold ids, every (λ, α, fold)
fitted in shared passes (:func:`~.search.search`), scored, and the best (λ, α) refit on all rows.

The tuning job (:mod:`logreg_spark.app.tune`) and the Python API's
:class:`~logreg_spark.ml.LogisticRegressionCV` both come here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark.sql import DataFrame

from ..artifacts.model_dir import TrainedModel
from ..settings.tuning import TuneFitConf
from ..spark.connect_blocks import PAYLOAD_LIMIT
from ..spark.ranking import rankings
from ..spark.session import is_connect
from ..training.fitting import family_of, fit_prepared, prepare
from ..training.warm_start import KnownStart
from .chains import ModelSettings
from .held_out import held_out_scores
from .search import PARTIAL_BUDGET, SearchResult, Selection, log_losses, search, select

log = logging.getLogger("logreg_spark")


@dataclass(frozen=True)
class Tuned:
    """A tuning run's fits, each fit's metric on its held-out rows, the scores and the best, the
    folds held out in turn, the best (λ, α)'s model on all rows, and the seconds of each phase
    (:data:`PHASES`)."""

    result: SearchResult
    values: list[float]
    selection: Selection
    held_out: list[int]
    trained: TrainedModel
    phases: dict[str, float]


#: A tuning run's phases: reading, checking and caching the rows with their fold ids and each
#: fold's statistics; the shared passes; each fit's held-out metric and the selection; the best
#: (λ, α) refit on all rows, from the search's models (its outputs are the caller's).
PHASES = ("prepare", "search", "scores", "refit")


@contextmanager
def _timed(phases: dict[str, float], phase: str) -> Iterator[None]:
    """Add the seconds of the ``with`` block to ``phases[phase]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        phases[phase] = phases.get(phase, 0.0) + time.perf_counter() - started


def tune_frame(df: DataFrame, conf: TuneFitConf) -> Tuned:
    """Tune ``conf`` on ``df`` (its input columns as ``conf.input`` names them); the cache is
    released before returning."""
    rule, phases = conf.tune.fold_rule(), dict[str, float]()
    with _timed(phases, "prepare"):
        data = prepare(df, conf, rule)
    try:
        with _timed(phases, "prepare"):
            family = family_of(data, conf.fit_conf(0.0, 0.0))
            by_fold = data.fold_summaries()
        held_out = rule.held_out(sorted(by_fold))
        _warn_if_fewer_folds(rule.folds, held_out, data.summary.rows)
        settings = ModelSettings(family, conf.model.standardization, conf.model.fit_intercept, conf.solver)
        # on Spark Connect every point of a pass travels in its plan, which has a size limit
        budget = min(PARTIAL_BUDGET, PAYLOAD_LIMIT // 2) if is_connect(df.sparkSession) else PARTIAL_BUDGET
        with _timed(phases, "search"):
            result = search(data.passes(), by_fold, held_out, settings, conf.tune, budget, data.parallelism)
        with _timed(phases, "scores"):
            values = _metric_values(df, conf, result)
            selection = select(result.grid, result.fits, values, conf.tune.metric)
        best, (coef, intercept) = selection.best, selection.refit_start(result.fits)
        with _timed(phases, "refit"):
            trained = fit_prepared(
                data, conf.fit_conf(best.reg_param, best.elastic_net_param), warm=KnownStart(coef, intercept)
            )
    finally:
        data.release()
    _warn_if_unconverged(result)
    _warn_if_on_edge(result, selection)
    log.info(
        "tune: best λ = %.6g, α = %g: held-out %s %.6g ± %.2g over %d folds; %d models in %d passes, %.1f s (%s)",
        best.reg_param,
        best.elastic_net_param,
        conf.tune.metric,
        best.mean,
        best.std,
        len(held_out),
        len(result.fits),
        result.passes,
        result.seconds,
        ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in phases.items()),
    )
    return Tuned(result, values, selection, held_out, trained, phases)


def _warn_if_fewer_folds(asked: int, held_out: list[int], rows: int) -> None:
    """Say so when hashed k-fold gave fewer folds than asked (some hold no rows, as on small data)."""
    if asked and len(held_out) < asked:
        log.warning(
            "tune.folds = %d (numFolds in the API): only %d of those folds hold any of the %d rows; "
            "the search holds out those %d",
            asked,
            len(held_out),
            rows,
            len(held_out),
        )


def _metric_values(df: DataFrame, conf: TuneFitConf, result: SearchResult) -> list[float]:
    """Each fit's metric on its held-out rows."""
    metric = conf.tune.metric
    if metric == "log_loss":
        return log_losses(result.fits)
    scored = held_out_scores(df, conf.input, conf.tune.fold_rule(), conf.solver.dtype, result.fits)
    ranked = rankings(scored, sum(fit.held.rows for fit in result.fits))
    return [getattr(ranked[i], metric) for i in range(len(result.fits))]


def _warn_if_unconverged(result: SearchResult) -> None:
    unconverged = [fit for fit in result.fits if not fit.converged]
    if unconverged:
        first = unconverged[0]
        log.warning(
            "tune: %d of %d fits did not converge (first: λ = %g, α = %g, fold %s: %s); their scores are "
            "not those of the optimum; raise solver.max_iter",
            len(unconverged),
            len(result.fits),
            first.reg_param,
            first.elastic_net_param,
            first.held_out,
            first.stop_reason,
        )


def _warn_if_on_edge(result: SearchResult, selection: Selection) -> None:
    """Say so when the best λ is the smallest of its α's grid: a smaller one may be better still."""
    best = selection.best
    lams = result.grid.reg_params[result.grid.elastic_net_params.index(best.elastic_net_param)]
    if len(lams) > 1 and best.reg_param == min(lams) > 0:
        log.warning(
            "tune: the best λ = %g is the smallest of the grid; a smaller one may score better: lower "
            "tune.path_min_ratio or add smaller tune.reg_params",
            best.reg_param,
        )
