"""Preparing the training rows: the input's columns → NumPy blocks, cached once, with their statistics.

Data flow: Parquet (:mod:`logreg_spark.spark.reading` reads it and reduces it to
float64 features, ``LABEL``, ``WEIGHT`` (and ``OFFSET``); or, where the files allow it, the tasks
read it with pyarrow, :mod:`~logreg_spark.spark.parquet_direct`) → each partition's Arrow batches
become blocks of about ``block_bytes`` in ``mapInArrow`` (never ``Row`` objects)
→ the blocks, or handles to their files (:mod:`logreg_spark.spark.block_store`),
are persisted once; the job that fills the cache also computes the statistics →
every solver pass runs over the cached blocks (:mod:`logreg_spark.spark.engine`).
"""

from __future__ import annotations

import logging
import pickle
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
from pyspark import RDD, Accumulator, StorageLevel
from pyspark.sql import DataFrame

from ..core.columns import OwnColumns
from ..core.data import Block, ClassWeights, Summary
from ..core.folds import FoldRule
from ..errors import InputError
from ..settings.schema import InputConf
from .block_store import BlockFile
from .blocks import FeatureSpec, Problems, block_from_table
from .cached_blocks import BlockHandle, BlockItem, CachedBlocks, RDDBlocks
from .compact import TaskSummary
from .connect_blocks import FrameBlocks, check_payload, default_parallelism
from .engine import SparkPassEngine
from .parquet_direct import direct_source
from .progress import reading_progress
from .reading import feature_spec, source_columns, training_columns, training_table, with_hashed_features
from .session import is_connect, use_driver_python
from .task import partition_id

log = logging.getLogger(__name__)

#: Target size of one block, measured on its Arrow rows (dense features: about the
#: feature matrix; sparse ones: their non-zeros): large enough that NumPy runs at
#: full speed, small enough to pass through Arrow and pickle comfortably.
BLOCK_BYTES = 16 << 20

#: A partition's Arrow batches → its prepared blocks.
Blockify = Callable[[Iterator[pa.RecordBatch]], Iterator[BlockItem]]


