"""A trained model in Spark MLlib's own save format, for
``pyspark.ml.classification.LogisticRegressionModel.load(path)``.

The format (Spark 4.x, as ``LogisticRegressionModel.write`` saves it and its reader loads it):

- ``metadata/``: a text file of one JSON line, the ``DefaultParamsWriter`` document: ``class``
  (``org.apache.spark.ml.classification.LogisticRegressionModel``, checked on load),
  ``timestamp`` (milliseconds), ``sparkVersion`` (2.1 or later selects the layout below),
  ``uid``, ``paramMap`` (the params set) and ``defaultParamMap`` (MLlib's defaults, required
  from Spark 2.4 on); each param's value is its own JSON encoding.
- ``data/``: Parquet of one row, read as a typed record (so the integers must be 32-bit):
  ``numClasses`` (int), ``numFeatures`` (int), ``interceptVector`` (an ML ``Vector``),
  ``coefficientMatrix`` (an ML ``Matrix``, classes × features, row-major, as a binomial
  model's must be) and ``isMultinomial`` (boolean). A binomial model is 1 × d with one
  intercept and numClasses 2; a multinomial one of K classes is K × d with K intercepts.

The exported model reads one Vector column, ``featuresCol``: a model trained on named numeric
columns needs them assembled in ``model.features`` order (e.g. by ``VectorAssembler``), one
trained on an array column needs it as a Vector, and a hashed model reads ``hashed_features``
(``FeatureHasher`` with the same columns and ``hash_dim``). Both parts are written with
DataFrame APIs only: MLlib's model constructors are private to the JVM, and reaching them
through Py4J would tie this project to MLlib's internals rather than to its file format.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import numpy as np
from pyspark.ml.linalg import DenseMatrix, DenseVector, MatrixUDT, VectorUDT
from pyspark.sql import SparkSession
from pyspark.sql.types import BooleanType, IntegerType, StructField, StructType

from ..core.family import Family
from .paths import OVERWRITE_HINT, staged_directory
from .storage import StoragePath

#: The class MLlib's reader expects in ``metadata/``.
MLLIB_CLASS = "org.apache.spark.ml.classification.LogisticRegressionModel"

#: The defaults of MLlib's ``LogisticRegressionModel`` params, as its own save writes them.
MLLIB_DEFAULTS: dict[str, Any] = {
    "featuresCol": "features",
    "labelCol": "label",
    "predictionCol": "prediction",
    "rawPredictionCol": "rawPrediction",
    "probabilityCol": "probability",
    "regParam": 0.0,
    "elasticNetParam": 0.0,
    "maxIter": 100,
    "tol": 1e-6,
    "fitIntercept": True,
    "family": "auto",
    "standardization": True,
    "threshold": 0.5,
    "aggregationDepth": 2,
    "maxBlockSizeInMB": 0.0,
}

_DATA_SCHEMA = StructType(
    [
        StructField("numClasses", IntegerType(), False),
        StructField("numFeatures", IntegerType(), False),
        StructField("interceptVector", VectorUDT(), True),
        StructField("coefficientMatrix", MatrixUDT(), True),
        StructField("isMultinomial", BooleanType(), False),
    ]
)


def write_mllib_model(
    spark: SparkSession,
    target: StoragePath,
    coefficients: np.ndarray,
    intercept: float | np.ndarray,
    family: Family,
    *,
    threshold: float,
    class_thresholds: tuple[float, ...] = (),
    features_col: str,
    mode: str,
    key: str = "output.mllib_path",
    overwrite_hint: str = OVERWRITE_HINT,
) -> str:
    """Write the model (coefficients (d,) or (K, d), intercept(s) as :class:`.TrainedModel`
    holds them) to ``target`` in MLlib's format, atomically; return the qualified path.

    ``mode = "error"`` refuses an existing ``target`` (an :class:`~logreg_spark.errors.OutputError`
    naming ``key`` and saying how to replace it), ``"overwrite"`` replaces it. A binomial model carries ``threshold``,
    a multinomial one its ``class_thresholds`` as MLlib's ``thresholds`` (when there are any).
    """
    matrix = np.atleast_2d(np.asarray(coefficients, dtype=np.float64))
    intercepts = np.atleast_1d(np.asarray(intercept, dtype=np.float64))
    rows, d = matrix.shape
    params: dict[str, Any] = {"featuresCol": features_col, "family": family.name}
    if not family.is_multinomial:
        params["threshold"] = float(threshold)
    elif class_thresholds:
        params["thresholds"] = list(class_thresholds)
    metadata = {
        "class": MLLIB_CLASS,
        "timestamp": int(time.time() * 1000),
        "sparkVersion": spark.version,
        "uid": f"logreg_{uuid.uuid4().hex[-12:]}",
        "paramMap": params,
        "defaultParamMap": MLLIB_DEFAULTS,
    }
    data = (
        family.classes,
        d,
        DenseVector(intercepts),
        DenseMatrix(rows, d, matrix.ravel(), isTransposed=True),
        family.is_multinomial,
    )
    with staged_directory(target, mode, key, overwrite_hint) as staging:
        line = spark.createDataFrame([(json.dumps(metadata, separators=(",", ":")),)], "value string")
        line.coalesce(1).write.text(staging.child("metadata").uri)
        spark.createDataFrame([data], _DATA_SCHEMA).coalesce(1).write.parquet(staging.child("data").uri)
    return target.uri
