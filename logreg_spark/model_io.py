"""The model directory: ``coefficients/`` and ``history/`` (Parquet) and ``model.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import SparkSession

from .solvers import IterationRecord
from .storage import HadoopPath, staged_directory

INTERCEPT = "(intercept)"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class TrainedModel:
    features: list[str]
    coefficients: np.ndarray  # on the original feature scale
    intercept: float
    history: list[IterationRecord]
    metadata: dict[str, Any]  # everything else that goes into model.json
    statistics: dict[str, np.ndarray] = field(default_factory=dict)  # columns, intercept last


def _write_parquet(spark: SparkSession, table: pa.Table, path: HadoopPath) -> None:
    spark.createDataFrame(table).coalesce(1).write.parquet(path.uri)


def write_model(spark: SparkSession, model: TrainedModel, path: str, mode: str) -> str:
    """Write ``model`` to ``path`` atomically; return the qualified path."""
    target = HadoopPath(spark, path)
    with staged_directory(target, mode, "output.model_path") as staging:
        coefficients = pa.table({
            "feature": pa.array([*model.features, INTERCEPT], pa.string()),
            "coefficient": pa.array([*model.coefficients.tolist(), model.intercept], pa.float64()),
            **{name: pa.array(values, pa.float64()) for name, values in model.statistics.items()},
        })
        _write_parquet(spark, coefficients, staging.child("coefficients"))
        history = pa.Table.from_pylist(
            [asdict(rec) for rec in model.history],
            schema=pa.schema([("iteration", pa.int64()), ("loss", pa.float64()),
                              ("grad_norm", pa.float64()), ("step_size", pa.float64()),
                              ("seconds", pa.float64()), ("passes", pa.int64())]),
        )
        _write_parquet(spark, history, staging.child("history"))
        document = {"format_version": FORMAT_VERSION, "features": model.features, **model.metadata}
        staging.child("model.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return target.uri


def read_coefficients(spark: SparkSession, path: str) -> dict[str, float]:
    """The coefficients of the model at ``path`` by feature name, the intercept as ``(intercept)``."""
    rows = spark.read.parquet(HadoopPath(spark, path).child("coefficients").uri).select("feature", "coefficient")
    return {row.feature: row.coefficient for row in rows.collect()}
