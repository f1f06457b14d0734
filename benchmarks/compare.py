"""This project against Spark MLlib's LogisticRegression, side by side in one Spark session.

    python benchmarks/compare.py [--rows 500000 2000000] [--features 50] [--nonzeros K] [--master local[2]]
                                 [--work /tmp/logreg_bench] [--reg-param 1e-3] [--cache spark|local]
                                 [--dtype float64|float32] [--warm-up-rows 20000] [--connect]

With --connect, everything below runs through a Spark Connect server started
for the run (logreg_spark/app/connect_server.py, with --master and --driver-memory):
MLlib trains on the server, this project runs its passes from the client. Each
of this project's fits is then also run as the training job on classic Spark,
and a second table compares the seconds per pass (benchmarks/connect_compare.py).

For each size it writes synthetic Parquet data (benchmarks/make_data.py's
generators) unless already there: --features dense columns, or with
--nonzeros K one sparse Spark ML Vector column of size --features with about K
non-zeros per row. Then it measures on the same data and objective (L2,
standardization = false, tol 1e-6):

- NumPy floor: one pass (X·θ, then Xᵀ(h − y)) over the whole matrix in this
  process, as the cached blocks hold it (column-major, or CSR when sparse);
- MLlib (after one untimed fit on the new files): a converged fit from Parquet to a saved model (whole fit), and fits
  with tol = 0 stopped at maxIter = 2 and 2 + 20 (best of two each):
  seconds per iteration = the slope between those two, set-up = what the
  short fit took beyond its iterations;
- this project: the training job from Parquet to a written model directory,
  once per solver in --solvers (default: auto, which is Newton on the dense
  data, and lbfgs, whose passes compare with MLlib's L-BFGS iterations);
  solvers that resolve to the same one run once (auto is lbfgs on more than
  100 features).

Both final objectives are evaluated by the same NumPy code. It prints a
Markdown table of seconds and the ratios ours/MLlib and ours/floor.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from connect_compare import classic_job, pass_rows
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import DataFrame, SparkSession
from scipy import sparse
from sparse_data import FEATURES, write_sparse_classification
from synthetic import write_classification

from logreg_spark.app.config import Conf, InputConf, ModelConf, OutputConf, SolverConf
from logreg_spark.app.connect_server import connect_server
from logreg_spark.app.train import run
from logreg_spark.core.data import Block, Summary
from logreg_spark.core.engine import InMemoryEngine
from logreg_spark.core.family import BINOMIAL
from logreg_spark.core.objective import Objective
from logreg_spark.core.sums import Features, Layout, block_sums
from logreg_spark.solvers import FitShape, resolve_solver
from logreg_spark.spark.blocks import FeatureSpec, Problems, feature_matrix
from logreg_spark.spark.session import spark_session


@dataclass(frozen=True)
class Data:
    """A benchmark dataset: ``features`` dense columns ``x0..``, or (``nonzeros`` > 0) one sparse
    Vector column of that size with about ``nonzeros`` non-zeros per row."""

    path: Path
    rows: int
    features: int
    nonzeros: int = 0

    @property
    def size(self) -> str:
        shape = f"{self.rows:,} × {self.features:,}"
        return f"{shape} sparse, {self.nonzeros} per row" if self.nonzeros else shape

    @property
    def names(self) -> list[str]:
        return [f"x{j}" for j in range(self.features)]

    def frame(self, spark: SparkSession) -> DataFrame:
        """The data with a Vector column ``features``, as MLlib takes it."""
        df = spark.read.parquet(str(self.path))
        return df if self.nonzeros else VectorAssembler(inputCols=self.names, outputCol="features").transform(df)

    def input_conf(self, cache: str) -> InputConf:
        if self.nonzeros:
            return InputConf(path=str(self.path), features_col=FEATURES, cache=cache)
        return InputConf(path=str(self.path), features=self.names, cache=cache)

    def arrays(self) -> tuple[Features, np.ndarray]:
        """``(X, y)`` in this process, X as the cached blocks hold it: column-major, or CSR."""
        table = pq.read_table(self.path)
        y = table.column("label").to_numpy().astype(np.float64)
        if self.nonzeros:
            return feature_matrix(table, FeatureSpec(vector_col=FEATURES, d=self.features), Problems())[0], y
        X = np.empty((table.num_rows, self.features), order="F")
        for j, name in enumerate(self.names):
            X[:, j] = table.column(name).to_numpy()
        return X, y


def nbytes(X: Features) -> int:
    """Bytes of a dense array, or of a CSR array's three arrays."""
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes if sparse.issparse(X) else X.nbytes


def numpy_floor(X: Features, y: np.ndarray, repeats: int = 3) -> float:
    layout, w, theta = Layout(X.shape[1], BINOMIAL), np.ones(len(y)), np.full(X.shape[1], 0.01)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        block_sums(X, y, w, theta, 0.1, layout)
        times.append(time.perf_counter() - started)
    return min(times)


