"""The evaluation job: a model and a labelled Parquet input → metrics, tables and pictures.

Writes to ``output.path``: ``metrics/`` (Parquet: metric, value), ``calibration/``
(Parquet: one row per bin), ``metrics.json`` (all of it, undefined values as
null), ``roc.png`` and ``calibration.png``. For a multinomial model:
``metrics/``, ``classes/`` (Parquet: per class weight, precision, recall, F1),
``confusion/`` (Parquet: label, prediction, weight) and ``metrics.json``.
Rows are weighted by ``input.weight_col`` when set. Scores are computed once
and cached; every metric is a sum over them computed by Spark, and the ranking
metrics are exact (see :mod:`logreg_spark.metrics`): no row is collected to
the driver.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from ..artifacts import plots
from ..artifacts.model_dir import read_model, write_small_parquet
from ..artifacts.paths import staged_directory
from ..core.metrics import CALIBRATION_BINS, calibration_bin, precision_recall_f1, threshold_metrics
from ..errors import InputError, shown_uri
from ..spark import expressions
from ..spark.blocks import LABEL, WEIGHT
from ..spark.expressions import label_checks
from ..spark.loaded_model import LoadedModel, check_not_features, deciding, model_input, with_offset_col
from ..spark.ranking import rankings
from ..spark.scoring import (
    Settle,
    checked_columns,
    expressible,
    labelled_check,
    labelled_columns,
    labels,
    margin_columns,
    row_checks,
    scored_batches,
    validate_rows,
)
from . import tracking
from .cli import job_main
from .config import EvaluateConf
from .opening import open_job

log = logging.getLogger(__name__)

_SCORED = "p double, y double, w double, loss double, bin long"
_SCORED_CLASSES = "y double, w double, loss double, prediction double"


def _score(df: DataFrame, conf: EvaluateConf, model: LoadedModel) -> tuple[DataFrame, Settle]:
    """Per valid row: the label, weight and log loss, with (binomial) the probability of label 1
    and its calibration bin, or (multinomial) the predicted class; and the ``input.invalid``
    policy to apply once an action over them ran (see :func:`~logreg_spark.spark.scoring.scored_once`:
    an expressible model's rows are scored and counted in Spark SQL, any other's in Python)."""
    check_not_features(model, {"input.label_col": conf.input.label_col, "input.weight_col": conf.input.weight_col})
    framed = labelled_columns(model_input(df, model), conf.input.label_col, conf.input.weight_col)
    family = model.family
    if expressible(model):
        rows = row_checks(model, *label_checks(conf.input.label_col, conf.input.weight_col, family.classes))
        margin = margin_columns(model)
        p, y = expressions.probabilities(family, margin), F.col(LABEL)
        scores = [y.alias("y"), F.col(WEIGHT).alias("w"), expressions.row_log_loss(family, margin, y).alias("loss")]
        if family.is_multinomial:
            scores.append(expressions.prediction(model.decision, p).alias("prediction"))
        else:
            bin_of_p = F.least((p[0] * CALIBRATION_BINS).cast("long"), F.lit(CALIBRATION_BINS - 1))
            scores = [p[0].alias("p"), *scores, bin_of_p.alias("bin")]
        return checked_columns(framed, rows, scores, conf.input.invalid)
    check = labelled_check(model, conf.input.label_col, conf.input.weight_col)
    validate_rows(framed, check, conf.input.invalid)

    def add(table: pa.Table, margin: np.ndarray) -> dict[str, np.ndarray]:
        y, w = labels(table)
        p = family.probabilities(margin)
        scores = {"y": y, "w": w, "loss": family.row_log_loss(margin, y)}
        if family.is_multinomial:
            return {**scores, "prediction": model.decision.classes(p)}
        return {"p": p, **scores, "bin": calibration_bin(p)}

    needed = [*model.input_columns, LABEL, WEIGHT]
    schema = _SCORED_CLASSES if family.is_multinomial else _SCORED
    return framed.select(*needed).mapInArrow(scored_batches(model, check, [], add), schema), lambda: None


def _ranking(scored: DataFrame, rows: int) -> tuple[float, float, np.ndarray]:
    """(ROC AUC, PR AUC, ROC points as (FPR, TPR) rows), exactly, over the ``rows`` scores sorted by Spark."""
    ranking = rankings(scored.select(F.lit(0).cast("long").alias("model"), "p", "y", "w"), rows, curve=True)[0]
    if math.isnan(ranking.roc_auc):
        log.warning("the input has only one class: ROC AUC and PR AUC are undefined")
    return ranking.roc_auc, ranking.pr_auc, ranking.curve


def _calibration(scored: DataFrame) -> list[dict[str, float]]:
    sums = {
        row.bin: row
        for row in scored.groupBy("bin")
        .agg(
            F.sum("w").alias("weight"),
            F.sum(F.col("w") * F.col("p")).alias("wp"),
            F.sum(F.col("w") * F.col("y")).alias("wy"),
            F.count("*").alias("rows"),
        )
        .collect()
    }
    table = []
    for b in range(CALIBRATION_BINS):
        row = sums.get(b)
        rows, weight, wp, wy = (row.rows, row.weight, row.wp, row.wy) if row else (0, 0.0, 0.0, 0.0)
        table.append(
            {
                "bin": b,
                "lower": b / CALIBRATION_BINS,
                "upper": (b + 1) / CALIBRATION_BINS,
                "rows": rows,
                "weight": weight,
                "mean_predicted": wp / weight if weight > 0 else math.nan,
                "observed_rate": wy / weight if weight > 0 else math.nan,
            }
        )
    return table


def _aggregate(scored: DataFrame, *sums: Column) -> Row:
    """The one row of ``sums`` over all of ``scored``."""
    row = scored.agg(*sums).first()
    assert row is not None, "an aggregation without grouping has exactly one row"
    return row


def evaluate(scored: DataFrame, threshold: float) -> dict[str, Any]:
    """All metrics of the scored rows (columns p, y, w, loss, bin) at ``threshold``."""
    positive, negative = F.col("w") * F.col("y"), F.col("w") * (1 - F.col("y"))
    predicted = F.col("p") > threshold
    totals = _aggregate(
        scored,
        F.count("*").alias("rows"),
        F.sum("w").alias("weight"),
        F.sum(F.col("w") * F.col("loss")).alias("loss"),
        F.sum(F.when(predicted, positive).otherwise(0.0)).alias("tp"),
        F.sum(F.when(predicted, negative).otherwise(0.0)).alias("fp"),
        F.sum(F.when(~predicted, negative).otherwise(0.0)).alias("tn"),
        F.sum(F.when(~predicted, positive).otherwise(0.0)).alias("fn"),
    )
    if not totals.rows:
        raise InputError("no rows to evaluate")
    roc_auc, pr_auc, curve = _ranking(scored, int(totals.rows))
    confusion = {name: float(totals[name]) for name in ("tp", "fp", "tn", "fn")}
    return {
        "rows": int(totals.rows),
        "weight": float(totals.weight),
        "threshold": threshold,
        "log_loss": totals.loss / totals.weight if totals.weight > 0 else math.nan,
        **threshold_metrics(**confusion),
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "confusion_matrix": confusion,
        "calibration": _calibration(scored),
        "roc_curve": curve,
    }


def evaluate_classes(scored: DataFrame, classes: int) -> dict[str, Any]:
    """Multiclass metrics of the scored rows (columns y, w, loss, prediction): log loss, accuracy,
    per-class precision, recall and F1, and the weighted confusion matrix (rows: label)."""
    totals = _aggregate(
        scored, F.count("*").alias("rows"), F.sum("w").alias("weight"), F.sum(F.col("w") * F.col("loss")).alias("loss")
    )
    if not totals.rows:
        raise InputError("no rows to evaluate")
    confusion = np.zeros((classes, classes))
    for cell in scored.groupBy("y", "prediction").agg(F.sum("w").alias("weight")).collect():
        confusion[int(cell.y), int(cell.prediction)] = cell.weight
    right = np.diag(confusion)
    per_class = [
        {
            "class": k,
            "weight": float(confusion[k].sum()),
            **precision_recall_f1(tp=right[k], fp=confusion[:, k].sum() - right[k], fn=confusion[k].sum() - right[k]),
        }
        for k in range(classes)
    ]
    return {
        "rows": int(totals.rows),
        "weight": float(totals.weight),
        "classes": classes,
        "log_loss": totals.loss / totals.weight if totals.weight > 0 else math.nan,
        "accuracy": float(right.sum() / confusion.sum()) if confusion.sum() > 0 else math.nan,
        "per_class": per_class,
        "confusion_matrix": confusion,
    }


def _json_ready(value: Any) -> Any:
    """NaN → null, arrays → lists, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_ready(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    return value


def _scalars(results: dict[str, Any], names: list[str]) -> pa.Table:
    return pa.table({"metric": names, "value": [float(results[name]) for name in names]})


def _binomial_outputs(results: dict[str, Any]) -> tuple[dict[str, pa.Table], dict[str, bytes | None]]:
    """The tables and pictures of a binomial evaluation (takes the ROC curve out of ``results``)."""
    curve, calibration = results.pop("roc_curve"), results["calibration"]
    scalars = _scalars(
        {**results, **results["confusion_matrix"]},
        [k for k in results if k not in ("confusion_matrix", "calibration")] + list(results["confusion_matrix"]),
    )
    pictures = {
        "roc.png": plots.roc_curve(curve[:, 0], curve[:, 1], results["roc_auc"]) if len(curve) else None,
        "calibration.png": plots.calibration(
            *(
                np.array([row[k] for row in calibration], dtype=float)
                for k in ("mean_predicted", "observed_rate", "weight")
            )
        ),
    }
    return {"metrics": scalars, "calibration": pa.Table.from_pylist(calibration)}, pictures


def _class_outputs(results: dict[str, Any]) -> tuple[dict[str, pa.Table], dict[str, bytes | None]]:
    """The tables of a multinomial evaluation."""
    confusion = results["confusion_matrix"]
    labels, predictions = np.indices(confusion.shape)
    return {
        "metrics": _scalars(results, ["rows", "weight", "classes", "log_loss", "accuracy"]),
        "classes": pa.Table.from_pylist(results["per_class"]),
        "confusion": pa.table(
            {"label": labels.ravel(), "prediction": predictions.ravel(), "weight": confusion.ravel()}
        ),
    }, {}


def run(spark: SparkSession, conf: EvaluateConf) -> str:
    """Evaluate the model on ``conf.input`` and write the results; return where they went."""
    target, df = open_job(spark, conf.input, conf.output.path, conf.output.mode, "output.path")
    model = with_offset_col(read_model(spark, conf.model.path), conf.input.offset_col, "input.offset_col")
    model = deciding(model, conf.model.threshold, conf.model.thresholds)
    scored, settle = _score(df, conf, model)
    scored = scored.persist()
    try:
        scored.count()  # reads the input once, into the cache, and counts its invalid rows
        settle()
        results = (
            evaluate_classes(scored, model.family.classes)
            if model.family.is_multinomial
            else evaluate(scored, model.threshold)
        )
    finally:
        scored.unpersist()
    tables, pictures = (_class_outputs if model.family.is_multinomial else _binomial_outputs)(results)
    with staged_directory(target, conf.output.mode, "output.path") as staging:
        for name, table in tables.items():
            write_small_parquet(table, staging.child(name))
        document = {"model": model.uri, "input": conf.input.path, **results}
        staging.child("metrics.json").write_text(json.dumps(_json_ready(document), indent=2) + "\n")
        for name, picture in pictures.items():
            if picture:
                staging.child(name).write_bytes(picture)
    tracking.log_evaluation(spark, conf, tables["metrics"], model.uri, target.uri)
    log.info(
        "log loss %.6g, accuracy %.4g on %d rows%s",
        results["log_loss"],
        results["accuracy"],
        results["rows"],
        "" if model.family.is_multinomial else f", ROC AUC {results['roc_auc']:.6g}",
    )
    return target.uri


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``jobs/evaluate.py``."""
    return job_main(
        argv,
        prog="evaluate",
        description="Evaluate a trained model on labelled Parquet data.",
        schema=EvaluateConf,
        work=lambda spark, conf: f"metrics written to {shown_uri(run(spark, conf))}",
    )
