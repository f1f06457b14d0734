"""Tuning by cross-validation: this project's tuning job against MLlib's CrossValidator, side by side.

    python benchmarks/tune_compare.py [--rows 500000] [--features 50] [--nonzeros K] [--master local[2]]
                                      [--reg-params 1e-1 ... 1e-5] [--elastic-net-params 0 0.5] [--folds 3]
                                      [--parallelism 2] [--work /tmp/logreg_tune_bench] [--warm-up-rows 20000]

For each size in --rows it writes synthetic Parquet data as benchmarks/compare.py
does (the same generators and directory names: --features dense columns, or with
--nonzeros K one sparse Spark ML Vector column of size --features with about K
non-zeros per row; --mixing M correlates the dense columns, rows times I + M·N(0, 1))
unless already there, reads it once untimed (page cache), and
tunes on it the same grid of λ (--reg-params, default 10 values geometric from
1e-1 down to 1e-5) × α (--elastic-net-params, default 0 and 0.5) by --folds-fold
cross-validation scored by the held-out log loss, with the same objective
(standardization on, MLlib's default; --max-iter, --tol), both in one Spark session:

- MLlib: ``CrossValidator`` over ``LogisticRegression`` with a ``ParamGridBuilder``
  grid, ``MulticlassClassificationEvaluator(metricName="logLoss")`` and
  --parallelism, on the data read from Parquet, assembled into one Vector column
  (dense data), cached and counted, as a user would. Timed: reading, caching,
  ``CrossValidator.fit`` (every fold of every grid point, then the refit of the
  best on all rows) and saving the best model; the fit alone is reported too.
  The selection is ``cvModel.bestModel``'s (λ, α), its score ``avgMetrics``'.
- this project: the tuning job (``logreg_spark.app.tune.run``) with ``tune.reg_params``
  and ``tune.elastic_net_params`` the same grid, ``tune.folds`` = --folds,
  ``tune.metric = "log_loss"``. Timed: the whole ``run`` (reading, caching with
  fold ids, the shared-pass search, the refit of best/ and writing the outputs).
  The selection, its mean score and the passes are read from the written tune.json.

Before the first size each side runs once, untimed, on --warm-up-rows rows with the
first λ of the grid (and every α), so that JVM start-up and JIT compilation are not measured.

MLlib splits the folds at random (its seed), this project hashes them from each
row's values: the two see different folds, so their scores differ slightly. The
selections agree when they are the same (λ, α), or are one grid step apart (one
step of λ or of α) and on each side's own scores the other's choice is within
--tolerance (1e-3) of the best. It prints a Markdown table; --json writes the raw
results, every grid point's score from both sides included.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from pathlib import Path

import numpy as np
from compare import Data, add_shared_arguments, dataset
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.tuning import CrossValidator, ParamGridBuilder
from pyspark.sql import SparkSession

from logreg_spark.app import tune
from logreg_spark.app.config import ModelConf, SolverConf, TuneConf, TuneOutputConf, TuneSection
from logreg_spark.spark.session import spark_session

#: The default λ grid: 10 values geometric from 1e-1 down to 1e-5.
REG_PARAMS = [float(v) for v in np.geomspace(1e-1, 1e-5, 10)]
ELASTIC_NET_PARAMS = [0.0, 0.5]


def mllib_tune(spark: SparkSession, data: Data, grid: dict, args: argparse.Namespace, out: Path) -> dict:
    """MLlib's CrossValidator from Parquet to a saved best model: seconds, selection and scores."""
    started = time.perf_counter()
    frame = data.frame(spark).select("features", "label").cache()
    frame.count()
    cached = time.perf_counter()
    lr = LogisticRegression(family="binomial", maxIter=args.max_iter, tol=args.tol)
    maps = (
        ParamGridBuilder()
        .addGrid(lr.regParam, grid["reg_params"])
        .addGrid(lr.elasticNetParam, grid["elastic_net_params"])
        .build()
    )
    validator = CrossValidator(
        estimator=lr,
        estimatorParamMaps=maps,
        evaluator=MulticlassClassificationEvaluator(metricName="logLoss"),
        numFolds=grid["folds"],
        parallelism=args.parallelism,
        seed=args.seed,
    )
    model = validator.fit(frame)
    fitted = time.perf_counter()
    model.bestModel.write().overwrite().save(str(out))
    whole = time.perf_counter() - started
    frame.unpersist()
    scores = [
        {"reg_param": m[lr.regParam], "elastic_net_param": m[lr.elasticNetParam], "mean": float(metric)}
        for m, metric in zip(model.getEstimatorParamMaps(), model.avgMetrics)
    ]
    best = model.bestModel
    chosen = (best.getRegParam(), best.getElasticNetParam())
    mean = next(s["mean"] for s in scores if (s["reg_param"], s["elastic_net_param"]) == chosen)
    return {
        "whole": whole,
        "cache": cached - started,
        "fit": fitted - cached,
        "best": {"reg_param": chosen[0], "elastic_net_param": chosen[1], "mean": mean},
        "scores": scores,
        "refit_iterations": best.summary.totalIterations,
    }


