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
    line says what happened, and a :class:`UserError` raised in a task is one here too.
    """
    if isinstance(err, PythonException):
        lines = str(err).split("JVM stacktrace:")[0].splitlines()
        last = next((line for line in reversed(lines) if line.strip() and not line[0].isspace()), "")
        kind, _, message = last.partition(": ")
        if kind.startswith(f"{UserError.__module__}."):
            return message, 2
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
    spark, remote, failed = None, "", False
    joined = SparkSession.getActiveSession() is not None  # embedded: leave the caller's session running
    try:
        conf = load_job_conf(args.conf, args.set, schema)
        remote = remote_of(conf.spark)
        spark = spark_session(conf.spark, f"logreg_spark {prog}")
        done = work(spark, conf)
    except UserError as err:
        failed = True
        print(f"logreg_spark: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - the job's last word must be one line
        failed = True
        unreachable = _connect_failure(err, remote)  # an outage said in full by its line: no traceback
        line, code = unreachable or _failure(err)
        if code != 2 and unreachable is None:
            log.exception("%s failed", prog)
        print(f"logreg_spark: error: {line}", file=sys.stderr)
        return code
    finally:
        if spark is not None and not joined:
            _stop(spark, failed)
    print(done)
    return 0
