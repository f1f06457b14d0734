"""A line now and then while a long Spark job runs: its partitions done, and the rows they read.

Preparation is one Spark job that reads, converts and caches the whole input; on real data it
runs for minutes. While it runs, a watcher thread logs how many of its tasks have finished
(Spark's status tracker) and how many rows the finished ones read (an accumulator the tasks add
to), at most once per interval and only once the job has run that long, so a short job logs
nothing. A Spark Connect client sees no tasks or accumulators: there the job logs only its start
and its end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark import Accumulator, SparkContext
from pyspark.sql import SparkSession

from .session import is_connect

log = logging.getLogger(__name__)

#: Seconds between two progress lines (and before the first).
EVERY_SECONDS = 10.0


def _tasks(context: SparkContext) -> tuple[int, int]:
    """(finished, all) tasks of the stages running now."""
    tracker = context.statusTracker()
    stages = [tracker.getStageInfo(stage) for stage in tracker.getActiveStageIds()]
    return (
        sum(stage.numCompletedTasks for stage in stages if stage is not None),
        sum(stage.numTasks for stage in stages if stage is not None),
    )


@contextmanager
def reading_progress(spark: SparkSession, what: str) -> Iterator[Accumulator | None]:
    """Log ``what``'s progress every :data:`EVERY_SECONDS` while the block runs. Yields the
    accumulator the block's tasks add their rows to (None on Spark Connect)."""
    if is_connect(spark):
        yield None
        return
    context = spark.sparkContext
    rows = context.accumulator(0)
    done, every = threading.Event(), EVERY_SECONDS

    def watch() -> None:
        while not done.wait(every):
            finished, total = _tasks(context)
            if total:
                log.info("%s: %d of %d partitions done, %s rows read so far", what, finished, total, f"{rows.value:,}")

    watcher = threading.Thread(target=watch, name="logreg_spark progress", daemon=True)
    watcher.start()
    try:
        yield rows
    finally:
        done.set()
        watcher.join()