def our_tune(spark: SparkSession, data: Data, grid: dict, args: argparse.Namespace, out: Path) -> dict:
    """The tuning job from Parquet to its written outputs: seconds, selection, scores and passes."""
    conf = TuneConf(
        input=data.input_conf(args.cache),
        model=ModelConf(family="binomial"),
        solver=SolverConf(max_iter=args.max_iter, tol=args.tol, dtype=args.dtype),
        tune=TuneSection(
            reg_params=grid["reg_params"],
            elastic_net_params=grid["elastic_net_params"],
            folds=grid["folds"],
            seed=args.seed,
            metric="log_loss",
        ),
        output=TuneOutputConf(path=str(out), mode="overwrite"),
    )
    started = time.perf_counter()
    tune.run(spark, conf)
    whole = time.perf_counter() - started
    document = json.loads((out / "tune.json").read_text())
    refit = json.loads((out / "best" / "model.json").read_text())
    best = document["best"]
    return {
        "whole": whole,
        "search": document["seconds"],
        # the job's phases, and the rest: opening the input, writing the outputs
        "phases": {**document["phase_seconds"], "rest": whole - sum(document["phase_seconds"].values())},
        "passes": document["passes"],
        "refit_passes": refit["passes"],
        "models": document["models"],
        "not_converged": document["not_converged"],
        "best": {k: best[k] for k in ("reg_param", "elastic_net_param", "mean", "std")},
        "scores": [{k: s[k] for k in ("reg_param", "elastic_net_param", "mean")} for s in document["scores"]],
    }


def _index(values: list[float], value: float) -> int:
    return next(i for i, v in enumerate(values) if math.isclose(v, value, rel_tol=1e-12))


def _score(scores: list[dict], point: tuple[int, int], grid: dict) -> float:
    """The mean score in ``scores`` of the grid point with indices ``point`` (λ, α)."""
    lam, alpha = grid["reg_params"][point[0]], grid["elastic_net_params"][point[1]]
    return next(
        s["mean"]
        for s in scores
        if math.isclose(s["reg_param"], lam, rel_tol=1e-12)
        and math.isclose(s["elastic_net_param"], alpha, rel_tol=1e-12)
    )


def agreement(mllib: dict, ours: dict, grid: dict, tolerance: float) -> dict:
    """Whether the two selections agree: the same point, or one grid step apart with each side's
    score of the other's choice within ``tolerance`` of its own best."""

    def point(best: dict) -> tuple[int, int]:
        return (
            _index(grid["reg_params"], best["reg_param"]),
            _index(grid["elastic_net_params"], best["elastic_net_param"]),
        )

    theirs, mine = point(mllib["best"]), point(ours["best"])
    steps = abs(theirs[0] - mine[0]) + abs(theirs[1] - mine[1])
    # how much worse the other side's choice scores on each side's own folds (≥ 0)
    ours_gap = _score(ours["scores"], theirs, grid) - ours["best"]["mean"]
    mllib_gap = _score(mllib["scores"], mine, grid) - mllib["best"]["mean"]
    if steps == 0:
        verdict = "yes (same)"
    elif steps == 1 and max(ours_gap, mllib_gap) <= tolerance:
        verdict = f"yes (1 step, Δ ≤ {tolerance:g})"
    else:
        verdict = f"no ({steps} steps)"
    return {"verdict": verdict, "steps": steps, "ours_gap": ours_gap, "mllib_gap": mllib_gap}


def read_once(spark: SparkSession, data: Data) -> None:
    """Read every column of new files once, untimed: file listing and page cache for both sides."""
    spark.read.parquet(str(data.path)).write.format("noop").mode("overwrite").save()


