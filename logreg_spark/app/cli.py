"""What every job's command line shares: conf files and ``--set``, logging, Spark, exit codes.

Exit codes: 0 success; 2 for a problem the user can fix (conf, input, model
directory, output location), with one line ``logreg_spark: error: …`` on
stderr; 1 for anything else, with the traceback in the log before that line.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from pyspark.sql import SparkSession

from ..errors import UserError
from ..spark.session import spark_session
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
    spark = None
    joined = SparkSession.getActiveSession() is not None  # embedded: leave the caller's session running
    try:
        conf = load_job_conf(args.conf, args.set, schema)
        spark = spark_session(conf.spark, f"logreg_spark {prog}")
        done = work(spark, conf)
    except UserError as err:
        print(f"logreg_spark: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - the job's last word must be one line
        log.exception("%s failed", prog)
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        print(f"logreg_spark: error: {type(err).__name__}: {first_line}", file=sys.stderr)
        return 1
    finally:
        if spark is not None and not joined:
            spark.stop()
    print(done)
    return 0
