"""Convergence whatever the data's scaling: every fit checked against the true optimum.

A matrix of badly conditioned data (rare one-hot categories with Zipf
frequencies, real-valued sparse features from 1e-4 to 1e3, dense features on
scales 1e-6 … 1e6, strongly correlated dense features) × standardization ×
L2 / elastic net × binomial / multinomial × every solver, fitted with the
default tol. Each fit is certified in the original coordinates, by code that
shares nothing with the solvers (:mod:`optimum`): its gap to the optimum must
be below 1e-8 of the objective, and for L2 its objective no higher than
scikit-learn's (which often stops short on these data). Every solver must
reach it and say so. The passes each fit took are printed at the end of the run.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pyarrow as pa
import pytest
from helpers import family
from optimum import Problem
from pyspark.ml.linalg import Vectors
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from synthetic import lognormal_sparse, multiclass_labels, zipf_one_hot

from logreg_spark.app.config import Conf, InputConf, ModelConf, OutputConf, SolverConf
from logreg_spark.core.data import Block, Summary
from logreg_spark.core.engine import InMemoryEngine
from logreg_spark.core.objective import Objective
from logreg_spark.solvers import FitShape, gradient_descent, lbfgs, newton, resolve_solver
from logreg_spark.spark.reading import HASHED, with_hashed_features
from logreg_spark.training import fitting

#: (kind, family, standardization, alpha, solver, converged, passes, relative gap): printed at the end.
RECORDED: list[tuple] = []

REG_PARAM = 1e-3
#: What the certificate must show for a converged fit (the issue asks 1e-6 of converged = true,
#: and 1e-8 of every case).
GAP = 1e-8


def dense_scales(rows: int = 3000, seed: int = 3):
    """Eight dense features on scales 1e-6 … 1e6, each as predictive."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((rows, 8))
    y = (rng.random(rows) < 1 / (1 + np.exp(-(Z @ rng.standard_normal(8) - 0.5)))).astype(float)
    return Z * 10.0 ** np.linspace(-6, 6, 8), y


