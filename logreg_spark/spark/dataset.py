"""Spark plumbing: Parquet in, NumPy blocks cached once, and full-batch passes over them.

Preparation reads the input with ``spark.read.parquet``, reduces it to the
training columns, and turns each partition's Arrow batches into NumPy blocks
with ``mapInArrow`` (never ``Row`` objects). The blocks stay cached across
passes. A pass broadcasts the point, lets every partition add up its blocks'
sums (:func:`~logreg_spark.binomial.block_sums`), and combines the partition
partials on the driver with ``RDD.treeAggregate``.
"""

from __future__ import annotations

import logging
import math
import pickle
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
from py4j.protocol import Py4JJavaError
from pyspark import RDD, StorageLevel, TaskContext
from pyspark.errors import AnalysisException
from pyspark.ml.feature import FeatureHasher
from pyspark.ml.linalg import VectorUDT
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..app.config import InputConf, PredictInputConf
from ..core.data import Block, ClassWeights, Summary, effective_weights
from ..core.sums import Layout, Sums, block_sums
from ..errors import InputError
from .block_store import BlockFile, BlockLost
from .blocks import LABEL, WEIGHT, FeatureSpec, Problems, block_from_table

BlockHandle = Block | BlockFile  # what the cached RDD holds: see block_store

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


#: Target size of one block, measured on its Arrow rows (dense features: about the
#: feature matrix; sparse ones: their non-zeros): large enough that NumPy runs at
#: full speed, small enough to pass through Arrow and pickle comfortably.
BLOCK_BYTES = 16 << 20


def _col(name: str) -> F.Column:
    return F.col("`" + name.replace("`", "``") + "`")


def read_input(spark: SparkSession, conf: InputConf | PredictInputConf) -> DataFrame:
    """The Parquet input; a missing path, or one without Parquet files, is an :class:`InputError`."""
    paths = [conf.path] if isinstance(conf.path, str) else list(conf.path)
    where = f"input.path {', '.join(paths)}"
    try:
        return spark.read.parquet(*paths)
    except AnalysisException as err:
        if getattr(err, "getCondition", lambda: None)() == "UNABLE_TO_INFER_SCHEMA":
            raise InputError(f"{where}: no Parquet files there (an empty directory?)") from None
        raise InputError(f"{where}: {str(err).splitlines()[0]}") from None
    except Py4JJavaError as err:  # e.g. "… is not a Parquet file"
        cause = err.java_exception
        while cause.getCause() is not None:
            cause = cause.getCause()
        raise InputError(f"{where}: {cause.getMessage()}") from None


def apply_invalid_policy(problems: Problems, policy: str) -> None:
    """``input.invalid``: refuse invalid rows (``error``), or say how many are dropped (``skip``)."""
    if not problems.counts:
        return
    described = "; ".join(problems.describe())
    if policy == "error":
        raise InputError(f'invalid rows ({described}); set input.invalid = "skip" to drop them')
    log.warning("skipping invalid rows: %s", described)


def _field(df: DataFrame, name: str, key: str) -> T.StructField:
    if name not in df.columns:
        raise InputError(f"{key}: column {name!r} is not in the input (columns: {', '.join(df.columns)})")
    return df.schema[name]


#: The sparse Vector column that ``input.hash_features`` are hashed into.
HASHED = "hashed_features"


def with_hashed_features(df: DataFrame, columns: list[str], dim: int) -> DataFrame:
    """``df`` with the ``HASHED`` column: Spark's ``FeatureHasher`` (MurmurHash3, fixed seed, so
    the same on every run and machine) over ``columns``: strings and booleans one-hot as
    ``column=value``, numbers as their value, into ``dim`` buckets."""
    for name in columns:
        _field(df, name, "input.hash_features")
    if HASHED in df.columns:
        raise InputError(f"input.hash_features: the input already has a column {HASHED!r}")
    return FeatureHasher(inputCols=columns, outputCol=HASHED, numFeatures=dim).transform(df)


def feature_spec(df: DataFrame, conf: InputConf) -> FeatureSpec:
    """Check the feature columns' types; find ``d`` for an array or Vector column."""
    if conf.hash_features:
        return FeatureSpec(vector_col=HASHED, d=conf.hash_dim)
    if conf.indices_col:
        spec = FeatureSpec(indices_col=conf.indices_col, vector_col=conf.values_col, d=conf.num_features)
        return check_pair_columns(df, spec, "input.indices_col", "input.values_col")
    key = "input.features" if conf.features else "input.features_col"
    return locate_features(df, tuple(conf.features), conf.features_col, key)


