"""The example DAG really runs: ``airflow dags test`` for one date, in Spark local mode.

Airflow and its Spark provider live in their own virtual environment (they
pin many packages of their own), made once and kept in
``$LOGREG_SPARK_AIRFLOW_ENV`` (default ``~/.cache/logreg_spark/airflow-<version>``).
The tasks run the ``spark-submit`` that PySpark installs in this project's
environment, found on PATH as an activated environment has it.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import ROOT

AIRFLOW = "apache-airflow==3.3.2"
PROVIDER = "apache-airflow-providers-apache-spark==6.3.4"
DAY = "2026-11-23"


@pytest.fixture(scope="module")
def airflow_bin() -> Path:
    default = Path.home() / ".cache" / "logreg_spark" / f"airflow-{AIRFLOW.split('==')[1]}"
    env = Path(os.environ.get("LOGREG_SPARK_AIRFLOW_ENV", default))
    if not (env / "bin" / "airflow").exists():
        shutil.rmtree(env, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
        subprocess.run([str(env / "bin" / "pip"), "install", "--quiet", AIRFLOW, PROVIDER], check=True, timeout=1200)
    return env / "bin"


def _dags_test(airflow_bin: Path, home: Path, data: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT")}
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "jobs"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": "local[2]"}),
            "LOGREG_SPARK_DATA": str(data),
        }
    )
    subprocess.run(
        [str(airflow_bin / "airflow"), "db", "migrate"], env=env, cwd=home, check=True, capture_output=True, timeout=300
    )
    return subprocess.run(
        [str(airflow_bin / "airflow"), "dags", "test", "logreg_spark_daily", DAY],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_daily_dag_trains_evaluates_and_predicts(airflow_bin, tmp_path):
    """One run; that a rerun of a date gives identical coefficients is tested in test_checkpoint.py."""
    data, home = tmp_path / "data", tmp_path / "airflow"
    home.mkdir()
    for source in ("events", "holdout", "to_score"):
        shutil.copytree(ROOT / "data" / "sample", data / source / f"dt={DAY}")
    result = _dags_test(airflow_bin, home, data)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "state=success" in result.stdout + result.stderr
    model = json.loads((data / "models" / f"dt={DAY}" / "model.json").read_text())
    assert model["rows"] == 5000 and model["converged"]
    metrics = json.loads((data / "evaluations" / f"dt={DAY}" / "metrics.json").read_text())
    assert metrics["rows"] == 5000 and 0.8 < metrics["roc_auc"] < 1
    predictions = pq.read_table(data / "predictions" / f"dt={DAY}")
    assert predictions.num_rows == 5000 and "probability" in predictions.column_names
    assert list((data / "checkpoints" / f"dt={DAY}").glob("checkpoint-*")) == []
