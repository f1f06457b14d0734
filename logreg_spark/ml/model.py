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

from dataclasses import dataclass, replace
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
from ..spark.outputs import Output, output_values
from ..spark.reading import HASHED
from ..spark.scoring import LoadedModel, model_input, scored
from .linalg import coefficient_vector, compressed, feature_row
from .params import OUTPUT_COLUMNS, LogisticRegressionParams


@dataclass(frozen=True)
class TrainingSummary:
    """How the fit went. The statistics (intercept last, as MLlib's GLM summary) exist for
    converged, unpenalized binomial fits with an intercept of at most 2,000 features."""

    objectiveHistory: list[float]
    totalIterations: int
    passes: int
    converged: bool
    stopReason: str
    optimality: float
    solver: str
    coefficientStandardErrors: list[float] | None
    zValues: list[float] | None
    pValues: list[float] | None


class LogisticRegressionModel(
    LogisticRegressionParams, ProbabilisticClassificationModel, MLReadable["LogisticRegressionModel"], MLWritable
):
    """A logistic regression fitted by :class:`~logreg_spark.ml.LogisticRegression` (or the
    training job): a ``ProbabilisticClassificationModel`` with MLlib's accessors, ``transform``,
    ``predict``/``predictRaw``/``predictProbability`` of one Vector, ``save``/``load`` of the
    jobs' model directory, and :meth:`to_mllib`. It has its estimator's uid, as in MLlib."""

    def __init__(self, trained: TrainedModel | None = None) -> None:
        super().__init__()
        self._trained = trained

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
    def hasSummary(self) -> bool:
        return bool(self.trained.history)

    @property
    def summary(self) -> TrainingSummary:
        model = self.trained
        if not model.history:
            raise ModelError("this model has no training history (a directory written without history/)")
        meta, stats = model.metadata, {name: values.tolist() for name, values in model.statistics.items()}
        return TrainingSummary(
            objectiveHistory=[rec.loss for rec in model.history],
            totalIterations=len(model.history) - 1,
            passes=int(meta.get("passes", model.history[-1].passes)),
            converged=bool(meta.get("converged")),
            stopReason=str(meta.get("stop_reason", "")),
            optimality=model.history[-1].grad_norm,
            solver=str(meta.get("solver", "")),
            coefficientStandardErrors=stats.get("std_error"),
            zValues=stats.get("z_value"),
            pValues=stats.get("p_value"),
        )

    def scorer(self) -> LoadedModel:
        """The model as the executors score with it: the features where training found them (a
        Vector or array model reads the ``featuresCol`` param), the ``threshold`` or
        ``thresholds`` param (one per class)."""
        found = scorer_of(self.trained, f"(model {self.uid})")
        spec = found.spec
        if spec.vector_col and spec.vector_col != HASHED and self.isSet(self.getParam("featuresCol")):
            spec = replace(spec, vector_col=self.getOrDefault("featuresCol"))
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
        add = output_values(scorer.decision, _outputs(OUTPUT_COLUMNS))
        columns = add(pa.table({}), scorer.margins(feature_row(value, self.numFeatures, method)))
        return {
            name: column.to_pylist() if isinstance(column, pa.Array) else column for name, column in columns.items()
        }

    def _transform(self, dataset: DataFrame) -> DataFrame:
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
