"""Reading the input and checking its schema: Parquet in, the training columns out.

:func:`read_input` reads the Parquet input (errors name ``input.path``);
:func:`feature_spec` finds where the features are and checks their types
(:func:`locate_features`, :func:`check_pair_columns`, also used by scoring and
the model directory); :func:`training_columns` reduces the input to float64
features, ``LABEL`` and ``WEIGHT``, which :mod:`logreg_spark.spark.prepare` turns
into cached NumPy blocks with ``mapInArrow``; :func:`training_table` does the same
to the columns the executors read themselves (:mod:`~logreg_spark.spark.parquet_direct`).
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException, PySparkException
from pyspark.ml.feature import FeatureHasher
from pyspark.ml.linalg import VectorUDT
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..errors import INVALID_ROWS, InputError, named
from ..settings.schema import InputConf, ScoredInputConf
from .blocks import FOLD, LABEL, OFFSET, WEIGHT, FeatureSpec, Problems
from .input_files import aligned
from .jvm import java_root_message
from .parquet_direct import direct_source
from .session import is_connect

log = logging.getLogger(__name__)


def _col(name: str) -> F.Column:
    return F.col("`" + name.replace("`", "``") + "`")


def read_input(spark: SparkSession, conf: InputConf | ScoredInputConf) -> DataFrame:
    """The Parquet input; a missing path, or one without Parquet files, is an :class:`InputError`,
    as are local files that disagree (:func:`~logreg_spark.spark.input_files.aligned`).

    On Spark Connect the server would resolve a relative path against its own working
    directory: it is made absolute here, against this process's, as on classic Spark.
    """
    paths = [conf.path] if isinstance(conf.path, str) else list(conf.path)
    where = f"input.path {', '.join(paths)}"
    if is_connect(spark):
        paths = [path if urlsplit(path).scheme else os.path.abspath(path) for path in paths]
    try:
        df = spark.read.parquet(*paths)
        df.schema  # noqa: B018 - Spark Connect reads the footers only when asked: fail here, not later
    except AnalysisException as err:
        if getattr(err, "getCondition", lambda: None)() == "UNABLE_TO_INFER_SCHEMA":
            raise InputError(f"{where}: no Parquet files there (an empty directory?)") from None
        raise InputError(f"{where}: {str(err).splitlines()[0]}") from None
    except Py4JJavaError as err:  # e.g. "… is not a Parquet file"
        raise InputError(f"{where}: {java_root_message(err)}") from None
    except PySparkException as err:  # the same on Spark Connect, where every server error is one
        raise InputError(f"{where}: {str(err).splitlines()[0]}") from None
    return aligned(df)


def apply_invalid_policy(problems: Problems, policy: str, key: str = "input.invalid") -> None:
    """``input.invalid``: refuse invalid rows (``error``), or say how many are dropped (``skip``).
    ``key`` names the setting (a task, where :func:`~logreg_spark.errors.named` cannot, is given it)."""
    if not problems.counts:
        return
    described = "; ".join(problems.describe())
    if policy == "error":
        raise InputError(f'{INVALID_ROWS}{described}); set {named(key)} = "skip" to drop them')
    log.warning("skipping invalid rows: %s", described)


def _field(df: DataFrame, name: str, key: str) -> T.StructField:
    if name not in df.columns:
        raise InputError(f"{named(key)}: column {name!r} is not in the input (columns: {', '.join(df.columns)})")
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
        raise InputError(f"{named('input.hash_features')}: the input already has a column {HASHED!r}")
    return FeatureHasher(inputCols=columns, outputCol=HASHED, numFeatures=dim).transform(df)


def feature_spec(df: DataFrame, conf: InputConf) -> FeatureSpec:
    """Check the feature columns' types; find ``d`` for an array or Vector column."""
    if conf.hash_features:
        return FeatureSpec(vector_col=HASHED, d=conf.hash_dim)
    if conf.indices_col:
        assert conf.num_features is not None, "InputConf requires input.num_features with input.indices_col"
        spec = FeatureSpec(indices_col=conf.indices_col, values_col=conf.values_col, d=conf.num_features)
        return check_pair_columns(df, spec, "input.indices_col", "input.values_col")
    key = "input.features" if conf.features else "input.features_col"
    return locate_features(df, tuple(conf.features), conf.features_col, key, conf.reader)


def locate_features(
    df: DataFrame, columns: tuple[str, ...], vector_col: str, key: str, reader: str = "auto"
) -> FeatureSpec:
    """Check that ``df`` has the numeric ``columns`` or the array/Vector ``vector_col`` (whose
    length its first value gives, found as ``input.reader`` says); errors name ``key``."""
    numeric = (T.NumericType, T.BooleanType)
    if columns:
        for name in columns:
            dtype = _field(df, name, key).dataType
            if not isinstance(dtype, numeric):
                raise InputError(f"{named(key)}: column {name!r} is {dtype.simpleString()}, not numeric")
        return FeatureSpec(columns=columns)
    dtype = _field(df, vector_col, key).dataType
    if not isinstance(dtype, VectorUDT) and not (
        isinstance(dtype, T.ArrayType) and isinstance(dtype.elementType, numeric)
    ):
        raise InputError(
            f"{named(key)}: column {vector_col!r} is {dtype.simpleString()}, "
            "not an array of numbers or a Spark ML Vector"
        )
    d = _first_length(df, vector_col, isinstance(dtype, VectorUDT), reader)
    if d is None:
        raise InputError(f"{named(key)}: column {vector_col!r} has no non-null rows")
    return FeatureSpec(vector_col=vector_col, d=d)


