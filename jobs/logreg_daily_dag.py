"""Airflow DAG: train → evaluate → predict every day, each a ``spark-submit`` of a job in ``jobs/``;
optionally a second DAG that tunes the penalty every week for the daily training to use.

Every path is templated with the run's date (``{{ ds }}``), so a run reads and
writes only its own ``dt=`` partitions, and a retry or a rerun repeats the
same work: outputs use ``output.mode = "overwrite"`` (each replaces exactly its
own directory, atomically) and training resumes from its checkpoints.

Settings come from the environment of the Airflow workers:

- ``LOGREG_SPARK_HOME``: a checkout of this project (default: the folder above this file);
- ``LOGREG_SPARK_DATA``: the root under which ``events/``, ``holdout/``, ``to_score/`` hold
  the daily ``dt=YYYY-MM-DD`` input partitions and ``models/``, ``evaluations/``,
  ``predictions/``, ``checkpoints/`` (and ``tune/``) receive the outputs;
- ``LOGREG_SPARK_CONN``: the Airflow connection of the Spark cluster (default ``spark_default``);
- ``LOGREG_SPARK_PY_FILES`` / ``LOGREG_SPARK_ARCHIVES``: the packaged code and environment
  for a cluster (see docs/guide/clusters.md); empty in local mode;
- ``LOGREG_SPARK_TUNE``: ``1`` (or ``true``, ``yes``, ``on``) switches the weekly tuning on;
  unset, empty, ``0``, ``false``, ``no`` or ``off`` leave it off. Any other value fails the
  import of this file (an import error in Airflow's UI).

The conf files are ``conf/local.toml``, ``conf/evaluate.toml`` and ``conf/predict.toml``
of that checkout (and ``conf/tune.toml`` for the tuning); edit them (features, penalty,
Spark settings) for your data.

Weekly tuning (``LOGREG_SPARK_TUNE`` on). The DAG ``logreg_spark_weekly_tune`` (``@weekly``) has
one task, ``tune``: ``jobs/tune.py --conf conf/tune.toml`` on the run's ``events/dt={{ ds }}``
(one day of rows, as the daily training sees: the best penalty depends on the number of rows),
written to ``$LOGREG_SPARK_DATA/tune/`` with ``overwrite``, so that ``tune/tune.json`` always
holds the last completed tune's choice. The daily ``train`` task reads that ``tune.json`` each
time it starts, on the Airflow worker through Airflow's ``ObjectStoragePath`` (a local path as it
is; ``s3a://``, ``gs://`` … need their Airflow provider or fsspec library on the worker), and
appends ``--set model.reg_param=<best.reg_param> --set model.elastic_net_param=<best.elastic_net_param>``
to its command, overriding ``conf/local.toml``; its log names the values. Without a ``tune.json``
(before the first tune) it logs so and trains with the conf's values; a ``tune.json`` that is not
a tuning result (not JSON, no ``best``, a value out of range) fails the task with one line naming
the file and the key. Keep ``conf/tune.toml``'s ``[input]`` and ``[model]`` (features, family,
standardization) in step with ``conf/local.toml``, or the choice is made for another model.
With tuning off the second DAG does not exist and the daily training never reads ``tune/``.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

try:
    from airflow.sdk import DAG, ObjectStoragePath
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.io.path import ObjectStoragePath


def switch(name: str) -> bool:
    """An on/off setting of the environment; anything but the known words is an error."""
    value = os.environ.get(name, "").strip().lower()
    if value not in ("1", "true", "yes", "on", "", "0", "false", "no", "off"):
        raise ValueError(f"{name}={os.environ[name]!r}: expected 1, true, yes or on, or 0, false, no, off or nothing")
    return value in ("1", "true", "yes", "on")


HOME = Path(os.environ.get("LOGREG_SPARK_HOME", Path(__file__).resolve().parents[1]))
DATA = os.environ.get("LOGREG_SPARK_DATA", "s3a://my-bucket/logreg")
DAY = "dt={{ ds }}"
TUNE = f"{DATA}/tune"
TUNING = switch("LOGREG_SPARK_TUNE")


def tuned_overrides(tune_json: str) -> list[str]:
    """``--set`` arguments giving the training the choice in ``tune_json`` (``best.reg_param`` and
    ``best.elastic_net_param``, as ``jobs/tune.py`` writes them); none when there is no such file.

    Raises ``ValueError`` with one line naming the file for anything that is not a tuning result.
    """
    try:
        text = ObjectStoragePath(tune_json).read_bytes()
    except FileNotFoundError:
        return []
    try:
        document = json.loads(text)
    except ValueError as error:  # not JSON, or not UTF-8
        raise ValueError(f"{tune_json}: not JSON ({error})") from None
    best = document.get("best") if isinstance(document, dict) else None
    arguments = []
    for key, rule, valid in (
        ("reg_param", "a number >= 0", lambda v: 0 <= v < math.inf),
        ("elastic_net_param", "a number in [0, 1]", lambda v: 0 <= v <= 1),
    ):
        if not isinstance(best, dict) or key not in best:
            raise ValueError(f"{tune_json}: no best.{key}: not a tune.json written by jobs/tune.py")
        value = best[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not valid(value):
            raise ValueError(f"{tune_json}: best.{key} must be {rule}, not {value!r}")
        arguments += ["--set", f"model.{key}={float(value)!r}"]
    return arguments


class TunedSparkSubmitOperator(SparkSubmitOperator):
    """A ``SparkSubmitOperator`` whose arguments end, each time it runs, with ``tuned_overrides(tune_json)``."""

    def __init__(self, *, tune_json: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tune_json = tune_json

    def execute(self, context: Any) -> None:
        overrides = tuned_overrides(self.tune_json)
        if overrides:
            self.log.info("the last tune's choice, from %s: %s", self.tune_json, " ".join(overrides[1::2]))
        else:
            self.log.info(
                "no %s (no tune yet): model.reg_param and model.elastic_net_param as in the conf", self.tune_json
            )
        self.application_args = [*(self.application_args or []), *overrides]
        super().execute(context)


def spark_job(
    name: str, conf_file: str, overrides: dict[str, str], tune_json: str | None = None
) -> SparkSubmitOperator:
    """``spark-submit jobs/<name>.py --conf conf/<conf_file> --set key=value ...``, and with
    ``tune_json`` the ``--set`` of the tune's choice read from it when the task runs."""
    arguments = ["--conf", str(HOME / "conf" / conf_file)]
    for key, value in overrides.items():
        arguments += ["--set", f"{key}={value}"]
    settings: dict[str, Any] = {
        "task_id": name,
        "conn_id": os.environ.get("LOGREG_SPARK_CONN", "spark_default"),
        "application": str(HOME / "jobs" / f"{name}.py"),
        "application_args": arguments,
        "name": f"logreg_spark-{name}-{{{{ ds }}}}",
        "py_files": os.environ.get("LOGREG_SPARK_PY_FILES") or None,
        "archives": os.environ.get("LOGREG_SPARK_ARCHIVES") or None,
    }
    if tune_json:
        return TunedSparkSubmitOperator(tune_json=tune_json, **settings)
    return SparkSubmitOperator(**settings)


#: What both DAGs share: no backfill, one run at a time, two retries.
SCHEDULING = {
    "start_date": datetime(2026, 1, 1),
    "catchup": False,
    "max_active_runs": 1,
    "default_args": {"retries": 2, "retry_delay": timedelta(minutes=10)},
    "tags": ["logreg_spark"],
}

with DAG(dag_id="logreg_spark_daily", schedule="@daily", **SCHEDULING) as dag:
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
        tune_json=f"{TUNE}/tune.json" if TUNING else None,
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

if TUNING:
    with DAG(dag_id="logreg_spark_weekly_tune", schedule="@weekly", **SCHEDULING) as tune_dag:
        spark_job(
            "tune",
            "tune.toml",
            {"input.path": f"{DATA}/events/{DAY}", "output.path": TUNE, "output.mode": "overwrite"},
        )
