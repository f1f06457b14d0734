"""The MLlib jobs a user would write instead of this project's three (benchmarks/jobs_compare.py runs them).

    python benchmarks/mllib_jobs.py train    --input P --model M [--features x0,x1,...] [--reg-param 1e-3] [--setup-fit]
    python benchmarks/mllib_jobs.py predict  --input P --model M --output O [--features ...]
    python benchmarks/mllib_jobs.py evaluate --input P --model M --output O [--features ...]

``--features``: the dense columns, assembled into a Vector column ``features``; absent, the
input already has one. train fits ``LogisticRegression`` (L2, standardization off, tol 1e-6,
maxIter 100) and saves the model, then prints one JSON line: its iterations and, with
--setup-fit, the seconds of a second fit with maxIter = 0 on the same uncached DataFrame
(reading, caching the instances, the summary statistics: MLlib's set-up). predict writes the
input columns with ``probability`` and ``prediction`` as Parquet; evaluate writes areaUnderROC,
areaUnderPR, logLoss and accuracy to ``metrics.json`` in --output.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from pyspark.ml.classification import LogisticRegression, LogisticRegressionModel
from pyspark.ml.evaluation import BinaryClassificationEvaluator, MulticlassClassificationEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import DataFrame, SparkSession


def frame(spark: SparkSession, args: argparse.Namespace) -> DataFrame:
    """The input with a Vector column ``features`` (assembled from --features when given)."""
    df = spark.read.parquet(args.input)
    if not args.features:
        return df
    return VectorAssembler(inputCols=args.features.split(","), outputCol="features").transform(df)


def train(spark: SparkSession, args: argparse.Namespace) -> None:
    df = frame(spark, args)
    lr = LogisticRegression(regParam=args.reg_param, elasticNetParam=0.0, standardization=False, tol=1e-6, maxIter=100)
    model = lr.fit(df)
    model.write().overwrite().save(args.model)
    setup = None
    if args.setup_fit:
        started = time.perf_counter()
        lr.copy().setMaxIter(0).fit(df)
        setup = time.perf_counter() - started
    print(json.dumps({"iterations": model.summary.totalIterations, "setup_seconds": setup}))


def predict(spark: SparkSession, args: argparse.Namespace) -> None:
    scored = LogisticRegressionModel.load(args.model).transform(frame(spark, args)).drop("rawPrediction")
    if args.features:  # the assembled column is not an input column
        scored = scored.drop("features")
    scored.write.mode("overwrite").parquet(args.output)


def evaluate(spark: SparkSession, args: argparse.Namespace) -> None:
    scored = LogisticRegressionModel.load(args.model).transform(frame(spark, args)).cache()
    binary = BinaryClassificationEvaluator(rawPredictionCol="rawPrediction", labelCol="label")
    multiclass = MulticlassClassificationEvaluator(labelCol="label", predictionCol="prediction")
    metrics = {
        "areaUnderROC": binary.setMetricName("areaUnderROC").evaluate(scored),
        "areaUnderPR": binary.setMetricName("areaUnderPR").evaluate(scored),
        "logLoss": multiclass.setMetricName("logLoss").evaluate(scored),
        "accuracy": multiclass.setMetricName("accuracy").evaluate(scored),
    }
    scored.unpersist()
    out = Path(args.output)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


JOBS = {"train": train, "predict": predict, "evaluate": evaluate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job", choices=list(JOBS))
    parser.add_argument("--input", required=True, help="Parquet data with a label column")
    parser.add_argument("--model", required=True, help="the model directory (train writes it)")
    parser.add_argument("--output", help="predict's Parquet, evaluate's directory")
    parser.add_argument("--features", default="", help="dense feature columns, comma-separated")
    parser.add_argument("--reg-param", type=float, default=1e-3)
    parser.add_argument("--setup-fit", action="store_true", help="train: also time a fit with maxIter = 0")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="12g")
    args = parser.parse_args()
    if args.job != "train" and not args.output:
        parser.error(f"{args.job} needs --output")
    spark = (
        SparkSession.builder.master(args.master)
        .appName(f"MLlib {args.job}")
        .config("spark.driver.memory", args.driver_memory)
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    try:
        JOBS[args.job](spark, args)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
