"""How every job starts: its output location is refused before any work is done, then its input is read."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from ..artifacts.paths import check_apart, check_writable, storage_path
from ..artifacts.storage import StoragePath
from ..settings.schema import InputConf, ScoredInputConf
from ..spark.reading import read_input


def check_output(spark: SparkSession, inputs: str | list[str], output: str, mode: str, key: str) -> StoragePath:
    """The output location ``output`` (conf key ``key``), checked to lie apart from the input
    paths ``inputs`` and to be writable under ``mode``."""
    target = storage_path(spark, output)
    check_apart(spark, target, inputs, key)
    check_writable(target, mode, key)
    return target


def open_job(
    spark: SparkSession, inputs: InputConf | ScoredInputConf, output: str, mode: str, key: str
) -> tuple[StoragePath, DataFrame]:
    """The job's output location (:func:`check_output`) and its input (an
    :class:`~logreg_spark.errors.InputError` when it cannot be read)."""
    return check_output(spark, inputs.path, output, mode, key), read_input(spark, inputs)
