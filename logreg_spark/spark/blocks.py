"""Arrow record batches → NumPy blocks of rows (:class:`~logreg_spark.core.data.Block`), with validation.

Pure NumPy/pyarrow, run inside the executors' Python workers; no Spark here.
Features come as numeric or boolean columns, one numeric array column, a
Spark ML Vector's struct, or a pair of index and value array columns; the
training frame has been reduced by :mod:`logreg_spark.spark.reading` to float64
features, ``LABEL``, ``WEIGHT`` (and ``OFFSET`` with an offset column). The columns become matrices in
:mod:`~logreg_spark.spark.feature_arrays`; here each unusable row is counted
under its column and problem (:class:`Problems`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from scipy import sparse

from ..core.data import Block
from ..core.folds import FoldRule
from .feature_arrays import (
    element_rows,
    features_from_columns,
    features_from_list,
    features_from_vector,
    float_column,
    list_lengths,
    mostly_sparse,
    sparse_features_from_vector,
)

LABEL = "__label"
WEIGHT = "__weight"
FOLD = "__fold"
OFFSET = "__offset"


#: The problems rows are counted under (:class:`Problems`), here and where Spark SQL checks rows
#: (:mod:`~logreg_spark.spark.expressions`), so that both give the same messages.
NOT_FINITE = "NaN, infinite or null"
BAD_WEIGHT = "negative, NaN, infinite or null"


def label_problem(label_limit: int) -> str:
    """The problem of a label that is not one of the ``label_limit`` classes."""
    allowed = "0 or 1" if label_limit == 2 else f"a class 0 … {label_limit - 1}"
    return f"not {allowed} (or null/NaN)"


@dataclass
class Problems:
    """Counts of rows failing validation, keyed by (column, problem), with one example value."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    examples: dict[tuple[str, str], float] = field(default_factory=dict)
    rows_dropped: int = 0

    def add(self, column: str, problem: str, bad: np.ndarray, values: np.ndarray | None = None) -> None:
        n = int(bad.sum())
        if n:
            key = (column, problem)
            self.counts[key] = self.counts.get(key, 0) + n
            if values is not None:
                self.examples.setdefault(key, float(values[bad][0]))

    def describe(self) -> list[str]:
        """One phrase per problem, e.g. ``column 'label': 3 rows are not 0 or 1 (e.g. 2.0)``."""
        return [
            f"column {column!r}: {n} row{'s are' if n > 1 else ' is'} {problem}"
            + (f" (e.g. {self.examples[(column, problem)]!r})" if (column, problem) in self.examples else "")
            for (column, problem), n in sorted(self.counts.items())
        ]

    def merge(self, other: Problems) -> Problems:
        self.rows_dropped += other.rows_dropped
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
            if key in other.examples:
                self.examples.setdefault(key, other.examples[key])
        return self


def _nonfinite_rows(X: sparse.csr_array, column: str, problems: Problems) -> np.ndarray:
    """The rows of ``X`` holding a NaN or infinite value, counted in ``problems`` under ``column``."""
    bad_value = ~np.isfinite(X.data)
    bad = np.zeros(X.shape[0], dtype=bool)
    if bad_value.any():
        bad[element_rows(np.diff(X.indptr))[bad_value]] = True
        problems.add(column, NOT_FINITE, bad, np.full(X.shape[0], X.data[bad_value][0]))
    return bad


@dataclass(frozen=True)
class FeatureSpec:
    """Where the features are: named numeric columns, one array/Vector column ``vector_col`` of
    ``d`` values, or rows of ``d`` features given as an array of indices in ``indices_col`` and
    an array of their values in ``values_col``."""

    columns: tuple[str, ...] = ()
    vector_col: str = ""
    d: int = 0
    indices_col: str = ""
    values_col: str = ""

    @property
    def names(self) -> list[str]:
        """The column names, or ``col[j]`` after the array/Vector column or the values column."""
        if self.columns:
            return list(self.columns)
        return [f"{self.vector_col or self.values_col}[{j}]" for j in range(self.d)]

    def described(self) -> dict[str, int | list[str]]:
        """The features in ``model.json``: their number, and their names when they are columns'
        (an array, Vector or index/value input's names, ``col[j]``, follow from the conf)."""
        return {"n_features": self.d or len(self.columns)} | ({"features": self.names} if self.columns else {})

    @property
    def input_columns(self) -> list[str]:
        """The input columns that hold the features."""
        return list(self.columns) or [name for name in (self.indices_col, self.values_col, self.vector_col) if name]


