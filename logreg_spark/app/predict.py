"""The scoring job: a model directory and a Parquet input → Parquet with probabilities.

Output columns: the input's columns (``output.keep_cols``, default all), then
``probability`` (of label 1, double), ``prediction`` (1.0 when probability >
threshold, else 0.0, as MLlib), and with ``output.raw_margin`` the margin
``xᵀβ + b``. A multinomial model's ``probability`` and ``raw_margin`` are
arrays of K doubles (one per class) and ``prediction`` is the class of the
highest probability. Each partition is scored and written by its executor.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from ..artifacts.model_dir import read_model
from ..artifacts.paths import staged_directory
from ..errors import InputError
from ..spark.scoring import decision_threshold, feature_check, model_input, scored_batches, validate_rows
from .cli import job_main
from .config import PredictConf
from .opening import open_job

log = logging.getLogger(__name__)


def run(spark: SparkSession, conf: PredictConf) -> str:
    """Score ``conf.input`` and write it to ``conf.output.path``; return where it went."""
    target, df = open_job(spark, conf.input, conf.output.path, conf.output.mode, "output.path")
    model = read_model(spark, conf.model.path)
    threshold = decision_threshold(model, conf.model.threshold)
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

    def add(_: pa.Table, margin: np.ndarray) -> dict[str, np.ndarray | pa.Array]:
        p = model.family.probabilities(margin)
        predicted = p.argmax(axis=1) if model.family.is_multinomial else p > threshold
        columns = {"probability": _per_row(p), "prediction": predicted.astype(np.float64)}
        if conf.output.raw_margin:
            columns["raw_margin"] = _per_row(margin)
        return columns

    per_class = T.ArrayType(T.DoubleType(), False) if model.family.is_multinomial else T.DoubleType()
    schema = T.StructType(
        [df.schema[name] for name in keep]
        + [T.StructField(name, T.DoubleType() if name == "prediction" else per_class, False) for name in added]
    )
    scored = df.mapInArrow(scored_batches(model, check, keep, add), schema)
    with staged_directory(target, conf.output.mode, "output.path") as staging:
        scored.write.parquet(staging.uri)
    log.info(
        "scored %s with the model at %s (%s)",
        conf.input.path,
        model.uri,
        f"{model.family.classes} classes" if model.family.is_multinomial else f"threshold {threshold:g}",
    )
    return target.uri


def _per_row(values: np.ndarray) -> np.ndarray | pa.Array:
    """A column of numbers, or of arrays for an (n × K) matrix (its rows as list elements)."""
    if values.ndim == 1:
        return values
    return pa.ListArray.from_arrays(
        np.arange(0, values.size + 1, values.shape[1], dtype=np.int32), pa.array(values.ravel())
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``jobs/predict.py``."""
    return job_main(
        argv,
        prog="predict",
        description="Score a Parquet table with a trained model.",
        schema=PredictConf,
        work=lambda spark, conf: f"predictions written to {run(spark, conf)}",
    )
