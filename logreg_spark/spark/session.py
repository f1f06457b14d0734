"""The SparkSession: spark-submit's settings win, the conf's ``[spark]`` table fills the gaps.

A Spark Connect endpoint (``SPARK_REMOTE`` in the environment, else the conf's
``spark.remote``) makes a Spark Connect session instead: the server runs Spark,
so no master is set and only the settings a running session accepts are applied.
"""

from __future__ import annotations

import logging
import os
import sys

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

from .jvm import quiet_local_traces

log = logging.getLogger(__name__)

DEFAULT_MASTER = "local[*]"

#: What a job's session sets where neither spark-submit nor the conf did: no console progress
#: bar (the jobs log their own progress, and the bar's redrawn lines clutter logs).
JOB_DEFAULTS = {"spark.ui.showConsoleProgress": "false"}


def remote_of(settings: dict[str, str]) -> str:
    """The Spark Connect endpoint a job runs on: ``SPARK_REMOTE``, else the conf's ``spark.remote``
    ("" for none)."""
    return os.environ.get("SPARK_REMOTE") or settings.get("spark.remote", "")


def is_connect(spark: SparkSession) -> bool:
    """Whether ``spark`` is a Spark Connect session (no JVM, no RDDs, no ``sparkContext``)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def _connect_session(remote: str, settings: dict[str, str]) -> SparkSession:
    """A session on the Spark Connect server at ``remote``, with the ``settings`` it can take at
    run time; the others (a master, executor sizes, static settings) belong to the server. It
    gives up on a server it cannot reach after a bounded time (:mod:`.connect_wait`)."""
    if "spark.master" in settings:
        log.warning(
            "running on the Spark Connect server %s; spark.master = %s is not used (the server has its own)",
            remote,
            settings["spark.master"],
        )
    from .connect_wait import bound_connect_wait, timeout_seconds  # the client's libraries: Connect only

    seconds = timeout_seconds()
    # no builder options: they are calls to the server, made before the wait can be bounded (the
    # application's name is the server's anyway)
    spark = SparkSession.builder.remote(remote).getOrCreate()
    bound_connect_wait(spark, seconds)
    ignored = []
    for key, value in settings.items():
        if key in ("spark.master", "spark.remote"):
            continue
        if spark.conf.isModifiable(key):
            spark.conf.set(key, value)
        else:
            ignored.append(key)
    if ignored:
        log.warning("Spark Connect: the server decides these [spark] settings; ignored: %s", ", ".join(ignored))
    return spark


def _submitted_conf() -> SparkConf | None:
    """The settings spark-submit was given, or None when the job runs under plain ``python``.

    spark-submit starts the driver's Python with ``PYSPARK_GATEWAY_PORT`` set;
    connecting to that JVM makes its settings visible.
    """
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return None
    SparkContext._ensure_initialized()
    return SparkConf()


#: What PySpark's context runs the workers with when ``PYSPARK_PYTHON`` was not set as it started.
UNCHOSEN_WORKER_PYTHON = "python3"


def use_driver_python(spark: SparkSession) -> None:
    """In local mode, make Spark's Python workers run this interpreter unless a Python was chosen.

    PySpark's context picks the workers' Python once, from ``PYSPARK_PYTHON`` as it starts
    (default ``python3`` on the PATH, which in a virtual environment lacks this project's
    packages), and an in-process session ignores ``spark.pyspark.python``. Every Python task
    carries the context's ``pythonExec``, so setting it here reaches the tasks started after:
    ``spark.pyspark.python`` when the session has it, else :data:`sys.executable`. A chosen
    ``PYSPARK_PYTHON``, a cluster master and a Spark Connect session are left as they are.
    """
    if is_connect(spark) or "PYSPARK_PYTHON" in os.environ:
        return
    context = spark.sparkContext
    if not (context.master or "").startswith("local") or context.pythonExec != UNCHOSEN_WORKER_PYTHON:
        return
    chosen = context.getConf().get("spark.pyspark.python")
    context.pythonExec = chosen or sys.executable
    log.debug("Spark's Python workers run %s", context.pythonExec)


def spark_session(settings: dict[str, str], app_name: str) -> SparkSession:
    """Start (or join spark-submit's) Spark with ``settings`` where nothing else set them.

    In local mode with no Python chosen for the workers, the workers run this
    interpreter, so a plain virtual environment works without any variable.
    """
    remote = remote_of(settings)
    if remote:
        return _connect_session(remote, settings)
    submitted = _submitted_conf()

    def chosen(key: str, default: str) -> str:
        """spark-submit's value of ``key``, else the conf's, else ``default``."""
        if submitted is not None and submitted.contains(key):
            return submitted.get(key, default)
        return settings.get(key, default)

    builder = SparkSession.builder.appName(app_name)
    for key, value in {**JOB_DEFAULTS, **settings}.items():
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
    if master.startswith("local"):
        quiet_local_traces(spark)
    return spark
