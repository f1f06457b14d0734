"""The Python API: a pyspark.ml ``Estimator`` and ``Model`` over the training job's engine."""

from .cross_validation import LogisticRegressionCV, LogisticRegressionCVModel
from .estimator import LogisticRegression
from .fit_report import FitReport
from .model import LogisticRegressionModel
from .summary import (
    BinaryLogisticRegressionSummary,
    BinaryLogisticRegressionTrainingSummary,
    LogisticRegressionSummary,
    LogisticRegressionTrainingSummary,
)

__all__ = [
    "BinaryLogisticRegressionSummary",
    "BinaryLogisticRegressionTrainingSummary",
    "FitReport",
    "LogisticRegression",
    "LogisticRegressionCV",
    "LogisticRegressionCVModel",
    "LogisticRegressionModel",
    "LogisticRegressionSummary",
    "LogisticRegressionTrainingSummary",
]
