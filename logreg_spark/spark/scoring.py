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

import numpy as np
import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..errors import named
from . import expressions
from .blocks import LABEL, WEIGHT, Problems, feature_matrix, labels_and_weights, offsets
from .loaded_model import LoadedModel
from .outputs import AddColumns, Output, output_values
from .reading import apply_invalid_policy, label_and_weight_columns
from .session import use_driver_python

#: Checks one table of rows: (rows to drop, their problems counted, the margins of every row).
RowCheck = Callable[[pa.Table], "tuple[np.ndarray, Problems, np.ndarray]"]


def row_check(model: LoadedModel) -> RowCheck:
    """The rows' features and offsets checked, and their margins (NaN on the invalid rows)."""

    def check(table: pa.Table) -> tuple[np.ndarray, Problems, np.ndarray]:
        problems = Problems()
        X, bad = feature_matrix(table, model.spec, problems)
        offset = None
        if model.offset_col:
            offset, bad_offset = offsets(table, model.offset_col, model.offset_col, problems)
            bad = bad | bad_offset
        with np.errstate(all="ignore"):  # the invalid rows' NaN; they are dropped
            return bad, problems, model.margins(X, offset)

    return check


def labelled_check(model: LoadedModel, label_col: str, weight_col: str) -> RowCheck:
    """Rows as :func:`row_check`; labels must be the model's classes."""
    scored_rows = row_check(model)

    def check(table: pa.Table) -> tuple[np.ndarray, Problems, np.ndarray]:
        bad_rows, problems, margins = scored_rows(table)
        bad_labels = labels_and_weights(table, label_col, weight_col, problems, model.family.classes)[2]
        return bad_rows | bad_labels, problems, margins

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
    bad, problems, margins = check(table)
    problems.rows_dropped = int(bad.sum())
    if bad.any():
        table, margins = table.filter(pa.array(~bad)), margins[~bad]
    columns = {name: table.column(name) for name in keep}
    columns.update({name: pa.array(values) for name, values in add(table, margins).items()})
    return pa.table(columns), problems


def scored_batches(
    model: LoadedModel, check: RowCheck, keep: list[str], add: AddColumns, policy: str = "skip"
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The ``mapInArrow`` function: :func:`scored_table` of each batch (``policy = "error"``:
    invalid rows fail the task instead)."""

    key = named("input.invalid")  # as the user set it: the task cannot ask

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table, problems = scored_table(model, check, keep, add, pa.Table.from_batches([batch]))
            if problems.rows_dropped:
                apply_invalid_policy(problems, policy, key)
            yield from table.to_batches()

    return run


def scored(df: DataFrame, model: LoadedModel, keep: list[str], outputs: dict[str, Output], policy: str) -> DataFrame:
    """``df``'s ``keep`` columns and the ``outputs`` at ``model.threshold``, for its valid rows:
    invalid rows are dropped, or fail the task with ``policy = "error"``. A model
    :func:`~logreg_spark.spark.expressions.expressible` is scored by Spark SQL expressions, any
    other in the executors' Python (one ``mapInArrow``), from each batch's margins and
    probabilities, computed once."""
    if expressible(model):
        rows = row_checks(model)
        valid = df.where(rows.valid_or_fail() if policy == "error" else rows.valid())
        return valid.select(*_output_columns(model, keep, outputs))
    add = output_values(model.decision, outputs)
    use_driver_python(df.sparkSession)
    return df.mapInArrow(
        scored_batches(model, row_check(model), keep, add, policy), scored_schema(df, model, keep, outputs)
    )


def scored_schema(df: DataFrame, model: LoadedModel, keep: list[str], outputs: dict[str, Output]) -> T.StructType:
    """The schema of :func:`scored`'s frame."""
    return T.StructType(
        [df.schema[name] for name in keep]
        + [T.StructField(name, output.dtype(model.family), False) for name, output in outputs.items()]
    )


def _output_columns(model: LoadedModel, keep: list[str], outputs: dict[str, Output]) -> list[Column]:
    """The ``keep`` columns and the ``outputs`` as Spark SQL expressions."""
    margin = margin_columns(model)
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
        return checked_columns(df, row_checks(model), _output_columns(model, keep, outputs), policy)
    check, add = row_check(model), output_values(model.decision, outputs)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table = pa.Table.from_batches([batch])
            bad, _, margins = check(table)
            with np.errstate(all="ignore"):  # the invalid rows' NaN; they are dropped
                added = add(table, margins)
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


def row_checks(model: LoadedModel, *others: expressions.Check) -> expressions.RowChecks:
    """What a valid row is to an expressible ``model``: finite features and offset, and none of
    the problems of ``others``."""
    return expressions.RowChecks(model.spec.columns, (*expressions.offset_checks(model.offset_col), *others))


def margin_columns(model: LoadedModel) -> list[Column]:
    """An expressible ``model``'s margins as Spark SQL expressions, its offset included."""
    return expressions.margins(model.spec, model.coefficients, model.intercept, model.offset_col)


def labels(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """The float64 ``LABEL`` and ``WEIGHT`` of rows already validated."""
    y, w, _ = labels_and_weights(table, LABEL, WEIGHT, Problems())
    return y, w