def _sparse_features_from_pairs(
    indices: pa.ListArray, values: pa.ListArray, spec: FeatureSpec, problems: Problems
) -> tuple[sparse.csr_array, np.ndarray]:
    """Rows given as an array of indices and an array of their values, as a CSR (n × d) array
    whose ``indptr`` and ``data`` are the lists' offsets and flattened values; an index repeated
    within a row adds up its values. Rows with a null array, arrays of different lengths or an
    index outside [0, d) are left empty; they and rows with a NaN or infinite value are flagged
    and counted in ``problems`` under the column at fault."""
    n, d = len(indices), spec.d
    index_lengths, value_lengths = list_lengths(indices), list_lengths(values)
    index_null = ~indices.is_valid().to_numpy(zero_copy_only=False)
    value_null = ~values.is_valid().to_numpy(zero_copy_only=False)
    problems.add(spec.indices_col, "null", index_null)
    problems.add(spec.values_col, "null", value_null)
    unequal = ~index_null & ~value_null & (index_lengths != value_lengths)
    problems.add(spec.values_col, f"of another length than {spec.indices_col!r}", unequal)
    fits = ~index_null & ~value_null & ~unequal
    index_rows = element_rows(index_lengths)
    cols = float_column(indices.flatten())  # nulls as NaN: outside like any index not in [0, d)
    outside = ~((cols >= 0) & (cols < d)) & fits[index_rows]
    outside_rows = np.zeros(n, dtype=bool)
    outside_rows[index_rows[outside]] = True
    if outside.any():
        problems.add(
            spec.indices_col, f"holding an index outside [0, {d}) or null", outside_rows, np.full(n, cols[outside][0])
        )
    kept = fits & ~outside_rows
    indptr = np.concatenate([[0], np.cumsum(np.where(kept, index_lengths, 0))])
    data = float_column(values.flatten())[kept[element_rows(value_lengths)]]
    X = sparse.csr_array((data, cols[kept[index_rows]].astype(np.int64), indptr), shape=(n, d))
    bad_row = ~kept | _nonfinite_rows(X, spec.values_col, problems)
    X.sum_duplicates()
    return X, bad_row


def feature_matrix(table: pa.Table, spec: FeatureSpec, problems: Problems) -> tuple[np.ndarray, np.ndarray]:
    """The (n × d) float64 features of ``table``'s rows, column-major (CSR for sparse Vectors and
    index/value pairs), and a mask of the rows whose features are unusable (null, NaN, infinite,
    an array of the wrong length, an index out of range); each problem is counted in ``problems``."""
    if spec.indices_col:
        return _sparse_features_from_pairs(
            table.column(spec.indices_col).combine_chunks(),
            table.column(spec.values_col).combine_chunks(),
            spec,
            problems,
        )
    column = table.column(spec.vector_col).combine_chunks() if spec.vector_col else None
    if column is not None and pa.types.is_struct(column.type) and mostly_sparse(column):
        X, misfit, outside = sparse_features_from_vector(column, spec.d)
        problems.add(spec.vector_col, f"null or not of length {spec.d}", misfit)
        problems.add(spec.vector_col, f"holding an index outside [0, {spec.d})", outside)
        return X, misfit | outside | _nonfinite_rows(X, spec.vector_col, problems)
    if column is not None:
        convert = features_from_vector if pa.types.is_struct(column.type) else features_from_list
        X, misfit = convert(column, spec.d)
        problems.add(spec.vector_col, f"null or not of length {spec.d}", misfit)
        names = [spec.vector_col] * spec.d
    else:
        X = features_from_columns(table, list(spec.columns))
        misfit = np.zeros(table.num_rows, dtype=bool)
        names = list(spec.columns)
    bad_row = misfit.copy()
    finite = np.isfinite(X)
    if not finite.all():
        for j in np.flatnonzero(~finite[~misfit].all(axis=0)):
            bad = ~finite[:, j] & ~misfit
            problems.add(names[j], NOT_FINITE, bad, X[:, j])
            bad_row |= bad
    return X, bad_row


