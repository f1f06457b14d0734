"""The params' table: each param's conf key and documentation, the params with no default, and
the Matrix and Vector params whose conf keys hold lists (MLlib's bounds)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyspark.ml.linalg import DenseMatrix, DenseVector, Matrix, Vector
from pyspark.ml.param import TypeConverters

#: Param name → the conf key it stands for.
CONF_KEYS = {
    "featuresCol": "input.features_col",
    "featureCols": "input.features",
    "hashFeatures": "input.hash_features",
    "hashDim": "input.hash_dim",
    "indicesCol": "input.indices_col",
    "valuesCol": "input.values_col",
    "numFeatures": "input.num_features",
    "labelCol": "input.label_col",
    "weightCol": "input.weight_col",
    "offsetCol": "input.offset_col",
    "handleInvalid": "input.invalid",
    "cache": "input.cache",
    "maxBlockSizeInMB": "input.max_block_size_mb",
    "family": "model.family",
    "fitIntercept": "model.fit_intercept",
    "regParam": "model.reg_param",
    "elasticNetParam": "model.elastic_net_param",
    "standardization": "model.standardization",
    "threshold": "model.threshold",
    "thresholds": "model.thresholds",
    "classWeight": "model.class_weight",
    "initModel": "model.init_model",
    "lowerBoundsOnCoefficients": "model.lower_bounds_on_coefficients",
    "upperBoundsOnCoefficients": "model.upper_bounds_on_coefficients",
    "lowerBoundsOnIntercepts": "model.lower_bounds_on_intercepts",
    "upperBoundsOnIntercepts": "model.upper_bounds_on_intercepts",
    "solver": "solver.name",
    "maxIter": "solver.max_iter",
    "tol": "solver.tol",
    "learningRate": "solver.learning_rate",
    "lineSearch": "solver.line_search",
    "memory": "solver.memory",
    "dtype": "solver.dtype",
    "aggregationDepth": "solver.aggregation_depth",
    "checkpointPath": "solver.checkpoint_path",
    "checkpointInterval": "solver.checkpoint_every",
    "resume": "solver.resume",
}

#: The output columns of ``transform`` (MLlib's), with their defaults; "" leaves a column out.
OUTPUT_COLUMNS = {"rawPredictionCol": "rawPrediction", "probabilityCol": "probability", "predictionCol": "prediction"}


def _matrix_rows(matrix: Matrix) -> list[list[float]]:
    return [[float(v) for v in row] for row in matrix.toArray()]


def _rows_matrix(rows: list[list[float]]) -> Matrix:
    return DenseMatrix(len(rows), len(rows[0]) if rows else 0, [v for row in rows for v in row], isTransposed=True)


def _vector_list(vector: Vector) -> list[float]:
    return [float(v) for v in vector.toArray()]


#: (param converter, param value → conf value, conf value → param value) of a Matrix and a Vector param.
Linalg = tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]]
MATRIX_PARAM: Linalg = (TypeConverters.toMatrix, _matrix_rows, _rows_matrix)
VECTOR_PARAM: Linalg = (TypeConverters.toVector, _vector_list, DenseVector)
#: Params whose values are pyspark.ml.linalg objects (MLlib's types) where their conf keys hold lists.
LINALG: dict[str, Linalg] = {
    "lowerBoundsOnCoefficients": MATRIX_PARAM,
    "upperBoundsOnCoefficients": MATRIX_PARAM,
    "lowerBoundsOnIntercepts": VECTOR_PARAM,
    "upperBoundsOnIntercepts": VECTOR_PARAM,
}


#: Params whose conf value means "unset": they have no default, as in MLlib.
UNSET: dict[str, Any] = {
    "weightCol": "",
    "offsetCol": "",
    "numFeatures": None,
    "thresholds": [],
    **dict.fromkeys(LINALG),
}


def to_conf_value(name: str, value: Any) -> Any:
    """Param ``name``'s value as its conf key holds it (a Matrix as rows of numbers, a Vector as a list)."""
    return LINALG[name][1](value) if name in LINALG and value is not None else value


def from_conf_value(name: str, value: Any) -> Any:
    """A conf key's value as param ``name`` holds it (the inverse of :func:`to_conf_value`)."""
    return LINALG[name][2](value) if name in LINALG and value is not None else value


DOCS = {
    "featuresCol": "features column: an ML Vector or an array of numbers (when no other feature source is set)",
    "featureCols": "numeric feature columns, in model order (instead of featuresCol)",
    "hashFeatures": "columns hashed into hashDim features (strings one-hot as column=value)",
    "hashDim": "number of hashed features",
    "indicesCol": "array<int> column of feature indices (with valuesCol and numFeatures)",
    "valuesCol": "array column of the values at indicesCol",
    "numFeatures": "number of features of the index/value input",
    "labelCol": "label column: classes 0, 1, ...",
    "weightCol": "row weight column (unset: every row weighs 1)",
    "offsetCol": "offset column: a fixed term added to each row's margin (unset or empty: 0); binomial only",
    "handleInvalid": "rows with invalid values: 'error' or 'skip'",
    "cache": "where the training blocks are cached: 'local' files on the executors or 'spark' memory",
    "maxBlockSizeInMB": "maximum size in MB of a cached training block (0.0: automatic, 16 MiB)",
    "family": "'auto', 'binomial' or 'multinomial'",
    "fitIntercept": "fit an intercept",
    "regParam": "regularization strength (>= 0)",
    "elasticNetParam": "elastic net mixing: 0 is L2, 1 is L1",
    "standardization": "penalize the coefficients of standardized features (MLlib's meaning)",
    "threshold": "binomial decision threshold on the probability of class 1",
    "thresholds": "per class: the class of the largest probability/threshold is predicted (>= 0, at most one 0)",
    "classWeight": "'' or 'balanced' (rows weighted inversely to their class's share)",
    "initModel": "model directory to start from",
    "lowerBoundsOnCoefficients": "lower bounds on the coefficients (Matrix 1 x d; K x d for multinomial)",
    "upperBoundsOnCoefficients": "upper bounds on the coefficients (Matrix 1 x d; K x d for multinomial)",
    "lowerBoundsOnIntercepts": "lower bounds on the intercepts (Vector of 1; K for multinomial)",
    "upperBoundsOnIntercepts": "upper bounds on the intercepts (Vector of 1; K for multinomial)",
    "solver": "'auto', 'newton', 'lbfgs' or 'gd'",
    "maxIter": "maximum number of iterations (>= 0)",
    "tol": "convergence tolerance on the optimality measure",
    "learningRate": "gd's first step length",
    "lineSearch": "gd with a line search (false: fixed steps)",
    "memory": "L-BFGS's number of correction pairs",
    "dtype": "storage of the cached features: 'float64' or 'float32'",
    "aggregationDepth": "depth of the tree reduction (0: chosen per pass)",
    "checkpointPath": "directory for solver checkpoints ('' for none)",
    "checkpointInterval": "iterations between checkpoints",
    "resume": "'auto' (resume from a checkpoint of the same fit) or 'never'",
    "rawPredictionCol": "output column of the margins (Vector); '' for none",
    "probabilityCol": "output column of the class probabilities (Vector); '' for none",
    "predictionCol": "output column of the predicted class (double); '' for none",
}
