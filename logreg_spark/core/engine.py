"""The seam between what one pass computes and how it is run.

A :class:`PassEngine` holds prepared data (cached blocks of rows) and runs
passes over it: every block's sums at one point (:func:`~logreg_spark.core.sums.block_sums`),
added up. The :class:`~logreg_spark.core.objective.Objective` turns those sums
into loss, gradient and Hessian; it neither knows nor cares where the blocks
live. :class:`InMemoryEngine` runs a pass over arrays in this process (tests,
benchmarks); :class:`~logreg_spark.spark.engine.SparkPassEngine` runs it on
Spark with a tree reduction.

A :class:`SharedPassEngine` runs one pass for many models at once (tuning): each
:class:`~logreg_spark.core.sums.Request` names its point and the fold it holds out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .sums import Features, HeldOut, Layout, Request, Sums, shared_block_sums, unpack_requests


class PassEngine(Protocol):
    """Prepared data that passes run over; made once, used for many passes, then released."""

    def run(self, coef: np.ndarray, intercept: float | np.ndarray, layout: Layout) -> Sums:
        """One pass: the sums of ``layout`` over every row at (``coef``, ``intercept``)."""
        ...

    def release(self) -> None:
        """Free what preparation holds (caches, files)."""
        ...


class SharedPassEngine(PassEngine, Protocol):
    """Prepared data whose rows have fold ids, and passes that serve many models at once."""

    def run_shared(self, requests: list[Request]) -> list[tuple[Sums, HeldOut]]:
        """One pass: each request's sums over the rows it trains on, and over those it holds out."""
        ...


@dataclass(frozen=True)
class InMemoryEngine:
    """A pass over arrays held in this process: one block of every row (with ``fold``, the rows'
    fold ids, a :class:`SharedPassEngine`; ``offset``, each row's fixed term of its margin)."""

    X: Features
    y: np.ndarray
    w: np.ndarray
    fold: np.ndarray | None = None
    offset: np.ndarray | None = None

    def run(self, coef: np.ndarray, intercept: float | np.ndarray, layout: Layout) -> Sums:
        return self.run_shared([Request(coef, intercept, layout)])[0][0]

    def run_shared(self, requests: list[Request]) -> list[tuple[Sums, HeldOut]]:
        return unpack_requests(shared_block_sums(self.X, self.y, self.w, self.fold, requests, self.offset), requests)

    def release(self) -> None:
        """Nothing to free: the arrays belong to the caller."""
