"""Saving and loading a :class:`LogisticRegressionModel`: the jobs' model directory, plus the
params of pyspark.ml.

A model is saved as the training job's model directory (``model.json``,
``coefficients/``, ``history/``, ``loss.png``; see
:mod:`logreg_spark.artifacts.model_dir`) with one more entry, ``metadata/``: the
JSON line pyspark.ml's ``DefaultParamsWriter`` writes (class, uid, params), by which
``PipelineModel.load`` finds the class of a Python stage. So a directory the
training job wrote loads with :meth:`LogisticRegressionModel.load` and one saved
from Python is a model for ``predict.py`` and ``evaluate.py``. A directory without
``metadata/`` (written before it existed) loads with the params of its conf.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from typing import Any

import pyspark
from pyspark.ml.classification import LogisticRegressionModel as MLlibModel
from pyspark.ml.util import MLReader, MLWriter
from pyspark.sql import SparkSession

from ..artifacts import plots
from ..artifacts.mllib_export import write_mllib_model
from ..artifacts.model_dir import TrainedModel, read_trained, write_model
from ..artifacts.paths import OVERWRITE_HINT, storage_path
from ..artifacts.storage import StoragePath
from ..errors import ModelError
from ..settings.schema import FitConf, InputConf, ModelConf, SolverConf
from .model import LogisticRegressionModel
from .param_json import decoded, encoded

METADATA = "metadata/part-00000"


def _metadata(model: LogisticRegressionModel) -> str:
    """The params as pyspark.ml's ``DefaultParamsWriter`` writes them (one JSON line; Matrix and
    Vector values as MLlib writes them: :mod:`.param_json`)."""
    cls = type(model)
    document = {
        "class": f"{cls.__module__}.{cls.__name__}",
        "timestamp": int(time.time() * 1000),
        "sparkVersion": pyspark.__version__,
        "uid": model.uid,
        "paramMap": {p.name: encoded(model.getOrDefault(p)) for p in model.params if model.isSet(p)},
        "defaultParamMap": {p.name: encoded(model.getOrDefault(p)) for p in model.params if model.hasDefault(p)},
    }
    return json.dumps(document) + "\n"


def pictures(model: TrainedModel) -> dict[str, bytes]:
    """``loss.png``: the loss per iteration (none when matplotlib cannot be imported)."""
    picture = plots.loss_curve([rec.iteration for rec in model.history], [rec.loss for rec in model.history])
    return {"loss.png": picture} if picture else {}


def save_model(
    model: LogisticRegressionModel,
    target: StoragePath,
    mode: str,
    key: str = "output.model_path",
    overwrite_hint: str = OVERWRITE_HINT,
) -> str:
    """Write ``model``'s directory to ``target`` atomically (``mode``: ``error`` or
    ``overwrite``); return the qualified path. The training job and ``save`` both write here."""
    files = {**pictures(model.trained), METADATA: _metadata(model).encode()}
    return write_model(_deciding(model), target, mode, files, key, overwrite_hint)


def _deciding(model: LogisticRegressionModel) -> TrainedModel:
    """The fitted model, with ``model.json``'s decision the params' when they set one (as
    ``setThresholds`` after the fit), so that ``predict.py`` predicts what ``transform`` does."""
    if not (model.isSet("threshold") or model.isDefined("thresholds")):
        return model.trained
    scorer = model.scorer()
    decision = {"threshold": scorer.threshold, "thresholds": list(scorer.class_thresholds)}
    return replace(model.trained, metadata={**model.trained.metadata, **decision})


def load_model(spark: SparkSession, path: str) -> LogisticRegressionModel:
    """The model directory at ``path`` (as :func:`save_model` or the training job wrote it)."""
    trained = read_trained(spark, path)
    model = LogisticRegressionModel(trained)
    location = storage_path(spark, path).child(METADATA)
    if location.exists():
        try:
            document = json.loads(location.read_text())
            model._resetUid(str(document["uid"]))
            params: dict[str, Any] = document["paramMap"]
        except (ValueError, KeyError, TypeError) as err:
            raise ModelError(f"model.path {location.shown}: not pyspark.ml params ({err})") from None
        model._set(**{name: decoded(value) for name, value in params.items() if model.hasParam(name)})
    else:
        conf = trained.metadata["conf"]
        sections = {"input": InputConf, "model": ModelConf, "solver": SolverConf}
        model.set_conf(FitConf(**{name: cls(**conf[name]) for name, cls in sections.items()}))
    return model


def export_mllib(
    spark: SparkSession,
    model: LogisticRegressionModel,
    target: StoragePath,
    mode: str,
    key: str = "output.mllib_path",
    overwrite_hint: str = OVERWRITE_HINT,
) -> str:
    """Write ``model`` in MLlib's format (:mod:`logreg_spark.artifacts.mllib_export`) to
    ``target``; its ``featuresCol`` is the model's Vector column (``hashed_features`` for a
    hashed model), or ``features`` for a model of named columns or index/value pairs."""
    scorer = model.scorer()
    if scorer.offset_col:
        raise ModelError(f"{key} {target.shown}: MLlib's LogisticRegressionModel has no offset, and this model has one")
    trained = model.trained
    return write_mllib_model(
        spark,
        target,
        trained.coefficients,
        trained.intercept,
        trained.family,
        threshold=scorer.threshold,
        class_thresholds=scorer.class_thresholds,
        features_col=scorer.spec.vector_col or "features",
        mode=mode,
        key=key,
        overwrite_hint=overwrite_hint,
    )


def to_mllib(model: LogisticRegressionModel, path: str | None) -> MLlibModel:
    """``model`` as MLlib's model, read back by MLlib from its own format written at ``path``
    (kept), or without a path at a temporary directory of the default file system's working
    directory (removed once read: on a cluster that file system must be one the executors
    share, as HDFS is on YARN)."""
    spark = SparkSession.active()
    if path is not None:
        target = storage_path(spark, path)
        export_mllib(spark, model, target, "error", "to_mllib:", "delete it first")
        return MLlibModel.load(target.uri)
    target = storage_path(spark, f".logreg_spark-mllib-{uuid.uuid4().hex}")
    try:
        export_mllib(spark, model, target, "error", "to_mllib:")
        return MLlibModel.load(target.uri)
    finally:
        if target.exists():
            target.delete()


class ModelWriter(MLWriter):
    """``model.write().save(path)`` (``.overwrite()`` replaces an existing directory)."""

    def __init__(self, instance: LogisticRegressionModel) -> None:
        super().__init__()
        self.instance = instance

    def save(self, path: str) -> None:
        """Write the model directory at ``path``. With ``overwrite()`` the old one is replaced only
        once the new one is complete (MLWriter's own ``save`` would delete it first, through the JVM,
        which Spark Connect does not have)."""
        self.saveImpl(path)

    def saveImpl(self, path: str) -> None:
        spark = self.sparkSession
        mode = "overwrite" if self.shouldOverwrite else "error"
        save_model(self.instance, storage_path(spark, path), mode, "save:", "use write().overwrite().save(path)")


class ModelReader(MLReader[LogisticRegressionModel]):
    """``LogisticRegressionModel.load(path)``."""

    def load(self, path: str) -> LogisticRegressionModel:
        return load_model(self.sparkSession, path)
