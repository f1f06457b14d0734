"""Convergence on sparse, rare and badly scaled features: this project and MLlib against the optimum.

    python benchmarks/conditioning.py [--rows 200000] [--kinds onehot lognormal mixed ...] [--solvers lbfgs gd]
                                      [--reg-param 1e-3] [--hard-rows 20000] [--hard-solvers auto lbfgs]
                                      [--master local[2]] [--work /tmp/logreg_cond]

Two kinds of data, written as a sparse Spark ML Vector column (Parquet):

- ``onehot``: 10 categorical fields of rows/10 levels each (200,000 indicator
  features at 200,000 rows), levels drawn with Zipf frequencies, so most are
  seen once or twice or never (benchmarks/synthetic.py, zipf_one_hot);
- ``lognormal``: rows/2 real-valued features (100,000), 20 non-zeros per row,
  each on a scale from 1e-4 to 1e3 with lognormal values
  (synthetic.lognormal_sparse).

Each is fitted with L2, ``standardization = false`` (the usual choice for
such data) and the default tol 1e-6: by MLlib (maxIter 100, its default) and
by the training job with each solver in --solvers, from Parquet to a written
model. The optimum is scikit-learn's lbfgs on the same rows in original
coordinates (tol 1e-10), or the lowest objective any fit reached if lower.
The table gives passes (MLlib: iterations), whole-fit seconds, what each fit
reports, its objective and its gap to the optimum, relative.

The hard problems of benchmarks/hard_problems.py, at --hard-rows rows in dense Parquet
columns: ``mixed`` and ``near-collinear`` correlated features, ``digits`` (10 classes of
badly scaled pixels), ``3-classes`` and ``50-classes``, each with its own λ, L2,
standardization off and on; by MLlib (maxIter 100, family binomial or multinomial) and by
the training job with each solver of --hard-solvers. Each fit's gap is certified in the
original coordinates (tests/optimum.py: the Newton decrement), relative to its objective.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
from compare import Data, objective_value, our_fit, time_mllib
from hard_problems import Problem, cases
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sparse_data import write_csr
from synthetic import lognormal_sparse, write_parquet, zipf_one_hot

from logreg_spark.artifacts.model_dir import read_trained
from logreg_spark.spark.session import spark_session

#: The data of each kind for a number of rows; the width grows with the rows (as in the docstring at
#: the default 200,000 rows), so each feature is seen about as often at any size.
KINDS = {
    "onehot": lambda rows: zipf_one_hot(rows, 10, max(rows // 10, 10), seed=0),
    "lognormal": lambda rows: lognormal_sparse(rows, max(rows // 2, 20), 20, seed=0),
}


def optimum(X, y, reg_param: float) -> float:
    sk = SkLogisticRegression(C=1.0 / (reg_param * len(y)), tol=1e-10, max_iter=10_000).fit(X, y)
    return objective_value(X, y, sk.coef_[0], float(sk.intercept_[0]), reg_param)


def measure(spark, kind: str, rows: int, work: Path, reg_param: float, solvers: list[str]) -> dict:
    X, y = KINDS[kind](rows)
    data = Data(work / f"{kind}_{rows}", rows, X.shape[1], nonzeros=max(1, X.nnz // rows))
    if not data.path.exists():
        write_csr(data.path, X, y, files=8)
    time_mllib(spark, data, reg_param, 1, work / "mllib_model")  # new files: listing, page cache
    seconds, model = time_mllib(spark, data, reg_param, 100, work / "mllib_model")
    fits = [
        {
            "fit": "MLlib",
            "passes": model.summary.totalIterations,
            "whole": seconds,
            "reports": f"{model.summary.totalIterations} iterations",
            "objective": objective_value(X, y, model.coefficients.toArray(), model.intercept, reg_param),
        }
    ]
    out = work / "our_model"
    for solver in solvers:
        whole = our_fit(spark, data, reg_param, out, ("local", "float64"), solver)
        trained = read_trained(spark, str(out))
        objective = objective_value(X, y, trained.coefficients, float(trained.intercept), reg_param)
        fits.append(_our_row(trained.metadata, whole, objective))
        shutil.rmtree(out)
    best = min([optimum(X, y, reg_param)] + [f["objective"] for f in fits])
    for f in fits:
        f["gap"] = (f["objective"] - best) / best
    return {
        "kind": kind,
        "size": f"{rows:,} × {X.shape[1]:,}, {X.nnz / rows:.0f} per row",
        "optimum": best,
        "fits": fits,
    }


def _our_row(meta: dict, whole: float, objective: float) -> dict:
    """A row of the table for one of our fits, from its model's metadata."""
    return {
        "fit": f"logreg_spark ({meta['solver']})",
        "passes": meta["passes"],
        "whole": whole,
        "reports": f"converged: {str(meta['converged']).lower()}"
        + (f", optimality {meta['optimality']:.1e}" if "optimality" in meta else ""),
        "objective": objective,
    }


