"""What the jobs read from Spark's JVM directly, where PySpark offers no Python API.

Four things, kept here so that nothing else reaches through Py4J: what a Java
exception says (its root cause, or Spark's error condition, for one-line errors), the storage a cached RDD
takes in the block managers (memory and disk), whether a DataFrame is a
plain read of Parquet files (and which), and the log levels that keep a job's
console free of stack traces the job reports in one line anyway.
"""

from __future__ import annotations

from py4j.protocol import Py4JJavaError
from pyspark import RDD
from pyspark.sql import DataFrame, SparkSession


def java_root_message(err: Py4JJavaError) -> str:
    """The first line of the innermost cause's message (e.g. "… is not a Parquet file"), which
    says more than the wrappers Spark adds around it; the exception itself if it has no message."""
    cause = err.java_exception
    while cause.getCause() is not None:
        cause = cause.getCause()
    message = cause.getMessage()
    return str(cause.toString() if message is None else message).splitlines()[0]


def java_failure_message(err: Py4JJavaError) -> str:
    """The first line of the outermost message in the cause chain that names Spark's error
    condition (``[FAILED_READ_FILE…] Encountered error while reading file …``), which says what
    failed and where; else the root cause's (:func:`java_root_message`)."""
    cause = err.java_exception
    while cause is not None:
        message = cause.getMessage()
        if message is not None and str(message).startswith("["):
            return str(message).splitlines()[0]
        cause = cause.getCause()
    return java_root_message(err)


def rdd_storage(rdd: RDD) -> tuple[int, int]:
    """(bytes in memory, bytes on disk) of the cached ``rdd``, as Spark's block managers report them.

    PySpark has no public status API for this; it comes from the JVM SparkContext's
    ``getRDDStorageInfo`` (what the web UI's Storage tab shows), through the private ``_jsc``.
    """
    infos = [info for info in rdd.context._jsc.sc().getRDDStorageInfo() if info.id() == rdd.id()]
    return sum(int(i.memSize()) for i in infos), sum(int(i.diskSize()) for i in infos)


def parquet_files(df: DataFrame) -> list[str] | None:
    """The files of ``df`` (URIs, as Spark lists them) when ``df`` is a plain read of Parquet
    files without partition columns (``spark.read.parquet(…)`` and nothing after it), else None.

    PySpark does not say what a DataFrame's plan is; its analyzed plan comes from the JVM
    DataFrame, through the private ``_jdf``.
    """
    plan = df._jdf.queryExecution().analyzed()
    if plan.nodeName() != "LogicalRelation":
        return None
    relation = plan.relation()
    if relation.getClass().getSimpleName() != "HadoopFsRelation" or not relation.partitionSchema().isEmpty():
        return None
    if relation.fileFormat().getClass().getSimpleName() != "ParquetFileFormat":
        return None
    return list(df.inputFiles())


#: Spark's loggers that print a stack trace ahead of a job's own one-line error in local mode,
#: and the level that silences them: a failed task (its executor and its task set, which abort
#: the job on the first failure there), and a missing input path (Spark warns while looking for
#: a streaming sink's metadata in it).
LOCAL_TRACE_LOGGERS = {
    "org.apache.spark.executor.Executor": "OFF",
    "org.apache.spark.scheduler.TaskSetManager": "OFF",
    "org.apache.spark.sql.execution.streaming.sinks.FileStreamSink": "ERROR",
}


def quiet_local_traces(spark: SparkSession) -> None:
    """Silence :data:`LOCAL_TRACE_LOGGERS`. For a job in local mode only: what they print there is
    the failure the job ends with, as its one line (and, for a fault that is not the user's, with
    the whole trace in the job's log); on a cluster the tasks' logs are the executors'."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None, "a classic session has a JVM"
    log4j = jvm.org.apache.logging.log4j
    for name, level in LOCAL_TRACE_LOGGERS.items():
        log4j.core.config.Configurator.setLevel(name, log4j.Level.getLevel(level))