def _first_length(df: DataFrame, name: str, vector: bool, reader: str) -> int | None:
    """The length of the array or (``vector``) Vector column's first non-null value, None if there is none:
    read on the driver where the tasks could read the files themselves (a Spark job costs more
    than the read), else by Spark."""
    source = direct_source(df, [name], reader)
    if source is not None:
        return source.first_length(name)
    first = df.where(_col(name).isNotNull()).select(name).first()
    return None if first is None else (first[0].size if vector else len(first[0]))


def check_pair_columns(df: DataFrame, spec: FeatureSpec, indices_key: str, values_key: str) -> FeatureSpec:
    """Check that ``df`` has ``spec``'s index column (an array of integers) and value column (an
    array of numbers); errors name the key given for each."""
    numeric = (T.NumericType, T.BooleanType)
    for name, key, elements, kind in (
        (spec.indices_col, indices_key, T.IntegralType, "integers"),
        (spec.values_col, values_key, numeric, "numbers"),
    ):
        dtype = _field(df, name, key).dataType
        if not (isinstance(dtype, T.ArrayType) and isinstance(dtype.elementType, elements)):
            raise InputError(f"{named(key)}: column {name!r} is {dtype.simpleString()}, not an array of {kind}")
    return spec


def feature_columns(df: DataFrame, spec: FeatureSpec) -> list[F.Column]:
    """The features as float64 columns (a Vector column, and the indices of index/value pairs,
    as they are)."""
    if spec.indices_col:
        return [_col(spec.indices_col), _col(spec.values_col).cast("array<double>").alias(spec.values_col)]
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
            f"{named('input.label_col')}: column {label_col!r} is {label_type.simpleString()}; "
            "labels must be class numbers 0, 1, … as integer, boolean or double"
        )
    if weight_col:
        weight_type = _field(df, weight_col, "input.weight_col").dataType
        if not isinstance(weight_type, T.NumericType):
            raise InputError(
                f"{named('input.weight_col')}: column {weight_col!r} is {weight_type.simpleString()}, not numeric"
            )
        weight = _col(weight_col).cast("double")
    else:
        weight = F.lit(1.0)
    return [_col(label_col).cast("double").alias(LABEL), weight.alias(WEIGHT)]


def _fold_column(df: DataFrame, fold_col: str) -> list[F.Column]:
    """The user's fold ids as ``FOLD`` (float64; checked to be integers per row), or nothing."""
    if not fold_col:
        return []
    fold_type = _field(df, fold_col, "tune.fold_col").dataType
    if not isinstance(fold_type, T.IntegralType):
        raise InputError(
            f"{named('tune.fold_col')}: column {fold_col!r} is {fold_type.simpleString()}; fold ids must be integers"
        )
    return [_col(fold_col).cast("double").alias(FOLD)]


def check_offset_column(df: DataFrame, offset_col: str, key: str) -> None:
    """``df`` has the numeric column ``offset_col``; errors name ``key``."""
    offset_type = _field(df, offset_col, key).dataType
    if not isinstance(offset_type, T.NumericType):
        raise InputError(f"{named(key)}: column {offset_col!r} is {offset_type.simpleString()}, not numeric")


def _offset_column(df: DataFrame, offset_col: str) -> list[F.Column]:
    """The offsets as ``OFFSET`` (float64), or nothing without ``offset_col``."""
    if not offset_col:
        return []
    check_offset_column(df, offset_col, "input.offset_col")
    return [_col(offset_col).cast("double").alias(OFFSET)]


def training_columns(df: DataFrame, spec: FeatureSpec, conf: InputConf, fold_col: str = "") -> DataFrame:
    """The input reduced to float64 features, ``LABEL``, ``WEIGHT``, with ``fold_col`` ``FOLD``, and
    with ``input.offset_col`` ``OFFSET``."""
    return df.select(
        *feature_columns(df, spec),
        *label_and_weight_columns(df, conf.label_col, conf.weight_col),
        *_fold_column(df, fold_col),
        *_offset_column(df, conf.offset_col),
    )


def source_columns(spec: FeatureSpec, conf: InputConf, fold_col: str = "") -> list[str]:
    """The input columns :func:`training_columns` reads (each once)."""
    optional = (c for c in (conf.weight_col, fold_col, conf.offset_col) if c)
    return list(dict.fromkeys([*spec.input_columns, conf.label_col, *optional]))


def training_table(table: pa.Table, spec: FeatureSpec, conf: InputConf, fold_col: str = "") -> pa.Table:
    """What :func:`training_columns` makes of the input, from its :func:`source_columns` as
    pyarrow read them: the same columns under the same names, the features, ``LABEL``, ``FOLD``
    and ``OFFSET`` of their own numeric types (blocks convert them to float64 as Spark's cast does)."""
    columns = {name: table.column(name) for name in spec.input_columns}
    columns[LABEL] = table.column(conf.label_col)
    columns[WEIGHT] = table.column(conf.weight_col) if conf.weight_col else pa.array(np.ones(table.num_rows))
    if fold_col:
        columns[FOLD] = table.column(fold_col)
    if conf.offset_col:
        columns[OFFSET] = table.column(conf.offset_col)
    return pa.table(columns)
