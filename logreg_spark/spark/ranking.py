"""Exact ROC AUC and PR AUC of many models' scores at once, and MLlib's binned curves, sorted by Spark.

Input: rows ``model`` (long), ``p`` (the score, larger meaning label 1 more
likely), ``y`` (0 or 1) and ``w`` (weight). Rows of equal (model, score) are
merged into their positive and negative weight; Spark sorts them by model, then
by decreasing score, into ranges of partitions. A first job adds up each
partition's weights per model, which gives every (partition, model) the true
and false positives above it; a second walks each partition's runs with
:func:`~logreg_spark.core.metrics.ranking_sums`. Only sums per (partition,
model), and with ``curve`` up to a few hundred curve points, reach the driver.
:func:`binned_scores` sorts one model's scores the same way for MLlib's
down-sampled threshold curves (the training summaries'): up to about 2,000 points.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F

from ..core.metrics import SUMMARY_BINS, bin_size, ranking_sums
from .task import partition_id

_BY_SCORE = pa.schema([("model", pa.int64()), ("p", pa.float64()), ("pos", pa.float64()), ("neg", pa.float64())])


@dataclass(frozen=True)
class Ranking:
    """One model's exact ROC AUC and PR AUC (average precision), NaN with one class only, and its
    ROC curve as (FPR, TPR) rows from (0, 0) (empty unless asked for)."""

    roc_auc: float
    pr_auc: float
    curve: np.ndarray


def _runs(models: np.ndarray) -> Iterator[tuple[int, slice]]:
    """The runs of equal values of the sorted ``models``: (model, rows)."""
    starts = np.flatnonzero(np.r_[True, models[1:] != models[:-1]]) if models.size else np.zeros(0, np.intp)
    ends = [*starts[1:], models.size]
    return ((int(models[a]), slice(a, b)) for a, b in zip(starts, ends))


_WALKED = pa.schema(
    [
        ("part", pa.int64()),
        ("model", pa.int64()),
        ("area", pa.float64()),
        ("ap", pa.float64()),
        ("fp", pa.list_(pa.float64())),
        ("tp", pa.list_(pa.float64())),
    ]
)


def _table(batches: Iterator[pa.RecordBatch]) -> pa.Table:
    """A partition's merged (model, p, pos, neg) rows (its columns may or may not be nullable)."""
    listed = list(batches)
    return pa.Table.from_batches(listed) if listed else _BY_SCORE.empty_table()


#: Rows per partition of the sorted scores (each partition is one Arrow table of 32 bytes a row in
#: a Python worker). Spark's own choice, ``spark.sql.shuffle.partitions`` (200), made the two
#: Python jobs over 2,000,000 rows 200 tasks each: 15 s, against 3–4 s in 4 partitions.
ROWS_PER_PARTITION = 1_000_000


def _by_score(scored: DataFrame, rows: int) -> DataFrame:
    """(model, p, pos, neg): the weight of positives and negatives of each distinct (model, score),
    in ranges of partitions sorted by model, then by decreasing score (:data:`ROWS_PER_PARTITION`)."""
    by_order = ("model", F.desc("p"))
    return (
        scored.groupBy("model", "p")
        .agg(F.sum(F.col("w") * F.col("y")).alias("pos"), F.sum(F.col("w") * (1 - F.col("y"))).alias("neg"))
        .repartitionByRange(max(1, math.ceil(rows / ROWS_PER_PARTITION)), *by_order)
        .sortWithinPartitions(*by_order)
    )


