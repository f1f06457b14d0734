"""The sizing model's constants (docs/performance/sizing.md), measured on standalone clusters on this machine.

    python benchmarks/sizing.py [--rows 100000 400000] [--features 100000 1000000 10000000]
                                [--nonzeros 30] [--workers 1 2] [--work /tmp/logreg_bench] [--json PATH]
    python benchmarks/sizing.py --from-json PATH     # the tables again from a saved run

For each --workers count it starts a standalone cluster on 127.0.0.1 (tests/cluster.py: one
core per worker, its own executor JVM and Python workers), prepares every rows × features
dataset of the grid as a training job does, and times a pass by phase (pass_phases.phases).
At each width d, least squares over the rows and worker counts give

    pass seconds ≈ per_pass(d) + per_nnz(d) · nnz / workers

and the partials phase with one worker what one task's partial costs (``per_partial``). The
driver's step per pass is measured apart, from L-BFGS fits without Spark at each width (the same
solver code on a small in-process engine); the cache's bytes per non-zero from the prepared
data. Last, the model's projections (:func:`projected_pass`) for the sizes the docs discuss.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from compare import dataset
from pass_phases import phases
from scipy import sparse

from logreg_spark.core.data import Block, Summary
from logreg_spark.core.engine import InMemoryEngine
from logreg_spark.core.objective import Objective
from logreg_spark.core.sums import Layout, Sums
from logreg_spark.settings.schema import InputConf
from logreg_spark.solvers.lbfgs import lbfgs
from logreg_spark.spark.prepare import TrainingData
from logreg_spark.spark.session import spark_session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from cluster import standalone_cluster  # noqa: E402 - the tests' cluster helper

#: L-BFGS's memory (solver.memory's default): the driver keeps 2 m solver-sized vectors.
MEMORY = 10


class _TimedEngine:
    """An in-process engine that adds up the seconds its passes take."""

    def __init__(self, engine: InMemoryEngine) -> None:
        self.engine = engine
        self.seconds = 0.0

    def run(self, coef: np.ndarray, intercept: float | np.ndarray, layout: Layout) -> Sums:
        started = time.perf_counter()
        sums = self.engine.run(coef, intercept, layout)
        self.seconds += time.perf_counter() - started
        return sums

    def release(self) -> None:
        pass


def driver_step(d: int, rows: int = 5000, nonzeros: int = 30, seed: int = 0) -> float:
    """Seconds of the driver's own work per pass (everything but the passes) in an L-BFGS fit of
    width ``d`` on random sparse rows, as a wide job's driver does it."""
    rng = np.random.default_rng(seed)
    X = sparse.random_array((rows, d), density=nonzeros / d, format="csr", rng=rng, dtype=np.float64)
    y, w = (rng.random(rows) < 0.5).astype(float), np.ones(rows)
    engine = _TimedEngine(InMemoryEngine(X, y, w))
    objective = Objective.build(engine, Summary.of_block(Block(X, y, w)), reg_param=1e-4, standardization=False)
    started = time.perf_counter()
    lbfgs(objective, np.zeros(objective.n_params), memory=MEMORY, max_iter=2 * MEMORY, tol=1e-12)
    return (time.perf_counter() - started - engine.seconds) / objective.passes


def measure(args: argparse.Namespace, workers: int) -> list[dict]:
    """Phases of a pass over every dataset of the grid, on a cluster of ``workers`` workers."""
    results = []
    with tempfile.TemporaryDirectory() as workdir, standalone_cluster(Path(workdir), workers, "3g") as cluster:
        os.environ["PYSPARK_PYTHON"] = sys.executable
        settings = {
            "spark.master": cluster.url,
            "spark.driver.memory": "8g",
            "spark.executor.memory": "2g",
            "spark.executorEnv.PYTHONPATH": str(Path(__file__).resolve().parent),  # pass_phases' functions
        }
        spark = spark_session({**settings, "spark.ui.showConsoleProgress": "false"}, "logreg_spark sizing")
        try:
            for rows in args.rows:
                for d in args.features:
                    data_set = dataset(args.work, rows, d, args.nonzeros)
                    conf = data_set.input_conf(InputConf.cache)
                    data = TrainingData.prepare(spark.read.parquet(str(data_set.path)), conf, 0, "float64")
                    try:
                        measured = phases(data, args.repeats)
                        cache = data.cached_bytes() or 0
                    finally:
                        data.release()
                    nnz = rows * args.nonzeros
                    results.append({"workers": workers, "rows": rows, "d": d, "nnz": nnz, "cache": cache, **measured})
                    print(json.dumps(results[-1]), flush=True)
        finally:
            spark.stop()
    return results


