"""The training job submitted to a real standalone cluster gives the local-mode model."""

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from cluster import VENV_BIN, executor_java_options, spark_env
from conftest import ROOT

from logreg_spark.app.config import load_conf
from logreg_spark.app.train import run


@pytest.mark.parametrize("cache", ["local", "spark"])
def test_cluster_model_equals_local_model(spark, cluster, tmp_path, cache):
    common = [
        "--set",
        f"input.path={ROOT / 'data' / 'sample'}",
        "--set",
        f"input.cache={cache}",
        "--set",
        "solver.name=lbfgs",
        "--set",
        "solver.tol=1e-9",
    ]
    result = subprocess.run(
        cluster.submit_command(
            str(ROOT / "jobs" / "train.py"),
            "--conf",
            str(ROOT / "conf" / "local.toml"),
            "--set",
            f"output.model_path={tmp_path / 'cluster_model'}",
            *common,
        ),
        cwd=tmp_path,
        env=spark_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    overrides = [item for item in common if item != "--set"]
    run(spark, load_conf([ROOT / "conf" / "local.toml"], [*overrides, f"output.model_path={tmp_path / 'local_model'}"]))
    on_cluster = pq.read_table(tmp_path / "cluster_model" / "coefficients").column("coefficient").to_numpy()
    in_local = pq.read_table(tmp_path / "local_model" / "coefficients").column("coefficient").to_numpy()
    np.testing.assert_allclose(on_cluster, in_local, rtol=1e-9)
    meta = json.loads((tmp_path / "cluster_model" / "model.json").read_text())
    assert meta["rows"] == 5000 and meta["converged"]


#: What the packed environment of docs/guide/clusters.md installs: what the package needs on the executors and the
#: driver, without matplotlib (the job must run without it).
PACKED = ["numpy", "pyarrow", "scipy", "pandas>=2.2,<3", "threadpoolctl", "venv-pack"]


def _pack(dist: Path) -> tuple[Path, Path]:
    """The packaging commands of docs/guide/clusters.md: the package as a zip, the executors' environment."""
    zipped, env, archive = dist / "logreg_spark.zip", dist / "env", dist / "logreg_spark_env.tar.gz"
    dist.mkdir()
    subprocess.run([sys.executable, "-m", "zipfile", "-c", str(zipped), "logreg_spark/"], cwd=ROOT, check=True)
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    subprocess.run(
        [str(env / "bin" / "pip"), "install", "--quiet", *PACKED],
        check=True,
        timeout=900,
    )
    subprocess.run(
        [str(env / "bin" / "venv-pack"), "-p", str(env), "-o", str(archive)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    return zipped, archive


def test_packaged_job_on_the_cluster_needs_nothing_installed(spark, cluster, tmp_path):
    """Driver and executors run an environment without logreg_spark or pyspark installed:
    the code comes from --py-files, NumPy and pyarrow from --archives."""
    zipped, archive = _pack(tmp_path / "dist")
    unpacked = tmp_path / "driver_env"  # the same archive, unpacked for the driver (client mode)
    unpacked.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="tar")
    check = subprocess.run(
        [str(unpacked / "bin" / "python"), "-c", "import logreg_spark"], cwd=tmp_path, capture_output=True
    )
    assert check.returncode != 0  # not installed there: only --py-files can provide it
    result = subprocess.run(
        [
            str(VENV_BIN / "spark-submit"),
            "--master",
            cluster.url,
            "--conf",
            "spark.executor.memory=1g",
            "--py-files",
            str(zipped),
            "--archives",
            f"{archive}#environment",
            "--conf",
            "spark.pyspark.python=./environment/bin/python",
            "--conf",
            f"spark.pyspark.driver.python={unpacked / 'bin' / 'python'}",
            *executor_java_options(),
            str(ROOT / "jobs" / "train.py"),
            "--conf",
            str(ROOT / "conf" / "local.toml"),
            "--set",
            f"input.path={ROOT / 'data' / 'sample'}",
            "--set",
            f"output.model_path={tmp_path / 'packaged'}",
        ],
        cwd=tmp_path,
        env=spark_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # spark-submit passes the Python driver's stderr on to its stdout
    assert "no loss picture: matplotlib cannot be imported" in result.stdout  # not in the shipped environment
    assert not (tmp_path / "packaged" / "loss.png").exists()
    run(spark, load_conf([ROOT / "conf" / "local.toml"], [f"output.model_path={tmp_path / 'local'}"]))
    packaged = pq.read_table(tmp_path / "packaged" / "coefficients").column("coefficient").to_numpy()
    local = pq.read_table(tmp_path / "local" / "coefficients").column("coefficient").to_numpy()
    np.testing.assert_allclose(packaged, local, rtol=1e-9)
