"""What a function running inside a Spark task asks of it."""

from __future__ import annotations

from pyspark import TaskContext


def partition_id() -> int:
    """The partition the running task works on. Only inside a task: on the driver there is none."""
    context = TaskContext.get()
    if context is None:
        raise RuntimeError("partition_id() is called outside a Spark task")
    return context.partitionId()
