"""The model directory: ``coefficients/`` and ``history/`` (Parquet), ``model.json``, and the
files the training job adds (``loss.png``).

Reading a model only parses JSON and Parquet: nothing in a model directory is
ever executed (no pickle).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ..core.family import BINOMIAL, Family
from ..errors import ModelError
from ..solvers import IterationRecord
from ..spark.blocks import FeatureSpec
from ..spark.jvm import java_root_message
from ..spark.reading import HASHED
from .paths import HadoopPath, staged_directory

INTERCEPT = "(intercept)"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model. Binomial: ``coefficients`` (d,) and one ``intercept``; multinomial of K
    classes: (K, d) and (K,)."""

    features: list[str]
    coefficients: np.ndarray  # on the original feature scale
    intercept: float | np.ndarray
    history: list[IterationRecord]
    metadata: dict[str, Any]  # everything else that goes into model.json
    statistics: dict[str, np.ndarray] = field(default_factory=dict)  # columns, intercept last
    family: Family = BINOMIAL

    def coefficients_table(self) -> pa.Table:
        """``coefficients/``: (class,) feature, coefficient (, statistics); intercepts as ``(intercept)``."""
        names = [*self.features, INTERCEPT]
        values = np.column_stack([np.atleast_2d(self.coefficients), np.atleast_1d(self.intercept)])
        columns = (
            {"class": pa.array(np.repeat(np.arange(self.family.classes), len(names)), pa.int32())}
            if self.family.is_multinomial
            else {}
        )
        return pa.table(
            {
                **columns,
                "feature": pa.array(names * len(values), pa.string()),
                "coefficient": pa.array(values.ravel(), pa.float64()),
                **{name: pa.array(column, pa.float64()) for name, column in self.statistics.items()},
            }
        )


def write_small_parquet(spark: SparkSession, table: pa.Table, path: HadoopPath) -> None:
    spark.createDataFrame(table).coalesce(1).write.parquet(path.uri)


