"""Arrow feature columns → NumPy float64 matrices (CSR for sparse Spark ML Vectors), with a mask
of the rows that do not fit; pure NumPy/pyarrow. What those rows are called, and every other check,
is :mod:`logreg_spark.spark.blocks`'s.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse


def float_column(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A numeric or boolean Arrow column as float64, nulls as NaN."""
    return np.asarray(pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def features_from_columns(table: pa.Table, names: list[str]) -> np.ndarray:
    """The named numeric or boolean columns as a column-major (n × d) float64 matrix, nulls as NaN."""
    X = np.empty((table.num_rows, len(names)), order="F")
    for j, name in enumerate(names):
        X[:, j] = float_column(table.column(name))
    return X


def element_rows(lengths: np.ndarray) -> np.ndarray:
    """The row of each element of flattened lists of these lengths."""
    return np.repeat(np.arange(len(lengths)), lengths)


def features_from_list(column: pa.ListArray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``array<double>`` rows as an (n × d) matrix; rows of another length (or null) are flagged."""
    lengths = column.value_lengths().fill_null(-1).to_numpy(zero_copy_only=False)
    fits = lengths == d
    X = np.full((len(column), d), np.nan)
    values = float_column(column.flatten())
    value_rows = element_rows(np.maximum(lengths, 0))
    X[fits] = values[fits[value_rows]].reshape(-1, d)
    return X, ~fits


def mostly_sparse(column: pa.StructArray) -> bool:
    """Whether most of these Spark ML Vectors are sparse ones: then the rows are kept as CSR."""
    sparse_rows = column.is_valid().to_numpy(zero_copy_only=False) & (
        column.field("type").fill_null(1).to_numpy(zero_copy_only=False) == 0
    )
    return 2 * int(sparse_rows.sum()) > len(column)


def sparse_features_from_vector(column: pa.StructArray, d: int) -> tuple[sparse.csr_array, np.ndarray, np.ndarray]:
    """Spark ML Vectors (sparse or dense) as a CSR (n × d) array, built from the flattened
    values in row order (no sort); an index repeated within a row adds up its values. Null
    vectors and vectors of another size (``misfit``), and sparse ones holding an index outside
    [0, d) (``outside``, never written by Spark), are flagged and left empty."""
    n = len(column)
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    dense = column.field("type").fill_null(1).to_numpy(zero_copy_only=False) == 1
    values = column.field("values")
    value_lengths = values.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
    sizes = np.where(dense, value_lengths, column.field("size").fill_null(-1).to_numpy(zero_copy_only=False))
    fits = valid & (sizes == d)
    flat_values = float_column(values.flatten())
    value_rows = element_rows(value_lengths)
    indices = column.field("indices").flatten().to_numpy(zero_copy_only=False)
    if dense.any():  # a dense row's values are at columns 0, 1, …
        in_sparse_row = ~dense[value_rows]
        cols = np.empty(len(flat_values), dtype=np.int64)
        cols[in_sparse_row] = indices
        row_starts = np.repeat(np.cumsum(value_lengths) - value_lengths, value_lengths)
        cols[~in_sparse_row] = (np.arange(len(flat_values)) - row_starts)[~in_sparse_row]
    else:
        cols = indices.astype(np.int64)
    misplaced = (cols < 0) | (cols >= d)
    outside = np.zeros(n, dtype=bool)
    if misplaced.any():
        outside[value_rows[misplaced]] = True
        outside &= fits
    kept = fits & ~outside
    indptr = np.concatenate([[0], np.cumsum(np.where(kept, value_lengths, 0))])
    if not kept.all():
        keep = kept[value_rows]
        flat_values, cols = flat_values[keep], cols[keep]
    X = sparse.csr_array((flat_values, cols, indptr), shape=(n, d))
    X.sum_duplicates()
    return X, ~fits, outside


def features_from_vector(column: pa.StructArray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Spark ML Vectors as a dense (n × d) matrix; null vectors, vectors of another size and
    sparse ones holding an index outside [0, d) are flagged (their rows are NaN)."""
    X, misfit, outside = sparse_features_from_vector(column, d)
    dense = X.toarray()
    dense[misfit | outside] = np.nan
    return dense, misfit | outside


def list_lengths(column: pa.ListArray) -> np.ndarray:
    """The lengths of the lists, 0 for null ones (whose elements ``flatten`` leaves out)."""
    return column.value_lengths().fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
