"""``LogisticRegression``: the pyspark.ml ``Estimator``.

``fit(df)`` trains on any DataFrame with the training job's code
(:func:`~logreg_spark.training.fitting.fit`: blocks cached once, partial sums per
partition, a tree reduction per pass), from params instead of a TOML file, and
writes nothing unless checkpoints are asked for. Used in a ``Pipeline`` or by
``CrossValidator``/``TrainValidationSplit``, it behaves like MLlib's estimator: its
params copy, and each param map of a grid gives the model a separate fit gives; the
maps that differ only in how rows are fitted (``regParam``, ``elasticNetParam``,
solver settings) share one cache and its passes (:meth:`LogisticRegression.fitMultiple`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.classification import ProbabilisticClassifier
from pyspark.ml.param import Param
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsReader, DefaultParamsWritable, DefaultParamsWriter
from pyspark.sql import DataFrame

from ..artifacts.checkpoint import Checkpoints, checkpointing
from ..artifacts.model_dir import TrainedModel
from ..settings.schema import FitConf
from ..training.fitting import fit
from ..tuning.many import fit_many, shareable
from .model import LogisticRegressionModel
from .names import check_known
from .param_json import decoded, encoded
from .params import LogisticRegressionParams, param_origins


class LogisticRegression(
    LogisticRegressionParams,
    ProbabilisticClassifier,
    Estimator[LogisticRegressionModel],
    DefaultParamsReadable["LogisticRegression"],
    DefaultParamsWritable,
):
    """Logistic regression with MLlib's params (``regParam``, ``elasticNetParam``, ``maxIter``,
    …) and this project's (``solver``, ``featureCols``, ``classWeight``, …): see
    :mod:`logreg_spark.ml.params`. ``LogisticRegression(regParam=0.01, featureCols=["a", "b"])``.
    A ``ProbabilisticClassifier`` with MLlib's param mixins, as MLlib's estimator."""

    @keyword_only
    def __init__(self, **params: Any) -> None:
        super().__init__()
        self.setParams(**params)

    @keyword_only
    def setParams(self, **params: Any) -> LogisticRegression:
        """Set params by keyword, as MLlib's ``setParams``; an unknown name (with the closest
        known one) or a bad value is a :class:`ConfigError`."""
        check_known(self, params)
        self._set(**params)
        self.check_thresholds()
        return self

    @classmethod
    def of_conf(cls, conf: FitConf) -> LogisticRegression:
        """The estimator whose params are ``conf``'s keys."""
        estimator = cls()
        estimator.set_conf(conf)
        return estimator

    def write(self) -> DefaultParamsWriter:
        """pyspark.ml's writer of params, with Matrix and Vector values as MLlib writes them."""
        return _ParamsWriter(self)

    @classmethod
    def read(cls) -> DefaultParamsReader[LogisticRegression]:
        """pyspark.ml's reader of params, which reads the Matrix and Vector values :meth:`write` wrote."""
        return _ParamsReader(cls)

    def fitMultiple(
        self, dataset: DataFrame, paramMaps: Sequence[dict[Param, Any]]
    ) -> Iterator[tuple[int, LogisticRegressionModel]]:
        """Fit ``dataset`` with each param map (pyspark.ml's ``CrossValidator`` and
        ``TrainValidationSplit`` call this once per split): in shared passes over one cache when
        the maps differ only in how the rows are fitted (:func:`~logreg_spark.tuning.many.shareable`),
        else one fit after another. Yields (index, model) in order, safely from several threads."""
        estimators = [self.copy(param_map) for param_map in paramMaps]
        confs = [estimator.fit_conf() for estimator in estimators]
        if not confs or not shareable(confs):
            return super().fitMultiple(dataset, paramMaps)
        return _SharedFits(lambda: _fit_many(dataset, confs), estimators, dataset)

    def _fit(self, dataset: DataFrame) -> LogisticRegressionModel:
        """Fit on ``dataset``; with ``checkpointPath`` the checkpoints are removed once the
        model is returned."""
        conf = self.fit_conf()
        with param_origins(), checkpointing(dataset, conf) as checkpoints:
            return fit_model(dataset, conf, self, checkpoints)


def _fit_many(dataset: DataFrame, confs: list[FitConf]) -> list[TrainedModel]:
    """:func:`fit_many`, its conf errors naming the params."""
    with param_origins():
        return fit_many(dataset, confs)


class _ParamsWriter(DefaultParamsWriter):
    """pyspark.ml's metadata of the params, Matrix and Vector values encoded (:mod:`.param_json`)."""

    def saveImpl(self, path: str) -> None:
        params = {p.name: encoded(value) for p, value in self.instance._paramMap.items()}
        DefaultParamsWriter.saveMetadata(self.instance, path, self.sparkSession, paramMap=params)


class _ParamsReader(DefaultParamsReader[LogisticRegression]):
    """The estimator :class:`_ParamsWriter` saved, Matrix and Vector values decoded."""

    def load(self, path: str) -> LogisticRegression:
        metadata = DefaultParamsReader.loadMetadata(path, self.sparkSession)
        estimator = LogisticRegression()
        estimator._resetUid(metadata["uid"])
        metadata["paramMap"] = {name: decoded(value) for name, value in metadata["paramMap"].items()}
        DefaultParamsReader.getAndSetParams(estimator, metadata)
        return estimator


class _SharedFits:
    """fitMultiple's iterator: the first ``next`` fits every model; each call then hands out the
    next (index, model), under a lock (CrossValidator calls it from ``parallelism`` threads). Each
    model keeps ``dataset`` for its training summary."""

    def __init__(
        self, fit_all: Callable[[], list[TrainedModel]], estimators: list[LogisticRegression], dataset: DataFrame
    ) -> None:
        self._fit_all, self._estimators, self._dataset = fit_all, estimators, dataset
        self._models: list[LogisticRegressionModel] | None = None
        self._next, self._lock = 0, threading.Lock()

    def __iter__(self) -> Iterator[tuple[int, LogisticRegressionModel]]:
        return self

    def __next__(self) -> tuple[int, LogisticRegressionModel]:
        with self._lock:
            if self._models is None:
                self._models = []
                for trained, estimator in zip(self._fit_all(), self._estimators):
                    self._models.append(model_of(trained, estimator, self._dataset))
            if self._next >= len(self._models):
                raise StopIteration
            self._next += 1
            return self._next - 1, self._models[self._next - 1]


def fit_model(
    df: DataFrame, conf: FitConf, params: LogisticRegressionParams, checkpoints: Checkpoints | None
) -> LogisticRegressionModel:
    """Fit ``conf`` on ``df`` (resuming from and writing ``checkpoints``, if any) and return the
    model carrying ``params`` and ``df`` (for its training summary): the one training path of the
    Estimator and the training job."""
    return model_of(fit(df, conf, checkpoints), params, df)


def model_of(trained: TrainedModel, params: LogisticRegressionParams, training: DataFrame) -> LogisticRegressionModel:
    """The model of ``trained`` carrying ``params``, the estimator's uid (as in MLlib) and its
    ``training`` rows (for its training summary)."""
    model = LogisticRegressionModel(trained, training)
    model._resetUid(params.uid)
    params._copyValues(model)
    return model
