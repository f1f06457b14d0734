"""The training job submitted to a real standalone cluster gives the local-mode model."""

import json
import subprocess

import numpy as np
import pyarrow.parquet as pq
import pytest

from cluster import VENV_BIN, spark_env, standalone_cluster
from conftest import ROOT
from logreg_spark.config import load_conf
from logreg_spark.train import run


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with standalone_cluster(tmp_path_factory.mktemp("cluster")) as url:
        yield url


@pytest.mark.parametrize("cache", ["local", "spark"])
def test_cluster_model_equals_local_model(spark, cluster, tmp_path, cache):
    common = ["--set", f"input.path={ROOT / 'data' / 'sample'}", "--set", f"input.cache={cache}",
              "--set", "solver.name=lbfgs", "--set", "solver.tol=1e-12"]
    result = subprocess.run(
        [str(VENV_BIN / "spark-submit"), "--master", cluster, "--conf", "spark.executor.memory=1g",
         "--conf", f"spark.pyspark.python={VENV_BIN / 'python'}",
         str(ROOT / "jobs" / "train.py"), "--conf", str(ROOT / "conf" / "local.toml"),
         "--set", f"output.model_path={tmp_path / 'cluster_model'}", *common],
        cwd=tmp_path, env=spark_env(), capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    overrides = [item for item in common if item != "--set"]
    run(spark, load_conf([ROOT / "conf" / "local.toml"], [*overrides, f"output.model_path={tmp_path / 'local_model'}"]))
    on_cluster = pq.read_table(tmp_path / "cluster_model" / "coefficients").column("coefficient").to_numpy()
    in_local = pq.read_table(tmp_path / "local_model" / "coefficients").column("coefficient").to_numpy()
    np.testing.assert_allclose(on_cluster, in_local, rtol=1e-9)
    meta = json.loads((tmp_path / "cluster_model" / "model.json").read_text())
    assert meta["rows"] == 5000 and meta["converged"]
