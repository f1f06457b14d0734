"""Distributed full-batch logistic regression on Apache Spark.

``from logreg_spark import LogisticRegression, LogisticRegressionModel``: the
pyspark.ml API (:mod:`logreg_spark.ml`), imported on first use so that the math
layers load without Spark.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["LogisticRegression", "LogisticRegressionCV", "LogisticRegressionModel"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import ml

        return getattr(ml, name)
    raise AttributeError(f"module 'logreg_spark' has no attribute {name!r}")
