"""What every job's command line shares: conf files and ``--set``, logging, Spark, exit codes.

Exit codes: 0 success; 2 for a problem the user can fix (conf, input, model
directory, output location), with one line ``logreg_spark: error: …`` on
stderr, also when a Spark task found it; 1 for anything else, with the
traceback in the log before that line, which says what failed (a Python task's
exception, Spark's error condition) rather than which call.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from py4j.protocol import Py4JJavaError
from pyspark.errors import PythonException
from pyspark.sql import SparkSession

from ..errors import UserError
from ..spark.failures import user_error
from ..spark.jvm import java_failure_message
from ..spark.session import is_connect, remote_of, spark_session
from .config import AnyConf, load_job_conf

log = logging.getLogger("logreg_spark")


def parse_args(prog: str, description: str, argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "--conf",
        action="append",
        required=True,
        metavar="FILE",
        help="TOML conf file; later files override earlier ones",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one conf value (after all files)",
    )
    return parser.parse_args(argv)


def _failure(err: Exception) -> tuple[str, int]:
    """The one line a job that raised ``err`` ends with, and its exit code.

    A Python task's exception reaches the driver as its traceback's text: its last
    line says what happened, and a :class:`UserError` raised in a task is one here too;
    so is an input file Spark's reader could not read.
    """
    found = user_error(err)
    if found is not None:
        return str(found), 2
    if isinstance(err, PythonException):
        lines = str(err).split("JVM stacktrace:")[0].splitlines()
        last = next((line for line in reversed(lines) if line.strip() and not line[0].isspace()), "")
        return f"{type(err).__name__}: {last}", 1
    if isinstance(err, Py4JJavaError):
        return f"{type(err).__name__}: {java_failure_message(err)}", 1
    first = (str(err).strip().splitlines() or [""])[0]
    return f"{type(err).__name__}: {first}" if first else type(err).__name__, 1


def _connect_failure(err: Exception, remote: str) -> tuple[str, int] | None:
    """The line and exit code for a Spark Connect server that could not be reached, else None."""
    if not remote:
        return None
    from ..spark.connect_wait import unreachable  # the client's libraries: Connect only

    line = unreachable(err, remote)
    return None if line is None else (line, 1)


def _stop(spark: SparkSession, failed: bool) -> None:
    """Stop the job's session. A failed Spark Connect job only closes its client: releasing the
    session is a call to a server that may be gone (retried for the whole bound again), and the
    server drops an idle session by itself; a closed client makes no call at exit either."""
    if failed and is_connect(spark):
        spark.client.close()
    else:
        spark.stop()


def job_main(
    argv: list[str] | None,
    *,
    prog: str,
    description: str,
    schema: type[AnyConf],
    work: Callable[[SparkSession, AnyConf], str],
) -> int:
    """Run ``work(spark, conf)`` as a command-line job; it returns a line to print on success."""
    args = parse_args(prog, description, argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    spark, remote = None, ""
    joined = SparkSession.getActiveSession() is not None  # embedded: leave the caller's session running
    try:
        conf = load_job_conf(args.conf, args.set, schema)
        remote = remote_of(conf.spark)
        spark = spark_session(conf.spark, f"logreg_spark {prog}")
        line, code = work(spark, conf), 0
    except UserError as err:
        line, code = f"logreg_spark: error: {err}", 2
    except Exception as err:  # noqa: BLE001 - the job's last word must be one line
        unreachable = _connect_failure(err, remote)  # an outage said in full by its line: no traceback
        said, code = unreachable or _failure(err)
        if code != 2 and unreachable is None:
            log.exception("%s failed", prog)
        line = f"logreg_spark: error: {said}"
    if spark is not None and not joined:
        _stop(spark, code != 0)  # before the last line: Spark's warnings while it stops come first
    print(line, file=sys.stderr if code else sys.stdout)
    return code
