"""A Spark Connect server on 127.0.0.1, started from PySpark's own distribution, for the tests
(one per run) and benchmarks/compare.py --connect.

Stopped by its process id, nothing else touched. Its Python workers run this virtual
environment's interpreter.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


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


@contextmanager
def connect_server(workdir: Path, master: str = "local[2]", driver_memory: str = "1g") -> Iterator[str]:
    """Yield the ``sc://`` URL of a running server; stop exactly its process afterwards."""
    port = free_port()
    env = spark_env()
    env["PYSPARK_PYTHON"] = str(VENV_BIN / "python")
    command = [
        str(VENV_BIN / "spark-submit"),
        "--class",
        SERVER_CLASS,
        "--master",
        master,
        "--driver-memory",
        driver_memory,
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        "--conf",
        "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.sql.shuffle.partitions=4",
        "spark-internal",
    ]
    with open(workdir / "connect-server.log", "ab") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        deadline = time.monotonic() + 120
        while not _listening(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Spark Connect server did not start; see {workdir / 'connect-server.log'}")
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
