"""The seam between what one pass computes and how it is run.

A :class:`PassEngine` holds prepared data (cached blocks of rows) and runs
passes over it: every block's sums at one point (:func:`~logreg_spark.core.sums.block_sums`),
added up. The :class:`~logreg_spark.core.objective.Objective` turns those sums
into loss, gradient and Hessian; it neither knows nor cares where the blocks
live. :class:`InMemoryEngine` runs a pass over arrays in this process (tests,
benchmarks); :class:`~logreg_spark.spark.engine.RDDPassEngine` runs it on
Spark with ``treeAggregate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .sums import Features, Layout, Sums, block_sums


class PassEngine(Protocol):
    """Prepared data that passes run over; made once, used for many passes, then released."""

    def run(self, coef: np.ndarray, intercept: float | np.ndarray, layout: Layout) -> Sums:
        """One pass: the sums of ``layout`` over every row at (``coef``, ``intercept``)."""
        ...

    def release(self) -> None:
        """Free what preparation holds (caches, files)."""
        ...


@dataclass(frozen=True)
class InMemoryEngine:
    """A pass over arrays held in this process: one block of every row."""

    X: Features
    y: np.ndarray
    w: np.ndarray

    def run(self, coef: np.ndarray, intercept: float | np.ndarray, layout: Layout) -> Sums:
        return layout.unpack(block_sums(self.X, self.y, self.w, coef, intercept, layout))

    def release(self) -> None:
        """Nothing to free: the arrays belong to the caller."""