def correlated(rows: int = 3000, seed: int = 4):
    """Three pairs of features correlated at 0.9995, on different scales, not centred."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((rows, 6))
    Z[:, 1::2] = Z[:, ::2] + 0.03 * Z[:, 1::2]
    y = (rng.random(rows) < 1 / (1 + np.exp(-(Z @ rng.standard_normal(6))))).astype(float)
    return Z * np.array([1.0, 10.0, 0.1, 100.0, 1.0, 1.0]) + 5.0, y


KINDS = {
    "one-hot Zipf": lambda: zipf_one_hot(3000, 3, 500, seed=1),
    "lognormal sparse": lambda: lognormal_sparse(3000, 400, 8, seed=2),
    "dense scales 1e-6..1e6": dense_scales,
    "correlated dense": correlated,
}


@pytest.fixture(scope="module", params=list(KINDS))
def kind(request):
    X, y = KINDS[request.param]()
    return request.param, X, {0: y, 3: multiclass_labels(X, 3, seed=5)}


def _solve(solver: str, objective: Objective):
    theta0 = np.zeros(objective.n_params)
    if solver == "gd":
        return gradient_descent(
            objective, theta0, learning_rate=1.0, line_search=True, max_iter=2000, tol=SolverConf.tol
        )
    if solver == "lbfgs":
        return lbfgs(objective, theta0, memory=SolverConf.memory, max_iter=1000, tol=SolverConf.tol)
    return newton(objective, theta0, max_iter=100, tol=SolverConf.tol)


def _objective(problem: Problem) -> Objective:
    """The training objective of ``problem``, over its rows in memory."""
    X, y, w = problem.X, problem.y, problem.w
    return Objective.build(
        InMemoryEngine(X, y, w),
        Summary.of_block(Block(X, y, w)),
        reg_param=problem.reg_param,
        elastic_net_param=problem.elastic_net_param,
        standardization=problem.standardization,
        family=family(problem.classes),
    )


def _certify(problem: Problem, coef: np.ndarray, intercept) -> tuple[float, float]:
    """(objective, gap / objective) of a model, in the original coordinates."""
    value = problem.objective(coef, intercept)
    return value, problem.gap(coef, intercept) / value


def _scikit_learn_objective(problem: Problem) -> float:
    """scikit-learn's L2 optimum of the same objective (coefficients of X/σ when the penalty is on
    standardized coefficients), evaluated by the same textbook objective."""
    std = problem.std()
    scale = np.where(std > 0, std, 1.0) if problem.standardization else np.ones_like(std)
    X = problem.X @ sparse.diags_array(1.0 / scale) if sparse.issparse(problem.X) else problem.X / scale
    keep = np.flatnonzero(std > 0)
    sk = SkLogisticRegression(C=1.0 / (REG_PARAM * len(problem.y)), tol=1e-12, max_iter=20_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # it stops short on the badly scaled data
        sk.fit(X[:, keep], problem.y)
    coef = np.zeros((sk.coef_.shape[0], problem.X.shape[1]))
    coef[:, keep] = sk.coef_ / scale[keep]
    if problem.classes == 0:
        return problem.objective(coef[0], sk.intercept_[0])
    return problem.objective(coef, sk.intercept_)


@pytest.mark.parametrize("classes, standardization, alpha", list(itertools.product([0, 3], [False, True], [0.0, 0.5])))
def test_every_solver_reaches_the_optimum_or_says_it_did_not(kind, classes, standardization, alpha):
    name, X, labels = kind
    y = labels[classes]
    w = np.ones(len(y))
    problem = Problem(X, y, w, REG_PARAM, alpha, standardization, classes)
    reference = _scikit_learn_objective(problem) if alpha == 0 else None
    for solver in ("gd", "lbfgs", "newton"):
        objective = _objective(problem)
        # sparse multinomial rows sum Newton's Hessian block by block: beyond this the one-hot
        # cases' fits take a minute each (auto would not choose Newton for them)
        if solver == "newton" and objective.n_params > 1300:
            continue
        result = _solve(solver, objective)
        value, gap = _certify(problem, *objective.to_data(result.theta))
        RECORDED.append(
            (
                name,
                "multinomial" if classes else "binomial",
                standardization,
                alpha,
                solver,
                result.converged,
                objective.passes,
                gap,
            )
        )
        case = (name, classes, standardization, alpha, solver, result.reason, gap)
        assert result.converged, case
        assert gap <= GAP, case
        assert reference is None or value <= reference * (1 + GAP), (case, value, reference)


def _vectors(X: sparse.csr_array) -> list:
    return [
        Vectors.sparse(
            X.shape[1],
            X.indices[X.indptr[i] : X.indptr[i + 1]].tolist(),
            X.data[X.indptr[i] : X.indptr[i + 1]].tolist(),
        )
        for i in range(X.shape[0])
    ]


@pytest.fixture(scope="module")
def categories():
    """3000 rows of three Zipf-distributed categorical columns: codes and their one-hot matrix."""
    X, y = zipf_one_hot(3000, 3, 500, seed=7)
    codes = (X.indices.reshape(-1, 3) % 500).astype(np.int64)
    return X, y, codes


def _fit(spark, df, **input_conf):
    conf = Conf(
        input=InputConf(path="unused", **input_conf),
        model=ModelConf(family="binomial", reg_param=REG_PARAM, standardization=False),
        output=OutputConf(model_path="unused"),
    )
    return fitting.fit(df, conf)


def _check_job(X, y, model) -> None:
    problem = Problem(X, y, np.ones(len(y)), REG_PARAM, 0.0, False)
    value, gap = _certify(problem, model.coefficients, model.intercept)
    assert model.metadata["converged"], model.metadata["stop_reason"]
    assert gap <= GAP and value <= _scikit_learn_objective(problem) * (1 + GAP)
    assert model.metadata["optimality"] <= SolverConf.tol


def test_rare_categories_as_vectors_and_as_index_value_arrays(spark, categories):
    """The issue's case at test size: one-hot, most categories seen once or twice, no
    standardization, the default conf; the job used to stop at the null model."""
    X, y, _ = categories
    frame = spark.createDataFrame(list(zip(_vectors(X), y.tolist())), ["features", "label"])
    _check_job(X, y, _fit(spark, frame, features_col="features"))
    offsets = pa.array(X.indptr.astype(np.int32))
    table = pa.table(
        {
            "idx": pa.ListArray.from_arrays(offsets, pa.array(X.indices.astype(np.int32))),
            "val": pa.ListArray.from_arrays(offsets, pa.array(X.data)),
            "label": y,
        }
    )
    pairs = spark.createDataFrame(table.to_pandas())
    _check_job(X, y, _fit(spark, pairs, indices_col="idx", values_col="val", num_features=X.shape[1]))


def test_rare_categories_hashed(spark, categories):
    _, y, codes = categories
    columns = ["a", "b", "c"]
    frame = spark.createDataFrame(
        [(*[f"v{c}" for c in row], float(label)) for row, label in zip(codes.tolist(), y)], [*columns, "label"]
    )
    model = _fit(spark, frame, hash_features=columns, hash_dim=4096)
    hashed = [row[HASHED] for row in with_hashed_features(frame, columns, 4096).select(HASHED).collect()]
    X = sparse.csr_array(np.array([v.toArray() for v in hashed]))
    _check_job(X, y, model)


def pytest_terminal_summary_lines() -> list[str]:
    """The passes table (conftest prints it at the end of the run)."""
    lines = [
        "passes to the default tol (gap: certified distance to the optimum / objective)",
        "| data | family | standardization | α | solver | converged | passes | gap |",
        "| --- | --- | --- | ---: | --- | --- | ---: | ---: |",
    ]
    for name, kind, std, alpha, solver, converged, passes, gap in RECORDED:
        lines.append(
            f"| {name} | {kind} | {str(std).lower()} | {alpha} | {solver} | {str(converged).lower()} | "
            f"{passes} | {gap:.1e} |"
        )
    return lines if RECORDED else []


def _hard_cases():
    """The hard problems of benchmarks/hard_problems.py at test size: correlated (mixed and
    near-collinear) dense features, scikit-learn's digits (10 classes), 50 classes."""
    from hard_problems import binary_labels, mixed, near_collinear
    from sklearn.datasets import load_digits

    X = mixed(3000, 30, 1)
    yield "mixed", X, binary_labels(X, 1), 0, 1e-4
    X = near_collinear(3000, 30, 2)
    yield "near-collinear", X, binary_labels(X, 2), 0, 1e-4
    digits = load_digits()
    yield "digits", digits.data, digits.target.astype(float), 10, 1e-2
    X = mixed(3000, 10, 4)
    yield "50 classes", X, multiclass_labels(X, 50, seed=4), 50, 1e-3


