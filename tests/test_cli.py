"""``jobs/train.py`` as users run it: exit codes, one-line errors, the shipped sample conf."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT


def _train(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT")}
    return subprocess.run(
        [sys.executable, str(ROOT / "jobs" / "train.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_sample_conf_trains_and_says_where_the_model_went(tmp_path):
    model = tmp_path / "sample_model"
    result = _train(
        "--conf", "conf/local.toml", "--set", f"output.model_path={model}", "--set", "spark.spark.master=local[2]"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"model written to {model}"  # the same on Spark Connect
    meta = json.loads((model / "model.json").read_text())
    assert meta["converged"] and meta["rows"] == 5000
    assert "iteration 1: loss" in result.stderr


def test_config_error_is_one_line_and_starts_no_spark(tmp_path):
    started = time.perf_counter()
    result = _train(
        "--conf", "conf/local.toml", "--set", "solver.max_iter=-5", "--set", f"output.model_path={tmp_path / 'm'}"
    )
    assert result.returncode == 2
    assert result.stderr == "logreg_spark: error: --set: solver.max_iter must be >= 0 (got -5)\n"
    assert time.perf_counter() - started < 10  # no JVM was started
    assert not (tmp_path / "m").exists()


def test_bad_input_fails_with_one_line_and_no_output(tmp_path):
    result = _train(
        "--conf", "conf/local.toml", "--set", "input.label_col=churned", "--set", f"output.model_path={tmp_path / 'm'}"
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("logreg_spark: error: input.label_col: column 'churned' is not in the input")
    assert not (tmp_path / "m").exists()


def test_spark_submit_runs_the_same_job(tmp_path):
    venv_bin = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT")}
    env["PATH"] = f"{venv_bin}{os.pathsep}{env['PATH']}"  # as an activated virtual environment has it
    result = subprocess.run(
        [
            str(venv_bin / "spark-submit"),
            "--master",
            "local[1]",
            str(ROOT / "jobs" / "train.py"),
            "--conf",
            "conf/local.toml",
            "--set",
            f"output.model_path={tmp_path / 'm'}",
            "--set",
            "solver.max_iter=3",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["iterations"] == 3 and meta["rows"] == 5000


def test_the_console_command_runs_the_jobs_by_name(capsys):
    from logreg_spark.app import console, train

    assert console.JOBS["train"] is train.main
    with pytest.raises(SystemExit) as bad:
        console.main(["trian", "--conf", "conf/local.toml"])
    assert bad.value.code == 2 and "invalid choice: 'trian'" in capsys.readouterr().err


def test_connect_server_refuses_a_port_in_use(capsys):
    from logreg_spark.app import console

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert console.main(["connect-server", "--port", str(port)]) == 2
    assert capsys.readouterr().err == (
        f"logreg-spark: error: --port {port}: something already listens there; choose another port\n"
    )


def test_connect_server_command_serves_until_terminated_and_stops_its_server(tmp_path):
    """The documented one-liner: a server that a client reaches, gone with the command."""
    from logreg_spark.app.connect_server import free_port

    port = free_port()
    command = [str(Path(sys.executable).parent / "logreg-spark"), "connect-server", "--port", str(port)]
    with open(tmp_path / "server.err", "wb") as err:
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        line = server.stdout.readline()
        assert line == f"Spark Connect server listening at sc://127.0.0.1:{port} (Ctrl-C stops it)\n", line
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=90) == 0
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # the server's JVM is gone with it
