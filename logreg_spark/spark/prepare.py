"""Preparing the training rows: the input's columns → NumPy blocks, cached once, with their statistics.

Data flow: Parquet (:mod:`logreg_spark.spark.reading` reads it and reduces it to
float64 features, ``LABEL`` and ``WEIGHT``) → each partition's Arrow batches
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
from pyspark import RDD, StorageLevel
from pyspark.sql import DataFrame

from ..core.data import Block, ClassWeights, Summary
from ..errors import InputError
from ..settings.schema import InputConf
from .block_store import BlockFile
from .blocks import FeatureSpec, Problems, block_from_table
from .engine import RDDPassEngine, tree_depth
from .jvm import rdd_storage
from .reading import feature_spec, training_columns, with_hashed_features
from .task import partition_id

log = logging.getLogger(__name__)

BlockHandle = Block | BlockFile  # what the cached RDD holds: see block_store
BlockItem = tuple[BlockHandle, Problems]  # an element of the cached RDD

#: Target size of one block, measured on its Arrow rows (dense features: about the
#: feature matrix; sparse ones: their non-zeros): large enough that NumPy runs at
#: full speed, small enough to pass through Arrow and pickle comfortably.
BLOCK_BYTES = 16 << 20


def _blockify(
    spec: FeatureSpec, label_col: str, weight_col: str, store: str, dtype: str, label_limit: int, block_bytes: int
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The ``mapInArrow`` function: a partition's Arrow batches → pickled (handle, Problems),
    one per block of about ``block_bytes``."""
    cache_id = uuid.uuid4().hex[:12]

    def emit(table: pa.Table) -> pa.RecordBatch:
        block, problems = block_from_table(table, spec, label_col, weight_col, label_limit)
        if dtype == "float32":  # stored narrower; every pass widens chunks back to float64
            block = block._replace(X=block.X.astype(np.float32))
        handle: BlockHandle = block
        if store == "local":
            # unique per write: a recomputed partition may hold other rows than the lost one
            name = f"{cache_id}-{partition_id()}-{uuid.uuid4().hex[:12]}"
            handle = BlockFile.write(block, name)
        built = (handle, problems)
        return pa.RecordBatch.from_arrays([pa.array([pickle.dumps(built, protocol=5)], pa.binary())], names=["block"])

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
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


Statistics = tuple[Summary, Problems]


def _merge_summaries(a: Statistics | None, b: Statistics | None) -> Statistics | None:
    if a is None or b is None:
        return a if b is None else b
    return a[0].merge(b[0]), a[1].merge(b[1])


def _summarize(blocks: RDD, n_features: int, depth: int, class_weights: ClassWeights | None) -> Statistics | None:
    """The statistics of the cached blocks' rows (under class weights, if given), and the
    validation counts of preparation.

    The first call is the job that fills the cache. The cache holds no statistics (two
    d-vectors per block): each block's are computed here, from the block as stored, and
    merged, and only the merged ones reach the driver.
    """
    depth = tree_depth(depth, blocks.getNumPartitions(), 16 * n_features)  # a Summary: two d-vectors

    def summary(item: BlockItem) -> Statistics:
        return Summary.of_block(item[0].load(), class_weights), item[1]

    return blocks.treeAggregate(None, lambda acc, item: _merge_summaries(acc, summary(item)), _merge_summaries, depth)


@dataclass
class TrainingData:
    """The training rows as cached NumPy blocks, with their statistics."""

    blocks: RDD  # of BlockItem, persisted
    store: str
    spec: FeatureSpec
    summary: Summary
    problems: Problems
    prepare_seconds: float
    aggregation_depth: int  # solver.aggregation_depth, for every treeAggregate over the blocks
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
    ) -> TrainingData:
        """Convert and cache ``df`` once, in blocks of about ``block_bytes``, computing its
        statistics on the way.

        ``dtype = "float32"`` stores the features in half the memory; the
        statistics and the passes are computed in float64 from the stored values.
        Labels must be integers below ``label_limit``. ``aggregation_depth`` (0: chosen
        per aggregation) serves the statistics here and every later pass.
        """
        started = time.perf_counter()
        if conf.hash_features:
            df = with_hashed_features(df, conf.hash_features, conf.hash_dim)
        spec = feature_spec(df, conf)
        columns = training_columns(df, spec, conf)
        blockify = _blockify(spec, conf.label_col, conf.weight_col, conf.cache, dtype, label_limit, block_bytes)
        blocks = (
            columns.mapInArrow(blockify, "block binary")
            .rdd.map(lambda row: pickle.loads(row[0]))
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        merged = _summarize(blocks, spec.d or len(spec.columns), aggregation_depth, None)
        if merged is None:
            blocks.unpersist()
            raise InputError(f"input.path {conf.path}: no rows")
        summary, problems = merged
        seconds = time.perf_counter() - started
        log.info(
            "prepared %d rows x %d features in %d partitions in %.2f s",
            summary.rows,
            summary.n_features,
            blocks.getNumPartitions(),
            seconds,
        )
        data = cls(blocks, conf.cache, spec, summary, problems, seconds, aggregation_depth)
        data.warn_if_spilled()
        return data

    def with_class_weights(self, class_weights: ClassWeights) -> TrainingData:
        """The same cached blocks, each row's weight multiplied by its class's factor."""
        statistics = _summarize(self.blocks, self.summary.n_features, self.aggregation_depth, class_weights)
        assert statistics is not None, "prepared blocks hold rows (prepare raised InputError otherwise)"
        summary, _ = statistics
        return replace(self, summary=summary, class_weights=class_weights)

    def passes(self) -> RDDPassEngine:
        """An engine running passes over these cached blocks."""
        return RDDPassEngine(self)

    def cached_bytes(self) -> int:
        """Bytes the cached data takes on the executors: Spark's cache, plus the local store's files."""
        spark_bytes = sum(rdd_storage(self.blocks))
        if self.store != "local":
            return spark_bytes
        return spark_bytes + self.blocks.map(lambda item: item[0].nbytes).sum()

    def warn_if_spilled(self) -> None:
        """With ``input.cache = "spark"``: say so when the cache did not fit in the executors' memory."""
        on_disk = rdd_storage(self.blocks)[1]
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
            self.blocks.foreach(lambda item: item[0].remove())
        self.blocks.unpersist()
