"""The tuning job: conf → rows cached once with fold ids → every (λ, α, fold) fitted in shared
passes (:mod:`logreg_spark.tuning`) → the best (λ, α) refit on all rows.

Output under ``output.path``, written atomically: ``path/`` (Parquet, one row per
fit), ``tune.json`` (grid, scores, best, passes, seconds), ``cv.png`` and
``best/``, a model directory like the training job's.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import SparkSession

from ..artifacts import plots
from ..artifacts.model_dir import write_small_parquet
from ..artifacts.paths import staged_directory
from ..errors import shown_uri
from ..ml.model import LogisticRegressionModel
from ..ml.persistence import save_model
from ..settings.tuning import TuneConf
from ..tuning.run import Tuned, tune_frame
from ..tuning.search import SearchResult, Selection
from .cli import job_main
from .opening import open_job


def _path_table(result: SearchResult, values: list[float], metric: str) -> pa.Table:
    """One row per fit, with the fold it held out and its metric there."""
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
            f"validation_{metric}": value,
            "validation_rows": fit.held.rows,
            "nonzero_coefficients": fit.nonzero,
        }
        for fit, value in zip(result.fits, values)
    ]
    return pa.Table.from_pylist(rows)


def _document(conf: TuneConf, tuned: Tuned, best_uri: str) -> dict[str, Any]:
    """``tune.json``."""
    result, selection = tuned.result, tuned.selection
    return {
        "input": conf.input.path,
        "metric": conf.tune.metric,
        "folds": tuned.held_out,
        "grid": {"elastic_net_params": list(result.grid.elastic_net_params), "reg_params": result.grid.to_dict()},
        "scores": [score.__dict__ for score in selection.scores],
        "best": {**selection.best.__dict__, "model": best_uri},
        "models": len(result.fits),
        "not_converged": sum(not fit.converged for fit in result.fits),
        "passes": result.passes,
        "seconds": result.seconds,
        "phase_seconds": tuned.phases,
    }


def _picture(result: SearchResult, selection: Selection, metric: str) -> bytes | None:
    """``cv.png``: each α's (λ, mean, std) of the metric."""
    curves = {}
    for alpha in result.grid.elastic_net_params:
        scores = [s for s in selection.scores if s.elastic_net_param == alpha]
        lams, means, stds = (np.array([getattr(s, k) for s in scores]) for k in ("reg_param", "mean", "std"))
        curves[alpha] = (lams, means, stds)
    return plots.cv_curve(curves, (selection.best.reg_param, selection.best.elastic_net_param), metric)


def run(spark: SparkSession, conf: TuneConf) -> str:
    """Tune on ``conf.input``, refit the best (λ, α) on all rows, write it all; return where."""
    target, df = open_job(spark, conf.input, conf.output.path, conf.output.mode, "output.path")
    tuned = tune_frame(df, conf)
    result, selection = tuned.result, tuned.selection
    with staged_directory(target, conf.output.mode, "output.path") as staging:
        save_model(LogisticRegressionModel(tuned.trained), staging.child("best"), "error", "output.path")
        write_small_parquet(_path_table(result, tuned.values, conf.tune.metric), staging.child("path"))
        document = _document(conf, tuned, target.child("best").uri)
        staging.child("tune.json").write_bytes((json.dumps(document, indent=2) + "\n").encode())
        picture = _picture(result, selection, conf.tune.metric)
        if picture:
            staging.child("cv.png").write_bytes(picture)
    return target.uri


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``jobs/tune.py``."""
    return job_main(
        argv,
        prog="tune",
        description="Tune reg_param and elastic_net_param by cross-validation in shared passes.",
        schema=TuneConf,
        work=lambda spark, conf: f"tuning results written to {shown_uri(run(spark, conf))}",
    )
