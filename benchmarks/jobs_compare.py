"""This project's three spark-submit jobs against the MLlib jobs a user would write instead, each a whole process.

    python benchmarks/jobs_compare.py [--rows 2000000] [--features 50] [--nonzeros K] [--master local[2]]
                                      [--driver-memory 12g] [--work /tmp/logreg_jobs_bench] [--repeats 2]
                                      [--reg-param 1e-3] [--cache spark|local] [--dtype float64|float32]
                                      [--json PATH]

For each size in --rows it writes synthetic Parquet data as benchmarks/compare.py does
(--features dense columns, or with --nonzeros K one sparse Spark ML Vector column of size
--features with about K non-zeros per row) unless already there, and reads every byte of
its files once, untimed, so that both sides find them in the page cache. Then it times,
wall-clock from start to exit of a separate Python process each (JVM start-up included,
as a user running the job sees it), on the same data:

- train: ``jobs/train.py --conf conf/local.toml`` with ``--set`` overrides (the data, L2
  with --reg-param, standardization off, tol 1e-6, --cache and --dtype, the model under
  --work, --master and --driver-memory), against ``benchmarks/mllib_jobs.py train``:
  Parquet, ``VectorAssembler`` (dense), ``LogisticRegression`` with the same objective
  (maxIter 100), fit and save;
- predict: ``jobs/predict.py --conf conf/predict.toml`` on the model our train wrote,
  against ``mllib_jobs.py predict``: load the model, ``transform``, write the input columns
  with probability and prediction as Parquet;
- evaluate: ``jobs/evaluate.py --conf conf/evaluate.toml`` (metrics.json, tables, plots),
  against ``mllib_jobs.py evaluate``: ``transform``, cache, areaUnderROC and areaUnderPR,
  logLoss and accuracy, written as JSON.

Each job runs --repeats times, the two sides alternating (which goes first alternates too);
the table shows the best (min) seconds, the JSON every run. It also compares this project's
preparation (``prepare_seconds`` in the trained model.json: reading, caching, summary) with
MLlib's set-up: the seconds of a second fit with maxIter = 0 on the same uncached assembled
DataFrame inside one more MLlib train process (``--setup-fit``; that process's time is not
reported). Below the Markdown table it prints both evaluations' ROC AUC and log loss: the
two models were trained separately, so these are shown, not checked.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from compare import Data, add_shared_arguments, dataset
from connect_compare import ROOT

JOBS = ("train", "predict", "evaluate")
SIDES = ("mllib", "ours")
#: What each of our jobs writes, by the conf key that says where.
OUTPUT_KEYS = {"train": "output.model_path", "predict": "output.path", "evaluate": "output.path"}
#: The evaluations compared: our metrics.json's name → the name mllib_jobs.py evaluate writes.
METRICS = {"roc_auc": "areaUnderROC", "pr_auc": "areaUnderPR", "log_loss": "logLoss", "accuracy": "accuracy"}


def run_process(command: list[str]) -> tuple[float, str]:
    """(wall-clock seconds, stdout) of ``command`` run from the repository root."""
    # not in Connect mode, as connect_compare.classic_job runs the training job
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[1:3])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, done.stdout


def outputs(work: Path, side: str) -> dict[str, Path]:
    """Where ``side``'s jobs write: the model, the predictions and the evaluation."""
    base = work / "jobs_out" / side
    return {"train": base / "model", "predict": base / "predictions", "evaluate": base / "evaluation"}


def feature_settings(data: Data) -> list[str]:
    if data.nonzeros:  # conf/local.toml lists the sample's feature columns: one source only
        return ["input.features=[]", 'input.features_col="features"']
    return ["input.features=" + json.dumps(data.names)]


def our_command(job: str, data: Data, args: argparse.Namespace, out: dict[str, Path]) -> list[str]:
    """``jobs/<job>.py`` with its conf file and the ``--set`` overrides for ``data``."""
    settings = [
        f"input.path={data.path}",
        f"{OUTPUT_KEYS[job]}={out[job]}",
        "output.mode=overwrite",
        f"spark.spark.master={args.master}",
        f"spark.spark.driver.memory={args.driver_memory}",
    ]
    if job == "train":
        settings += [
            *feature_settings(data),
            f"input.cache={args.cache}",
            f"model.reg_param={args.reg_param}",
            "model.standardization=false",
            "solver.tol=1e-6",
            f"solver.dtype={args.dtype}",
        ]
    else:
        settings.append(f"model.path={out['train']}")
    if job == "evaluate":
        settings.append('input.label_col="label"')
    conf = {"train": "local.toml", "predict": "predict.toml", "evaluate": "evaluate.toml"}[job]
    command = [sys.executable, str(ROOT / "jobs" / f"{job}.py"), "--conf", str(ROOT / "conf" / conf)]
    for setting in settings:
        command += ["--set", setting]
    return command


def mllib_command(job: str, data: Data, args: argparse.Namespace, out: dict[str, Path]) -> list[str]:
    """``benchmarks/mllib_jobs.py <job>`` on ``data``."""
    command = [sys.executable, str(ROOT / "benchmarks" / "mllib_jobs.py"), job, "--input", str(data.path)]
    command += ["--model", str(out["train"]), "--master", args.master, "--driver-memory", args.driver_memory]
    command += ["--reg-param", str(args.reg_param)] if job == "train" else ["--output", str(out[job])]
    return command + ([] if data.nonzeros else ["--features", ",".join(data.names)])


