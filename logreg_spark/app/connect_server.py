"""A local Spark Connect server on 127.0.0.1, started from PySpark's own jars: ``logreg-spark
connect-server`` for trying the Connect path, and one per test run (tests/conftest.py) and
benchmark (benchmarks/compare.py --connect).

Each server is stopped by its own process id, nothing else touched. Its Python workers run this
interpreter (its virtual environment has what the tasks import).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ..errors import ConfigError

VENV_BIN = Path(sys.executable).parent
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
DEFAULT_PORT = 15002  # Spark Connect's own default
STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_env() -> dict[str, str]:
    """The environment of an activated virtual environment, on the loopback address."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT", "SPARK_REMOTE")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env['PATH']}"
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    return env


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _launch(
    port: int, master: str, driver_memory: str, log: IO[bytes] | None = None, cwd: Path | None = None
) -> subprocess.Popen:
    """The server's process, starting (``spark-submit`` of :data:`SERVER_CLASS`), its output
    to ``log`` (None: this process's)."""
    env = spark_env()
    env["PYSPARK_PYTHON"] = os.environ.get("PYSPARK_PYTHON", sys.executable)
    settings = {
        "spark.connect.grpc.binding.port": str(port),
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.log.level": "WARN",
    }
    command = [str(VENV_BIN / "spark-submit"), "--class", SERVER_CLASS, "--master", master]
    command += ["--driver-memory", driver_memory]
    for key, value in settings.items():
        command += ["--conf", f"{key}={value}"]
    stderr = None if log is None else subprocess.STDOUT
    return subprocess.Popen([*command, "spark-internal"], env=env, stdout=log, stderr=stderr, cwd=cwd)


def _wait_until_listening(server: subprocess.Popen, port: int, log_hint: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not _listening(port):
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Spark Connect server did not start{log_hint}")
        time.sleep(0.5)


def stop_server(server: subprocess.Popen) -> None:
    """Stop the server process ``server`` (SIGTERM, then SIGKILL after a minute)."""
    server.terminate()
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def start_server(
    port: int, log: Path, master: str = "local[2]", driver_memory: str = "1g", cwd: Path | None = None
) -> subprocess.Popen:
    """A server listening on ``port``, its output appended to ``log``; the caller stops it
    (:func:`stop_server`)."""
    with open(log, "ab") as output:
        server = _launch(port, master, driver_memory, output, cwd)
    try:
        _wait_until_listening(server, port, f"; see {log}")
    except BaseException:
        stop_server(server)
        raise
    return server


@contextmanager
def connect_server(workdir: Path, master: str = "local[2]", driver_memory: str = "1g") -> Iterator[str]:
    """Yield the ``sc://`` URL of a running server on a free port, its log in ``workdir``; stop
    exactly its process afterwards."""
    port = free_port()
    server = start_server(port, workdir / "connect-server.log", master, driver_memory, workdir)
    try:
        yield f"sc://127.0.0.1:{port}"
    finally:
        stop_server(server)


def serve(port: int = DEFAULT_PORT, master: str = "local[2]", driver_memory: str = "2g") -> int:
    """Run a server in the foreground (its warnings on this terminal) until Ctrl-C, SIGTERM or
    its end; the server is stopped with this process."""
    if _listening(port):
        raise ConfigError(f"--port {port}: something already listens there; choose another port")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = _launch(port, master, driver_memory)
    try:
        _wait_until_listening(server, port, " (its output is above)")
        print(f"Spark Connect server listening at sc://127.0.0.1:{port} (Ctrl-C stops it)", flush=True)
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop_server(server)
