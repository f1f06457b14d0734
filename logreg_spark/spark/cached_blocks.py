"""The prepared blocks as Spark keeps them between passes, and the one reduction every pass makes.

Preparation (:mod:`logreg_spark.spark.prepare`) turns the input into items
``(handle, Problems)`` (a block, or a handle to its files: see
:mod:`logreg_spark.spark.block_store`) and persists them once. Everything later
(statistics, each solver pass, the files' removal) is one :meth:`CachedBlocks.aggregate`:
fold each partition's items into a partial from ``None``, then combine the
partials level by level in a tree so that the driver receives only a few.

Two implementations, chosen by the kind of session: :class:`RDDBlocks` (classic
Spark: a persisted RDD, the payload broadcast, ``RDD.treeAggregate``) and
:class:`~logreg_spark.spark.connect_blocks.FrameBlocks` (Spark Connect, which has
no RDDs: a persisted DataFrame, ``mapInArrow`` and ``repartition``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from pyspark import RDD, StorageLevel

from ..core.data import Block
from .block_store import BlockFile
from .blocks import Problems
from .jvm import rdd_storage

BlockHandle = Block | BlockFile  # what the cache holds: see block_store
BlockItem = tuple[BlockHandle, Problems]  # one prepared block

#: A reduction's partial; it is None before the first item (so an empty partition yields None).
Partial = TypeVar("Partial")
#: ``seq_op(acc, item, payload)``: the partial so far with one more item.
SeqOp = Callable[[Partial, BlockItem, Any], Partial]
#: ``comb_op(a, b)``: two partials as one.
CombOp = Callable[[Partial, Partial], Partial]


#: With ``solver.aggregation_depth = 0`` the depth is chosen so that the driver
#: combines at most about this many bytes of partials at once.
DRIVER_PARTIALS_BYTES = 256 << 20


def tree_depth(requested: int, partials: int, partial_bytes: int) -> int:
    """``requested``, or for 0 the smallest depth ≥ 2 whose last level sends the driver at most
    DRIVER_PARTIALS_BYTES (a tree of depth k sends it about partials^(1/k) partials)."""
    if requested:
        return requested
    depth = 2
    while depth < 8 and math.ceil(partials ** (1.0 / depth)) * partial_bytes > DRIVER_PARTIALS_BYTES:
        depth += 1
    return depth


class CachedBlocks(Protocol):
    """Prepared blocks persisted on the executors, reduced by ``tasks`` tasks (normally one per
    core: a pass's tasks are short, and each costs tens of milliseconds), each over a share of
    the partitions, in a tree of ``solver.aggregation_depth`` levels (0: :func:`tree_depth` chooses)."""

    tasks: int

    def aggregate(
        self,
        seq_op: SeqOp[Partial],
        comb_op: CombOp[Partial],
        partial_bytes: int,
        payload: Any = None,
        per_partition: bool = False,
    ) -> Partial:
        """Every item folded by ``seq_op`` (each task sees ``payload``), the partials (of about
        ``partial_bytes``) combined by ``comb_op`` in a tree. The first call fills the cache.
        ``per_partition``: a task per partition rather than ``tasks`` tasks, where the kind of
        session allows it (the job that fills the cache, whose progress then shows per partition)."""
        ...

    def rebuild(self) -> None:
        """Drop the cache: the next aggregation rebuilds the blocks from the input where it runs."""
        ...

    def release(self) -> None:
        """Drop the cache."""
        ...

    def storage(self) -> tuple[int, int] | None:
        """(bytes in memory, bytes on disk) of the cache, or None where Spark does not say."""
        ...


class RDDBlocks:
    """The blocks as a persisted RDD of :data:`BlockItem` (classic Spark); its tasks are grouped
    where the partitions are cached."""

    def __init__(self, rdd: RDD, aggregation_depth: int, tasks: int) -> None:
        self.rdd = rdd
        self.aggregation_depth = aggregation_depth
        self.tasks = tasks

    def aggregate(
        self,
        seq_op: SeqOp[Partial],
        comb_op: CombOp[Partial],
        partial_bytes: int,
        payload: Any = None,
        per_partition: bool = False,
    ) -> Partial:
        rdd = self.rdd if per_partition else self.rdd.coalesce(min(self.rdd.getNumPartitions(), self.tasks))
        depth = tree_depth(self.aggregation_depth, rdd.getNumPartitions(), partial_bytes)
        shared = None if payload is None else rdd.context.broadcast(payload)
        try:
            # no zero value: it would be shipped to every task with the function
            zero: Any = None
            return rdd.treeAggregate(
                zero, lambda acc, item: seq_op(acc, item, None if shared is None else shared.value), comb_op, depth
            )
        finally:
            if shared is not None:
                shared.destroy()

    def rebuild(self) -> None:
        self.rdd.unpersist(blocking=True)
        self.rdd.persist(StorageLevel.MEMORY_AND_DISK)

    def release(self) -> None:
        self.rdd.unpersist()

    def storage(self) -> tuple[int, int] | None:
        return rdd_storage(self.rdd)
