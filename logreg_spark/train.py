"""The training job: conf → Spark → cached blocks → solver → model directory."""

from __future__ import annotations

import argparse
import logging
import math
import platform
import sys
import time
from dataclasses import dataclass

import numpy as np
import pyspark
from pyspark.sql import DataFrame, SparkSession

from . import __version__
from .config import ConfigError, Conf, load_conf
from .dataset import InputError, TrainingData, read_input
from .model_io import TrainedModel, write_model
from .objective import Objective
from .penalty import ElasticNet
from .scaling import FeatureScaling
from .session import spark_session
from .solvers import IterationRecord, SolverResult, gradient_descent
from .storage import HadoopPath, OutputError, check_writable

log = logging.getLogger("logreg_spark")


def _log_iteration(rec: IterationRecord) -> None:
    log.info("iteration %d: loss %.12g grad_norm %.3e step %.3g seconds %.3f",
             rec.iteration, rec.loss, rec.grad_norm, rec.step_size, rec.seconds)


def _check_rows(data: TrainingData, conf: Conf) -> None:
    """Apply the ``input.invalid`` policy; refuse data that cannot be trained on."""
    if data.problems.counts:
        described = "; ".join(data.problems.describe())
        if conf.input.invalid == "error":
            raise InputError(f'invalid rows ({described}); set input.invalid = "skip" to drop them')
        log.warning("skipping invalid rows: %s", described)
    summary = data.summary
    if summary.rows == 0:
        raise InputError("no valid rows to train on")
    if summary.weight <= 0:
        raise InputError(f"input.weight_col {conf.input.weight_col!r}: all weights are zero")
    if summary.positive_weight in (0.0, summary.weight):
        present = int(summary.positive_weight > 0)
        raise InputError(f"input.label_col {conf.input.label_col!r}: every row has label {present}; "
                         "logistic regression needs both classes")


@dataclass(frozen=True)
class Fit:
    model: TrainedModel
    result: SolverResult


def fit(df: DataFrame, conf: Conf) -> Fit:
    """Train on ``df`` (read from ``conf.input``) and return the model, not yet written."""
    started = time.perf_counter()
    depth = conf.solver.aggregation_depth
    data = TrainingData.prepare(df, conf.input, depth)
    try:
        _check_rows(data, conf)
        summary, model_conf = data.summary, conf.model
        scaling = FeatureScaling.build(summary.mean, summary.std, model_conf.fit_intercept)
        penalty = ElasticNet.build(model_conf.reg_param, model_conf.elastic_net_param, summary.std,
                                   model_conf.standardization, model_conf.fit_intercept)
        objective = Objective(data.data_pass(depth), scaling, penalty, summary.weight)
        log_odds = math.log(summary.positive_weight / (summary.weight - summary.positive_weight))
        theta0 = scaling.from_data(np.zeros(summary.n_features), log_odds)
        result = gradient_descent(objective, theta0, learning_rate=conf.solver.learning_rate,
                                  max_iter=conf.solver.max_iter, tol=conf.solver.tol,
                                  on_iteration=_log_iteration)
    finally:
        data.release()
    if not result.converged:
        log.warning("solver stopped without converging (%s); raise solver.max_iter or "
                    "check solver.learning_rate", result.reason)
    coef, intercept = scaling.to_data(result.theta)
    metadata = {
        "label_col": conf.input.label_col,
        "conf": conf.to_dict(),
        "solver": conf.solver.name,
        "iterations": len(result.history) - 1,
        "passes": objective.passes,
        "converged": result.converged,
        "stop_reason": result.reason,
        "final_loss": result.history[-1].loss,
        "rows": summary.rows,
        "rows_skipped": data.problems.rows_dropped,
        "weight_sum": summary.weight,
        "prepare_seconds": data.prepare_seconds,
        "train_seconds": time.perf_counter() - started,
        "versions": {"logreg_spark": __version__, "spark": pyspark.__version__,
                     "python": platform.python_version(), "numpy": np.__version__},
    }
    model = TrainedModel(data.spec.names, coef, intercept, result.history, metadata)
    return Fit(model, result)


def run(spark: SparkSession, conf: Conf) -> str:
    """Train and write the model; return where it went."""
    check_writable(HadoopPath(spark, conf.output.model_path), conf.output.mode, "output.model_path")
    trained = fit(read_input(spark, conf.input), conf)
    return write_model(spark, trained.model, conf.output.model_path, conf.output.mode)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="train", description="Train a logistic regression on Spark.")
    parser.add_argument("--conf", action="append", required=True, metavar="FILE",
                        help="TOML conf file; later files override earlier ones")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one conf value (after all files)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``jobs/train.py``: 0 on success, non-zero and one line on stderr on failure."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    spark = None
    try:
        conf = load_conf(args.conf, args.set)
        spark = spark_session(conf.spark, "logreg_spark train")
        path = run(spark, conf)
    except (ConfigError, InputError, OutputError) as err:
        print(f"logreg_spark: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - the job's last word must be one line
        log.exception("training failed")
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        print(f"logreg_spark: error: {type(err).__name__}: {first_line}", file=sys.stderr)
        return 1
    finally:
        if spark is not None:
            spark.stop()
    print(f"model written to {path}")
    return 0
