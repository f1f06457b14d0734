"""Reading a job's Parquet input with pyarrow inside the executors, where the files allow it.

Spark's reader decodes Parquet in the JVM and hands the rows to the Python
workers as Arrow batches. For 2,000,000 × 50 doubles (local[2], a warm
session) that hand-off took 5 s of a 6.3 s preparation; pyarrow reading the
same files inside the tasks, into the same float64 matrix, took 1 s. So when
a job's input is a plain read of Parquet files on the local file system
(:func:`direct_source`), its tasks read the files themselves:

- the driver splits the files into :class:`Piece` s (a large file into runs of
  its row groups) and packs them into partitions of at most Spark's split size
  (``spark.sql.files.maxPartitionBytes``, spread over the cores as Spark does);
- an RDD of one element per partition runs the job's function over the tables
  its task reads (:meth:`DirectSource.run`): no Arrow hand-off, no Row objects.
- the length of an array or Vector column is its first value's, read on the
  driver (:meth:`DirectSource.first_length`) rather than by a Spark job.
- the files' footers are read on the driver first: files that disagree are an
  input error there, not in a task (:mod:`~logreg_spark.spark.input_files`).

Anything else is read by Spark: a DataFrame that is not ``spark.read.parquet``
and nothing after it, partition columns, files not on the local file system
(``file:`` URIs: local mode, or a file system mounted at the same place on every
node), decimal or timestamp columns among those read, Spark Connect (whose plan
this module does not inspect), and ``input.reader = "spark"``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark import RDD
from pyspark.ml.linalg import VectorUDT
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from ..errors import InputError
from .input_files import file_types, local_path, numeric_drift, schemas
from .jvm import parquet_files
from .session import is_connect

Out = TypeVar("Out")

#: Spark's defaults for ``spark.sql.files.maxPartitionBytes`` and ``openCostInBytes``.
MAX_SPLIT_BYTES = 128 << 20
OPEN_COST_BYTES = 4 << 20

#: Rows per table the tasks read at a time.
BATCH_ROWS = 1 << 16

#: Rows per table the driver reads while it looks for a column's first value.
FIRST_ROWS = 64


@dataclass(frozen=True)
class Piece:
    """Part ``part`` of ``parts`` of a local Parquet file: its share of the row groups, in order."""

    path: str
    part: int = 0
    parts: int = 1

    def row_groups(self, total: int) -> list[int]:
        return [group for group in range(total) if group * self.parts // total == self.part]

    def tables(
        self, columns: tuple[str, ...], case_sensitive: bool = False, rows: int | None = None
    ) -> Iterator[pa.Table]:
        """The piece's rows of ``columns``, in tables of at most ``rows`` (:data:`BATCH_ROWS`) rows
        (as Spark's reader, a bounded share of the file at a time), each column found in the file
        as Spark finds it (:func:`file_columns`); a column the file lacks is null."""
        file = pq.ParquetFile(self.path)
        found = file_columns(file.schema_arrow.names, columns, case_sensitive, self.path)
        groups = self.row_groups(file.num_row_groups)
        present = list(dict.fromkeys(name for name in found.values() if name is not None))
        for batch in file.iter_batches(rows or BATCH_ROWS, groups, present, use_threads=False) if groups else ():
            n = batch.num_rows
            yield pa.table(
                {name: pa.nulls(n) if found[name] is None else batch.column(found[name]) for name in columns}
            )


def file_columns(names: list[str], columns: tuple[str, ...], case_sensitive: bool, path: str) -> dict[str, str | None]:
    """Which of a file's column ``names`` holds each of ``columns`` (None: not in the file).

    As Spark's Parquet reader: by exact name with ``spark.sql.caseSensitive``, else by name in
    any case (the default), where two of the file's columns matching one is an error.
    """
    if case_sensitive:
        present = set(names)
        return {name: name if name in present else None for name in columns}
    by_lower: dict[str, list[str]] = {}
    for other in names:
        by_lower.setdefault(other.lower(), []).append(other)
    found: dict[str, str | None] = {}
    for name in columns:
        matches = by_lower.get(name.lower(), [])
        if len(matches) > 1:
            raise InputError(f"{path}: columns {', '.join(matches)} all match {name!r} (names are not case-sensitive)")
        found[name] = matches[0] if matches else None
    return found


@dataclass(frozen=True)
class DirectSource:
    """The input's ``columns``, read by pyarrow in one task per partition (a tuple of pieces)."""

    partitions: tuple[tuple[Piece, ...], ...]
    columns: tuple[str, ...]
    case_sensitive: bool = False

    def run(self, spark: SparkSession, task: Callable[[Iterator[pa.Table]], Iterator[Out]]) -> RDD[Out]:
        """``task`` in one Spark task per partition, over the tables of its pieces (none for a
        partition of empty pieces)."""
        partitions, columns, case_sensitive = self.partitions, self.columns, self.case_sensitive

        def read(ids: Iterable[int]) -> Iterator[Out]:
            pieces = (piece for index in ids for piece in partitions[index])
            return task(table for piece in pieces for table in piece.tables(columns, case_sensitive))

        n = len(partitions)
        return spark.sparkContext.parallelize(range(n), n).mapPartitions(read)

    def first_length(self, column: str) -> int | None:
        """The length of ``column``'s first non-null value (a Spark ML Vector's size, an array's
        length), read here, without a Spark job; None if every value is null. The first in the
        files' listed order: Spark's ``first()`` may take another file's first, which has the
        same length wherever the rows agree (rows of another length are invalid either way)."""
        for piece in (piece for partition in self.partitions for piece in partition):
            for table in piece.tables((column,), self.case_sensitive, FIRST_ROWS):
                values = table.column(column).drop_null()
                if len(values):
                    first = values[0].as_py()
                    if isinstance(first, dict):  # a Vector: (type, size, indices, values), type 1 dense
                        return len(first["values"]) if first["type"] == 1 else first["size"]
                    return len(first)
        return None


def direct_source(df: DataFrame, columns: list[str], reader: str = "auto") -> DirectSource | None:
    """How the tasks read ``columns`` of ``df`` themselves, or None where Spark must read them
    (see the module's docstring)."""
    if reader != "auto" or is_connect(df.sparkSession):
        return None
    if any(not _readable(df.schema[name].dataType) for name in columns):
        return None
    local = [local_path(uri) for uri in parquet_files(df) or []]
    paths = [path for path in local if path is not None]
    if not paths or len(paths) < len(local):
        return None
    try:
        sizes = [os.path.getsize(path) for path in paths]
    except OSError:  # not visible from the driver: let Spark read them
        return None
    numeric_drift(file_types(schemas(paths), columns))  # files that disagree: an InputError
    spark = df.sparkSession
    case_sensitive = (spark.conf.get("spark.sql.caseSensitive") or "false").lower() == "true"
    return DirectSource(
        _partitions(paths, sizes, spark.sparkContext.defaultParallelism), tuple(columns), case_sensitive
    )


def _readable(dtype: T.DataType) -> bool:
    """Whether pyarrow reads a column of this type as Spark does (decimals convert to doubles
    differently; timestamps come back in other units)."""
    if isinstance(dtype, T.ArrayType):
        return _readable(dtype.elementType)
    if isinstance(dtype, T.StructType):
        return all(_readable(f.dataType) for f in dtype.fields)
    return isinstance(dtype, VectorUDT | T.StringType | T.BinaryType | T.BooleanType | T.DateType) or (
        isinstance(dtype, T.NumericType) and not isinstance(dtype, T.DecimalType)
    )


def _partitions(paths: list[str], sizes: list[int], parallelism: int) -> tuple[tuple[Piece, ...], ...]:
    """Files split into pieces of at most the split size and packed, in order, into partitions of
    at most that size (Spark's rule: its maximum, or less to give every core a share)."""
    total = sum(sizes) + OPEN_COST_BYTES * len(sizes)
    split = min(MAX_SPLIT_BYTES, max(OPEN_COST_BYTES, total // max(parallelism, 1)))
    partitions: list[tuple[Piece, ...]] = []
    current: list[Piece] = []
    filled = 0
    for path, size in zip(paths, sizes, strict=True):
        parts = max(1, math.ceil(size / split))
        for part in range(parts):
            cost = size // parts + OPEN_COST_BYTES
            if current and filled + cost > split:
                partitions.append(tuple(current))
                current, filled = [], 0
            current.append(Piece(path, part, parts))
            filled += cost
    if current:
        partitions.append(tuple(current))
    return tuple(partitions)
