"""Scoring rows with a trained model: in Spark SQL where it can, else in the executors' Python.

A model of named numeric columns (:func:`expressible`) is scored by Spark SQL
expressions (:mod:`~logreg_spark.spark.expressions`), so its rows never leave
the JVM, and its invalid rows are counted while the scores are written
(:func:`checked_columns`). Any other model (hashed, Vector, array or
index/value features, or very wide) is scored by ``mapInArrow``: the input's
columns reach it as they are (features are converted to float64 in NumPy, see
:func:`~logreg_spark.spark.blocks.feature_matrix`), so the columns passed
through keep their types; the predict job's rows are checked while they are
scored too (:func:`scored_once`), ``transform``'s fail or skip in the task, and
the evaluate job's are counted in a first pass. Either way
``input.invalid = "error"`` leaves nothing written.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..core.decision import Decision, decision_of, inconsistency
from ..core.family import BINOMIAL, Family
from ..core.sums import Features
from ..errors import ConfigError, InputError
from . import expressions
from .blocks import LABEL, WEIGHT, FeatureSpec, Problems, feature_matrix, labels_and_weights
from .outputs import AddColumns, Output, output_values
from .reading import (
    apply_invalid_policy,
    check_pair_columns,
    label_and_weight_columns,
    locate_features,
    with_hashed_features,
)


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
    class_thresholds: tuple[float, ...] = ()  # multinomial: MLlib's thresholds (empty: the most probable class)

    @property
    def decision(self) -> Decision:
        return Decision(self.family, self.threshold, self.class_thresholds)

    @property
    def features(self) -> list[str]:
        return self.spec.names

    def margins(self, X: np.ndarray) -> np.ndarray:
        """``xᵀβ + b`` per row, or the (n × K) class margins ``B x + b``."""
        return X @ (self.coefficients.T if self.family.is_multinomial else self.coefficients) + self.intercept


#: Checks one table of rows: (rows to drop, their problems counted, the features of every row).
RowCheck = Callable[[pa.Table], "tuple[np.ndarray, Problems, Features]"]


def model_input(df: DataFrame, model: LoadedModel, reader: str = "auto") -> DataFrame:
    """``df`` with the model's features hashed as in training (if they were), after checking that
    it has the model's feature columns, of usable types and size (an array or Vector column's
    length found as ``input.reader`` says)."""
    if model.hashing:
        return with_hashed_features(df, *model.hashing)
    spec, where = model.spec, f"model features ({model.uri})"
    if spec.indices_col:
        check_pair_columns(df, spec, where, where)
        return df
    found = locate_features(df, spec.columns, spec.vector_col, where, reader)
    if spec.vector_col and found.d != spec.d:
        raise InputError(
            f"column {spec.vector_col!r} has {found.d} values per row; the model at {model.uri} was trained on {spec.d}"
        )
    return df


def deciding(model: LoadedModel, threshold: float | None, thresholds: list[float] | None) -> LoadedModel:
    """``model`` deciding at ``model.threshold`` or ``model.thresholds`` from the conf, else as it
    was trained to (:mod:`~logreg_spark.core.decision`); a multinomial model takes no threshold."""
    if model.family.is_multinomial and threshold is not None:
        raise ConfigError(
            f"model.threshold: the model at {model.uri} is multinomial; it predicts the class "
            "of the highest probability (leave model.threshold out, or set model.thresholds)"
        )
    if thresholds is None:
        return model if threshold is None else replace(model, threshold=threshold)
    problem = None if threshold is None else inconsistency(threshold, thresholds)
    if problem:
        raise ConfigError(f"model.thresholds: {problem}")
    decision = decision_of(model.family, model.threshold, thresholds, "model.thresholds")
    return replace(model, threshold=decision.threshold, class_thresholds=decision.class_thresholds)


def feature_check(spec: FeatureSpec) -> RowCheck:
    def check(table: pa.Table) -> tuple[np.ndarray, Problems, Features]:
        problems = Problems()
        X, bad = feature_matrix(table, spec, problems)
        return bad, problems, X

    return check


def labelled_check(model: LoadedModel, label_col: str, weight_col: str) -> RowCheck:
    """Features as :func:`feature_check`; labels must be the model's classes."""
    features = feature_check(model.spec)

    def check(table: pa.Table) -> tuple[np.ndarray, Problems, Features]:
        bad_features, problems, X = features(table)
        bad_labels = labels_and_weights(table, label_col, weight_col, problems, model.family.classes)[2]
        return bad_features | bad_labels, problems, X

    return check


def labelled_columns(df: DataFrame, label_col: str, weight_col: str) -> DataFrame:
    """``df`` with ``LABEL`` and ``WEIGHT`` added (types checked)."""
    return df.select("*", *label_and_weight_columns(df, label_col, weight_col))


