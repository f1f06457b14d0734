"""``LogisticRegressionModel``: a fitted model as a pyspark.ml ``Model``, with MLlib's accessors
and output columns.

``transform`` scores in the executors through the scoring code the jobs use
(:func:`~logreg_spark.spark.scoring.scored`) and adds MLlib's columns with MLlib's
types: ``rawPrediction`` (a Vector of margins: ``[-m, m]`` for a binomial model, the
K class margins for a multinomial one), ``probability`` (a Vector of the class
probabilities) and ``prediction`` (a double), so MLlib's evaluators work on its
output. The features are found as in training (the same columns, Vector column,
index/value pair, or hashed columns). ``transform`` is lazy: with ``handleInvalid =
"error"`` a row that cannot be scored fails the job that reads it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.ml.classification import LogisticRegressionModel as MLlibModel
from pyspark.ml.classification import ProbabilisticClassificationModel
from pyspark.ml.functions import array_to_vector
from pyspark.ml.linalg import DenseVector, Matrix, Vector
from pyspark.ml.util import MLReadable, MLReader, MLWritable, MLWriter
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ..artifacts.model_dir import TrainedModel, scorer_of
from ..core.decision import decision_of
from ..errors import InputError, ModelError
from ..spark.loaded_model import LoadedModel, model_input, with_offset_col
from ..spark.outputs import Output, output_values
from ..spark.reading import HASHED
from ..spark.scoring import scored
from .fit_report import FitReport
from .linalg import coefficient_vector, compressed, feature_row
from .param_table import OUTPUT_COLUMNS
from .params import LogisticRegressionParams, param_origins
from .summary import (
    BinaryLogisticRegressionSummary,
    BinaryLogisticRegressionTrainingSummary,
    LogisticRegressionSummary,
    LogisticRegressionTrainingSummary,
    SummaryColumns,
)


class LogisticRegressionModel(
    LogisticRegressionParams, ProbabilisticClassificationModel, MLReadable["LogisticRegressionModel"], MLWritable
):
    """A logistic regression fitted by :class:`~logreg_spark.ml.LogisticRegression` (or the
    training job): a ``ProbabilisticClassificationModel`` with MLlib's accessors, ``transform``,
    ``predict``/``predictRaw``/``predictProbability`` of one Vector, ``save``/``load`` of the
    jobs' model directory, and :meth:`to_mllib`. It has its estimator's uid, as in MLlib."""

    def __init__(self, trained: TrainedModel | None = None, training: DataFrame | None = None) -> None:
        super().__init__()
        self._trained, self._training = trained, training
        self._summary: LogisticRegressionTrainingSummary | None = None

    def __repr__(self) -> str:
        if self._trained is None:
            return f"LogisticRegressionModel: uid={self.uid}"
        return f"LogisticRegressionModel: uid={self.uid}, numClasses={self.numClasses}, numFeatures={self.numFeatures}"

    @property
    def trained(self) -> TrainedModel:
        if self._trained is None:
            raise ModelError("this LogisticRegressionModel holds no fitted model (use fit or load)")
        return self._trained

    # MLlib's accessors
    @property
    def numClasses(self) -> int:
        return self.trained.family.classes

    @property
    def numFeatures(self) -> int:
        return len(self.trained.features)

    @property
    def features(self) -> list[str]:
        """The feature names, in coefficient order (``col[j]`` for a Vector or array column)."""
        return list(self.trained.features)

    @property
    def coefficientMatrix(self) -> Matrix:
        """The K × d coefficients (1 × d binomial), compressed as MLlib's (:mod:`.linalg`)."""
        return compressed(np.atleast_2d(self.trained.coefficients))

    @property
    def interceptVector(self) -> DenseVector:
        return DenseVector(np.atleast_1d(self.trained.intercept))

    @property
    def coefficients(self) -> Vector:
        """Binomial: the coefficients, sparse when :attr:`coefficientMatrix` is."""
        self._binomial_only("coefficients", "coefficientMatrix")
        return coefficient_vector(self.trained.coefficients)

    @property
    def intercept(self) -> float:
        self._binomial_only("intercept", "interceptVector")
        return float(self.trained.intercept)

    def _binomial_only(self, name: str, instead: str) -> None:
        if self.trained.family.is_multinomial:
            raise ModelError(f"{name}: a multinomial model has a matrix of them; use {instead}")

    @property
    def fitReport(self) -> FitReport:
        """How the fit went (objective history, passes, convergence, statistics): kept in the model
        directory, so also for a loaded model."""
        if not self.trained.history:
            raise ModelError("this model has no training history (a directory written without history/)")
        return FitReport.of(self.trained)

    @property
    def hasSummary(self) -> bool:
        """Whether this model was fitted here, on a DataFrame it keeps (not loaded), as MLlib's."""
        return self._training is not None and bool(self.trained.history)

    @property
    def summary(self) -> LogisticRegressionTrainingSummary:
        """MLlib's training summary: the metrics of the training DataFrame's ``transform``
        (binary for a binomial model) and the fit's :attr:`fitReport`. Made once, on first use
        and with the params then (MLlib's: at the end of ``fit``); copies made later share it."""
        if self._training is None:
            raise ModelError(
                "No training summary available for this LogisticRegressionModel (a loaded model has none; "
                "see fitReport, or evaluate(df))"
            )
        if self._summary is None:
            transform, columns = self._summary_of(self._training)
            binary = self.numClasses <= 2
            kind = BinaryLogisticRegressionTrainingSummary if binary else LogisticRegressionTrainingSummary
            self._summary = kind(transform, columns, self.fitReport)
        return self._summary

    def evaluate(self, dataset: DataFrame) -> LogisticRegressionSummary:
        """MLlib's summary of this model on ``dataset`` (labelled as in training); lazy."""
        if not isinstance(dataset, DataFrame):
            raise TypeError(f"dataset must be a DataFrame but got {type(dataset)}.")
        transform, columns = self._summary_of(dataset)
        summary = BinaryLogisticRegressionSummary if self.numClasses <= 2 else LogisticRegressionSummary
        return summary(transform, columns)

    def _summary_of(self, dataset: DataFrame) -> tuple[Callable[[], DataFrame], SummaryColumns]:
        """``dataset``'s transform for a summary (made when first asked for), and the columns it
        reads: as MLlib, a copy of the model makes the probability and prediction columns (named
        ``probability_<uuid>``, …) when its own params leave them out."""
        model = self
        for param in ("probabilityCol", "predictionCol"):
            if not model.getOrDefault(param):
                model = model.copy({model.getParam(param): f"{param[: -len('Col')]}_{uuid.uuid4()}"})
        columns = SummaryColumns(
            probability=model.getOrDefault("probabilityCol"),
            prediction=model.getOrDefault("predictionCol"),
            label=model.getOrDefault("labelCol"),
            features=model.getOrDefault("featuresCol"),
            weight=model.getOrDefault("weightCol") if model.isDefined(model.getParam("weightCol")) else "",
            skip_invalid=model.getOrDefault("handleInvalid") == "skip",
        )
        return lambda: model.transform(dataset), columns

    def scorer(self) -> LoadedModel:
        """The model as the executors score with it: the features where training found them (a
        Vector or array model reads the ``featuresCol`` param), the offsets of a model trained
        with them from the ``offsetCol`` param, the ``threshold`` or ``thresholds`` param (one
        per class)."""
        found = scorer_of(self.trained, self.uid)
        spec = found.spec
        if spec.vector_col and spec.vector_col != HASHED and self.isSet(self.getParam("featuresCol")):
            spec = replace(spec, vector_col=self.getOrDefault("featuresCol"))
        offset_col = self.getOrDefault("offsetCol") if self.isSet(self.getParam("offsetCol")) else ""
        found = with_offset_col(found, offset_col, "offsetCol")
        self.check_thresholds()
        thresholds = self.getOrDefault("thresholds") if self.isDefined("thresholds") else []
        decision = decision_of(found.family, float(self.getOrDefault("threshold")), thresholds, "thresholds")
        return replace(found, spec=spec, threshold=decision.threshold, class_thresholds=decision.class_thresholds)

    def predict(self, value: Vector) -> float:
        """The predicted class of one feature Vector (in :attr:`features` order), on the driver."""
        return float(self._scored(value, "predict")["prediction"][0])

    def predictRaw(self, value: Vector) -> DenseVector:
        """MLlib's raw prediction of one Vector: ``[-m, m]``, or the K class margins."""
        return DenseVector(self._scored(value, "predictRaw")["rawPrediction"][0])

    def predictProbability(self, value: Vector) -> DenseVector:
        """The class probabilities of one Vector: ``[1 - p, p]``, or the K classes'."""
        return DenseVector(self._scored(value, "predictProbability")["probability"][0])

    def _scored(self, value: Vector, method: str) -> dict[str, Any]:
        """MLlib's three outputs for one Vector, by the executors' code (:func:`output_values`)."""
        scorer = self.scorer()
        if scorer.offset_col:
            raise ModelError(
                f"{method}: this model adds the offset column {scorer.offset_col!r} to every margin, "
                "which one Vector does not carry; score rows with transform"
            )
        add = output_values(scorer.decision, _outputs(OUTPUT_COLUMNS))
        columns = add(pa.table({}), scorer.margins(feature_row(value, self.numFeatures, method)))
        return {
            name: column.to_pylist() if isinstance(column, pa.Array) else column for name, column in columns.items()
        }

    def _transform(self, dataset: DataFrame) -> DataFrame:
        with param_origins():
            return self._scored_frame(dataset)

    def _scored_frame(self, dataset: DataFrame) -> DataFrame:
        scorer = self.scorer()
        names = {param: self.getOrDefault(param) for param in OUTPUT_COLUMNS}
        added = [name for name in names.values() if name]
        clash = sorted(set(added) & set(dataset.columns))
        if clash:
            raise InputError(f"transform: the input already has the output column(s) {clash}; rename them or set *Col")
        frame = scored(
            model_input(dataset, scorer), scorer, dataset.columns, _outputs(names), self.getOrDefault("handleInvalid")
        )
        vectors = {names["rawPredictionCol"], names["probabilityCol"]} - {""}
        return frame.select(
            *[array_to_vector(F.col(name)).alias(name) if name in vectors else F.col(name) for name in frame.columns]
        )

    def write(self) -> MLWriter:
        from .persistence import ModelWriter

        return ModelWriter(self)

    @classmethod
    def read(cls) -> MLReader[LogisticRegressionModel]:
        from .persistence import ModelReader

        return ModelReader()

    def to_mllib(self, path: str | None = None) -> MLlibModel:
        """This model as MLlib's ``LogisticRegressionModel``, made by writing MLlib's own model
        format (at ``path``, kept; else a temporary directory) and loading it with MLlib. It
        reads one Vector column (``getFeaturesCol()`` of the result): a model of named
        columns needs them assembled in :attr:`features` order."""
        from .persistence import to_mllib

        return to_mllib(self, path)


def _outputs(names: dict[str, str]) -> dict[str, Output]:
    """MLlib's output columns (before the Vector conversion: arrays of doubles)."""
    columns = {
        "rawPredictionCol": Output("margin", both_sides=True),
        "probabilityCol": Output("probability", both_sides=True),
        "predictionCol": Output("prediction"),
    }
    return {names[param]: output for param, output in columns.items() if names[param]}
