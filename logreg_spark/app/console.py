"""``logreg-spark``, the command installed with the package: the four jobs by name (the same as
``python jobs/<name>.py``, which stay for spark-submit), and a local Spark Connect server.

    logreg-spark train|predict|evaluate|tune --conf FILE [--conf FILE ...] [--set section.key=value ...]
    logreg-spark connect-server [--port 15002] [--master local[2]] [--driver-memory 2g]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ..errors import UserError
from . import connect_server, evaluate, predict, train, tune

#: Each job's command and its entry point (which parses the rest of the command line).
JOBS: dict[str, Callable[[list[str] | None], int]] = {
    "train": train.main,
    "predict": predict.main,
    "evaluate": evaluate.main,
    "tune": tune.main,
}


def _serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="logreg-spark connect-server",
        description="Run a local Spark Connect server on 127.0.0.1 in the foreground; Ctrl-C stops it.",
    )
    parser.add_argument("--port", type=int, default=connect_server.DEFAULT_PORT)
    parser.add_argument("--master", default="local[2]", help="the server's Spark master (default local[2])")
    parser.add_argument("--driver-memory", default="2g", help="the server's driver memory (default 2g)")
    args = parser.parse_args(argv)
    try:
        return connect_server.serve(args.port, args.master, args.driver_memory)
    except UserError as err:
        print(f"logreg-spark: error: {err}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``logreg-spark``."""
    parser = argparse.ArgumentParser(
        prog="logreg-spark",
        description="Logistic regression on Spark: run a job with its conf files, or a local Spark Connect server.",
        epilog="Each job takes --conf FILE (repeatable) and --set section.key=value; see 'logreg-spark train --help'.",
    )
    parser.add_argument("command", choices=[*JOBS, "connect-server"])
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the command's own arguments")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "connect-server":
        return _serve(args.args)
    return JOBS[args.command](args.args)
