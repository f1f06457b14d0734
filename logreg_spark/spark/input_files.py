"""Input files that disagree, found from their footers before any task reads them.

Spark takes a Parquet input's schema from one file and reads every other file as
if it agreed. A file that is not Parquet then fails a task deep in a pass, and a
column stored as another type in some file either fails one (Spark's reader,
which widens only float and 32-bit integers to double) or is converted without a
word (pyarrow parses strings as numbers). So where the driver can read the files
(the local file system), their footers are read first, a few kB each:

- a file that is not Parquet is an :class:`~logreg_spark.errors.InputError`
  naming it;
- a column stored as two types is one naming the column, the types and a file of
  each, unless both are numbers: every column the jobs train on or score is read
  as float64, so numbers of any type are, by both readers (:func:`aligned`).

Files elsewhere (HDFS, object stores) are read by Spark alone, and its error for
a file it cannot read becomes an ``InputError`` naming the file
(:func:`~logreg_spark.spark.failures.read_failure`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import reduce
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ..errors import InputError

#: Footers read at once.
FOOTER_READERS = 8

#: Where each column's types were found: column → its type as named here → the first file with it.
Found = dict[str, dict[str, str]]


def schemas(paths: list[str]) -> dict[str, pa.Schema]:
    """The Arrow schema of each local Parquet file of ``paths``, from its footer; a file that is
    not Parquet is an :class:`InputError` naming it."""
    with ThreadPoolExecutor(FOOTER_READERS) as pool:  # a footer read is mostly waiting on the disk
        return dict(zip(paths, pool.map(_schema, paths), strict=True))


def _schema(path: str) -> pa.Schema:
    try:
        return pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise InputError(f"{path}: no such file (the input changed while it was read?)") from None
        raise InputError(f"{path}: not a Parquet file ({str(err).split('. ')[0]})") from None


def file_types(read: dict[str, pa.Schema], columns: Iterable[str] | None = None) -> Found:
    """Where each of ``columns`` (None: all) has each of its types, in the files' ``schemas``."""
    wanted = None if columns is None else {name.lower() for name in columns}  # as Spark matches them
    found: Found = {}
    for path, schema in sorted(read.items()):
        for field in schema:
            if wanted is None or field.name.lower() in wanted:
                found.setdefault(field.name, {}).setdefault(_type_name(field.type), path)
    return found


def numeric_drift(found: Found) -> list[str]:
    """The columns stored as numbers of different types (read as float64); a column stored as
    two types that are not both numbers is an :class:`InputError` naming a file of each."""
    drifting = []
    for column, types in found.items():
        if len(types) < 2:
            continue
        if not all(_is_number(name) for name in types):
            (first, first_path), (other, other_path) = list(types.items())[:2]
            raise InputError(
                f"column {column!r} is {first} in {first_path} but {other} in {other_path}; "
                "every file must store a column as one type (numbers of different types are read as double)"
            )
        drifting.append(column)
    return drifting


def local_path(uri: str, quoted: bool = True) -> str | None:
    """The path on this machine of a ``file:`` URI, else None. ``quoted``: escaped as a URI
    (``%20``, as Spark lists input files), not as Hadoop prints a path (``file:/a b``)."""
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    return unquote(parts.path) if quoted else uri[len("file:") :].removeprefix("//localhost").removeprefix("//")


def local_files(uris: Iterable[str]) -> list[str] | None:
    """The paths of ``uris`` if every one is a file on this machine, else None."""
    paths = [local_path(uri) for uri in uris]
    if not paths or any(path is None or not os.path.isfile(path) for path in paths):
        return None
    return [path for path in paths if path is not None]


def aligned(df: DataFrame) -> DataFrame:
    """``df``, a read of Parquet files, checked from its files' footers where they are local
    (:func:`numeric_drift`): a column stored as numbers of different types is read per group of
    files that agree, as double, and the groups are joined by name. Spark's reader would fail
    on a 64-bit integer in a file whose column the schema says is a double, or the reverse (as it
    still does on a partitioned directory, whose partition columns the files do not hold)."""
    files = local_files(df.inputFiles())
    if files is None:
        return df
    read = schemas(files)
    drifting = numeric_drift(file_types(read))
    in_files = {name.lower() for schema in read.values() for name in schema.names}
    if not drifting or any(name.lower() not in in_files for name in df.columns):
        return df  # nothing to align, or partition columns, which only Spark's read of the directory has
    groups: dict[tuple[str, ...], list[str]] = {}
    for path, schema in read.items():
        key = tuple(_type_name(schema.field(c).type) if c in schema.names else "" for c in drifting)
        groups.setdefault(key, []).append(path)
    spark = df.sparkSession
    parts = [
        spark.read.parquet(*group).withColumns({c: F.col(f"`{c}`").cast("double") for c in drifting})
        for group in groups.values()
    ]
    return reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), parts).select(*df.columns)


def _type_name(dtype: pa.DataType) -> str:
    """``dtype`` as messages name it; Arrow's large variants are the same type to Spark."""
    return str(dtype).replace("large_", "")


def _is_number(name: str) -> bool:
    return name.startswith(("int", "uint", "float", "double", "halffloat"))
