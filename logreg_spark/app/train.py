"""The training job: conf → the Python API's fit (:mod:`logreg_spark.ml`) → model directory."""

from __future__ import annotations

from pyspark.sql import SparkSession

from ..artifacts.checkpoint import checkpointing
from ..ml.estimator import LogisticRegression, fit_model
from ..ml.persistence import save_model
from .cli import job_main
from .opening import open_job
from .schema import Conf


def run(spark: SparkSession, conf: Conf) -> str:
    """Train and write the model; return where it went. Checkpoints, when configured,
    are resumed from and deleted once the model is written."""
    target, df = open_job(spark, conf.input, conf.output.model_path, conf.output.mode, "output.model_path")
    with checkpointing(df, conf) as checkpoints:
        model = fit_model(df, conf, LogisticRegression.of_conf(conf), checkpoints)
        return save_model(spark, model, target, conf.output.mode)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``jobs/train.py``."""
    return job_main(
        argv,
        prog="train",
        description="Train a logistic regression on Spark.",
        schema=Conf,
        work=lambda spark, conf: f"model written to {run(spark, conf)}",
    )
