"""pyspark.ml's ``linalg`` types in and out of a model: coefficients as MLlib compresses them,
and a single Vector as a row of features.

MLlib's ``coefficientMatrix`` is its K × d matrix (1 × d for a binomial model) in
the smallest of three layouts by MLlib's own size estimates (``Matrix.compressed``):
dense (row-major, as MLlib builds it), or sparse by columns or by rows;
``coefficients`` follows it (a ``SparseVector`` when the matrix is sparse).
"""

from __future__ import annotations

from typing import cast

import numpy as np
from pyspark.ml.linalg import DenseMatrix, DenseVector, Matrix, SparseMatrix, SparseVector, Vector
from scipy import sparse

from ..core.sums import Features
from ..errors import InputError

_DOUBLE, _INT, _ARRAY_HEADER, _OBJECT = 8, 4, 12, 8


def compressed(coef: np.ndarray) -> Matrix:
    """``coef`` (K × d) as MLlib's ``Matrix.compressed``: dense unless a sparse layout takes
    fewer bytes (by MLlib's estimates: 8 K d + 8 dense; 12 nnz + 4 pointers + 44 sparse)."""
    rows, cols = coef.shape
    nnz = int(np.count_nonzero(coef))
    dense_bytes = _DOUBLE * rows * cols + _OBJECT

    def sparse_bytes(pointers: int) -> int:
        return (_DOUBLE + _INT) * nnz + _INT * pointers + 3 * _ARRAY_HEADER + _OBJECT

    by_columns, by_rows = sparse_bytes(cols + 1), sparse_bytes(rows + 1)
    if dense_bytes <= min(by_columns, by_rows):
        return DenseMatrix(rows, cols, coef.ravel().tolist(), isTransposed=True)
    if by_columns <= by_rows:
        csc = sparse.csc_array(coef)
        return SparseMatrix(rows, cols, csc.indptr.tolist(), csc.indices.tolist(), csc.data.tolist())
    csr = sparse.csr_array(coef)
    # 1, not True: MLlib's matrices, made in the JVM, hold the int (their repr shows it)
    row_major = cast(bool, 1)
    return SparseMatrix(rows, cols, csr.indptr.tolist(), csr.indices.tolist(), csr.data.tolist(), row_major)


def coefficient_vector(coef: np.ndarray) -> Vector:
    """A binomial model's coefficients (d,) as MLlib gives them: sparse when its
    ``coefficientMatrix`` is."""
    if isinstance(compressed(coef[np.newaxis, :]), SparseMatrix):
        where = np.flatnonzero(coef)
        return SparseVector(coef.size, where.tolist(), coef[where].tolist())
    return DenseVector(coef)


def feature_row(value: Vector, d: int, method: str) -> Features:
    """One Vector as a 1 × d row of features (CSR when sparse, as the executors hold sparse
    rows); another length or type is an :class:`InputError` naming ``method``."""
    if not isinstance(value, (DenseVector, SparseVector)):
        raise InputError(f"{method}: expects a pyspark.ml.linalg Vector, not {type(value).__name__}")
    if value.size != d:
        raise InputError(f"{method}: the vector has {value.size} values; the model has {d} features")
    if isinstance(value, SparseVector):
        return sparse.csr_array((value.values, value.indices, [0, len(value.indices)]), shape=(1, d))
    return value.toArray()[np.newaxis, :]