HARD = list(_hard_cases())


@pytest.mark.parametrize("case", HARD, ids=[case[0] for case in HARD])
def test_auto_reaches_hard_problems_in_few_passes(case):
    """The solver ``auto`` picks for these rows reaches 1e-8 of the optimum within 50 passes with
    and without standardization, L2 and elastic net (L-BFGS: 30–400 passes)."""
    name, X, y, classes, reg_param = case
    w = np.ones(len(y))
    shape = FitShape(len(y), X.shape[1], max(classes, 1))
    for standardization, alpha in itertools.product([False, True], [0.0, 0.5]):
        objective = Objective.build(
            InMemoryEngine(X, y, w),
            Summary.of_block(Block(X, y, w)),
            reg_param=reg_param,
            elastic_net_param=alpha,
            standardization=standardization,
            family=family(classes),
        )
        solver = resolve_solver("auto", shape)
        result = _solve(solver, objective)
        value, gap = _certify(
            Problem(X, y, w, reg_param, alpha, standardization, classes), *objective.to_data(result.theta)
        )
        kind = f"{classes} classes" if classes else "binomial"
        RECORDED.append(
            (name, kind, standardization, alpha, f"auto ({solver})", result.converged, objective.passes, gap)
        )
        case_id = (name, standardization, alpha, solver, result.reason, objective.passes, gap)
        assert result.converged and gap <= GAP and objective.passes <= 50, case_id
