"""Partials that leave a task as their non-zero entries when those take fewer bytes.

A wide model's task touches only its rows' columns: its sums and its rows' statistics are
d-vectors that are zero elsewhere. Sent whole they cost 8 d bytes each (at d = 2²⁴, four
partitions' statistics went over Spark's default 1 GiB ``spark.driver.maxResultSize``); as
entries, 12 bytes per non-zero. The receiver gets the same numbers back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..core.data import Summary


def touched(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(index, values)`` of the non-zero entries of ``flat`` when they fill under two thirds of
    it (so take fewer bytes, with 4-byte positions), else None. A signed zero becomes +0."""
    index = np.flatnonzero(flat)
    if 3 * index.size >= 2 * flat.size:
        return None
    return (index.astype(np.int32) if flat.size < 2**31 else index), flat[index]


def spread(size: int, index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The ``size``-long vector with ``values`` at ``index``, zero elsewhere."""
    flat = np.zeros(size)
    flat[index] = values
    return flat


def _vector(flat: np.ndarray) -> tuple:
    """How a d-vector is pickled: as its entries when they take fewer bytes."""
    entries = touched(flat)
    return (flat,) if entries is None else (flat.size, *entries)


def _restored(vector: tuple) -> np.ndarray:
    return vector[0] if len(vector) == 1 else spread(*vector)


@dataclass(frozen=True)
class TaskSummary:
    """The statistics of a task's rows, pickled with their two d-vectors (``mean``, ``m2``) as
    entries when those are sparse."""

    summary: Summary

    def __reduce__(self) -> tuple:
        s = self.summary
        small = replace(s, mean=np.zeros(0), m2=np.zeros(0))
        return _task_summary, (small, _vector(s.mean), _vector(s.m2))

    def merge(self, other: TaskSummary) -> TaskSummary:
        return TaskSummary(self.summary.merge(other.summary))


def _task_summary(small: Summary, mean: tuple, m2: tuple) -> TaskSummary:
    return TaskSummary(replace(small, mean=_restored(mean), m2=_restored(m2)))