def locate_features(df: DataFrame, columns: tuple[str, ...], vector_col: str, key: str) -> FeatureSpec:
    """Check that ``df`` has the numeric ``columns`` or the array/Vector ``vector_col``; errors name ``key``."""
    numeric = (T.NumericType, T.BooleanType)
    if columns:
        for name in columns:
            dtype = _field(df, name, key).dataType
            if not isinstance(dtype, numeric):
                raise InputError(f"{key}: column {name!r} is {dtype.simpleString()}, not numeric")
        return FeatureSpec(columns=columns)
    dtype = _field(df, vector_col, key).dataType
    if not isinstance(dtype, VectorUDT) and not (
        isinstance(dtype, T.ArrayType) and isinstance(dtype.elementType, numeric)
    ):
        raise InputError(
            f"{key}: column {vector_col!r} is {dtype.simpleString()}, not an array of numbers or a Spark ML Vector"
        )
    first = df.where(_col(vector_col).isNotNull()).select(vector_col).first()
    if first is None:
        raise InputError(f"{key}: column {vector_col!r} has no non-null rows")
    return FeatureSpec(vector_col=vector_col, d=first[0].size if isinstance(dtype, VectorUDT) else len(first[0]))


def check_pair_columns(df: DataFrame, spec: FeatureSpec, indices_key: str, values_key: str) -> FeatureSpec:
    """Check that ``df`` has ``spec``'s index column (an array of integers) and value column (an
    array of numbers); errors name the key given for each."""
    numeric = (T.NumericType, T.BooleanType)
    for name, key, elements, kind in (
        (spec.indices_col, indices_key, T.IntegralType, "integers"),
        (spec.vector_col, values_key, numeric, "numbers"),
    ):
        dtype = _field(df, name, key).dataType
        if not (isinstance(dtype, T.ArrayType) and isinstance(dtype.elementType, elements)):
            raise InputError(f"{key}: column {name!r} is {dtype.simpleString()}, not an array of {kind}")
    return spec


def feature_columns(df: DataFrame, spec: FeatureSpec) -> list[F.Column]:
    """The features as float64 columns (a Vector column, and the indices of index/value pairs,
    as they are)."""
    if spec.indices_col:
        return [_col(spec.indices_col), _col(spec.vector_col).cast("array<double>").alias(spec.vector_col)]
    if spec.columns:
        return [_col(c).cast("double").alias(c) for c in spec.columns]
    if isinstance(df.schema[spec.vector_col].dataType, VectorUDT):
        return [_col(spec.vector_col)]
    return [_col(spec.vector_col).cast("array<double>").alias(spec.vector_col)]


def label_and_weight_columns(df: DataFrame, label_col: str, weight_col: str) -> list[F.Column]:
    """``LABEL`` and ``WEIGHT`` (1 without ``weight_col``) as float64 columns, after checking types."""
    label_type = _field(df, label_col, "input.label_col").dataType
    if not isinstance(label_type, (T.NumericType, T.BooleanType)):
        raise InputError(
            f"input.label_col: column {label_col!r} is {label_type.simpleString()}; "
            "labels must be class numbers 0, 1, … as integer, boolean or double"
        )
    if weight_col:
        weight_type = _field(df, weight_col, "input.weight_col").dataType
        if not isinstance(weight_type, T.NumericType):
            raise InputError(f"input.weight_col: column {weight_col!r} is {weight_type.simpleString()}, not numeric")
        weight = _col(weight_col).cast("double")
    else:
        weight = F.lit(1.0)
    return [_col(label_col).cast("double").alias(LABEL), weight.alias(WEIGHT)]


def training_columns(df: DataFrame, spec: FeatureSpec, conf: InputConf) -> DataFrame:
    """The input reduced to float64 features, ``LABEL`` and ``WEIGHT``."""
    return df.select(*feature_columns(df, spec), *label_and_weight_columns(df, conf.label_col, conf.weight_col))


def _blockify(spec: FeatureSpec, label_col: str, weight_col: str, store: str, dtype: str, classes: int):
    """The ``mapInArrow`` function: a partition's Arrow batches → pickled (handle, Problems)."""
    block_bytes = BLOCK_BYTES  # read here: the function runs on the executors
    cache_id = uuid.uuid4().hex[:12]

    def emit(table: pa.Table) -> pa.RecordBatch:
        block, problems = block_from_table(table, spec, label_col, weight_col, classes)
        if dtype == "float32":  # stored narrower; every pass widens chunks back to float64
            block = block._replace(X=block.X.astype(np.float32))
        handle = block
        if store == "local":
            # unique per write: a recomputed partition may hold other rows than the lost one
            name = f"{cache_id}-{TaskContext.get().partitionId()}-{uuid.uuid4().hex[:12]}"
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


def _merge_summaries(a: tuple[Summary, Problems] | None, b: tuple[Summary, Problems] | None):
    if a is None or b is None:
        return a if b is None else b
    return a[0].merge(b[0]), a[1].merge(b[1])


def _summarize(
    blocks: RDD, n_features: int, depth: int, class_weights: ClassWeights | None
) -> tuple[Summary, Problems] | None:
    """The statistics of the cached blocks' rows (under class weights, if given), and the
    validation counts of preparation.

    The first call is the job that fills the cache. The cache holds no statistics (two
    d-vectors per block): each block's are computed here, from the block as stored, and
    merged, and only the merged ones reach the driver.
    """
    depth = tree_depth(depth, blocks.getNumPartitions(), 16 * n_features)  # a Summary: two d-vectors

    def summary(item: tuple[BlockHandle, Problems]) -> tuple[Summary, Problems]:
        return Summary.of_block(item[0].load(), class_weights), item[1]

    return blocks.treeAggregate(None, lambda acc, item: _merge_summaries(acc, summary(item)), _merge_summaries, depth)


