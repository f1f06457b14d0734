"""MLlib's logistic regression summaries: ``model.summary`` after ``fit`` and ``model.evaluate(df)``.

The classes, names, types and property/method split of pyspark.ml's
(``LogisticRegressionSummary``, ``BinaryLogisticRegressionSummary`` and their
``…TrainingSummary`` variants), with MLlib's numbers: the per-label and weighted
metrics of ``MulticlassMetrics``, the threshold curves of
``BinaryClassificationMetrics`` with 1,000 bins (:mod:`~logreg_spark.core.metrics`).
Lazy: nothing runs until a metric is asked for; then the per-label metrics come
from one aggregation of ``predictions`` by (label, prediction), and the curves
from the scores sorted by Spark (:func:`~logreg_spark.spark.ranking.binned_scores`).
Only sums and at most about 2,000 curve points reach the driver. Rows are
weighted by the model's ``weightCol`` when it is set and in the data (as
MLlib's); a row with a null label, or a null, NaN or negative weight, is an
:class:`~logreg_spark.errors.InputError` (with ``handleInvalid = "skip"``: left out).

Each class derives from pyspark.ml's class of the same name, so code that checks
``isinstance(summary, BinaryLogisticRegressionSummary)`` against pyspark's holds;
every member of those is defined here, none reaches their JVM object (there is none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from pyspark.ml import classification as mllib
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField, StructType

from ..core.metrics import LabelMetrics, ThresholdCurves
from ..errors import InputError
from ..spark.failures import user_errors
from ..spark.ranking import binned_scores
from .fit_report import FitReport


@dataclass(frozen=True)
class SummaryColumns:
    """The columns of ``predictions`` a summary reads; ``weight`` is "" when ``weightCol`` is unset."""

    probability: str
    prediction: str
    label: str
    features: str
    weight: str
    skip_invalid: bool


def _schema(*names: str) -> StructType:
    return StructType([StructField(name, DoubleType(), False) for name in names])


class LogisticRegressionSummary(mllib.LogisticRegressionSummary):
    """MLlib's ``LogisticRegressionSummary``: metrics of the model's ``transform`` of a labelled
    DataFrame (``predictions``, made by ``transform()`` on first use)."""

    def __init__(self, transform: Callable[[], DataFrame], columns: SummaryColumns) -> None:
        self._java_obj = None  # pyspark's JavaWrapper, which these never call
        self._transform, self._columns = transform, columns

    @cached_property
    def _predictions(self) -> DataFrame:
        return self._transform()

    @property
    def predictions(self) -> DataFrame:
        """The model's ``transform`` of the data."""
        return self._predictions

    @property
    def predictionCol(self) -> str:
        return self._columns.prediction

    @property
    def labelCol(self) -> str:
        return self._columns.label

    @property
    def weightCol(self) -> str:
        """The ``weightCol`` param, or (unset) MLlib's placeholder "weightCol"; rows weigh 1 unless
        it is set and in the data."""
        return self._columns.weight or "weightCol"

    @property
    def featuresCol(self) -> str:
        """The ``featuresCol`` param, as MLlib's; a model fitted on ``featureCols``, ``hashFeatures``
        or ``indicesCol``/``valuesCol`` read its features from those columns instead."""
        return self._columns.features

    @property
    def probabilityCol(self) -> str:
        return self._columns.probability

    def _label_and_weight(self) -> tuple[Column, Column, Column]:
        """The label (double), the weight and whether a row can be counted."""
        label = F.col(self.labelCol).cast("double")
        weighted = bool(self._columns.weight) and self._columns.weight in self.predictions.columns
        weight = F.col(self._columns.weight).cast("double") if weighted else F.lit(1.0)
        valid = label.isNotNull() & ~F.isnan(label) & weight.isNotNull() & ~F.isnan(weight) & (weight >= 0)
        return label, weight, valid

    @cached_property
    def _by_label(self) -> tuple[LabelMetrics, int]:
        """The per-label sums (one aggregation) and the number of rows counted."""
        label, weight, valid = self._label_and_weight()
        with user_errors():  # the first job over the predictions: a row that cannot be scored fails it
            cells = (
                self.predictions.groupBy(label.alias("y"), F.col(self.predictionCol).alias("p"), valid.alias("valid"))
                .agg(F.sum(weight).alias("w"), F.count("*").alias("n"))
                .collect()
            )
        if not self._columns.skip_invalid and any(not cell.valid for cell in cells):
            weighted = bool(self._columns.weight)
            params = "labelCol/weightCol" if weighted else "labelCol"
            bad = f"a null label {self.labelCol!r}" + (" or a null, NaN or negative weight" if weighted else "")
            raise InputError(f"{params}: rows with {bad} cannot be summarized (handleInvalid='skip' leaves them out)")
        kept = [cell for cell in cells if cell.valid]
        y, p, w = (np.array([cell[k] for cell in kept], dtype=float) for k in ("y", "p", "w"))
        return LabelMetrics.of_cells(y, p, w), sum(cell.n for cell in kept)

    @property
    def labels(self) -> list[float]:  # type: ignore[override]  # pyspark annotates list[str]; MLlib returns floats
        """The labels seen, ascending: the order of every ``…ByLabel`` list."""
        return self._by_label[0].labels.tolist()

    @property
    def truePositiveRateByLabel(self) -> list[float]:
        return self.recallByLabel

    @property
    def falsePositiveRateByLabel(self) -> list[float]:
        return self._by_label[0].false_positive_rate.tolist()

    @property
    def precisionByLabel(self) -> list[float]:
        return self._by_label[0].precision.tolist()

    @property
    def recallByLabel(self) -> list[float]:
        return self._by_label[0].recall.tolist()

    def fMeasureByLabel(self, beta: float = 1.0) -> list[float]:
        return self._by_label[0].f_measure(beta).tolist()

    @property
    def accuracy(self) -> float:
        """The weight of correctly predicted rows over all rows' weight."""
        return self._by_label[0].accuracy

    @property
    def weightedTruePositiveRate(self) -> float:
        return self.weightedRecall

    @property
    def weightedFalsePositiveRate(self) -> float:
        metrics = self._by_label[0]
        return metrics.weighted(metrics.false_positive_rate)

    @property
    def weightedRecall(self) -> float:
        metrics = self._by_label[0]
        return metrics.weighted(metrics.recall)

    @property
    def weightedPrecision(self) -> float:
        metrics = self._by_label[0]
        return metrics.weighted(metrics.precision)

    def weightedFMeasure(self, beta: float = 1.0) -> float:
        metrics = self._by_label[0]
        return metrics.weighted(metrics.f_measure(beta))