def objective_value(X: Features, y: np.ndarray, coef: np.ndarray, intercept: float, reg_param: float) -> float:
    w = np.ones(len(y))
    objective = Objective.build(
        InMemoryEngine(X, y, w), Summary.of_block(Block(X, y, w)), reg_param=reg_param, standardization=False
    )
    return objective.evaluate(objective.scaling.from_data(coef, intercept)).total


def time_mllib(spark, data: Data, reg_param: float, max_iter: int, out: Path, tol: float = 1e-6, **settings):
    """Seconds and model of MLlib's fit (and write) with ``settings`` (MLlib's params) beside
    ``standardization=False, family="binomial"``."""
    params = {"standardization": False, "family": "binomial", **settings}
    started = time.perf_counter()
    model = LogisticRegression(regParam=reg_param, maxIter=max_iter, tol=tol, **params).fit(data.frame(spark))
    model.write().overwrite().save(str(out))
    return time.perf_counter() - started, model


def mllib_iteration_cost(
    spark, data: Data, reg_param: float, out: Path, short: int = 2, extra: int = 20
) -> tuple[float, float]:
    """(set-up seconds, seconds per iteration) of MLlib, from the slope between two fits
    that run a fixed number of iterations (tol = 0), best of two each."""

    def best(max_iter: int) -> tuple[float, int]:
        runs = [time_mllib(spark, data, reg_param, max_iter, out, tol=0.0) for _ in range(2)]
        return min(seconds for seconds, _ in runs), runs[0][1].summary.totalIterations

    short_seconds, short_iterations = best(short)
    long_seconds, long_iterations = best(short + extra)
    per_iteration = (long_seconds - short_seconds) / max(long_iterations - short_iterations, 1)
    return short_seconds - short_iterations * per_iteration, per_iteration


def dataset(work: Path, rows: int, features: int, nonzeros: int, mixing: float = 0.0) -> Data:
    """The dataset of this shape under ``work``, written unless already there; dense columns
    correlated by ``mixing`` (:class:`synthetic.LogisticModel`)."""
    kind = (f"_nonzeros_{nonzeros}" if nonzeros else "") + (f"_mixed_{mixing:g}" if mixing else "")
    data = Data(
        work / (f"rows_{rows}_features_{features}" + kind),
        rows,
        features,
        nonzeros,
    )
    if not data.path.exists():
        if nonzeros:
            write_sparse_classification(data.path, rows, features, nonzeros, files=16, seed=0, positive_rate=0.3)
        else:
            write_classification(
                data.path, rows, features, files=16, seed=0, condition=10.0, positive_rate=0.3, mixing=mixing
            )
    return data


def our_fit(
    spark, data: Data, reg_param: float, out: Path, storage: tuple[str, str], solver: str = "auto", **model
) -> float:
    """Seconds for the training job from Parquet to a written model; ``model``: more of the
    ``[model]`` section beside ``standardization = false``."""
    cache, dtype = storage
    conf = Conf(
        input=data.input_conf(cache),
        model=ModelConf(reg_param=reg_param, **{"standardization": False, **model}),
        solver=SolverConf(name=solver, tol=1e-6, dtype=dtype),
        output=OutputConf(model_path=str(out), mode="overwrite"),
    )
    started = time.perf_counter()
    run(spark, conf)
    return time.perf_counter() - started


def warm_up(spark, data: Data, work: Path, storage: tuple[str, str]) -> None:
    """One small fit of each, so that JVM start-up and JIT compilation are not measured."""
    time_mllib(spark, data, 0.0, 5, work / "mllib_model")
    our_fit(spark, data, 0.0, work / "our_model", storage)


def measure(spark, data: Data, work: Path, reg_param: float, storage: tuple[str, str], solvers: list[str]) -> dict:
    X, y = data.arrays()
    floor = numpy_floor(X, y)

    time_mllib(spark, data, reg_param, 1, work / "mllib_model")  # new files: listing, page cache
    mllib_setup, mllib_pass = mllib_iteration_cost(spark, data, reg_param, work / "mllib_model")
    full, model = time_mllib(spark, data, reg_param, 100, work / "mllib_model")
    result = {
        "rows": data.rows,
        "features": data.features,
        "nonzeros": data.nonzeros,
        "size": data.size,
        "x_bytes": nbytes(X),
        "numpy_pass": floor,
        "mllib": {
            "setup": mllib_setup,
            "per_pass": mllib_pass,
            "passes": model.summary.totalIterations,
            "whole": full,
            "objective": objective_value(X, y, model.coefficients.toArray(), model.intercept, reg_param),
        },
        "ours": [],
    }
    out = work / "our_model"
    for solver in solvers:
        whole = our_fit(spark, data, reg_param, out, storage, solver)
        meta = json.loads((out / "model.json").read_text())
        coefficients = pq.read_table(out / "coefficients").column("coefficient").to_numpy()
        result["ours"].append(
            {
                "storage": "{} cache, {}".format(*storage),
                "setup": meta["prepare_seconds"],
                "per_pass": meta["train_seconds"] / meta["passes"],
                "passes": meta["passes"],
                "whole": whole,
                "objective": objective_value(X, y, coefficients[:-1], coefficients[-1], reg_param),
                "solver": meta["solver"],
                "cache_bytes": meta["cache_bytes"],
            }
        )
        shutil.rmtree(out)
    return result


