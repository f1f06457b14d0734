"""The training job: conf → the Python API's fit (:mod:`logreg_spark.ml`) → model directory
(and, with ``output.mllib_path``, its export in MLlib's format)."""

from __future__ import annotations

from pyspark.sql import SparkSession

from ..artifacts.checkpoint import checkpointing
from ..artifacts.paths import check_apart
from ..artifacts.storage import StoragePath
from ..errors import shown_uri
from ..ml.estimator import LogisticRegression, fit_model
from ..ml.persistence import export_mllib, save_model
from ..settings.schema import Conf
from . import tracking
from .cli import job_main
from .opening import check_output, open_job


def _mllib_target(spark: SparkSession, conf: Conf) -> StoragePath | None:
    """``output.mllib_path``, checked as the model directory's location is (and apart from it),
    or None when no MLlib export is asked for."""
    output = conf.output
    if not output.mllib_path:
        return None
    target = check_output(spark, conf.input.path, output.mllib_path, output.mode, "output.mllib_path")
    check_apart(spark, target, output.model_path, "output.mllib_path", against="output.model_path")
    return target


def run(spark: SparkSession, conf: Conf) -> str:
    """Train and write the model (and its MLlib export); return where the model went.
    Checkpoints, when configured, are resumed from and deleted once the model is written."""
    mllib_target = _mllib_target(spark, conf)
    target, df = open_job(spark, conf.input, conf.output.model_path, conf.output.mode, "output.model_path")
    with checkpointing(df, conf) as checkpoints:
        model = fit_model(df, conf, LogisticRegression.of_conf(conf), checkpoints)
        path = save_model(model, target, conf.output.mode)
        if mllib_target:
            export_mllib(spark, model, mllib_target, conf.output.mode)
    tracking.log_training(spark, conf, model.trained, path)
    return path


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``jobs/train.py``."""
    return job_main(
        argv,
        prog="train",
        description="Train a logistic regression on Spark.",
        schema=Conf,
        work=lambda spark, conf: f"model written to {shown_uri(run(spark, conf))}",
    )
