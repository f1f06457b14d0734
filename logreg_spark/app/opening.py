"""How every job starts: its output location is refused before any work is done, then its input is read."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from ..artifacts.paths import HadoopPath, check_apart, check_writable
from ..spark.reading import read_input
from .schema import InputConf, PredictInputConf


def open_job(
    spark: SparkSession, inputs: InputConf | PredictInputConf, output: str, mode: str, key: str
) -> tuple[HadoopPath, DataFrame]:
    """The job's output location ``output`` (conf key ``key``), checked to lie apart from the
    input and to be writable under ``mode``, and the job's input (an
    :class:`~logreg_spark.errors.InputError` when it cannot be read)."""
    target = HadoopPath(spark, output)
    check_apart(spark, target, inputs.path, key)
    check_writable(target, mode, key)
    return target, read_input(spark, inputs)
