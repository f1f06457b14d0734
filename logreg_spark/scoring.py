"""Scoring rows with a trained model inside the executors: Arrow batches in, Arrow batches out.

The input's columns reach ``mapInArrow`` as they are (features are converted to
float64 in NumPy, see :func:`~logreg_spark.blocks.feature_matrix`), so the
columns passed through to the output keep their types. Rows are validated in a
first pass that only counts problems, so that ``input.invalid = "error"`` fails
before anything is written.
"""

from __future__ import annotations

import pickle
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame

from .binomial import softplus_and_sigmoid
from .blocks import LABEL, WEIGHT, FeatureSpec, Problems, feature_matrix, labels_and_weights
from .dataset import (InputError, apply_invalid_policy, check_pair_columns, label_and_weight_columns,
                      locate_features, with_hashed_features)
from .model_io import LoadedModel

#: Checks one table of rows and returns (rows to drop, their problems counted).
RowCheck = Callable[[pa.Table], "tuple[np.ndarray, Problems]"]


def model_input(df: DataFrame, model: LoadedModel) -> DataFrame:
    """``df`` with the model's features hashed as in training (if they were), after checking that
    it has the model's feature columns, of usable types and size."""
    if model.hashing:
        return with_hashed_features(df, *model.hashing)
    spec, where = model.spec, f"model features ({model.uri})"
    if spec.indices_col:
        check_pair_columns(df, spec, where, where)
        return df
    found = locate_features(df, spec.columns, spec.vector_col, where)
    if spec.vector_col and found.d != spec.d:
        raise InputError(f"column {spec.vector_col!r} has {found.d} values per row; the model at {model.uri} "
                         f"was trained on {spec.d}")
    return df


def feature_check(spec: FeatureSpec) -> RowCheck:
    def check(table: pa.Table) -> tuple[np.ndarray, Problems]:
        problems = Problems()
        return feature_matrix(table, spec, problems)[1], problems

    return check


def labelled_check(spec: FeatureSpec, label_col: str, weight_col: str) -> RowCheck:
    def check(table: pa.Table) -> tuple[np.ndarray, Problems]:
        problems = Problems()
        bad_features = feature_matrix(table, spec, problems)[1]
        bad_labels = labels_and_weights(table, label_col, weight_col, problems)[2]
        return bad_features | bad_labels, problems

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
            bad, found = check(pa.Table.from_batches([batch]))
            found.rows_dropped = int(bad.sum())
            problems.merge(found)
        yield pa.RecordBatch.from_arrays([pa.array([pickle.dumps(problems)], pa.binary())], names=["problems"])

    merged = Problems()
    for row in df.mapInArrow(count, "problems binary").collect():
        merged.merge(pickle.loads(row.problems))
    apply_invalid_policy(merged, policy)


def scored_batches(model: LoadedModel, check: RowCheck, keep: list[str],
                   add: Callable[[pa.Table, np.ndarray], dict[str, np.ndarray]]):
    """The ``mapInArrow`` function: drop invalid rows, then output the ``keep`` columns and
    the columns ``add(valid_rows, margins)`` returns."""
    spec, coef, intercept = model.spec, model.coefficients, model.intercept

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table = pa.Table.from_batches([batch])
            bad, _ = check(table)
            if bad.any():
                table = table.filter(pa.array(~bad))
            margin = feature_matrix(table, spec, Problems())[0] @ coef + intercept
            columns = {name: table.column(name) for name in keep}
            columns.update({name: pa.array(values) for name, values in add(table, margin).items()})
            yield from pa.table(columns).to_batches()

    return run


def probability(margin: np.ndarray) -> np.ndarray:
    return softplus_and_sigmoid(margin)[1]


def row_log_loss(margin: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``log(1 + e^z) − y z``, exact for any margin (see :mod:`logreg_spark.binomial`)."""
    return softplus_and_sigmoid((1.0 - 2.0 * y) * margin)[0]


def labels(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """The float64 ``LABEL`` and ``WEIGHT`` of rows already validated."""
    y, w, _ = labels_and_weights(table, LABEL, WEIGHT, Problems())
    return y, w
