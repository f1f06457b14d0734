"""How long a Spark Connect job waits for a server it cannot reach: a bounded time, then one line.

PySpark's client retries an unreachable or vanished server for at least ten minutes
(:class:`~pyspark.sql.connect.client.retries.DefaultPolicy`: 15 retries, backoff up to a minute),
and at exit retries once more to clean its ML cache: a job pointed at a dead address hung for
ten minutes and its process for fifteen more. The jobs retry the same errors, with backoffs that
add up to :data:`DEFAULT_SECONDS` (``LOGREG_SPARK_CONNECT_TIMEOUT`` to change it), then fail
with one line naming the address, and close the client so that nothing is retried at exit.
"""

from __future__ import annotations

import os
import re
import warnings

from pyspark.sql import SparkSession
from pyspark.sql.connect.client.retries import DefaultPolicy

from ..errors import ConfigError

#: Seconds of retrying before a job gives up on its Spark Connect server.
DEFAULT_SECONDS = 60.0
#: The environment variable that sets them.
VARIABLE = "LOGREG_SPARK_CONNECT_TIMEOUT"
#: First and largest wait between two attempts, in milliseconds (doubling from the first).
FIRST_WAIT_MS, LARGEST_WAIT_MS = 250, 5000


def timeout_seconds() -> float:
    """:data:`VARIABLE` if set (a positive number of seconds), else :data:`DEFAULT_SECONDS`."""
    given = os.environ.get(VARIABLE)
    if given is None:
        return DEFAULT_SECONDS
    try:
        seconds = float(given)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ConfigError(f"{VARIABLE}={given!r}: must be a positive number of seconds")
    return seconds


class BoundedPolicy(DefaultPolicy):
    """PySpark's default retry rule (which errors are retried), with waits that add up to at most
    ``seconds``: 0.25 s, doubling to 5 s, as many as fit."""

    def __init__(self, seconds: float) -> None:
        waits: list[float] = []
        wait = float(FIRST_WAIT_MS)
        while sum(waits) + wait <= seconds * 1000:
            waits.append(wait)
            wait = min(2 * wait, LARGEST_WAIT_MS)
        super().__init__(
            max_retries=len(waits),
            backoff_multiplier=2.0,
            initial_backoff=FIRST_WAIT_MS,
            max_backoff=LARGEST_WAIT_MS,
            jitter=0,
            max_server_retry_delay=LARGEST_WAIT_MS,
        )


def bound_connect_wait(spark: SparkSession, seconds: float) -> None:
    """Make ``spark`` (a Spark Connect session) give up on an unreachable server after about
    ``seconds`` of retries, instead of PySpark's ten minutes; PySpark's warning when it gives up
    is left out (the job's own line says it, with the address)."""
    spark.client.set_retry_policies([BoundedPolicy(seconds)])
    warnings.filterwarnings("ignore", message=r"\[RETRIES_EXCEEDED\]", category=UserWarning)


def unreachable(err: BaseException, remote: str) -> str | None:
    """The one line for ``err`` when it says the Spark Connect server at ``remote`` could not be
    reached (gRPC's UNAVAILABLE, after the retries), else None."""
    text = str(err)
    if "StatusCode.UNAVAILABLE" not in text:
        return None
    found = re.search(r'details = "([^"]*)"', text)
    detail = found.group(1) if found else "UNAVAILABLE"
    return (
        f"Spark Connect server {remote}: unreachable ({detail}); gave up after {timeout_seconds():g} s "
        f"of retries ({VARIABLE} sets how long)"
    )