class LogisticRegressionTrainingSummary(LogisticRegressionSummary, mllib.LogisticRegressionTrainingSummary):
    """MLlib's ``LogisticRegressionTrainingSummary``: the summary of the training data, with
    MLlib's ``objectiveHistory`` and ``totalIterations`` and this project's record of the fit
    (:class:`FitReport`)."""

    def __init__(self, transform: Callable[[], DataFrame], columns: SummaryColumns, report: FitReport) -> None:
        super().__init__(transform, columns)
        self._report = report

    @property
    def objectiveHistory(self) -> list[float]:
        """The objective at the start and after each iteration."""
        return self._report.objectiveHistory

    @property
    def totalIterations(self) -> int:
        return self._report.totalIterations

    @property
    def passes(self) -> int:
        return self._report.passes

    @property
    def converged(self) -> bool:
        return self._report.converged

    @property
    def stopReason(self) -> str:
        return self._report.stopReason

    @property
    def optimality(self) -> float:
        return self._report.optimality

    @property
    def solver(self) -> str:
        return self._report.solver

    @property
    def coefficientStandardErrors(self) -> list[float] | None:
        return self._report.coefficientStandardErrors

    @property
    def zValues(self) -> list[float] | None:
        return self._report.zValues

    @property
    def pValues(self) -> list[float] | None:
        return self._report.pValues


class BinaryLogisticRegressionSummary(LogisticRegressionSummary, mllib.BinaryLogisticRegressionSummary):
    """MLlib's ``BinaryLogisticRegressionSummary``: with the threshold curves of the score, the
    probability of label 1 (labels above 0.5 count as positive)."""

    @property
    def scoreCol(self) -> str:
        return self.probabilityCol

    @cached_property
    def _curves(self) -> ThresholdCurves:
        label, weight, valid = self._label_and_weight()
        rows = self._by_label[1]  # and the invalid rows refused
        scores = self.predictions.where(valid).select(
            vector_to_array(F.col(self.scoreCol))[1].alias("p"),
            (label > 0.5).cast("double").alias("y"),
            weight.alias("w"),
        )
        return ThresholdCurves.of_bins(*binned_scores(scores, rows))

    def _frame(self, columns: list[np.ndarray], *names: str) -> DataFrame:
        rows = np.column_stack(columns).tolist()
        return self.predictions.sparkSession.createDataFrame(rows, _schema(*names))

    @property
    def roc(self) -> DataFrame:
        """(FPR, TPR) at each threshold, from (0, 0) to (1, 1)."""
        return self._frame(list(self._curves.roc.T), "FPR", "TPR")

    @property
    def areaUnderROC(self) -> float:
        return self._curves.area_under_roc

    @property
    def pr(self) -> DataFrame:
        """(recall, precision) at each threshold, from (0, 1)."""
        return self._frame(list(self._curves.pr.T), "recall", "precision")

    @property
    def fMeasureByThreshold(self) -> DataFrame:
        """(threshold, F-Measure), β = 1."""
        curves = self._curves
        return self._frame([curves.thresholds, curves.f_measure(1.0)], "threshold", "F-Measure")

    @property
    def precisionByThreshold(self) -> DataFrame:
        curves = self._curves
        return self._frame([curves.thresholds, curves.precision], "threshold", "precision")

    @property
    def recallByThreshold(self) -> DataFrame:
        curves = self._curves
        return self._frame([curves.thresholds, curves.recall], "threshold", "recall")


class BinaryLogisticRegressionTrainingSummary(
    BinaryLogisticRegressionSummary, LogisticRegressionTrainingSummary, mllib.BinaryLogisticRegressionTrainingSummary
):
    """MLlib's ``BinaryLogisticRegressionTrainingSummary``."""