def _partition_sums(by_score: DataFrame) -> list[Row]:
    """Per (partition, model) of :func:`_by_score`'s rows: their number ``n`` and weights
    ``pos``, ``neg``, sorted (so in the order of the scores)."""

    def sums(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        table = _table(batches)
        ids, where = np.unique(table.column("model").to_numpy(), return_inverse=True)
        yield pa.record_batch(
            {
                "part": np.full(ids.size, partition_id()),
                "model": ids,
                "n": np.bincount(where, minlength=ids.size),
                "pos": np.bincount(where, table.column("pos").to_numpy(), ids.size),
                "neg": np.bincount(where, table.column("neg").to_numpy(), ids.size),
            }
        )

    return sorted(by_score.mapInArrow(sums, "part long, model long, n long, pos double, neg double").collect())


def rankings(scored: DataFrame, rows: int, curve: bool = False) -> dict[int, Ranking]:
    """Each model's :class:`Ranking` (see the module's docstring); ``rows``, about how many rows
    ``scored`` has, sets how many partitions the sorted scores fill (:data:`ROWS_PER_PARTITION`)."""
    by_score = _by_score(scored, rows).persist()
    try:
        before: dict[tuple[int, int], tuple[float, float]] = {}
        seen: dict[int, tuple[float, float]] = {}
        for row in _partition_sums(by_score):
            tp, fp = seen.get(row.model, (0.0, 0.0))
            before[row.part, row.model] = tp, fp
            seen[row.model] = tp + row.pos, fp + row.neg
        points = 500 if curve else 1

        def walk(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            table = _table(batches)
            pos, neg, part = table.column("pos").to_numpy(), table.column("neg").to_numpy(), partition_id()
            rows: dict[str, list] = {"part": [], "model": [], "area": [], "ap": [], "fp": [], "tp": []}
            for model, run in _runs(table.column("model").to_numpy()):
                area, precision_sum, curve_points = ranking_sums(pos[run], neg[run], *before[part, model], points)
                for key, value in zip(rows, (part, model, area, precision_sum, *curve_points.T.tolist())):
                    rows[key].append(value)
            yield pa.RecordBatch.from_pydict(rows, schema=_WALKED)

        schema = "part long, model long, area double, ap double, fp array<double>, tp array<double>"
        walked = sorted(by_score.mapInArrow(walk, schema).collect())
    finally:
        by_score.unpersist()
    mine: dict[int, list] = {}
    for row in walked:
        mine.setdefault(row.model, []).append(row)
    return {model: _ranking(seen[model], mine.get(model, []), curve) for model in seen}


def _ranking(totals: tuple[float, float], walked: list, curve: bool) -> Ranking:
    """A model's ranking from its weight of each class and its (partition) rows of ``walk``."""
    positives, negatives = totals
    if positives <= 0 or negatives <= 0:
        return Ranking(math.nan, math.nan, np.zeros((0, 2)))
    roc_auc = sum(row.area for row in walked) / (positives * negatives)
    pr_auc = sum(row.ap for row in walked) / positives
    points = [[f / negatives, t / positives] for row in walked for f, t in zip(row.fp, row.tp)] if curve else []
    return Ranking(roc_auc, pr_auc, np.array([[0.0, 0.0], *points]) if curve else np.zeros((0, 2)))


def binned_scores(scored: DataFrame, rows: int, bins: int = SUMMARY_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MLlib's down-sampled threshold curve of one model's scored rows (p, y, w): the distinct
    scores in decreasing order, merged in runs of :func:`~logreg_spark.core.metrics.bin_size`;
    per run its lowest score and weights of positives and negatives, as arrays in score order.
    The runs are counted over all the scores, where MLlib restarts them at each partition of its
    sorted scores: the same points whenever those are not down-sampled or fill one partition."""
    by_score = _by_score(scored.select(F.lit(0).cast("long").alias("model"), "p", "y", "w"), rows).persist()
    try:
        sums = _partition_sums(by_score)
        size = bin_size(sum(row.n for row in sums), bins)
        first = dict(zip([row.part for row in sums], np.cumsum([0, *(row.n for row in sums)]).tolist()))

        def merge(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            table = _table(batches)
            index = (first.get(partition_id(), 0) + np.arange(table.num_rows)) // size
            ids, where = np.unique(index, return_inverse=True)
            last = np.flatnonzero(np.r_[where[1:] != where[:-1], True]) if where.size else where
            yield pa.record_batch(
                {
                    "bin": ids,
                    "p": table.column("p").to_numpy()[last],
                    "pos": np.bincount(where, table.column("pos").to_numpy(), ids.size),
                    "neg": np.bincount(where, table.column("neg").to_numpy(), ids.size),
                }
            )

        merged = by_score.mapInArrow(merge, "bin long, p double, pos double, neg double").collect()
    finally:
        by_score.unpersist()
    ids, where = np.unique(np.array([row.bin for row in merged], dtype=np.int64), return_inverse=True)
    lowest = np.full(ids.size, np.inf)
    np.minimum.at(lowest, where, np.array([row.p for row in merged], dtype=float))
    weights = [np.bincount(where, np.array([row[k] for row in merged], dtype=float), ids.size) for k in ("pos", "neg")]
    return lowest, weights[0], weights[1]
