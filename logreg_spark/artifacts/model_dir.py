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
import pyarrow.parquet as pq
from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from ..core.decision import decision_of
from ..core.family import BINOMIAL, Family
from ..errors import ModelError
from ..solvers import IterationRecord
from ..spark.blocks import FeatureSpec
from ..spark.jvm import java_root_message
from ..spark.loaded_model import LoadedModel
from ..spark.reading import HASHED
from .paths import OVERWRITE_HINT, staged_directory, storage_path
from .storage import StoragePath

INTERCEPT = "(intercept)"
FORMAT_VERSION = 1
#: ``history/``: one row per iteration (:class:`~logreg_spark.solvers.IterationRecord`).
HISTORY_SCHEMA = pa.schema(
    [
        ("iteration", pa.int64()),
        ("loss", pa.float64()),
        ("grad_norm", pa.float64()),
        ("step_size", pa.float64()),
        ("seconds", pa.float64()),
        ("passes", pa.int64()),
    ]
)
#: What ``model.json`` holds besides a :class:`TrainedModel`'s metadata.
_FORMAT_KEYS = ("format_version", "family", "classes")


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


#: The one file of a directory :func:`write_small_parquet` writes.
SMALL_PART = "part-00000.parquet"


def write_small_parquet(table: pa.Table, path: StoragePath) -> None:
    """``table`` as the directory ``path`` holding one Parquet file, which Spark reads as any
    other. Written by pyarrow through the path's file system: a Spark job per small table cost
    about a second in a job's fresh session."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    path.child(SMALL_PART).write_bytes(memoryview(sink.getvalue()))


def read_small_parquet(location: StoragePath) -> pa.Table:
    """The rows of the Parquet files in the directory ``location`` (as :func:`write_small_parquet`,
    or Spark, wrote them; names starting with ``_`` or ``.`` are not data, as for Spark); a
    :class:`ModelError` if there are none or they cannot be read."""
    parts = sorted((p for p in location.children() if not p.name.startswith(("_", "."))), key=lambda p: p.name)
    if not parts:
        raise ModelError(f"{location.shown}: cannot be read (no Parquet files there)")
    try:
        return pa.concat_tables([pq.read_table(pa.BufferReader(part.read_bytes())) for part in parts])
    except (pa.ArrowException, OSError) as err:
        raise ModelError(f"{location.shown}: cannot be read ({str(err).splitlines()[0]})") from None
    except Py4JJavaError as err:
        raise ModelError(f"{location.shown}: cannot be read ({java_root_message(err)})") from None


def write_model(
    model: TrainedModel,
    target: StoragePath,
    mode: str,
    files: Mapping[str, bytes],
    key: str = "output.model_path",
    overwrite_hint: str = OVERWRITE_HINT,
) -> str:
    """Write ``model`` and the extra ``files`` (relative path → content) to ``target``
    atomically; return the qualified path. Errors name ``key``, where the target was given,
    and how to replace an existing one."""
    with staged_directory(target, mode, key, overwrite_hint) as staging:
        write_small_parquet(model.coefficients_table(), staging.child("coefficients"))
        history = pa.Table.from_pylist([asdict(rec) for rec in model.history], schema=HISTORY_SCHEMA)
        write_small_parquet(history, staging.child("history"))
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


#: The columns ``coefficients/`` may hold besides the coefficients (binomial, unpenalized fits).
STATISTICS = ("std_error", "z_value", "p_value")


def read_coefficients(spark: SparkSession, path: str, statistics: bool = False) -> pa.Table:
    """``coefficients/`` of the model at ``path`` as Arrow columns ``class`` (null in a binomial
    model), ``feature`` (the intercepts as ``(intercept)``) and ``coefficient`` (and with
    ``statistics`` those of :data:`STATISTICS` that it has)."""
    table = read_small_parquet(storage_path(spark, path).child("coefficients"))
    if "class" not in table.column_names:
        table = table.append_column("class", pa.nulls(table.num_rows, pa.int32()))
    extra = [name for name in STATISTICS if statistics and name in table.column_names]
    try:
        return table.select(["class", "feature", "coefficient", *extra])
    except KeyError as err:
        raise ModelError(f"model.path {path}: coefficients/ lacks the column {err}") from None


def arrange(
    table: pa.Table, features: list[str], family: Family, column: str = "coefficient"
) -> tuple[np.ndarray, float | np.ndarray]:
    """(coefficients, intercept) of a :func:`read_coefficients` table in the order of ``features``:
    (d,) and a number for a binomial model, (K, d) and (K,) for a multinomial one of K classes
    (the values of ``column``). A table that does not hold every (class, feature) exactly once
    is a KeyError. Names are matched by Arrow's hash join, so a model of 10⁷ features arranges
    in seconds."""
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
    values[cell] = table.column(column).fill_null(np.nan).to_numpy(zero_copy_only=False)
    grid = values.reshape(family.n_margins, width)
    if multinomial:
        return grid[:, :-1], grid[:, -1]
    return grid[0, :-1], float(grid[0, -1])


def scorer_of(model: TrainedModel, uri: str) -> LoadedModel:
    """The scorer of ``model`` (whose metadata says where its features are), known as ``uri``.
    Metadata that lacks or garbles a key is a :class:`ModelError`."""
    where = f"model.path {uri}"
    spec, hashing = _feature_source(model.metadata, where)
    try:
        threshold, label_col = float(model.metadata["threshold"]), str(model.metadata["label_col"])
        offset_col = str(model.metadata.get("offset_col", ""))  # older models: none
        thresholds = [float(t) for t in model.metadata.get("thresholds", [])]  # absent before MLlib's thresholds
        decision = decision_of(model.family, threshold, thresholds, f"{where}: model.json's thresholds")
    except (KeyError, TypeError, ValueError) as err:
        raise ModelError(f"{where}: model.json lacks or garbles {err}") from None
    return LoadedModel(
        uri,
        model.coefficients,
        model.intercept,
        decision.threshold,
        spec,
        label_col,
        hashing,
        model.family,
        offset_col,
        decision.class_thresholds,
    )


def _feature_source(document: dict[str, Any], where: str) -> tuple[FeatureSpec, tuple[list[str], int] | None]:
    """Where a model's features are in an input table, and its hashing (columns, dimension) if
    it hashed them, as its ``model.json`` says."""
    try:
        input_conf = document["conf"]["input"]
        listed = document.get("features")  # named columns; older models list every input's names
        d = len(listed) if listed is not None else int(document["n_features"])
        hashing = (
            ([str(c) for c in input_conf["hash_features"]], int(input_conf["hash_dim"]))
            if input_conf.get("hash_features")
            else None
        )
        if input_conf["features"]:
            return FeatureSpec(columns=tuple(str(name) for name in document["features"])), hashing
        if input_conf.get("indices_col"):
            spec = FeatureSpec(
                indices_col=str(input_conf["indices_col"]), values_col=str(input_conf["values_col"]), d=d
            )
            return spec, hashing
        return FeatureSpec(vector_col=HASHED if hashing else str(input_conf["features_col"]), d=d), hashing
    except (KeyError, TypeError, ValueError) as err:
        raise ModelError(f"{where}: model.json lacks or garbles {err}") from None


def _read_document(directory: StoragePath, where: str) -> dict[str, Any]:
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
    return document


def _read_history(directory: StoragePath) -> list[IterationRecord]:
    location = directory.child("history")
    if not location.exists():
        return []
    table = read_small_parquet(location).sort_by("iteration")
    return [IterationRecord(**row) for row in table.select(HISTORY_SCHEMA.names).to_pylist()]


def read_trained(spark: SparkSession, path: str) -> TrainedModel:
    """Read and check a model directory written by :func:`write_model`, whole.

    Missing parts, another ``format_version``, or coefficients that do not match
    ``model.json`` (an incomplete copy, or edited files) are a :class:`ModelError`.
    """
    directory = storage_path(spark, path)
    where = f"model.path {directory.shown}"
    document = _read_document(directory, where)
    features = _feature_source(document, where)[0].names
    try:
        multinomial = document.get("family") == "multinomial"
        family = Family.multinomial(int(document["classes"])) if multinomial else BINOMIAL
    except (KeyError, TypeError, ValueError) as err:
        raise ModelError(f"{where}: model.json lacks or garbles {err}") from None
    table = read_coefficients(spark, path, statistics=True)
    try:
        coefficients, intercept = arrange(table, features, family)
        statistics = {
            name: np.append(*arrange(table, features, family, name))
            for name in STATISTICS
            if name in table.column_names
        }
    except (KeyError, pa.ArrowException):  # a missing or repeated entry, or a column of another type
        raise ModelError(
            f"{where}: coefficients/ does not match the features and classes in model.json "
            "(an incomplete copy, or edited files)"
        ) from None
    if not (np.isfinite(coefficients).all() and np.isfinite(intercept).all()):
        raise ModelError(f"{where}: coefficients or threshold are not finite numbers in range")
    metadata = {key: value for key, value in document.items() if key not in _FORMAT_KEYS}
    history = _read_history(directory)
    return TrainedModel(features, coefficients, intercept, history, metadata, statistics, family)


def read_model(spark: SparkSession, path: str) -> LoadedModel:
    """The scorer of the model directory at ``path`` (:func:`read_trained`, :func:`scorer_of`)."""
    directory = storage_path(spark, path)
    model = scorer_of(read_trained(spark, path), directory.uri)
    if not 0.0 <= model.threshold <= 1.0:
        raise ModelError(f"model.path {directory.shown}: coefficients or threshold are not finite numbers in range")
    return model
