"""The Python API: a pyspark.ml ``Estimator`` and ``Model`` over the training job's engine."""

from .estimator import LogisticRegression
from .model import LogisticRegressionModel, TrainingSummary

__all__ = ["LogisticRegression", "LogisticRegressionModel", "TrainingSummary"]
