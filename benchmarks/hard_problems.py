"""Passes to the optimum on hard problems: correlated dense features and many classes.

    python benchmarks/hard_problems.py [--rows 20000] [--tol 1e-6] [--solvers auto lbfgs]

In memory (the passes a fit takes do not depend on where its rows are), each case fitted by
every solver of --solvers from zero, standardization off and on, L2 (α = 0) and elastic net
(α = 0.5), to --tol (the default solver.tol). ``auto`` is what the training job would choose
for these rows on two cores (:func:`logreg_spark.solvers.resolve_solver`). Each fit is
certified in the original coordinates by the Newton decrement of the objective
(tests/optimum.py, which shares nothing with the solvers): the gap is that distance to the
optimum relative to the objective. Cases:

- ``mixed``: 30 Gaussian features multiplied by I + 0.3·N(0, 1), λ = 1e-4;
- ``near-collinear``: 30 features on scales 1e-2 … 1e2, half of them another one plus 1 % noise
  (correlation 0.99995), λ = 1e-4;
- ``digits``: scikit-learn's 8 × 8 digits, 10 classes, 64 pixels of 0 … 16, λ = 1e-2;
- ``3 classes`` and ``50 classes``: 20 mixed features, labels from a random softmax model,
  λ = 1e-4 and 1e-3.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from synthetic import multiclass_labels

from logreg_spark.core.data import Block, Summary
from logreg_spark.core.engine import InMemoryEngine
from logreg_spark.core.family import BINOMIAL, Family
from logreg_spark.core.objective import Objective
from logreg_spark.settings.schema import SolverConf
from logreg_spark.solvers import FitShape, lbfgs, newton, resolve_solver

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from optimum import Problem  # noqa: E402  (the tests' certificate of the optimum)

Case = tuple[str, np.ndarray, np.ndarray, int, float]  # name, X, y, classes (0: binomial), λ


def mixed(rows: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((rows, d)) @ (np.eye(d) + 0.3 * rng.standard_normal((d, d)))


def near_collinear(rows: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((rows, d))
    half = d // 2
    Z[:, half : 2 * half] = Z[:, :half] + 0.01 * Z[:, half : 2 * half]
    return Z * 10.0 ** rng.uniform(-2, 2, d) + 3.0


def binary_labels(X: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    standardized = (X - X.mean(axis=0)) / X.std(axis=0)
    margin = standardized @ rng.standard_normal(X.shape[1]) * 2 / np.sqrt(X.shape[1])
    return (rng.random(len(margin)) < 1 / (1 + np.exp(-margin))).astype(float)


def cases(rows: int) -> Iterator[Case]:
    X = mixed(rows, 30, 1)
    yield "mixed", X, binary_labels(X, 1), 0, 1e-4
    X = near_collinear(rows, 30, 2)
    yield "near-collinear", X, binary_labels(X, 2), 0, 1e-4
    digits = load_digits()
    yield "digits", digits.data, digits.target.astype(float), 10, 1e-2
    X = mixed(rows, 20, 3)
    yield "3 classes", X, multiclass_labels(X, 3, seed=3), 3, 1e-4
    X = mixed(rows, 20, 4)
    yield "50 classes", X, multiclass_labels(X, 50, seed=4), 50, 1e-3


SOLVERS: dict[str, Callable] = {
    "lbfgs": lambda objective, tol: lbfgs(
        objective, np.zeros(objective.n_params), memory=SolverConf.memory, max_iter=2000, tol=tol
    ),
    "newton": lambda objective, tol: newton(objective, np.zeros(objective.n_params), max_iter=200, tol=tol),
}


def measure(case: Case, standardization: bool, alpha: float, solver: str, tol: float) -> dict:
    name, X, y, classes, reg_param = case
    w = np.ones(len(y))
    family = Family.multinomial(classes) if classes else BINOMIAL
    chosen = resolve_solver(solver, FitShape(len(y), X.shape[1], family.n_margins, parallelism=2))
    objective = Objective.build(
        InMemoryEngine(X, y, w),
        Summary.of_block(Block(X, y, w)),
        reg_param=reg_param,
        elastic_net_param=alpha,
        standardization=standardization,
        family=family,
    )
    started = time.perf_counter()
    result = SOLVERS[chosen](objective, tol)
    seconds = time.perf_counter() - started
    coef, intercept = objective.to_data(result.theta)
    problem = Problem(X, y, w, reg_param, alpha, standardization, classes)
    value = problem.objective(coef, intercept)
    return {
        "case": f"{name}, {len(y):,} × {X.shape[1]}",
        "standardization": standardization,
        "alpha": alpha,
        "solver": solver if solver == chosen else f"{solver} ({chosen})",
        "passes": objective.passes,
        "reports": "converged" if result.converged else result.reason.split(":")[0],
        "gap": problem.gap(coef, intercept) / value,
        "seconds": seconds,
    }


def table(results: list[dict]) -> str:
    lines = [
        "| case | standardization | α | solver | passes | reports | gap to optimum (rel.) | seconds in memory |",
        "| --- | --- | ---: | --- | ---: | --- | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['case']} | {str(r['standardization']).lower()} | {r['alpha']} | {r['solver']} | {r['passes']} | "
            f"{r['reports']} | {r['gap']:.1e} | {r['seconds']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the synthetic cases (digits has 1,797)")
    parser.add_argument("--tol", type=float, default=SolverConf.tol)
    parser.add_argument("--solvers", nargs="+", default=["auto", "lbfgs"], choices=["auto", *SOLVERS])
    args = parser.parse_args()
    results = []
    for case in cases(args.rows):
        for standardization, alpha, solver in itertools.product([False, True], [0.0, 0.5], args.solvers):
            results.append(measure(case, standardization, alpha, solver, args.tol))
            print(table(results[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(results))


if __name__ == "__main__":
    main()
