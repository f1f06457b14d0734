"""Airflow DAG: train → evaluate → predict every day, each a ``spark-submit`` of a job in ``jobs/``.

Every path is templated with the run's date (``{{ ds }}``), so a run reads and
writes only its own ``dt=`` partitions, and a retry or a rerun repeats the
same work: outputs use ``output.mode = "overwrite"`` (each replaces exactly its
own directory, atomically) and training resumes from its checkpoints.

Settings come from the environment of the Airflow workers:

- ``LOGREG_SPARK_HOME``: a checkout of this project (default: the folder above this file);
- ``LOGREG_SPARK_DATA``: the root under which ``events/``, ``holdout/``, ``to_score/`` hold
  the daily ``dt=YYYY-MM-DD`` input partitions and ``models/``, ``evaluations/``,
  ``predictions/``, ``checkpoints/`` receive the outputs;
- ``LOGREG_SPARK_CONN``: the Airflow connection of the Spark cluster (default ``spark_default``);
- ``LOGREG_SPARK_PY_FILES`` / ``LOGREG_SPARK_ARCHIVES``: the packaged code and environment
  for a cluster (see the README, "Shipping to a cluster"); empty in local mode.

The conf files are ``conf/local.toml``, ``conf/evaluate.toml`` and ``conf/predict.toml``
of that checkout; edit them (features, penalty, Spark settings) for your data.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

HOME = Path(os.environ.get("LOGREG_SPARK_HOME", Path(__file__).resolve().parents[1]))
DATA = os.environ.get("LOGREG_SPARK_DATA", "s3a://my-bucket/logreg")
DAY = "dt={{ ds }}"


def spark_job(name: str, conf_file: str, overrides: dict[str, str]) -> SparkSubmitOperator:
    """``spark-submit jobs/<name>.py --conf conf/<conf_file> --set key=value ...``."""
    arguments = ["--conf", str(HOME / "conf" / conf_file)]
    for key, value in overrides.items():
        arguments += ["--set", f"{key}={value}"]
    return SparkSubmitOperator(
        task_id=name,
        conn_id=os.environ.get("LOGREG_SPARK_CONN", "spark_default"),
        application=str(HOME / "jobs" / f"{name}.py"),
        application_args=arguments,
        name=f"logreg_spark-{name}-{{{{ ds }}}}",
        py_files=os.environ.get("LOGREG_SPARK_PY_FILES") or None,
        archives=os.environ.get("LOGREG_SPARK_ARCHIVES") or None,
    )


with DAG(
    dag_id="logreg_spark_daily",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
    tags=["logreg_spark"],
) as dag:
    model = f"{DATA}/models/{DAY}"
    train = spark_job(
        "train",
        "local.toml",
        {
            "input.path": f"{DATA}/events/{DAY}",
            "output.model_path": model,
            "output.mode": "overwrite",
            "solver.checkpoint_path": f"{DATA}/checkpoints/{DAY}",
        },
    )
    evaluate = spark_job(
        "evaluate",
        "evaluate.toml",
        {
            "input.path": f"{DATA}/holdout/{DAY}",
            "model.path": model,
            "output.path": f"{DATA}/evaluations/{DAY}",
            "output.mode": "overwrite",
        },
    )
    predict = spark_job(
        "predict",
        "predict.toml",
        {
            "input.path": f"{DATA}/to_score/{DAY}",
            "model.path": model,
            "output.path": f"{DATA}/predictions/{DAY}",
            "output.mode": "overwrite",
        },
    )
    train >> evaluate >> predict
