"""What benchmarks/compare.py --connect adds: the session on a local Spark Connect server, and
this project's training job on classic Spark over the same data, whose seconds per pass the
Connect passes are compared with.

On Connect, MLlib trains on the server (pyspark.ml sends the fit there) and this project runs
its own passes from the client; both read the same Parquet files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def classic_job(data, reg_param: float, solver: str, storage: tuple[str, str], master: str, out: Path) -> dict:
    """model.json of the training job run on classic Spark (its own process) with ``compare.our_fit``'s settings."""
    cache, dtype = storage
    features = (
        f"input.features_col={data.input_conf(cache).features_col}"
        if data.nonzeros
        else ("input.features=" + json.dumps(data.names))
    )
    settings = [
        f"input.path={data.path}",
        features,
        f"input.cache={cache}",
        f"model.reg_param={reg_param}",
        "model.standardization=false",
        f"solver.name={solver}",
        "solver.tol=1e-6",
        f"solver.dtype={dtype}",
        f"output.model_path={out}",
        "output.mode=overwrite",
        f"spark.spark.master={master}",
    ]
    command = [sys.executable, str(ROOT / "jobs" / "train.py"), "--conf", str(ROOT / "conf" / "local.toml")]
    for setting in settings:
        command += ["--set", setting]
    # not in Connect mode, which this process is in (pyspark sets SPARK_CONNECT_MODE_ENABLED)
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode:
        raise RuntimeError(f"the classic training job failed: {done.stderr[-2000:]}")
    return json.loads((out / "model.json").read_text())


def pass_rows(results: list[dict]) -> str:
    """A Markdown table: seconds per pass of the same solver on Connect and on classic Spark."""
    lines = [
        "| rows × features | solver | Connect s/pass | classic s/pass | Connect / classic |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for result in results:
        for ours, classic in zip(result["ours"], result["classic"], strict=True):
            connect_pass, classic_pass = ours["per_pass"], classic["train_seconds"] / classic["passes"]
            lines.append(
                f"| {result['size']} | {ours['solver']} | {connect_pass:.3f} | {classic_pass:.3f} "
                f"| {connect_pass / classic_pass:.2f} |"
            )
    return "\n".join(lines)
