"""Synthetic sparse classification data: Parquet with a Spark ML sparse Vector column.

Spark keeps a ``VectorUDT`` in Parquet as ``struct<type: tinyint, size: int,
indices: array<int>, values: array<double>>`` (``type`` 0 for sparse) and
finds the UDT in its own schema, stored as JSON under the footer key
``org.apache.spark.sql.parquet.row.metadata``. Writing that struct with
pyarrow, with the key set, gives files Spark reads as a Vector column, without
a row of Python in Spark.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.ml.linalg import VectorUDT
from pyspark.sql import types as T
from scipy import sparse

from logreg_spark.core.binomial import sigmoid

#: The footer key under which Spark stores (and looks for) its schema.
SPARK_SCHEMA_KEY = b"org.apache.spark.sql.parquet.row.metadata"

#: The sparse feature column and the label column of the files.
FEATURES, LABEL = "features", "label"

#: Arrow layout of a Vector, nullability as Spark writes it.
VECTOR_TYPE = pa.struct(
    [
        pa.field("type", pa.int8(), nullable=False),
        pa.field("size", pa.int32()),
        pa.field("indices", pa.list_(pa.field("element", pa.int32(), nullable=False))),
        pa.field("values", pa.list_(pa.field("element", pa.float64(), nullable=False))),
    ]
)

SCHEMA = pa.schema(
    [pa.field(FEATURES, VECTOR_TYPE), pa.field(LABEL, pa.int64())],
    metadata={
        SPARK_SCHEMA_KEY: T.StructType([T.StructField(FEATURES, VectorUDT()), T.StructField(LABEL, T.LongType())])
        .json()
        .encode()
    },
)


class SparseLogisticModel:
    """A random logistic model over ``features`` indicator features, about ``nonzeros`` per row.

    Each row draws ``nonzeros`` column indices uniformly (a repeated index counts
    once, so a few rows have fewer) and has value 1 there. A random ``support``
    fraction of the true coefficients is non-zero, scaled so that the margin has
    standard deviation about ``2 / noise`` (larger noise, less separable).
    """

    def __init__(self, features: int, nonzeros: int, *, seed: int, noise: float = 1.0, support: float = 0.1) -> None:
        self.rng = np.random.default_rng(seed)
        self.features, self.nonzeros = features, nonzeros
        active = self.rng.random(features) < support
        scale = 2.0 / noise / np.sqrt(max(support * nonzeros, 1.0))
        self.coef = np.where(active, self.rng.standard_normal(features) * scale, 0.0)
        self.intercept = 0.0

    def indices(self, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """``(row lengths, their sorted distinct column indices, concatenated)``."""
        drawn = np.sort(self.rng.integers(0, self.features, (rows, self.nonzeros), dtype=np.int32), axis=1)
        first = np.ones(drawn.shape, dtype=bool)
        first[:, 1:] = drawn[:, 1:] != drawn[:, :-1]
        return first.sum(axis=1), drawn[first]

    def margins(self, lengths: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """xᵀβ + b of rows given as :meth:`indices` returns them."""
        rows = np.repeat(np.arange(lengths.size), lengths)
        return np.bincount(rows, weights=self.coef[indices], minlength=lengths.size) + self.intercept

    def set_positive_rate(self, rate: float, sample_rows: int = 100_000) -> None:
        """Choose the intercept so that about ``rate`` of the labels are 1."""
        self.intercept = 0.0
        self.intercept = -float(np.quantile(self.margins(*self.indices(sample_rows)), 1.0 - rate))

    def draw(self, rows: int) -> pa.Table:
        """``rows`` new rows as an Arrow table of :data:`SCHEMA`."""
        lengths, indices = self.indices(rows)
        labels = (self.rng.random(rows) < sigmoid(self.margins(lengths, indices))).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        return vector_table(offsets, indices, np.ones(indices.size), self.features, labels)


def vector_table(
    offsets: np.ndarray, indices: np.ndarray, values: np.ndarray, size: int, labels: np.ndarray
) -> pa.Table:
    """Rows given as CSR arrays (``offsets`` of length rows + 1) as an Arrow table of :data:`SCHEMA`."""
    rows = offsets.size - 1
    offsets = pa.array(offsets.astype(np.int32))
    vectors = pa.StructArray.from_arrays(
        [
            pa.array(np.zeros(rows, dtype=np.int8)),
            pa.array(np.full(rows, size, dtype=np.int32)),
            pa.ListArray.from_arrays(
                offsets, pa.array(indices.astype(np.int32)), type=VECTOR_TYPE.field("indices").type
            ),
            pa.ListArray.from_arrays(
                offsets, pa.array(values.astype(np.float64)), type=VECTOR_TYPE.field("values").type
            ),
        ],
        fields=list(VECTOR_TYPE),
    )
    return pa.Table.from_arrays([vectors, pa.array(labels.astype(np.int64))], schema=SCHEMA)


def write_csr(path: str | Path, X: sparse.csr_array, y: np.ndarray, *, files: int) -> None:
    """Write the rows of ``X`` (with labels ``y``) as ``files`` Parquet files of :data:`SCHEMA`."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for part, rows in enumerate(np.array_split(np.arange(X.shape[0]), files)):
        block = X[rows]
        pq.write_table(
            vector_table(block.indptr, block.indices, block.data, X.shape[1], y[rows]),
            path / f"part-{part:05d}.parquet",
        )


def write_sparse_classification(
    path: str | Path,
    rows: int,
    features: int,
    nonzeros: int,
    *,
    files: int,
    seed: int = 0,
    positive_rate: float = 0.5,
    noise: float = 1.0,
) -> None:
    """Draw ``rows`` from one :class:`SparseLogisticModel` file by file, never holding them all in memory."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model = SparseLogisticModel(features, nonzeros, seed=seed, noise=noise)
    model.set_positive_rate(positive_rate)
    for part, count in enumerate(np.diff(np.linspace(0, rows, files + 1).astype(int))):
        pq.write_table(model.draw(int(count)), path / f"part-{part:05d}.parquet")