def table(results: list[dict]) -> str:
    lines = [
        "| rows × features | | set-up s | s/pass | passes | whole fit s | final objective | cache / X bytes |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        size = r["size"]
        m = r["mllib"]
        lines.append(
            f"| {size} | MLlib | {m['setup']:.2f} | {m['per_pass']:.3f} | {m['passes']} | "
            f"{m['whole']:.2f} | {m['objective']:.10f} | |"
        )
        for o in r["ours"]:
            cache = "" if o["cache_bytes"] is None else f"{o['cache_bytes'] / r['x_bytes']:.2f}"  # None: Connect
            lines.append(
                f"| {size} | logreg_spark ({o['solver']}, {o['storage']}) | {o['setup']:.2f} | "
                f"{o['per_pass']:.3f} | {o['passes']} | {o['whole']:.2f} | {o['objective']:.10f} | {cache} |"
            )
            lines.append(
                f"| {size} | {o['solver']} / MLlib | {o['setup'] / m['setup']:.2f} | "
                f"{o['per_pass'] / m['per_pass']:.2f} | | {o['whole'] / m['whole']:.2f} | "
                f"{(o['objective'] - m['objective']) / m['objective']:+.1e} (rel.) | |"
            )
            lines.append(f"| {size} | {o['solver']} / NumPy floor | | {o['per_pass'] / r['numpy_pass']:.1f} | | | | |")
        lines.append(f"| {size} | NumPy floor | | {r['numpy_pass']:.3f} | | | | |")
    if len(results) > 1:
        first, last = results[0], results[-1]
        growth = last["rows"] / first["rows"]
        lines.append("")
        for a, b in zip(first["ours"], last["ours"]):
            lines.append(
                f"{growth:g} × the rows: {a['solver']} whole fit × {b['whole'] / a['whole']:.2f} "
                f"(MLlib × {last['mllib']['whole'] / first['mllib']['whole']:.2f})."
            )
    return "\n".join(lines)


def add_shared_arguments(parser: argparse.ArgumentParser, rows: list[int], work: Path) -> None:
    """The options the benchmark scripts share: the data's size and kind, and where and how they run."""
    parser.add_argument("--rows", type=int, nargs="+", default=rows)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument(
        "--nonzeros",
        type=int,
        default=0,
        help="sparse data: about this many non-zeros per row of a Vector of size --features",
    )
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="12g")
    parser.add_argument("--work", type=Path, default=work)
    parser.add_argument("--cache", default=InputConf.cache, choices=["spark", "local"], help="input.cache")
    parser.add_argument("--dtype", default=SolverConf.dtype, choices=["float64", "float32"], help="solver.dtype")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--warm-up-rows", type=int, default=20_000, help="rows of the untimed first runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_shared_arguments(parser, [500_000, 2_000_000], Path("/tmp/logreg_bench"))
    parser.add_argument("--reg-param", type=float, default=1e-3)
    parser.add_argument("--solvers", nargs="+", default=["auto", "lbfgs"], help="solver.name values to run")
    parser.add_argument("--connect", action="store_true", help="run through a local Spark Connect server")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.connect:
        settings = {"spark.master": args.master, "spark.driver.memory": args.driver_memory}
        compare(spark_session({**settings, "spark.ui.showConsoleProgress": "false"}, "logreg_spark benchmark"), args)
        return
    with connect_server(args.work, args.master, args.driver_memory) as url:
        compare(SparkSession.builder.remote(url).getOrCreate(), args)


def compare(spark: SparkSession, args: argparse.Namespace) -> None:
    """Measure every size on ``spark`` and print the tables."""
    try:
        storage = (args.cache, args.dtype)
        shape = FitShape(max(args.rows), args.features, 1, parallelism=2)  # local[2]
        solvers = list(dict.fromkeys(resolve_solver(name, shape) for name in args.solvers))
        warm_up(spark, dataset(args.work, args.warm_up_rows, args.features, args.nonzeros), args.work, storage)
        results = []
        for rows in args.rows:
            data = dataset(args.work, rows, args.features, args.nonzeros)
            results.append(measure(spark, data, args.work, args.reg_param, storage, solvers))
            if args.connect:
                out = args.work / "classic_model"
                results[-1]["classic"] = [
                    classic_job(data, args.reg_param, solver, storage, args.master, out) for solver in solvers
                ]
    finally:
        spark.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(table(results))
    if args.connect:
        print()
        print(pass_rows(results))


if __name__ == "__main__":
    main()