def read_once(data: Data) -> None:
    """Read every byte of the data's files, untimed: both sides then find them in the page cache."""
    for path in sorted(data.path.rglob("*")):
        if path.is_file():
            with path.open("rb") as f:
                while f.read(1 << 24):
                    pass


def last_json(stdout: str) -> dict:
    return json.loads(next(line for line in reversed(stdout.splitlines()) if line.startswith("{")))


def timed_runs(data: Data, args: argparse.Namespace, out: dict[str, dict[str, Path]]) -> tuple[dict, dict]:
    """Every job of both sides --repeats times: ({job: {side: [seconds, ...]}}, what the runs reported)."""
    seconds: dict[str, dict[str, list[float]]] = {job: {side: [] for side in SIDES} for job in JOBS}
    reported: dict[str, list] = {"ours_models": [], "mllib_iterations": []}
    commands = {"mllib": mllib_command, "ours": our_command}
    for repeat in range(args.repeats):
        order = SIDES if repeat % 2 == 0 else SIDES[::-1]
        for job in JOBS:
            for side in order:
                took, stdout = run_process(commands[side](job, data, args, out[side]))
                seconds[job][side].append(took)
                if job == "train" and side == "ours":
                    reported["ours_models"].append(json.loads((out["ours"]["train"] / "model.json").read_text()))
                elif job == "train":
                    reported["mllib_iterations"].append(last_json(stdout)["iterations"])
    return seconds, reported


def mllib_setup(data: Data, args: argparse.Namespace, out: dict[str, Path]) -> float:
    """MLlib's set-up: the in-process seconds of a fit with maxIter = 0 (``mllib_jobs.py train --setup-fit``)."""
    _, stdout = run_process([*mllib_command("train", data, args, out), "--setup-fit"])
    return last_json(stdout)["setup_seconds"]


def evaluations(out: dict[str, dict[str, Path]]) -> dict[str, dict[str, float]]:
    """Both sides' last evaluations, by the same names."""
    theirs = json.loads((out["mllib"]["evaluate"] / "metrics.json").read_text())
    ours = json.loads((out["ours"]["evaluate"] / "metrics.json").read_text())
    return {
        "mllib": {name: theirs[mllib_name] for name, mllib_name in METRICS.items()},
        "ours": {name: ours[name] for name in METRICS},
    }


def side_by_side(seconds: dict[str, list[float]]) -> dict:
    """Each side's best and all seconds, and the ratio of the bests (ours / MLlib)."""
    sides = {side: {"best": min(times), "all": times} for side, times in seconds.items()}
    return {**sides, "ratio": sides["ours"]["best"] / sides["mllib"]["best"]}


def measure(data: Data, args: argparse.Namespace) -> dict:
    read_once(data)
    out = {side: outputs(args.work, side) for side in SIDES}
    seconds, reported = timed_runs(data, args, out)
    setup = mllib_setup(data, args, out["mllib"])
    prepare = min(model["prepare_seconds"] for model in reported["ours_models"])
    result = {
        "rows": data.rows,
        "features": data.features,
        "nonzeros": data.nonzeros,
        "size": data.size,
        "jobs": {job: side_by_side(seconds[job]) for job in JOBS},
        "setup": {"mllib": setup, "ours": prepare, "ratio": prepare / setup},
        "ours_train": [
            {key: model[key] for key in ("solver", "passes", "prepare_seconds", "train_seconds")}
            for model in reported["ours_models"]
        ],
        "mllib_iterations": reported["mllib_iterations"],
        "evaluation": evaluations(out),
    }
    shutil.rmtree(args.work / "jobs_out", ignore_errors=True)
    return result


def table(results: list[dict]) -> str:
    lines = ["| rows × features | job | MLlib s | ours s | ours / MLlib |", "| --- | --- | ---: | ---: | ---: |"]
    for r in results:
        timings = {job: (t["mllib"]["best"], t["ours"]["best"], t["ratio"]) for job, t in r["jobs"].items()}
        timings["set-up / preparation"] = (r["setup"]["mllib"], r["setup"]["ours"], r["setup"]["ratio"])
        for job, (mllib, ours, ratio) in timings.items():
            lines.append(f"| {r['size']} | {job} | {mllib:.2f} | {ours:.2f} | {ratio:.2f} |")
    return "\n".join(lines)


def agreement(results: list[dict]) -> str:
    """Both evaluations side by side (separately trained models: shown, not checked)."""
    lines = []
    for r in results:
        m, o = r["evaluation"]["mllib"], r["evaluation"]["ours"]
        lines.append(
            f"{r['size']}: ROC AUC MLlib {m['roc_auc']:.6f}, ours {o['roc_auc']:.6f}; "
            f"log loss MLlib {m['log_loss']:.6f}, ours {o['log_loss']:.6f} "
            f"(MLlib {r['mllib_iterations'][-1]} iterations, ours {r['ours_train'][-1]['passes']} passes)"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_shared_arguments(parser, [2_000_000], Path("/tmp/logreg_jobs_bench"))  # --warm-up-rows: not used
    parser.add_argument("--reg-param", type=float, default=1e-3)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each job per side (best reported)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    args.work.mkdir(parents=True, exist_ok=True)
    results = [measure(dataset(args.work, rows, args.features, args.nonzeros), args) for rows in args.rows]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(table(results))
    print()
    print(agreement(results))


if __name__ == "__main__":
    main()
