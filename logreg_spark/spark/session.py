"""The SparkSession: spark-submit's settings win, the conf's ``[spark]`` table fills the gaps."""

from __future__ import annotations

import os
import sys

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"


def _submitted_conf() -> SparkConf | None:
    """The settings spark-submit was given, or None when the job runs under plain ``python``.

    spark-submit starts the driver's Python with ``PYSPARK_GATEWAY_PORT`` set;
    connecting to that JVM makes its settings visible.
    """
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return None
    SparkContext._ensure_initialized()
    return SparkConf()


def spark_session(settings: dict[str, str], app_name: str) -> SparkSession:
    """Start (or join spark-submit's) Spark with ``settings`` where nothing else set them.

    In local mode with no Python chosen for the workers, the workers run this
    interpreter, so a plain virtual environment works without any variable.
    """
    submitted = _submitted_conf()

    def chosen(key: str, default: str) -> str:
        """spark-submit's value of ``key``, else the conf's, else ``default``."""
        if submitted is not None and submitted.contains(key):
            return submitted.get(key, default)
        return settings.get(key, default)

    builder = SparkSession.builder.appName(app_name)
    for key, value in settings.items():
        if submitted is None or not submitted.contains(key):
            builder = builder.config(key, value)
    master = chosen("spark.master", DEFAULT_MASTER)
    builder = builder.master(master)
    worker_python = chosen("spark.pyspark.python", "")
    if "PYSPARK_PYTHON" not in os.environ:
        if worker_python:
            os.environ["PYSPARK_PYTHON"] = worker_python
        elif master.startswith("local"):
            os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
