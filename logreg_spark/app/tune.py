"""The tuning job: conf → rows cached once with fold ids → every (λ, α, fold) fitted in shared
passes (:mod:`logreg_spark.tuning`) → the best (λ, α) refit on all rows.

Output under ``output.path``, written atomically: ``path/`` (Parquet, one row per
fit), ``tune.json`` (grid, scores, best, passes, seconds), ``cv.png`` and
``best/``, a model directory like the training job's.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession

from ..artifacts import plots
from ..artifacts.model_dir import write_small_parquet
from ..artifacts.paths import staged_directory
from ..ml.model import LogisticRegressionModel
from ..ml.persistence import save_model
from ..settings.tuning import TuneConf
from ..spark.blocks import MAX_CLASSES
from ..spark.prepare import TrainingData
from ..spark.ranking import rankings
from ..training.fitting import family_of, fit_prepared
from ..training.warm_start import KnownStart
from ..tuning.chains import ModelSettings
from ..tuning.held_out import held_out_scores
from ..tuning.search import SearchResult, Selection, log_losses, search, select
from .cli import job_main
from .opening import open_job

log = logging.getLogger("logreg_spark")


def _path_table(result: SearchResult, values: list[float], metric: str) -> pa.Table:
    """One row per fit; the all-rows fits have a null fold and metric."""
    rows = [
        {
            "reg_param": fit.reg_param,
            "elastic_net_param": fit.elastic_net_param,
            "fold": fit.held_out,
            "solver": fit.solver,
            "iterations": fit.iterations,
            "passes": fit.passes,
            "objective": fit.objective,
            "optimality": fit.optimality,
            "converged": fit.converged,
            "stop_reason": fit.stop_reason,
            f"validation_{metric}": None if fit.held_out is None else value,
            "validation_rows": fit.held.rows,
            "nonzero_coefficients": fit.nonzero,
        }
        for fit, value in zip(result.fits, values)
    ]
    return pa.Table.from_pylist(rows)


def _document(
    conf: TuneConf, result: SearchResult, selection: Selection, held_out: list[int], best_uri: str
) -> dict[str, Any]:
    """``tune.json``."""
    return {
        "input": conf.input.path,
        "metric": conf.tune.metric,
        "folds": held_out,
        "grid": {"elastic_net_params": list(result.grid.elastic_net_params), "reg_params": result.grid.to_dict()},
        "scores": [score.__dict__ for score in selection.scores],
        "best": {**selection.best.__dict__, "model": best_uri},
        "models": len(result.fits),
        "not_converged": sum(not fit.converged for fit in result.fits),
        "passes": result.passes,
        "seconds": result.seconds,
    }


def _picture(result: SearchResult, selection: Selection, metric: str) -> bytes | None:
    curves = {}
    for alpha in result.grid.elastic_net_params:
        scores = [s for s in selection.scores if s.elastic_net_param == alpha]
        curves[alpha] = tuple(np.array([getattr(s, k) for s in scores]) for k in ("reg_param", "mean", "std"))
    best = (selection.best.reg_param, selection.best.elastic_net_param)
    return plots.cv_curve(curves, best, metric)  # type: ignore[arg-type]


def _metric_values(df: DataFrame, conf: TuneConf, result: SearchResult) -> list[float]:
    """Each fit's metric on its held-out rows (NaN for the fits on all rows)."""
    metric = conf.tune.metric
    if metric == "log_loss":
        return log_losses(result.fits)
    scored = held_out_scores(df, conf.input, conf.tune.fold_rule(), conf.solver.dtype, result.fits)
    ranked = rankings(scored)
    return [math.nan if f.held_out is None else getattr(ranked[i], metric) for i, f in enumerate(result.fits)]


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


def run(spark: SparkSession, conf: TuneConf) -> str:
    """Tune on ``conf.input``, refit the best (λ, α) on all rows, write it all; return where."""
    target, df = open_job(spark, conf.input, conf.output.path, conf.output.mode, "output.path")
    rule = conf.tune.fold_rule()
    label_limit = 2 if conf.model.family == "binomial" else MAX_CLASSES
    data = TrainingData.prepare(
        df, conf.input, conf.solver.aggregation_depth, conf.solver.dtype, label_limit, folds=rule
    )
    try:
        family = family_of(data, conf.fit_conf(0.0, 0.0))
        by_fold = data.fold_summaries()
        held_out = rule.held_out(sorted(by_fold))
        settings = ModelSettings(family, conf.model.standardization, conf.model.fit_intercept, conf.solver)
        result = search(data.passes(), by_fold, held_out, settings, conf.tune)
        values = _metric_values(df, conf, result)
        selection = select(result.grid, result.fits, values, conf.tune.metric)
        best, start = selection.best, selection.refit_start(result.fits)
        model = LogisticRegressionModel(
            fit_prepared(
                data,
                conf.fit_conf(best.reg_param, best.elastic_net_param),
                warm=KnownStart(start.coef, start.intercept),
            )
        )
    finally:
        data.release()
    _warn_if_unconverged(result)
    _warn_if_on_edge(result, selection)
    with staged_directory(target, conf.output.mode, "output.path") as staging:
        save_model(spark, model, staging.child("best"), "error", "output.path")
        write_small_parquet(spark, _path_table(result, values, conf.tune.metric), staging.child("path"))
        document = _document(conf, result, selection, held_out, target.child("best").uri)
        staging.child("tune.json").write_bytes((json.dumps(document, indent=2) + "\n").encode())
        picture = _picture(result, selection, conf.tune.metric)
        if picture:
            staging.child("cv.png").write_bytes(picture)
    log.info(
        "tune: best λ = %.6g, α = %g: held-out %s %.6g ± %.2g over %d folds; %d models in %d passes, %.1f s",
        best.reg_param,
        best.elastic_net_param,
        conf.tune.metric,
        best.mean,
        best.std,
        len(held_out),
        len(result.fits),
        result.passes,
        result.seconds,
    )
    return target.uri


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``jobs/tune.py``."""
    return job_main(
        argv,
        prog="tune",
        description="Tune reg_param and elastic_net_param by cross-validation in shared passes.",
        schema=TuneConf,
        work=lambda spark, conf: f"tuning results written to {run(spark, conf)}",
    )
