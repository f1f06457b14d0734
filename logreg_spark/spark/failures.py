"""Spark's failures that are the user's to fix, as the one-line :class:`~logreg_spark.errors.UserError` they are.

Three reach the driver wrapped in Spark's errors: a ``UserError`` a Python task
raised (PySpark's ``PythonException`` carries its traceback as text), invalid
rows a Spark SQL row check refused (``raise_error``, condition
``USER_RAISED_EXCEPTION``, see
:meth:`~logreg_spark.spark.expressions.RowChecks.valid_or_fail`), and an input
file Spark's reader could not read (condition ``FAILED_READ_FILE``). The jobs
end with their line and exit code 2; the Python API raises them from the calls
that run Spark jobs (:func:`user_errors`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException

from ..errors import INVALID_ROWS, InputError, UserError, raised_in_task, shown_uri

#: Spark's error condition for a file its reader could not read.
FAILED_READ = "FAILED_READ_FILE"


def user_error(err: BaseException) -> UserError | None:
    """The :class:`UserError` Spark's error ``err`` carries (see the module), else None."""
    return raised_in_task(err) or refused_rows(err) or read_failure(err)


def refused_rows(err: BaseException) -> InputError | None:
    """The invalid rows a Spark SQL row check refused (its ``raise_error`` message), else None."""
    said = re.search(rf"\[USER_RAISED_EXCEPTION\] ({re.escape(INVALID_ROWS)}.*?)(?: SQLSTATE: \w+)?$", str(err), re.M)
    return None if said is None else InputError(said.group(1))


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """While entered, a Spark error that carries a :class:`UserError` raises that instead."""
    try:
        yield
    except (Py4JJavaError, PySparkException) as err:
        found = user_error(err)
        if found is None:
            raise
        raise found from None


def read_failure(err: BaseException) -> InputError | None:
    """Spark's error for an input file its reader could not read (condition ``FAILED_READ_FILE``,
    on classic Spark or Spark Connect), as one line naming the file and why; else None."""
    if isinstance(err, Py4JJavaError):
        messages = []
        cause = err.java_exception
        while cause is not None:
            messages.append(str(cause.getMessage() or cause.toString()).splitlines()[0])
            cause = cause.getCause()
    elif isinstance(err, PySparkException):
        messages = [str(err).splitlines()[0]] if str(err).startswith(f"[{FAILED_READ}") else []
    else:
        return None
    failed = next((i for i, message in enumerate(messages) if message.startswith(f"[{FAILED_READ}")), None)
    if failed is None:
        return None
    condition, _, said = messages[failed][1:].partition("] ")
    said = said.split(" SQLSTATE:")[0].strip()
    # NO_HINT names the file alone: the root cause says why (e.g. "… is not a Parquet file")
    why = messages[-1] if condition.endswith(".NO_HINT") and len(messages) > failed + 1 else ""
    line = " ".join(word if not word.startswith("file:") else shown_uri(word) for word in f"{said} {why}".split())
    return InputError(f"an input file could not be read: {line}")
