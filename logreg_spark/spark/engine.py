"""The distributed pass: broadcast the point, add up each partition's block sums in NumPy,
combine the partitions' partial vectors on the driver with ``treeAggregate``.

Data flow: the input's Parquet rows were turned once into NumPy blocks by
``mapInArrow`` and cached (:mod:`logreg_spark.spark.prepare`); every pass of the
solver is one :meth:`RDDPassEngine.run` over those cached blocks. A block whose
files are gone (``input.cache = "local"`` and its executor lost) makes its
partition return :class:`LostBlocks` instead of sums; the driver then rebuilds
the cache from the input and runs the pass again.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..core.data import effective_weights
from ..core.sums import Layout, Sums, block_sums
from .block_store import BlockLost

if TYPE_CHECKING:
    from .prepare import BlockItem, TrainingData

log = logging.getLogger(__name__)

#: With ``solver.aggregation_depth = 0`` the depth is chosen so that the driver
#: combines at most about this many bytes of partial sums at once.
DRIVER_PARTIALS_BYTES = 256 << 20


def tree_depth(requested: int, partitions: int, partial_bytes: int) -> int:
    """``requested``, or for 0 the smallest depth ≥ 2 whose last level sends the driver at
    most DRIVER_PARTIALS_BYTES (``treeAggregate`` sends it about partitions^(1/depth) partials)."""
    if requested:
        return requested
    depth = 2
    while depth < 8 and math.ceil(partitions ** (1.0 / depth)) * partial_bytes > DRIVER_PARTIALS_BYTES:
        depth += 1
    return depth


@dataclass(frozen=True)
class LostBlocks:
    """What a partition's pass yields instead of sums when a block's files are not on its machine;
    it is a value rather than an exception so that the driver can tell it apart by type."""

    reason: str  # the first lost block's BlockLost message


Partial = np.ndarray | LostBlocks | None  # None: no rows yet


def _add_partials(a: Partial, b: Partial) -> Partial:
    """``a + b``, reusing ``a``'s memory; lost blocks win over any sums, so they reach the driver."""
    if isinstance(a, LostBlocks) or b is None:
        return a
    if isinstance(b, LostBlocks) or a is None:
        return b
    a += b
    return a


class RDDPassEngine:
    """Passes over cached blocks (a :class:`~logreg_spark.core.engine.PassEngine`): broadcast the
    point, sum each partition's blocks, ``treeAggregate``.

    A pass runs one task per core (each Python task costs tens of milliseconds),
    over the cached partitions grouped where they are cached. The aggregation depth
    is the one the data was prepared with (0: chosen per pass by :func:`tree_depth`).
    """

    def __init__(self, data: TrainingData) -> None:
        self.data = data
        sc = data.blocks.context
        self.blocks = data.blocks.coalesce(min(data.blocks.getNumPartitions(), sc.defaultParallelism))

    def _aggregate(self, coef: np.ndarray, intercept: float | np.ndarray, layout: Layout) -> np.ndarray | LostBlocks:
        point = self.blocks.context.broadcast((coef, intercept))
        class_weights = self.data.class_weights

        def add_block(acc: Partial, item: BlockItem) -> Partial:
            if isinstance(acc, LostBlocks):
                return acc
            try:
                block = item[0].load()
            except BlockLost as lost:
                return LostBlocks(str(lost))
            w = effective_weights(block, class_weights)
            return _add_partials(acc, block_sums(block.X, block.y, w, *point.value, layout))

        try:
            depth = tree_depth(self.data.aggregation_depth, self.blocks.getNumPartitions(), 8 * layout.size)
            # no zero vector as the start: it would be shipped to every task with the function
            total = self.blocks.treeAggregate(None, add_block, _add_partials, depth)
            return layout.zeros() if total is None else total
        finally:
            point.destroy()

    def run(self, coef: np.ndarray, intercept: float | np.ndarray, layout: Layout) -> Sums:
        total = self._aggregate(coef, intercept, layout)
        if isinstance(total, LostBlocks):
            log.warning("some cached blocks were lost with their executor; rebuilding them from the input")
            self.data.blocks.unpersist(blocking=True)  # the next pass recomputes the handles where it runs
            total = self._aggregate(coef, intercept, layout)
            if isinstance(total, LostBlocks):
                raise RuntimeError(f"cached blocks were lost again after rebuilding them: {total.reason}")
        sums = layout.unpack(total)
        expected = self.data.summary.rows
        if sums.rows != expected:  # a recomputed partition must hold the same rows
            raise RuntimeError(
                f"a pass saw {sums.rows} rows, but {expected} were prepared: "
                "the input changed while training, or rows were lost"
            )
        return sums

    def release(self) -> None:
        self.data.release()