def measure(spark: SparkSession, data: Data, grid: dict, args: argparse.Namespace) -> dict:
    read_once(spark, data)
    mllib_out, our_out = args.work / "tune_mllib_best", args.work / "tune_ours"
    mllib = mllib_tune(spark, data, grid, args, mllib_out)
    ours = our_tune(spark, data, grid, args, our_out)
    shutil.rmtree(mllib_out, ignore_errors=True)
    shutil.rmtree(our_out, ignore_errors=True)
    return {
        "rows": data.rows,
        "features": data.features,
        "nonzeros": data.nonzeros,
        "size": data.size,
        "grid": grid,
        "mllib": mllib,
        "ours": ours,
        "ratio": ours["whole"] / mllib["whole"],
        "ratio_to_fit": ours["whole"] / mllib["fit"],
        "agreement": agreement(mllib, ours, grid, args.tolerance),
    }


def warm_up(spark: SparkSession, data: Data, grid: dict, args: argparse.Namespace) -> None:
    """Each side once on a small grid, so that JVM start-up and JIT compilation are not measured."""
    small = {**grid, "reg_params": grid["reg_params"][:1]}
    for side, out in ((mllib_tune, args.work / "tune_mllib_best"), (our_tune, args.work / "tune_ours")):
        side(spark, data, small, args, out)
        shutil.rmtree(out, ignore_errors=True)


def _point(best: dict) -> str:
    return f"({best['reg_param']:.3g}, {best['elastic_net_param']:g})"


def table(results: list[dict]) -> str:
    lines = [
        "| rows × features | grid | MLlib s | MLlib CV fit s | ours s | ours / MLlib | our passes | "
        "MLlib (λ, α) | MLlib log loss | ours (λ, α) | our log loss | agree |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: | --- |",
    ]
    for r in results:
        m, o, g = r["mllib"], r["ours"], r["grid"]
        grid = f"{len(g['reg_params'])} × {len(g['elastic_net_params'])}, {g['folds']} folds"
        lines.append(
            f"| {r['size']} | {grid} | {m['whole']:.2f} | {m['fit']:.2f} | {o['whole']:.2f} | {r['ratio']:.2f} | "
            f"{o['passes']} + {o['refit_passes']} | {_point(m['best'])} | {m['best']['mean']:.6f} | "
            f"{_point(o['best'])} | {o['best']['mean']:.6f} | {r['agreement']['verdict']} |"
        )
    lines += ["", "our phases, seconds: " + "; ".join(_phases(r["ours"]["phases"]) for r in results)]
    return "\n".join(lines)


def _phases(phases: dict[str, float]) -> str:
    return ", ".join(f"{phase} {seconds:.2f}" for phase, seconds in phases.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_shared_arguments(parser, [500_000], Path("/tmp/logreg_tune_bench"))
    parser.add_argument("--reg-params", type=float, nargs="+", default=REG_PARAMS, help="the λ grid")
    parser.add_argument("--elastic-net-params", type=float, nargs="+", default=ELASTIC_NET_PARAMS, help="the α grid")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--parallelism", type=int, default=2, help="CrossValidator's parallelism")
    parser.add_argument("--seed", type=int, default=0, help="CrossValidator's seed and tune.seed")
    parser.add_argument("--max-iter", type=int, default=SolverConf.max_iter, help="maxIter and solver.max_iter")
    parser.add_argument("--tol", type=float, default=SolverConf.tol, help="tol and solver.tol")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="score gap of selections one step apart")
    parser.add_argument("--mixing", type=float, default=0.0, help="dense columns correlated by I + mixing · N(0, 1)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    grid = {"reg_params": args.reg_params, "elastic_net_params": args.elastic_net_params, "folds": args.folds}
    settings = {"spark.master": args.master, "spark.driver.memory": args.driver_memory}
    spark = spark_session({**settings, "spark.ui.showConsoleProgress": "false"}, "logreg_spark tuning benchmark")
    try:
        warm_up(spark, dataset(args.work, args.warm_up_rows, args.features, args.nonzeros, args.mixing), grid, args)
        sizes = [dataset(args.work, rows, args.features, args.nonzeros, args.mixing) for rows in args.rows]
        results = [measure(spark, data, grid, args) for data in sizes]
    finally:
        spark.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
