"""Params as JSON, the way MLlib's ``DefaultParamsWriter`` writes them: a Matrix or Vector value
as MLlib's JSON object (``JsonMatrixConverter``/``JsonVectorConverter``: dense, values
column-major unless ``isTransposed``), any other value as it is.

pyspark.ml's Python writer would pass a Matrix to ``json.dumps`` and fail; the estimator's and
the model's ``save`` write through :func:`encoded` and their ``load`` reads through :func:`decoded`.
"""

from __future__ import annotations

from typing import Any

from pyspark.ml.linalg import DenseMatrix, DenseVector, Matrix, SparseVector, Vector


def encoded(value: Any) -> Any:
    """A param's value as JSON can hold it."""
    if isinstance(value, Matrix):
        dense = value.toArray()
        values = [float(v) for row in dense for v in row]
        rows, cols = dense.shape
        return {"class": "matrix", "type": 1, "numRows": rows, "numCols": cols, "values": values, "isTransposed": True}
    if isinstance(value, Vector):
        return {"type": 1, "values": [float(v) for v in value.toArray()]}
    return value


def decoded(value: Any) -> Any:
    """The inverse of :func:`encoded` (and MLlib's sparse vectors, ``type`` 0)."""
    if not (isinstance(value, dict) and "type" in value and "values" in value):
        return value
    if value.get("class") == "matrix":
        return DenseMatrix(value["numRows"], value["numCols"], value["values"], value.get("isTransposed", False))
    if value["type"] == 0:
        return SparseVector(value["size"], value["indices"], value["values"])
    return DenseVector(value["values"])
