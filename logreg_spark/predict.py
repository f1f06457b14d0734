"""The scoring job: a model directory and a Parquet input → Parquet with probabilities.

Output columns: the input's columns (``output.keep_cols``, default all), then
``probability`` (of label 1, double), ``prediction`` (1.0 when probability >
threshold, else 0.0, as MLlib), and with ``output.raw_margin`` the margin
``xᵀβ + b``. Each partition is scored and written by its executor.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from .cli import job_main
from .config import PredictConf
from .dataset import InputError, read_input
from .model_io import read_model
from .scoring import feature_check, model_input, probability, scored_batches, validate_rows
from .storage import HadoopPath, check_apart, check_writable, staged_directory

log = logging.getLogger(__name__)


def run(spark: SparkSession, conf: PredictConf) -> str:
    """Score ``conf.input`` and write it to ``conf.output.path``; return where it went."""
    target = HadoopPath(spark, conf.output.path)
    check_apart(spark, target, conf.input.path, "output.path")
    check_writable(target, conf.output.mode, "output.path")
    model = read_model(spark, conf.model.path)
    threshold = model.threshold if conf.model.threshold is None else conf.model.threshold
    df = read_input(spark, conf.input)
    keep = df.columns if conf.output.keep_cols is None else conf.output.keep_cols
    df = model_input(df, model)
    missing = [name for name in keep if name not in df.columns]
    if missing:
        raise InputError(f"output.keep_cols: {missing} not in the input (columns: {', '.join(df.columns)})")
    added = ["probability", "prediction"] + (["raw_margin"] if conf.output.raw_margin else [])
    clash = sorted(set(keep) & set(added))
    if clash:
        raise InputError(f"output.keep_cols: the input already has {clash}; leave them out of output.keep_cols")
    check = feature_check(model.spec)
    validate_rows(df, check, conf.input.invalid)

    def add(_: pa.Table, margin: np.ndarray) -> dict[str, np.ndarray]:
        p = probability(margin)
        columns = {"probability": p, "prediction": (p > threshold).astype(np.float64)}
        if conf.output.raw_margin:
            columns["raw_margin"] = margin
        return columns

    schema = T.StructType([df.schema[name] for name in keep]
                          + [T.StructField(name, T.DoubleType(), False) for name in added])
    scored = df.mapInArrow(scored_batches(model, check, keep, add), schema)
    with staged_directory(target, conf.output.mode, "output.path") as staging:
        scored.write.parquet(staging.uri)
    log.info("scored %s with the model at %s (threshold %g)", conf.input.path, model.uri, threshold)
    return target.uri


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``jobs/predict.py``."""
    return job_main(argv, prog="predict", description="Score a Parquet table with a trained model.",
                    schema=PredictConf, work=lambda spark, conf: f"predictions written to {run(spark, conf)}")