def validate_rows(df: DataFrame, check: RowCheck, policy: str) -> None:
    """Count the invalid rows of ``df`` (one pass, one small record per partition to the
    driver) and apply the ``input.invalid`` policy."""

    def count(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        problems = Problems()
        for batch in batches:
            bad, found, _ = check(pa.Table.from_batches([batch]))
            found.rows_dropped = int(bad.sum())
            problems.merge(found)
        yield pa.RecordBatch.from_arrays([pa.array([pickle.dumps(problems)], pa.binary())], names=["problems"])

    merged = Problems()
    for row in df.mapInArrow(count, "problems binary").collect():
        merged.merge(pickle.loads(row.problems))
    apply_invalid_policy(merged, policy)


def scored_table(
    model: LoadedModel, check: RowCheck, keep: list[str], add: AddColumns, table: pa.Table
) -> tuple[pa.Table, Problems]:
    """``table``'s valid rows as the ``keep`` columns and the columns ``add(valid_rows, margins)``
    returns (margins as :meth:`LoadedModel.margins`), and the problems of the invalid ones."""
    bad, problems, X = check(table)
    problems.rows_dropped = int(bad.sum())
    if bad.any():
        table, X = table.filter(pa.array(~bad)), X[~bad]
    columns = {name: table.column(name) for name in keep}
    columns.update({name: pa.array(values) for name, values in add(table, model.margins(X)).items()})
    return pa.table(columns), problems


def scored_batches(
    model: LoadedModel, check: RowCheck, keep: list[str], add: AddColumns, policy: str = "skip"
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The ``mapInArrow`` function: :func:`scored_table` of each batch (``policy = "error"``:
    invalid rows fail the task instead)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table, problems = scored_table(model, check, keep, add, pa.Table.from_batches([batch]))
            if problems.rows_dropped:
                apply_invalid_policy(problems, policy)
            yield from table.to_batches()

    return run


def scored(df: DataFrame, model: LoadedModel, keep: list[str], outputs: dict[str, Output], policy: str) -> DataFrame:
    """``df``'s ``keep`` columns and the ``outputs`` at ``model.threshold``, for its valid rows:
    invalid rows are dropped, or fail the task with ``policy = "error"``. A model
    :func:`~logreg_spark.spark.expressions.expressible` is scored by Spark SQL expressions, any
    other in the executors' Python (one ``mapInArrow``), from each batch's margins and
    probabilities, computed once."""
    if expressible(model):
        rows = expressions.RowChecks(model.spec.columns)
        valid = df.where(rows.valid_or_fail() if policy == "error" else rows.valid())
        return valid.select(*_output_columns(model, keep, outputs))
    add = output_values(model.decision, outputs)
    return df.mapInArrow(
        scored_batches(model, feature_check(model.spec), keep, add, policy), scored_schema(df, model, keep, outputs)
    )


def scored_schema(df: DataFrame, model: LoadedModel, keep: list[str], outputs: dict[str, Output]) -> T.StructType:
    """The schema of :func:`scored`'s frame."""
    return T.StructType(
        [df.schema[name] for name in keep]
        + [T.StructField(name, output.dtype(model.family), False) for name, output in outputs.items()]
    )


def _output_columns(model: LoadedModel, keep: list[str], outputs: dict[str, Output]) -> list[Column]:
    """The ``keep`` columns and the ``outputs`` as Spark SQL expressions."""
    margin = expressions.margins(model.spec, model.coefficients, model.intercept)
    p = expressions.probabilities(model.family, margin)
    added = [output.column(model.decision, margin, p).alias(name) for name, output in outputs.items()]
    return [F.col(f"`{name}`") for name in keep] + added


#: The column in which :func:`scored_once` marks the invalid rows it scores in ``mapInArrow``.
INVALID = "__invalid"

#: What to do once an action over a scored frame ran: apply ``input.invalid`` to the rows it counted.
Settle = Callable[[], None]


def scored_once(
    df: DataFrame, model: LoadedModel, keep: list[str], outputs: dict[str, Output], policy: str
) -> tuple[DataFrame, Settle]:
    """:func:`scored` of the valid rows, and the ``input.invalid`` policy to apply once an action
    over them ran (raising :class:`~logreg_spark.errors.InputError` for ``error`` when a row was
    invalid). Either way the rows are checked while they are scored, so the input is read once
    (and once more to name the problems, when there are any): an expressible model's by
    :func:`checked_columns`, any other's in its ``mapInArrow``, which marks them in a column
    ``INVALID`` that an Observation counts before they are dropped."""
    if expressible(model):
        rows = expressions.RowChecks(model.spec.columns)
        return checked_columns(df, rows, _output_columns(model, keep, outputs), policy)
    check, add = feature_check(model.spec), output_values(model.decision, outputs)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table = pa.Table.from_batches([batch])
            bad, _, X = check(table)
            with np.errstate(all="ignore"):  # the invalid rows' NaN; they are dropped
                added = add(table, model.margins(X))
            columns = {name: table.column(name) for name in keep} | added | {INVALID: bad}
            yield from pa.table(columns).to_batches()

    schema = scored_schema(df, model, keep, outputs).add(INVALID, T.BooleanType(), False)
    watch = expressions.observation(df, "invalid rows")
    flagged = df.mapInArrow(run, schema).observe(watch, F.sum(F.col(INVALID).cast("long")).alias("invalid"))

    def settle() -> None:
        if watch.get.get("invalid"):
            validate_rows(df, check, policy)

    return flagged.where(~F.col(INVALID)).drop(INVALID), settle


def checked_columns(
    df: DataFrame, rows: expressions.RowChecks, columns: list[Column], policy: str
) -> tuple[DataFrame, Settle]:
    """``columns`` of ``df``'s valid rows, and the ``input.invalid`` policy to apply once an action
    over them ran: the invalid rows are counted while the columns are computed, so the input is
    read once (and once more to name their problems, when there are any)."""
    observed, observation = expressions.observed(df, rows)
    return observed.where(rows.valid()).select(*columns), lambda: apply_invalid_policy(
        expressions.problems_of(df, observation, rows), policy
    )


def expressible(model: LoadedModel) -> bool:
    """Whether ``model`` is scored by Spark SQL expressions (see :func:`scored`)."""
    return expressions.expressible(model.spec, model.hashing is not None, model.family)


def labels(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """The float64 ``LABEL`` and ``WEIGHT`` of rows already validated."""
    y, w, _ = labels_and_weights(table, LABEL, WEIGHT, Problems())
    return y, w