def fit_constants(results: list[dict], steps: dict[int, float]) -> dict[int, dict[str, float]]:
    """The model's constants at each measured width d: least squares of ``pass ≈ per_pass +
    per_nnz · nnz / workers`` over the grid's rows and worker counts; ``per_partial``, what one
    task's partial cost (the partials phase with one worker); the driver's step; cache bytes
    per non-zero."""
    out = {}
    for d in sorted({r["d"] for r in results}):
        at = [r for r in results if r["d"] == d]
        A = np.array([[1.0, r["nnz"] / r["workers"]] for r in at])
        (per_pass, per_nnz), *_ = np.linalg.lstsq(A, np.array([r["pass"] for r in at]), rcond=None)
        out[d] = {
            "per_pass": float(per_pass),
            "per_nnz": float(per_nnz),
            "per_partial": float(np.mean([max(r["partials"], 0.0) for r in at if r["workers"] == 1])),
            "driver_step": steps[d],
            "cache_per_nnz": float(np.median([r["cache"] / r["nnz"] for r in at])),
        }
    return out


def projected_pass(constants: dict[int, dict[str, float]], executors: int, nnz: float, d: float) -> float:
    """Seconds per pass at a size, from the constants of the widest measured width scaled to ``d``:
    its d-sized costs (per pass, per partial, driver step) in proportion to d beyond the smallest
    width's fixed cost, the non-zeros shared by the executors, and a tree of depth 2 whose two
    levels each add up ⌈√executors⌉ partials one after another."""
    widest, narrowest = constants[max(constants)], constants[min(constants)]
    scale = d / max(constants)
    fixed = narrowest["per_pass"]
    fan_in = int(np.ceil(np.sqrt(executors)))
    return (
        fixed
        + (widest["per_pass"] - fixed) * scale
        + widest["per_nnz"] * nnz / executors
        + widest["per_partial"] * scale * 2 * max(fan_in - 1, 0)
        + widest["driver_step"] * scale
    )


def driver_bytes(d: float, classes: int = 1, models: int = 1) -> float:
    """The driver's arrays of one fit: the L-BFGS pairs (2 m vectors), about ten more vectors (point,
    gradient, direction, trial point, the received partials), per margin and per model sharing a pass."""
    return 8.0 * (2 * MEMORY + 10) * d * classes * models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 400_000])
    parser.add_argument("--features", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--nonzeros", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("/tmp/logreg_bench"))
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--from-json", type=Path, help="no measuring: the tables from a run saved with --json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.from_json:  # the tables again from a saved run
        saved = json.loads(args.from_json.read_text())
        results, steps = saved["results"], {int(d): s for d, s in saved["driver_step"].items()}
    else:
        steps = {d: driver_step(d) for d in args.features}
        results = [r for workers in args.workers for r in measure(args, workers)]
    constants = fit_constants(results, steps)
    if args.json:
        args.json.write_text(json.dumps({"results": results, "driver_step": steps}, indent=2))
    print("| workers | rows | d | fixed | point | sums | partials | pass | model | cache bytes / nnz |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        c = constants[r["d"]]
        model = c["per_pass"] + c["per_nnz"] * r["nnz"] / r["workers"]
        cells = " | ".join(f"{r[k]:.3f}" for k in ("fixed", "point", "sums", "partials", "pass"))
        print(f"| {r['workers']} | {r['rows']:,} | {r['d']:,} | {cells} | {model:.3f} | {r['cache'] / r['nnz']:.1f} |")
    print("\n| d | per pass s | per non-zero ns | per partial s | driver step s | cache bytes / nnz |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for d, c in constants.items():
        print(
            f"| {d:,} | {c['per_pass']:.3f} | {c['per_nnz'] * 1e9:.1f} | {c['per_partial']:.3f} | "
            f"{c['driver_step']:.3f} | {c['cache_per_nnz']:.1f} |"
        )
    print("\n| executors | rows | d | s/pass | driver GB | cache GB per executor |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    cache_per_nnz = constants[max(constants)]["cache_per_nnz"]
    for executors, rows, d in ((100, 10**9, 10**7), (100, 10**9, 2**24), (100, 10**9, 10**8), (1000, 10**10, 10**8)):
        nnz = rows * args.nonzeros
        seconds = projected_pass(constants, executors, nnz, d)
        cache = cache_per_nnz * nnz / executors / 1e9
        print(f"| {executors} | {rows:.0e} | {d:.2g} | {seconds:.2f} | {driver_bytes(d) / 1e9:.1f} | {cache:.1f} |")


if __name__ == "__main__":
    main()