def hard_cases(rows: int) -> dict[str, tuple]:
    """The hard problems (name, X, y, classes (0: binomial), λ) by their names here."""
    return {case[0].replace(" ", "-"): case for case in cases(rows)}


#: The names of the hard problems (their data drawn at a token size).
HARD = list(hard_cases(20))


def measure_hard(spark, kind: str, case: tuple, work: Path, solvers: list[str]) -> list[dict]:
    """MLlib's and our fits of one hard problem, standardization off and on, each certified."""
    _, X, y, classes, reg_param = case
    data = Data(work / f"{kind}_{len(y)}", len(y), X.shape[1])
    if not data.path.exists():
        write_parquet(data.path, X, y, files=4)
    family = "multinomial" if classes else "binomial"
    time_mllib(spark, data, reg_param, 1, work / "mllib_model", family=family)  # the files into the page cache
    results = []
    for standardization in (False, True):
        problem = Problem(X, y, np.ones(len(y)), reg_param, 0.0, standardization, classes)
        mllib = {"family": family, "standardization": standardization}
        seconds, model = time_mllib(spark, data, reg_param, 100, work / "mllib_model", **mllib)
        coef, intercept = (
            (model.coefficientMatrix.toArray(), model.interceptVector.toArray())
            if classes
            else (model.coefficients.toArray(), np.array([model.intercept]))
        )
        iterations = model.summary.totalIterations
        fits = [
            {
                "fit": "MLlib",
                "passes": iterations,
                "whole": seconds,
                "reports": f"{iterations} iterations",
                "objective": problem.objective(coef, intercept),
                "gap": problem.gap(coef, intercept),
            }
        ]
        out = work / "our_model"
        for solver in solvers:
            whole = our_fit(spark, data, reg_param, out, ("local", "float64"), solver, standardization=standardization)
            trained = read_trained(spark, str(out))
            coef, intercept = trained.coefficients, np.atleast_1d(trained.intercept)
            row = _our_row(trained.metadata, whole, problem.objective(coef, intercept))
            fits.append({**row, "gap": problem.gap(coef, intercept)})
            shutil.rmtree(out)
        for f in fits:
            f["gap"] /= f["objective"]
        size = f"{len(y):,} × {X.shape[1]}" + (f", {classes} classes" if classes else "")
        size += f", λ {reg_param:g}, standardization {str(standardization).lower()}"
        results.append({"kind": kind, "size": size, "fits": fits})
    return results


def table(results: list[dict]) -> str:
    lines = [
        "| data | fit | passes | whole fit s | reports | objective | gap to optimum (rel.) |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in results:
        for f in r["fits"]:
            lines.append(
                f"| {r['kind']} {r['size']} | {f['fit']} | {f['passes']} | {f['whole']:.1f} | "
                f"{f['reports']} | {f['objective']:.8f} | {f['gap']:.1e} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--kinds", nargs="+", default=[*KINDS, *HARD], choices=[*KINDS, *HARD])
    parser.add_argument("--solvers", nargs="+", default=["lbfgs", "gd"], help="solver.name values to run")
    parser.add_argument("--reg-param", type=float, default=1e-3, help="λ of the sparse kinds")
    parser.add_argument("--hard-rows", type=int, default=20_000, help="rows of the hard problems (digits: 1,797)")
    parser.add_argument("--hard-solvers", nargs="+", default=["auto", "lbfgs"])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="12g")
    parser.add_argument("--work", type=Path, default=Path("/tmp/logreg_cond"))
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    spark = spark_session(
        {
            "spark.master": args.master,
            "spark.driver.memory": args.driver_memory,
            "spark.ui.showConsoleProgress": "false",
        },
        "logreg_spark conditioning benchmark",
    )
    started = time.perf_counter()
    try:
        sparse_kinds = [kind for kind in args.kinds if kind in KINDS]
        results = [measure(spark, kind, args.rows, args.work, args.reg_param, args.solvers) for kind in sparse_kinds]
        hard = hard_cases(args.hard_rows)
        for kind in (kind for kind in args.kinds if kind in hard):
            results += measure_hard(spark, kind, hard[kind], args.work, args.hard_solvers)
    finally:
        spark.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f"\n({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
