"""Faults on a real standalone cluster: a worker lost, the driver killed, the output storage full.

The tests use the run's cluster (conftest.py: a master and two workers on 127.0.0.1,
stopped by their pids); the one that kills a worker (its executor exits with it)
starts it anew. Jobs are spark-submits of ``jobs/train.py`` on the sample data with
a fixed number of gradient-descent iterations (``tol = 0``), so a disturbed run can
be compared with an undisturbed one iteration for iteration.
"""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from cluster import spark_env
from conftest import ROOT

FIXED_ITERATIONS = [
    "--set",
    "solver.name=gd",
    "--set",
    "solver.learning_rate=0.5",
    "--set",
    "solver.line_search=false",
    "--set",
    "solver.tol=0",
    "--set",
    "solver.max_iter=40",
]


def _submit(cluster, workdir: Path, model: Path, *extra: str) -> tuple[subprocess.Popen, Path]:
    """Start the job in a process group of its own; its output goes to a file (the driver's log)."""
    log = workdir / f"{model.name}-{time.monotonic_ns()}.log"
    command = cluster.submit_command(
        str(ROOT / "jobs" / "train.py"),
        "--conf",
        str(ROOT / "conf" / "local.toml"),
        "--set",
        f"input.path={ROOT / 'data' / 'sample'}",
        "--set",
        f"output.model_path={model}",
        *extra,
    )
    with open(log, "w") as out:
        job = subprocess.Popen(
            command, cwd=workdir, env=spark_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return job, log


def _finish(job: subprocess.Popen, log: Path) -> str:
    assert job.wait(timeout=600) == 0, log.read_text()[-3000:]
    return log.read_text()


def _wait_for(condition, job: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + 300
    while not condition():
        assert job.poll() is None, f"the job ended before {what}: " + log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"no {what}"
        time.sleep(0.05)


def _coefficients(model: Path) -> np.ndarray:
    return pq.read_table(model / "coefficients").column("coefficient").to_numpy()


@pytest.fixture(scope="module")
def undisturbed(cluster, tmp_path_factory) -> np.ndarray:
    workdir = tmp_path_factory.mktemp("undisturbed")
    _finish(*_submit(cluster, workdir, workdir / "model", *FIXED_ITERATIONS))
    return _coefficients(workdir / "model")


def test_output_storage_failing_mid_write_keeps_the_previous_model(cluster, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs as the failing output storage")
    store = tmp_path / "store"
    store.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(store)], check=True)
    try:
        model = store / "model"
        _finish(*_submit(cluster, tmp_path, model))
        before = {p.relative_to(model): p.read_bytes() for p in model.rglob("*") if p.is_file()}
        free = os.statvfs(store).f_bavail * os.statvfs(store).f_frsize
        (store / "filler").write_bytes(b"\0" * (free - 12 * 1024))  # room for the first files only
        job, log = _submit(cluster, tmp_path, model, "--set", "output.mode=overwrite")
        assert job.wait(timeout=600) != 0
        assert "logreg_spark: error:" in log.read_text()
        after = {p.relative_to(model): p.read_bytes() for p in model.rglob("*") if p.is_file()}
        assert after == before
        assert sorted(p.name for p in store.iterdir()) == ["filler", "model"]  # no staging left behind
    finally:
        subprocess.run(["umount", str(store)], check=True)


def test_a_killed_driver_restarted_resumes_to_the_same_coefficients(cluster, undisturbed, tmp_path):
    checkpoints = tmp_path / "checkpoints"
    resumable = [
        *FIXED_ITERATIONS,
        "--set",
        f"solver.checkpoint_path={checkpoints}",
        "--set",
        "solver.checkpoint_every=4",
    ]
    model = tmp_path / "model"
    job, log = _submit(cluster, tmp_path, model, *resumable)

    def checkpoint_written() -> bool:  # the first (iteration 4): the driver is killed with 36 iterations to go
        return any(checkpoints.glob("checkpoint-*.json"))

    try:
        _wait_for(checkpoint_written, job, log, "checkpoint")
    finally:
        os.killpg(job.pid, signal.SIGKILL)  # spark-submit and the Python driver: the group this test made
        job.wait()
    assert not model.exists()
    output = _finish(*_submit(cluster, tmp_path, model, *resumable))
    assert "resuming from" in output
    np.testing.assert_allclose(_coefficients(model), undisturbed, rtol=1e-12)
    history = pq.read_table(model / "history").column("iteration").to_pylist()
    assert history == list(range(41))


def test_a_lost_worker_changes_nothing_in_the_result(cluster, undisturbed, tmp_path):
    model = tmp_path / "model"
    job, log = _submit(cluster, tmp_path, model, *FIXED_ITERATIONS)
    _wait_for(lambda: "iteration 8:" in log.read_text(), job, log, "iteration 8")
    lost = cluster.workers[0]
    lost.send_signal(signal.SIGKILL)  # a worker this test's cluster started; its executor exits with it
    lost.wait()
    try:
        output = _finish(job, log)
        assert re.search(r"(?i)lost executor|executor.*(lost|removed)", output), "the worker loss was not noticed"
        np.testing.assert_allclose(_coefficients(model), undisturbed, rtol=1e-12)
        assert json.loads((model / "model.json").read_text())["rows"] == 5000
    finally:
        cluster.restart_worker(0)  # the cluster is the run's (conftest.py): whole again for the tests after this