def _blockify(
    spec: FeatureSpec,
    conf: InputConf,
    dtype: str,
    label_limit: int,
    block_bytes: int,
    folds: FoldRule | None,
    rows_read: Accumulator | None = None,
) -> Blockify:
    """A partition's Arrow batches → (handle, Problems), one per block of about ``block_bytes``,
    of the columns ``conf`` names, stored as ``input.cache`` says; each block's rows are added to
    ``rows_read`` (when given)."""
    cache_id = uuid.uuid4().hex[:12]
    label_col, weight_col, offset_col, store = conf.label_col, conf.weight_col, conf.offset_col, conf.cache

    def emit(table: pa.Table) -> BlockItem:
        block, problems = block_from_table(table, spec, label_col, weight_col, label_limit, folds, offset_col)
        if rows_read is not None:
            rows_read.add(table.num_rows)
        if dtype == "float32":  # stored narrower; every pass widens chunks back to float64
            block = block._replace(X=block.X.astype(np.float32))
        block = block._replace(own=OwnColumns.of(block.X))
        handle: BlockHandle = block
        if store == "local":
            # unique per write: a recomputed partition may hold other rows than the lost one
            name = f"{cache_id}-{partition_id()}-{uuid.uuid4().hex[:12]}"
            handle = BlockFile.write(block, name)
        return handle, problems

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[BlockItem]:
        pending: list[pa.RecordBatch] = []
        rows = size = 0
        for batch in batches:
            pending.append(batch)
            rows, size = rows + batch.num_rows, size + batch.nbytes
            while rows and size >= block_bytes:
                table = pa.Table.from_batches(pending)
                take = max(1, rows * block_bytes // size)
                yield emit(table.slice(0, take))
                rest = table.slice(take)
                pending, rows, size = rest.to_batches(), rest.num_rows, rest.nbytes
        if rows:
            yield emit(pa.Table.from_batches(pending))

    return run


def _pickled(blockify: Blockify) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``blockify`` as a ``mapInArrow`` function: each item pickled in a row of ``block binary``."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for item in blockify(batches):
            yield pa.RecordBatch.from_arrays([pa.array([pickle.dumps(item, protocol=5)], pa.binary())], names=["block"])

    return run


def _items(df: DataFrame, training: Training, conf: InputConf, blockify: Blockify) -> RDD[BlockItem]:
    """The prepared blocks of the input ``df``, an RDD on classic Spark: read by the tasks
    themselves where the files allow it (:mod:`~logreg_spark.spark.parquet_direct`), else from
    the training frame through ``mapInArrow``."""
    spec, columns, fold_col = training
    source = None if conf.hash_features else direct_source(df, source_columns(spec, conf, fold_col), conf.reader)
    if source is None:
        return columns.mapInArrow(_pickled(blockify), "block binary").rdd.map(lambda row: pickle.loads(row[0]))
    return source.run(
        df.sparkSession,
        lambda tables: blockify(
            batch for table in tables for batch in training_table(table, spec, conf, fold_col).to_batches()
        ),
    )


def training_frame(df: DataFrame, conf: InputConf, fold_col: str = "") -> tuple[FeatureSpec, DataFrame]:
    """The input's feature spec, and the input reduced to what blocks are built from: the feature
    columns (hashed first, with ``input.hash_features``), label, weight and ``fold_col``."""
    if conf.hash_features:
        df = with_hashed_features(df, conf.hash_features, conf.hash_dim)
    spec = feature_spec(df, conf)
    return spec, training_columns(df, spec, conf, fold_col)


Statistics = tuple[TaskSummary, Problems]

#: What :func:`training_frame` found and made, with the fold column it was given.
Training = tuple[FeatureSpec, DataFrame, str]


def _merge_summaries(a: Statistics | None, b: Statistics | None) -> Statistics | None:
    if a is None or b is None:
        return a if b is None else b
    return a[0].merge(b[0]), a[1].merge(b[1])


def _summarize(
    blocks: CachedBlocks, n_features: int, class_weights: ClassWeights | None, filling: bool = False
) -> Statistics | None:
    """The statistics of the cached blocks' rows (under class weights, if given), and the
    validation counts of preparation.

    The first call (``filling``) is the job that fills the cache, a task per partition, so that
    its progress shows as partitions finish. The cache holds no statistics (two d-vectors per
    block): each block's are computed here, from the block as stored, and merged, and only the
    merged ones reach the driver.
    """

    def add(acc: Statistics | None, item: BlockItem, _: None) -> Statistics | None:
        return _merge_summaries(acc, (TaskSummary(Summary.of_block(item[0].load(), class_weights)), item[1]))

    return blocks.aggregate(add, _merge_summaries, 16 * n_features, per_partition=filling)  # a Summary: two d-vectors


def _cached(
    df: DataFrame, training: Training, conf: InputConf, blockify: Blockify, depth: int, tasks: int | None
) -> CachedBlocks:
    """The prepared blocks persisted: as an RDD of items on classic Spark (:func:`_items`), as a
    DataFrame of pickled items on Spark Connect."""
    spark = df.sparkSession
    if is_connect(spark):
        items = training[1].mapInArrow(_pickled(blockify), "block binary")
        return FrameBlocks(items.persist(StorageLevel.MEMORY_AND_DISK), depth, tasks or default_parallelism(spark))
    rdd = _items(df, training, conf, blockify).persist(StorageLevel.MEMORY_AND_DISK)
    return RDDBlocks(rdd, depth, tasks or rdd.context.defaultParallelism)


@dataclass
class TrainingData:
    """The training rows as cached NumPy blocks, with their statistics."""

    blocks: CachedBlocks
    store: str
    spec: FeatureSpec
    summary: Summary
    problems: Problems
    prepare_seconds: float
    class_weights: ClassWeights | None = None

    @classmethod
    def prepare(
        cls,
        df: DataFrame,
        conf: InputConf,
        aggregation_depth: int,
        dtype: str = "float64",
        label_limit: int = 2,
        block_bytes: int = BLOCK_BYTES,
        tasks: int | None = None,
        folds: FoldRule | None = None,
    ) -> TrainingData:
        """Convert and cache ``df`` once, in blocks of about ``block_bytes``, computing its
        statistics on the way.

        ``dtype = "float32"`` stores the features in half the memory; the
        statistics and the passes are computed in float64 from the stored values.
        Labels must be integers below ``label_limit``. ``aggregation_depth`` (0: chosen
        per aggregation) serves the statistics here and every later pass, run by ``tasks``
        tasks (None: one per core). With ``folds`` every block also holds its rows' fold ids.
        """
        started = time.perf_counter()
        spark = df.sparkSession
        use_driver_python(spark)
        fold_col = folds.column if folds else ""
        spec, columns = training_frame(df, conf, fold_col)
        if is_connect(spark):  # the smallest point (binomial), before any work
            check_payload(8 * ((spec.d or len(spec.columns)) + 1))
        log.info("preparing the training rows: reading, checking and caching them as blocks")
        with reading_progress(spark, "preparing") as rows_read:
            blockify = _blockify(spec, conf, dtype, label_limit, block_bytes, folds, rows_read)
            blocks = _cached(df, (spec, columns, fold_col), conf, blockify, aggregation_depth, tasks)
            merged = _summarize(blocks, spec.d or len(spec.columns), None, filling=True)
        if merged is None:
            blocks.release()
            raise InputError(f"input.path {conf.path}: no rows" if conf.path else "the DataFrame has no rows")
        summary, problems = merged[0].summary, merged[1]
        seconds = time.perf_counter() - started
        log.info("prepared %d rows x %d features in %.2f s", summary.rows, summary.n_features, seconds)
        data = cls(blocks, conf.cache, spec, summary, problems, seconds)
        data.warn_if_spilled()
        return data

    def with_class_weights(self, class_weights: ClassWeights) -> TrainingData:
        """The same cached blocks, each row's weight multiplied by its class's factor."""
        statistics = _summarize(self.blocks, self.summary.n_features, class_weights)
        assert statistics is not None, "prepared blocks hold rows (prepare raised InputError otherwise)"
        return replace(self, summary=statistics[0].summary, class_weights=class_weights)

    def fold_summaries(self) -> dict[int, Summary]:
        """The statistics of each fold's rows, by fold id (blocks prepared with ``folds``)."""

        def add(acc: dict[int, TaskSummary] | None, item: BlockItem, _: None) -> dict[int, TaskSummary]:
            block = item[0].load()
            assert block.fold is not None, "blocks prepared with folds hold fold ids"
            found = {int(f): Summary.of_block(_rows_of(block, block.fold == f)) for f in np.unique(block.fold)}
            return _merge_by_fold(acc, {fold: TaskSummary(summary) for fold, summary in found.items()})

        # a Summary per fold: two d-vectors each, for about 8 folds
        merged = self.blocks.aggregate(add, _merge_by_fold, 128 * self.summary.n_features) or {}
        return {fold: found.summary for fold, found in merged.items()}

    @property
    def parallelism(self) -> int:
        """The tasks that run a pass at once (one per core)."""
        return self.blocks.tasks

    def passes(self) -> SparkPassEngine:
        """An engine running passes over these cached blocks."""
        return SparkPassEngine(self)

    def cached_bytes(self) -> int | None:
        """Bytes the cached data takes on the executors: Spark's cache, plus the local store's
        files; None where Spark does not report its cache (Spark Connect)."""
        storage = self.blocks.storage()
        if storage is None:
            return None
        if self.store != "local":
            return sum(storage)
        return sum(storage) + (self.blocks.aggregate(_add_file_bytes, _add_counts, 8) or 0)

    def warn_if_spilled(self) -> None:
        """With ``input.cache = "spark"``: say so when the cache did not fit in the executors' memory."""
        on_disk = (self.blocks.storage() or (0, 0))[1]
        if on_disk:
            log.warning(
                "%.0f MB of the cached blocks did not fit in the executors' storage memory and went "
                "to disk; every pass reads them back (slower). Raise spark.executor.memory (or "
                'spark.driver.memory in local mode), or use input.cache = "local"',
                on_disk / 1e6,
            )

    def release(self) -> None:
        """Drop the cache; with the local store also remove the files (best effort:
        Spark removes executors' directories with the application anyway)."""
        if self.store == "local":
            self.blocks.aggregate(_remove_files, _add_counts, 8)
        self.blocks.release()


def _rows_of(block: Block, rows: np.ndarray) -> Block:
    """The block's ``rows`` (a mask), without their fold ids."""
    return Block(block.X[rows], block.y[rows], block.w[rows])


def _merge_by_fold(a: dict[int, TaskSummary] | None, b: dict[int, TaskSummary] | None) -> dict[int, TaskSummary]:
    merged = dict(a or {})
    for fold, summary in (b or {}).items():
        merged[fold] = merged[fold].merge(summary) if fold in merged else summary
    return merged


def _add_counts(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


def _add_file_bytes(acc: int | None, item: BlockItem, _: None) -> int | None:
    assert isinstance(item[0], BlockFile), "the local store holds handles"
    return (acc or 0) + item[0].nbytes


def _remove_files(acc: int | None, item: BlockItem, _: None) -> int | None:
    assert isinstance(item[0], BlockFile), "the local store holds handles"
    item[0].remove()
    return (acc or 0) + 1
