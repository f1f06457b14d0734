"""The scoring job: a model directory and a Parquet input → Parquet with probabilities.

Output columns: the input's columns (``output.keep_cols``, default all), then
``probability`` (of label 1, double), ``prediction`` (1.0 when probability >
threshold, else 0.0, as MLlib), and with ``output.raw_margin`` the margin
``xᵀβ + b``. A multinomial model's ``probability`` and ``raw_margin`` are
arrays of K doubles (one per class) and ``prediction`` is the class of the
highest probability (divided by its ``model.thresholds``, when set). Each
partition is scored and written by its executor: in Spark SQL or
``mapInArrow`` (:mod:`~logreg_spark.spark.scoring`), or, where the input and
output are local Parquet files, read, scored and written by the tasks themselves
(:mod:`~logreg_spark.spark.scored_files`).
"""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession

from ..artifacts.model_dir import read_model
from ..artifacts.paths import staged_directory
from ..errors import InputError, shown_uri
from ..spark.loaded_model import deciding, model_input, with_offset_col
from ..spark.outputs import Output
from ..spark.reading import apply_invalid_policy
from ..spark.scored_files import direct_output, write_scored
from ..spark.scoring import scored_once
from .cli import job_main
from .config import PredictConf
from .opening import open_job

log = logging.getLogger(__name__)


def run(spark: SparkSession, conf: PredictConf) -> str:
    """Score ``conf.input`` and write it to ``conf.output.path``; return where it went."""
    target, df = open_job(spark, conf.input, conf.output.path, conf.output.mode, "output.path")
    model = with_offset_col(read_model(spark, conf.model.path), conf.input.offset_col, "input.offset_col")
    model = deciding(model, conf.model.threshold, conf.model.thresholds)
    keep = df.columns if conf.output.keep_cols is None else conf.output.keep_cols
    df = model_input(df, model, conf.input.reader)
    missing = [name for name in keep if name not in df.columns]
    if missing:
        raise InputError(f"output.keep_cols: {missing} not in the input (columns: {', '.join(df.columns)})")
    outputs = {"probability": Output("probability"), "prediction": Output("prediction")}
    if conf.output.raw_margin:
        outputs["raw_margin"] = Output("margin")
    clash = sorted(set(keep) & set(outputs))
    if clash:
        raise InputError(f"output.keep_cols: the input already has {clash}; leave them out of output.keep_cols")
    with staged_directory(target, conf.output.mode, "output.path") as staging:
        source = direct_output(df, model, keep, staging.uri, conf.input.reader)
        if source is None:
            scores, settle = scored_once(df, model, keep, outputs, conf.input.invalid)
            scores.write.parquet(staging.uri)
            settle()
        else:
            apply_invalid_policy(write_scored(df, source, model, keep, outputs, staging.uri), conf.input.invalid)
        # invalid rows with input.invalid = "error" raised: the staged output is removed
    log.info(
        "scored %s with the model at %s (%s)",
        conf.input.path,
        model.uri,
        f"{model.family.classes} classes" if model.family.is_multinomial else f"threshold {model.threshold:g}",
    )
    return target.uri


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``jobs/predict.py``."""
    return job_main(
        argv,
        prog="predict",
        description="Score a Parquet table with a trained model.",
        schema=PredictConf,
        work=lambda spark, conf: f"predictions written to {shown_uri(run(spark, conf))}",
    )