def write_model(
    spark: SparkSession, model: TrainedModel, target: HadoopPath, mode: str, files: Mapping[str, bytes]
) -> str:
    """Write ``model`` and the extra ``files`` (name → content) to ``target`` atomically; return
    the qualified path."""
    with staged_directory(target, mode, "output.model_path") as staging:
        write_small_parquet(spark, model.coefficients_table(), staging.child("coefficients"))
        history = pa.Table.from_pylist(
            [asdict(rec) for rec in model.history],
            schema=pa.schema(
                [
                    ("iteration", pa.int64()),
                    ("loss", pa.float64()),
                    ("grad_norm", pa.float64()),
                    ("step_size", pa.float64()),
                    ("seconds", pa.float64()),
                    ("passes", pa.int64()),
                ]
            ),
        )
        write_small_parquet(spark, history, staging.child("history"))
        for name, content in files.items():
            staging.child(name).write_bytes(content)
        document = {
            "format_version": FORMAT_VERSION,
            "family": model.family.name,
            "classes": model.family.classes,
            **model.metadata,
        }
        staging.child("model.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return target.uri


def read_coefficients(spark: SparkSession, path: str) -> pa.Table:
    """``coefficients/`` of the model at ``path`` as Arrow columns ``class`` (null in a binomial
    model), ``feature`` (the intercepts as ``(intercept)``) and ``coefficient``."""
    location = HadoopPath(spark, path).child("coefficients")
    try:
        table = spark.read.parquet(location.uri)
        by_class = F.col("class") if "class" in table.columns else F.lit(None).cast("int")
        return table.select(by_class.alias("class"), "feature", "coefficient").toArrow()
    except AnalysisException as err:
        raise ModelError(f"{location.uri}: cannot be read ({str(err).splitlines()[0]})") from None
    except Py4JJavaError as err:
        raise ModelError(f"{location.uri}: cannot be read ({java_root_message(err)})") from None


def arrange(table: pa.Table, features: list[str], family: Family) -> tuple[np.ndarray, float | np.ndarray]:
    """(coefficients, intercept) of a :func:`read_coefficients` table in the order of ``features``:
    (d,) and a number for a binomial model, (K, d) and (K,) for a multinomial one of K classes.
    A table that does not hold every (class, feature) exactly once is a KeyError. Names are
    matched by Arrow's hash join, so a model of 10⁷ features arranges in seconds."""
    width = len(features) + 1
    position = pc.index_in(table.column("feature"), value_set=pa.array([*features, INTERCEPT], pa.string()))
    position = position.fill_null(-1).to_numpy(zero_copy_only=False)
    klass = table.column("class").fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    multinomial = family.is_multinomial
    expected_class = (klass >= 0) & (klass < family.classes) if multinomial else klass == -1
    cell = np.where(expected_class & (position >= 0), np.maximum(klass, 0) * width + position, -1)
    size = family.n_margins * width
    if len(cell) != size or (cell < 0).any() or np.unique(cell).size != size:
        raise KeyError("coefficients")
    values = np.empty(size)
    values[cell] = table.column("coefficient").fill_null(np.nan).to_numpy(zero_copy_only=False)
    grid = values.reshape(family.n_margins, width)
    if multinomial:
        return grid[:, :-1], grid[:, -1]
    return grid[0, :-1], float(grid[0, -1])


@dataclass(frozen=True)
class LoadedModel:
    """A trained model read back for scoring. It goes to every scoring task with the function
    that uses it, so it holds no per-feature names (:attr:`features` derives them)."""

    uri: str
    coefficients: np.ndarray  # (d,), or (K, d) for K classes
    intercept: float | np.ndarray
    threshold: float
    spec: FeatureSpec  # where the features are in an input table
    label_col: str
    hashing: tuple[list[str], int] | None = None  # input.hash_features and hash_dim, when trained so
    family: Family = BINOMIAL

    @property
    def features(self) -> list[str]:
        return self.spec.names

    def margins(self, X: np.ndarray) -> np.ndarray:
        """``xᵀβ + b`` per row, or the (n × K) class margins ``B x + b``."""
        return X @ (self.coefficients.T if self.family.is_multinomial else self.coefficients) + self.intercept


def read_model(spark: SparkSession, path: str) -> LoadedModel:
    """Read and check a model directory written by :func:`write_model`.

    Missing parts, another ``format_version``, or coefficients that do not match
    ``model.json`` (an incomplete copy, or edited files) are a :class:`ModelError`.
    """
    directory = HadoopPath(spark, path)
    where = f"model.path {directory.uri}"
    document_path = directory.child("model.json")
    if not document_path.exists():
        raise ModelError(f"{where}: no model.json (not a model directory, or an incomplete copy)")
    try:
        document = json.loads(document_path.read_text())
    except ValueError as err:
        raise ModelError(f"{where}: model.json is not valid JSON ({err})") from None
    except Py4JJavaError as err:  # e.g. a checksum that no longer matches an edited file
        raise ModelError(f"{where}: model.json cannot be read ({java_root_message(err)})") from None
    if not isinstance(document, dict) or document.get("format_version") != FORMAT_VERSION:
        version = document.get("format_version") if isinstance(document, dict) else None
        raise ModelError(
            f"{where}: model format {version!r}, but this logreg_spark reads format {FORMAT_VERSION}; "
            "retrain the model with this version"
        )
    try:
        listed = document.get("features")  # named columns; older models list every input's names
        d = len(listed) if listed is not None else int(document["n_features"])
        threshold = float(document["threshold"])
        label_col = str(document["label_col"])
        input_conf = document["conf"]["input"]
        hashing = (
            ([str(c) for c in input_conf["hash_features"]], int(input_conf["hash_dim"]))
            if input_conf.get("hash_features")
            else None
        )
        if input_conf["features"]:
            spec = FeatureSpec(columns=tuple(str(name) for name in document["features"]))
        elif input_conf.get("indices_col"):
            spec = FeatureSpec(
                indices_col=str(input_conf["indices_col"]), values_col=str(input_conf["values_col"]), d=d
            )
        else:
            spec = FeatureSpec(vector_col=HASHED if hashing else str(input_conf["features_col"]), d=d)
        multinomial = document.get("family") == "multinomial"
        family = Family.multinomial(int(document["classes"])) if multinomial else BINOMIAL
    except (KeyError, TypeError, ValueError) as err:
        raise ModelError(f"{where}: model.json lacks or garbles {err}") from None
    try:
        coefficients, intercept = arrange(read_coefficients(spark, path), spec.names, family)
    except (KeyError, pa.ArrowException):  # a missing or repeated entry, or a column of another type
        raise ModelError(
            f"{where}: coefficients/ does not match the features and classes in model.json "
            "(an incomplete copy, or edited files)"
        ) from None
    if not (np.isfinite(coefficients).all() and np.isfinite(intercept).all()) or not 0.0 <= threshold <= 1.0:
        raise ModelError(f"{where}: coefficients or threshold are not finite numbers in range")
    return LoadedModel(directory.uri, coefficients, intercept, threshold, spec, label_col, hashing, family)
