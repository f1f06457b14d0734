"""The distributed pass: every partition adds up its blocks' sums at the point in NumPy, and the
partitions' partial vectors are combined in a tree (:meth:`CachedBlocks.aggregate`).

Data flow: the input's Parquet rows were turned once into NumPy blocks by
``mapInArrow`` and cached (:mod:`logreg_spark.spark.prepare`); every pass of the
solver is one :meth:`SparkPassEngine.run` over those cached blocks, on classic
Spark (``treeAggregate``) or Spark Connect alike. A block whose files are gone
(``input.cache = "local"`` and its executor lost) makes its partition return
:class:`LostBlocks` instead of sums; the driver then rebuilds the cache from the
input and runs the pass again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..core.columns import add_block_sums
from ..core.data import effective_weights
from ..core.sums import HeldOut, Layout, Request, Sums, shared_size, unpack_requests
from .block_store import BlockLost
from .cached_blocks import BlockItem
from .compact import spread, touched

if TYPE_CHECKING:
    from .prepare import TrainingData

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LostBlocks:
    """What a partition's pass yields instead of sums when a block's files are not on its machine;
    it is a value rather than an exception so that the driver can tell it apart by type."""

    reason: str  # the first lost block's BlockLost message


class TaskSums:
    """A task's flat sums: dense while it adds its blocks' up; it leaves the task (is pickled) as
    :class:`TouchedSums` when its entries take fewer bytes (:func:`~.compact.touched`)."""

    __slots__ = ("flat",)

    def __init__(self, flat: np.ndarray) -> None:
        self.flat = flat

    def dense(self) -> TaskSums:
        """Itself: as :meth:`TouchedSums.dense`, so a partial of either form can be added into."""
        return self

    def __reduce__(self) -> tuple:
        entries = touched(self.flat)
        return (TaskSums, (self.flat,)) if entries is None else (TouchedSums, (self.flat.size, *entries))


@dataclass(frozen=True)
class TouchedSums:
    """A task's sums as they arrive from it in entries: the ``values`` at ``index`` of a ``size``-long
    vector, zero elsewhere. The combination adds them where they are, without a dense copy."""

    size: int
    index: np.ndarray
    values: np.ndarray

    def dense(self) -> TaskSums:
        return TaskSums(spread(self.size, self.index, self.values))


Partial = TaskSums | TouchedSums | LostBlocks


def _add_partials(a: Partial | None, b: Partial | None) -> Partial | None:
    """``a + b``, into ``a``'s memory when it is dense (as a task's own is while it adds); lost
    blocks win over any sums, so they reach the driver."""
    if isinstance(a, LostBlocks) or b is None:
        return a
    if isinstance(b, LostBlocks) or a is None:
        return b
    total = a.dense()
    if isinstance(b, TouchedSums):
        total.flat[b.index] += b.values  # the positions of one task's entries are distinct
    else:
        total.flat += b.flat
    return total


class SparkPassEngine:
    """Passes over cached blocks (a :class:`~logreg_spark.core.engine.PassEngine`): the point goes
    to every task, each sums its blocks, the partials are combined in a tree."""

    def __init__(self, data: TrainingData) -> None:
        self.data = data

    def _aggregate(self, requests: list[Request]) -> Partial | None:
        class_weights = self.data.class_weights

        def add_block(acc: Partial | None, item: BlockItem, point: list[Request]) -> Partial | None:
            if isinstance(acc, LostBlocks):
                return acc
            try:
                block = item[0].load()
            except BlockLost as lost:
                return LostBlocks(str(lost))
            w = effective_weights(block, class_weights)
            assert not isinstance(acc, TouchedSums), "a task adds its blocks' sums into a dense vector"
            return TaskSums(add_block_sums(None if acc is None else acc.flat, block, w, point))

        return self.data.blocks.aggregate(add_block, _add_partials, 8 * shared_size(requests), requests)

    def run(self, coef: np.ndarray, intercept: float | np.ndarray, layout: Layout) -> Sums:
        return self.run_shared([Request(coef, intercept, layout)])[0][0]

    def run_shared(self, requests: list[Request]) -> list[tuple[Sums, HeldOut]]:
        """One pass for every request: the blocks are read once, each request's sums computed
        from one product of the block with all their points."""
        total = self._aggregate(requests)
        if isinstance(total, LostBlocks):
            log.warning("some cached blocks were lost with their executor; rebuilding them from the input")
            self.data.blocks.rebuild()  # the next pass recomputes the handles where it runs
            total = self._aggregate(requests)
            if isinstance(total, LostBlocks):
                raise RuntimeError(f"cached blocks were lost again after rebuilding them: {total.reason}")
        flat = np.zeros(shared_size(requests)) if total is None else total.dense().flat
        results = unpack_requests(flat, requests)
        expected = self.data.summary.rows
        for sums, held_out in results:
            if sums.rows + held_out.rows != expected:  # a recomputed partition must hold the same rows
                raise RuntimeError(
                    f"a pass saw {sums.rows + held_out.rows} rows, but {expected} were prepared: "
                    "the input changed while training, or rows were lost"
                )
        return results

    def release(self) -> None:
        self.data.release()
