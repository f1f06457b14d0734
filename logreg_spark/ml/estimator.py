"""``LogisticRegression``: the pyspark.ml ``Estimator``.

``fit(df)`` trains on any DataFrame with the training job's code
(:func:`~logreg_spark.training.fitting.fit`: blocks cached once, partial sums per
partition, a tree reduction per pass), from params instead of a TOML file, and
writes nothing unless checkpoints are asked for. Used in a ``Pipeline`` or by
``CrossValidator``/``TrainValidationSplit``, it behaves like MLlib's estimator: its
params copy, and each param map of a grid is a separate fit.
"""

from __future__ import annotations

from typing import Any

from pyspark.ml import Estimator
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import DataFrame

from ..artifacts.checkpoint import Checkpoints, checkpointing
from ..errors import ConfigError
from ..settings.schema import FitConf
from ..training.fitting import fit
from .model import LogisticRegressionModel
from .params import LogisticRegressionParams


class LogisticRegression(
    Estimator[LogisticRegressionModel],
    LogisticRegressionParams,
    DefaultParamsReadable["LogisticRegression"],
    DefaultParamsWritable,
):
    """Logistic regression with MLlib's params (``regParam``, ``elasticNetParam``, ``maxIter``,
    …) and this project's (``solver``, ``featureCols``, ``classWeight``, …): see
    :mod:`logreg_spark.ml.params`. ``LogisticRegression(regParam=0.01, featureCols=["a", "b"])``."""

    def __init__(self, **params: Any) -> None:
        super().__init__()
        self.setParams(**params)

    def setParams(self, **params: Any) -> LogisticRegression:
        """Set params by name; an unknown name or a bad value is a :class:`ConfigError`."""
        unknown = sorted(name for name in params if not self.hasParam(name))
        if unknown:
            raise ConfigError(f"LogisticRegression: unknown param(s) {unknown}")
        self._set(**params)
        return self

    @classmethod
    def of_conf(cls, conf: FitConf) -> LogisticRegression:
        """The estimator whose params are ``conf``'s keys."""
        estimator = cls()
        estimator.set_conf(conf)
        return estimator

    def _fit(self, dataset: DataFrame) -> LogisticRegressionModel:
        """Fit on ``dataset``; with ``checkpointPath`` the checkpoints are removed once the
        model is returned."""
        conf = self.fit_conf()
        with checkpointing(dataset, conf) as checkpoints:
            return fit_model(dataset, conf, self, checkpoints)


def fit_model(
    df: DataFrame, conf: FitConf, params: LogisticRegressionParams, checkpoints: Checkpoints | None
) -> LogisticRegressionModel:
    """Fit ``conf`` on ``df`` (resuming from and writing ``checkpoints``, if any) and return the
    model carrying ``params``: the one training path of the Estimator and the training job."""
    model = LogisticRegressionModel(fit(df, conf, checkpoints))
    params._copyValues(model)
    return model