#: Labels a multinomial model accepts: integers 0 … MAX_CLASSES − 1.
MAX_CLASSES = 1000


def labels_and_weights(
    table: pa.Table, label_col: str, weight_col: str, problems: Problems, label_limit: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``LABEL`` and ``WEIGHT`` as float64, and a mask of rows whose label is not one of the
    ``label_limit`` integers 0, 1, … or whose weight is not a finite non-negative number; each
    problem is counted in ``problems``."""
    y = float_column(table.column(LABEL))
    w = float_column(table.column(WEIGHT))
    bad_label = ~((y >= 0) & (y < label_limit) & (y == np.floor(y)))  # NaN compares false
    bad_weight = ~(np.isfinite(w) & (w >= 0))
    problems.add(label_col, label_problem(label_limit), bad_label, y)
    problems.add(weight_col or WEIGHT, BAD_WEIGHT, bad_weight, w)
    return y, w, bad_label | bad_weight


def _user_folds(table: pa.Table, column: str, problems: Problems) -> tuple[np.ndarray, np.ndarray]:
    """The ``FOLD`` column (the user's fold ids) as int64, and a mask of its null rows."""
    values = float_column(table.column(FOLD))
    bad = np.isnan(values)
    problems.add(column, "null", bad)
    return np.where(bad, 0, values).astype(np.int64), bad


def offsets(table: pa.Table, column: str, offset_col: str, problems: Problems) -> tuple[np.ndarray, np.ndarray]:
    """``table``'s ``column`` of offsets as float64, and a mask of its rows that are not a finite
    number, counted in ``problems`` under ``offset_col`` (the user's name of the column)."""
    values = float_column(table.column(column))
    bad = ~np.isfinite(values)
    problems.add(offset_col, NOT_FINITE, bad, values)
    return values, bad


def block_from_table(
    table: pa.Table,
    spec: FeatureSpec,
    label_col: str,
    weight_col: str,
    label_limit: int = 2,
    folds: FoldRule | None = None,
    offset_col: str = "",
) -> tuple[Block, Problems]:
    """Build a block from the rows that can be trained on (labels 0 … ``label_limit`` − 1),
    and count the others; with ``folds``, each row's fold id too (the user's, or hashed); with
    ``offset_col``, each row's offset (the ``OFFSET`` column)."""
    table = table.combine_chunks()
    problems = Problems()
    X, bad_features = feature_matrix(table, spec, problems)
    y, w, bad_labels = labels_and_weights(table, label_col, weight_col, problems, label_limit)
    bad_row = bad_features | bad_labels
    fold = offset = None
    if folds is not None and folds.column:
        fold, bad_fold = _user_folds(table, folds.column, problems)
        bad_row |= bad_fold
    if offset_col:
        offset, bad_offset = offsets(table, OFFSET, offset_col, problems)
        bad_row |= bad_offset
    keep = ~bad_row
    problems.rows_dropped = int(bad_row.sum())
    if not keep.all():
        X, y, w = X[keep], y[keep], w[keep]
        fold = None if fold is None else fold[keep]
        offset = None if offset is None else offset[keep]
    if folds is not None and fold is None:
        fold = folds.assign(X, y, w)
    return Block(X if sparse.issparse(X) else np.asfortranarray(X), y, w, fold, offset), problems
