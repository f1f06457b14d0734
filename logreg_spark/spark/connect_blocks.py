"""The prepared blocks on Spark Connect, which has no RDDs: a persisted DataFrame, reduced with
``mapInArrow`` and ``repartition`` level by level, as ``treeAggregate`` does on an RDD.

The cached DataFrame has one binary column: each row a pickled :data:`BlockItem`
(the block itself, or a handle to its files in the executor's local store). A
reduction coalesces it to ``tasks`` partitions, folds each partition's items in one
``mapInArrow`` into a pickled partial (one row), then combines the partials in
``repartition(k)`` + ``mapInArrow`` levels until few are left for the driver.

There is no broadcast either: the payload (the solver's point) travels inside the
plan, pickled with the task's function. Spark Connect bounds a plan's size, and
the server holds it in memory, so the payload is limited to :data:`PAYLOAD_LIMIT`.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ..errors import ConfigError
from .cached_blocks import BlockItem, CombOp, Partial, SeqOp, tree_depth

#: The largest payload a reduction carries in its plan: 16 MiB, a point of about two million
#: coefficients. (Measured: a 48 MiB point made a local server with 1 GiB of memory fail.)
PAYLOAD_LIMIT = 16 << 20
#: Rows of the probe that counts the tasks Spark runs at once (at least one per partition).
_PROBE_ROWS = 1 << 16

SCHEMA = "item binary"


def default_parallelism(spark: SparkSession) -> int:
    """The server's default parallelism (its cores), which Spark Connect does not report: a
    ``range`` without a partition count is split into that many partitions, and a small job counts them."""
    parts = spark.range(_PROBE_ROWS).select(F.spark_partition_id().alias("p")).distinct().count()
    return max(1, int(parts))


def check_payload(nbytes: int) -> None:
    """Refuse a reduction whose payload (the point) would not fit in a Spark Connect plan."""
    if nbytes > PAYLOAD_LIMIT:
        raise ConfigError(
            f"Spark Connect: each pass must carry the model's coefficients in its plan, about {nbytes // 8:,} "
            f"({nbytes / 2**20:.1f} MiB), more than the {PAYLOAD_LIMIT // 8:,} ({PAYLOAD_LIMIT >> 20} MiB) "
            "a plan can take; use fewer features (input.hash_dim) or a classic Spark session"
        )


def tree_levels(partials: int, depth: int) -> list[int]:
    """How many partials remain after each combining level, as ``treeAggregate`` chooses them:
    divide by ``scale = ceil(partials^(1/depth))`` while that saves work; the driver combines the rest."""
    scale = max(math.ceil(partials ** (1.0 / depth)), 2)
    levels = []
    while partials > scale + math.ceil(partials / scale):
        partials = math.ceil(partials / scale)
        levels.append(partials)
    return levels


def _batch(value: object) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([pickle.dumps(value, protocol=5)], pa.binary())], names=["item"])


def _values(batches: Iterator[pa.RecordBatch]) -> Iterator[Any]:
    for batch in batches:
        for value in batch.column(0).to_pylist():
            yield pickle.loads(value)


def _folding(
    step: Callable[[Partial, Any], Partial],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A ``mapInArrow`` function folding a partition's pickled values by ``step`` into one pickled partial."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        acc: Any = None  # no item yet
        for value in _values(batches):
            acc = step(acc, value)
        yield _batch(acc)

    return run


class FrameBlocks:
    """The blocks as a persisted DataFrame of pickled :data:`BlockItem` (Spark Connect)."""

    def __init__(self, frame: DataFrame, aggregation_depth: int, tasks: int) -> None:
        self.frame = frame
        self.aggregation_depth = aggregation_depth
        self.tasks = tasks

    def aggregate(
        self,
        seq_op: SeqOp[Partial],
        comb_op: CombOp[Partial],
        partial_bytes: int,
        payload: Any = None,
        per_partition: bool = False,  # a Connect client sees no tasks: always ``tasks`` of them
    ) -> Partial:
        check_payload(len(pickle.dumps(payload, protocol=5)))

        def fold(acc: Partial, item: BlockItem) -> Partial:
            return seq_op(acc, item, payload)

        partials = self.frame.coalesce(self.tasks).mapInArrow(_folding(fold), SCHEMA)
        depth = tree_depth(self.aggregation_depth, self.tasks, partial_bytes)
        for k in tree_levels(self.tasks, depth):
            partials = partials.repartition(k).mapInArrow(_folding(comb_op), SCHEMA)
        acc: Any = None  # no item yet
        for row in partials.collect():
            acc = comb_op(acc, pickle.loads(row[0]))
        return acc

    def rebuild(self) -> None:
        self.frame.unpersist(blocking=True)
        self.frame.persist(StorageLevel.MEMORY_AND_DISK)

    def release(self) -> None:
        self.frame.unpersist()

    def storage(self) -> tuple[int, int] | None:
        """Spark Connect does not report a cache's size."""
        return None