def _add_partials(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """``a + b``, reusing ``a``'s memory; None stands for no rows yet."""
    if a is None or b is None:
        return a if b is None else b
    a += b
    return a


@dataclass
class TrainingData:
    """The training rows as cached NumPy blocks, with their statistics."""

    blocks: RDD  # of (BlockHandle, Problems), persisted
    store: str
    spec: FeatureSpec
    summary: Summary
    problems: Problems
    prepare_seconds: float
    class_weights: ClassWeights | None = None

    @classmethod
    def prepare(
        cls, df: DataFrame, conf: InputConf, aggregation_depth: int, dtype: str = "float64", classes: int = 2
    ) -> TrainingData:
        """Convert and cache ``df`` once, computing its statistics on the way.

        ``dtype = "float32"`` stores the features in half the memory; the
        statistics and the passes are computed in float64 from the stored values.
        Labels must be integers below ``classes``.
        """
        started = time.perf_counter()
        if conf.hash_features:
            df = with_hashed_features(df, conf.hash_features, conf.hash_dim)
        spec = feature_spec(df, conf)
        columns = training_columns(df, spec, conf)
        blockify = _blockify(spec, conf.label_col, conf.weight_col, conf.cache, dtype, classes)
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
        data = cls(blocks, conf.cache, spec, summary, problems, seconds)
        data.warn_if_spilled()
        return data

    def with_class_weights(self, class_weights: ClassWeights, aggregation_depth: int) -> TrainingData:
        """The same cached blocks, each row's weight multiplied by its class's factor."""
        summary, _ = _summarize(self.blocks, self.summary.n_features, aggregation_depth, class_weights)
        return replace(self, summary=summary, class_weights=class_weights)

    def passes(self, aggregation_depth: int) -> RDDPassEngine:
        """An engine running passes over these cached blocks."""
        return RDDPassEngine(self, aggregation_depth)

    def _storage(self) -> tuple[int, int]:
        """(bytes in memory, bytes on disk) of the cached RDD, as Spark's block managers report them."""
        infos = [info for info in self.blocks.context._jsc.sc().getRDDStorageInfo() if info.id() == self.blocks.id()]
        return sum(int(i.memSize()) for i in infos), sum(int(i.diskSize()) for i in infos)

    def cached_bytes(self) -> int:
        """Bytes the cached data takes on the executors: Spark's cache, plus the local store's files."""
        spark_bytes = sum(self._storage())
        if self.store != "local":
            return spark_bytes
        return spark_bytes + self.blocks.map(lambda item: item[0].nbytes).sum()

    def warn_if_spilled(self) -> None:
        """With ``input.cache = "spark"``: say so when the cache did not fit in the executors' memory."""
        on_disk = self._storage()[1]
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


class RDDPassEngine:
    """Passes over cached blocks: broadcast the point, sum each partition's blocks, ``treeAggregate``.

    A pass runs one task per core (each Python task costs tens of milliseconds),
    over the cached partitions grouped where they are cached.
    """

    def __init__(self, data: TrainingData, aggregation_depth: int) -> None:
        self.data = data
        self.aggregation_depth = aggregation_depth
        sc = data.blocks.context
        self.blocks = data.blocks.coalesce(min(data.blocks.getNumPartitions(), sc.defaultParallelism))

    def _aggregate(self, coef: np.ndarray, intercept: float | np.ndarray, layout: Layout) -> np.ndarray:
        point = self.blocks.context.broadcast((coef, intercept))
        class_weights = self.data.class_weights

        def add_block(acc: np.ndarray | None, item: tuple[BlockHandle, Problems]) -> np.ndarray:
            block = item[0].load()
            w = effective_weights(block, class_weights)
            return _add_partials(acc, block_sums(block.X, block.y, w, *point.value, layout))

        try:
            depth = tree_depth(self.aggregation_depth, self.blocks.getNumPartitions(), 8 * layout.size)
            # no zero vector as the start: it would be shipped to every task with the function
            total = self.blocks.treeAggregate(None, add_block, _add_partials, depth)
            return layout.zeros() if total is None else total
        finally:
            point.destroy()

    def run(self, coef: np.ndarray, intercept: float | np.ndarray, layout: Layout) -> Sums:
        try:
            sums = layout.unpack(self._aggregate(coef, intercept, layout))
        except Exception as err:
            if BlockLost.__name__ not in str(err):
                raise
            log.warning("some cached blocks were lost with their executor; rebuilding them from the input")
            self.data.blocks.unpersist(blocking=True)  # the next pass recomputes the handles where it runs
            sums = layout.unpack(self._aggregate(coef, intercept, layout))
        expected = self.data.summary.rows
        if sums.rows != expected:  # a recomputed partition must hold the same rows
            raise RuntimeError(
                f"a pass saw {sums.rows} rows, but {expected} were prepared: "
                "the input changed while training, or rows were lost"
            )
        return sums

    def release(self) -> None:
        self.data.release()
