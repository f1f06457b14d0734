"""The Python API: a pyspark.ml ``Estimator`` and ``Model`` over the training job's engine."""

from .cross_validation import LogisticRegressionCV, LogisticRegressionCVModel
from .estimator import LogisticRegression
from .model import LogisticRegressionModel, TrainingSummary

__all__ = [
    "LogisticRegression",
    "LogisticRegressionCV",
    "LogisticRegressionCVModel",
    "LogisticRegressionModel",
    "TrainingSummary",
]
