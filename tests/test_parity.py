"""The same answers as Spark MLlib, scikit-learn and statsmodels, fitted side by side."""

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest
import statsmodels.api as sm
from helpers import cached_items, family
from pyspark.ml.classification import LogisticRegression as MLlibLogisticRegression
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.linalg import Vectors
from scipy import sparse
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from logreg_spark.app.config import Conf, InputConf, ModelConf, OutputConf, SolverConf
from logreg_spark.core.data import Block, Summary
from logreg_spark.core.engine import InMemoryEngine
from logreg_spark.core.objective import Objective
from logreg_spark.spark.blocks import MAX_CLASSES
from logreg_spark.spark.prepare import TrainingData
from logreg_spark.training.fitting import fit_prepared


def _conf(features, cache="local", **model) -> Conf:
    return Conf(
        input=InputConf(path="-", features=features, weight_col="w", cache=cache),
        model=ModelConf(**model),
        solver=SolverConf(max_iter=1000, tol=1e-9),
        output=OutputConf(model_path="-"),
    )


def _objective_at(X, y, w, coef, intercept, model: ModelConf, classes: int = 0) -> tuple[float, float]:
    """Our objective at data-scale (coef, intercept), computed in this process, and the norm of
    its minimum-norm subgradient there (0 at the optimum)."""
    objective = Objective.build(
        InMemoryEngine(X, y, w),
        Summary.of_block(Block(X, y, w)),
        reg_param=model.reg_param,
        elastic_net_param=model.elastic_net_param,
        standardization=model.standardization,
        fit_intercept=model.fit_intercept,
        family=family(classes),
    )
    evaluation = objective.evaluate(objective.from_data(coef, intercept))
    return evaluation.total, objective.optimality(evaluation)


def _objective_value(X, y, w, coef, intercept, model: ModelConf) -> float:
    return _objective_at(X, y, w, coef, intercept, model)[0]


class Prepared:
    """A data set both as a cached TrainingData and as arrays, for several fits."""

    def __init__(self, spark, X, y, w, names, cache="local", dtype="float64", labels=2):
        self.X, self.y, self.w, self.names = X, y, w, names
        table = pa.table({**{n: X[:, j] for j, n in enumerate(names)}, "label": y, "w": w})
        self.df = spark.createDataFrame(table).repartition(3).cache()
        self.data = TrainingData.prepare(self.df, _conf(names, cache).input, 2, dtype, labels)

    def fit(self, solver="auto", **model):
        conf = _conf(self.names, **model)
        fitted = fit_prepared(self.data, replace(conf, solver=replace(conf.solver, name=solver)))
        return fitted.coefficients, fitted.intercept, fitted

    def release(self):
        self.data.release()
        self.df.unpersist()


def _synthetic(spark, weighted: bool, cache="local", dtype="float64") -> Prepared:
    rng = np.random.default_rng(2024)
    n, scales = 1200, np.array([0.01, 1.0, 100.0, 5.0, 0.3])
    X = rng.normal(size=(n, 5)) * scales + np.array([0.0, 3.0, -50.0, 0.0, 1.0])
    if dtype == "float32":  # MLlib gets the same rounded rows
        X = X.astype(np.float32).astype(np.float64)
    margin = (X - X.mean(0)) / scales @ np.array([1.0, -0.7, 0.4, 0.0, 0.8]) - 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-margin))).astype(float)
    w = rng.uniform(0.3, 3.0, n) if weighted else np.ones(n)
    prepared = Prepared(spark, X, y, w, [f"x{j}" for j in range(5)], cache, dtype)
    prepared.weighted = weighted
    prepared.mllib_df = VectorAssembler(inputCols=prepared.names, outputCol="features").transform(prepared.df)
    return prepared


@pytest.fixture(scope="module", params=["unweighted", "weighted"])
def synthetic(spark, request):
    prepared = _synthetic(spark, request.param == "weighted")
    yield prepared
    prepared.release()


@pytest.fixture(
    scope="module", params=[("spark", "float64"), ("local", "float32"), ("spark", "float32")], ids=lambda p: "-".join(p)
)
def stored(spark, request):
    prepared = _synthetic(spark, True, *request.param)
    yield prepared
    prepared.release()


GRID = [(lam, alpha) for lam in (0.0, 0.01, 0.1) for alpha in ((0.0,) if lam == 0 else (0.0, 0.5, 1.0))]


def _assert_matches_mllib(spark, prepared: Prepared, model: dict) -> None:
    reg_param, alpha = model["reg_param"], model["elastic_net_param"]
    standardization, fit_intercept = model["standardization"], model["fit_intercept"]
    coef, intercept, _ = prepared.fit(**model)
    mllib = MLlibLogisticRegression(
        regParam=reg_param,
        elasticNetParam=alpha,
        standardization=standardization,
        fitIntercept=fit_intercept,
        weightCol="w",
        maxIter=1000,
        tol=1e-12,
        family="binomial",
    ).fit(prepared.mllib_df)
    theirs_coef, theirs_intercept = mllib.coefficients.toArray(), mllib.intercept
    X, y, w = prepared.X, prepared.y, prepared.w
    ours_value = _objective_value(X, y, w, coef, intercept, ModelConf(**model))
    theirs_value = _objective_value(X, y, w, theirs_coef, theirs_intercept, ModelConf(**model))
    assert ours_value <= theirs_value * (1 + 1e-6)
    if mllib.summary.totalIterations < 1000:  # MLlib converged: the answers agree
        assert ours_value == pytest.approx(theirs_value, rel=1e-6)
        ours, theirs = np.append(coef, intercept), np.append(theirs_coef, theirs_intercept)
        np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=1e-4)


#: (standardization, fit_intercept): two of the four settings with unweighted rows, the other two weighted.
SETTINGS = {False: [(True, True), (False, False)], True: [(True, False), (False, True)]}


@pytest.mark.parametrize("reg_param, alpha", GRID)
@pytest.mark.parametrize("setting", [0, 1])
def test_matches_mllib(spark, synthetic, reg_param, alpha, setting):
    """Every (λ, α, standardization, intercept) of the grid once, with weighted or unweighted rows."""
    standardization, fit_intercept = SETTINGS[synthetic.weighted][setting]
    _assert_matches_mllib(
        spark,
        synthetic,
        dict(
            reg_param=reg_param, elastic_net_param=alpha, standardization=standardization, fit_intercept=fit_intercept
        ),
    )


@pytest.mark.parametrize("reg_param, alpha, standardization", [(0.0, 0.0, True), (0.01, 0.5, False)])
def test_matches_mllib_with_every_storage_option(spark, stored, reg_param, alpha, standardization):
    _assert_matches_mllib(
        spark,
        stored,
        dict(reg_param=reg_param, elastic_net_param=alpha, standardization=standardization, fit_intercept=True),
    )


class SparsePrepared(Prepared):
    """Wide data with ~3% non-zeros in a column of sparse Spark ML Vectors (kept as CSR blocks)."""

    def __init__(self, spark, rows=2000, d=300, seed=7):
        rng = np.random.default_rng(seed)
        X = np.where(rng.random((rows, d)) < 0.03, rng.exponential(2.0, (rows, d)), 0.0)
        beta = rng.normal(size=d) * (rng.random(d) < 0.2)
        y = (rng.random(rows) < 1 / (1 + np.exp(-(X @ beta * 0.5 - 0.5)))).astype(float)
        w = rng.uniform(0.5, 2.0, rows)
        self.X, self.y, self.w, self.names = X, y, w, [f"features[{j}]" for j in range(d)]
        vectors = [Vectors.sparse(d, {int(j): float(X[i, j]) for j in np.flatnonzero(X[i])}) for i in range(rows)]
        self.df = spark.createDataFrame(list(zip(vectors, y.tolist(), w.tolist())), ["features", "label", "w"])
        self.df = self.df.repartition(3).cache()
        conf = InputConf(path="-", features_col="features", weight_col="w")
        self.data = TrainingData.prepare(self.df, conf, 2)
        self.mllib_df = self.df


@pytest.fixture(scope="module")
def sparse_data(spark):
    prepared = SparsePrepared(spark)
    yield prepared
    prepared.release()


@pytest.mark.parametrize("reg_param, alpha, standardization", [(0.01, 0.0, True), (0.005, 0.5, False)])
def test_matches_mllib_on_sparse_vectors(spark, sparse_data, reg_param, alpha, standardization):
    handles = [item[0] for item in cached_items(sparse_data.data)]  # local mode: files on this machine
    assert all(sparse.issparse(handle.load().X) for handle in handles)  # never densified
    _assert_matches_mllib(
        spark,
        sparse_data,
        dict(reg_param=reg_param, elastic_net_param=alpha, standardization=standardization, fit_intercept=True),
    )


@pytest.fixture(scope="module")
def breast_cancer(spark):
    X, y = load_breast_cancer(return_X_y=True)  # raw features on scales from 1e-3 to 1e3
    prepared = Prepared(spark, X, y.astype(float), np.ones(len(y)), [f"f{j}" for j in range(X.shape[1])])
    yield prepared
    prepared.release()


@pytest.mark.parametrize("reg_param, alpha", [(0.01, 0.0), (0.005, 0.5), (0.01, 1.0)])
def test_matches_scikit_learn_penalized_on_raw_features(spark, breast_cancer, reg_param, alpha):
    """With standardization the penalty is on the coefficients of standardized features:
    scikit-learn fitted on (X − μ)/σ gives those; we compare in those coordinates."""
    coef, intercept, _ = breast_cancer.fit(reg_param=reg_param, elastic_net_param=alpha)
    X, y = breast_cancer.X, breast_cancer.y
    mean, std = X.mean(axis=0), X.std(axis=0, ddof=1)
    sk = LogisticRegression(C=1 / (len(y) * reg_param), l1_ratio=alpha, solver="saga", tol=1e-10, max_iter=100_000).fit(
        (X - mean) / std, y
    )
    np.testing.assert_allclose(coef * std, sk.coef_[0], atol=1e-4)
    assert intercept + coef @ mean == pytest.approx(sk.intercept_[0], abs=1e-4)
    if alpha == 1.0:
        assert np.array_equal(coef == 0, sk.coef_[0] == 0)


@pytest.fixture(scope="module")
def affairs(spark):
    data = sm.datasets.fair.load_pandas().data
    names = ["rate_marriage", "age", "yrs_married", "children", "religious", "educ", "occupation", "occupation_husb"]
    X = data[names].to_numpy(dtype=float)
    y = (data["affairs"] > 0).to_numpy(dtype=float)
    prepared = Prepared(spark, X, y, np.ones(len(y)), names)
    yield prepared
    prepared.release()


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_matches_statsmodels_logit_with_standard_errors(spark, affairs, solver):
    conf = _conf(affairs.names)
    conf = replace(conf, solver=replace(conf.solver, name=solver, tol=1e-9))
    fitted = fit_prepared(affairs.data, conf)
    logit = sm.Logit(affairs.y, sm.add_constant(affairs.X, prepend=False)).fit(method="newton", tol=1e-12, disp=False)
    ours = np.append(fitted.coefficients, fitted.intercept)
    np.testing.assert_allclose(ours, logit.params, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fitted.statistics["std_error"], logit.bse, rtol=1e-5)
    np.testing.assert_allclose(fitted.statistics["z_value"], logit.tvalues, rtol=1e-5)
    np.testing.assert_allclose(fitted.statistics["p_value"], logit.pvalues, rtol=1e-5, atol=1e-12)
    sk = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(affairs.X, affairs.y)
    np.testing.assert_allclose(fitted.coefficients, sk.coef_[0], rtol=1e-5, atol=1e-7)


@pytest.fixture(scope="module")
def three_classes(spark):
    """Three classes from a softmax model over features of scales 0.01 … 100, weighted rows."""
    rng = np.random.default_rng(11)
    n, scales = 1500, np.array([0.01, 1.0, 100.0, 5.0])
    X = rng.normal(size=(n, 4)) * scales + np.array([0.0, 3.0, -50.0, 1.0])
    B = np.array([[1.0, -0.5, 0.3, 0.0], [-0.4, 0.8, 0.0, 0.6], [0.0, 0.0, -0.5, -0.2]])
    Z = (X - X.mean(0)) / scales @ B.T + np.array([0.2, -0.1, 0.0])
    P = np.exp(Z - Z.max(1, keepdims=True))
    y = (rng.random(n)[:, None] > np.cumsum(P / P.sum(1, keepdims=True), axis=1)).sum(1).astype(float)
    prepared = Prepared(spark, X, y, rng.uniform(0.3, 3.0, n), [f"x{j}" for j in range(4)], labels=MAX_CLASSES)
    prepared.mllib_df = VectorAssembler(inputCols=prepared.names, outputCol="features").transform(prepared.df)
    yield prepared
    prepared.release()


@pytest.mark.parametrize(
    "reg_param, alpha, standardization, fit_intercept, solver",
    [
        (0.0, 0.0, True, True, "auto"),  # auto: Newton (15 parameters)
        (0.0, 0.0, False, True, "lbfgs"),
        (0.01, 0.0, True, True, "auto"),
        (0.01, 0.0, False, False, "lbfgs"),
        (0.01, 0.5, True, True, "auto"),  # auto: OWL-QN
        (0.02, 1.0, True, True, "auto"),
        (0.02, 1.0, False, True, "auto"),
    ],
)
def test_multinomial_matches_mllib(spark, three_classes, reg_param, alpha, standardization, fit_intercept, solver):
    """Same coefficients as MLlib's family = "multinomial", whose convention we follow for the
    softmax's free direction: intercepts sum to zero; without a penalty each feature's too.
    Where MLlib's optimizer stops short (its objective more than 1e-7 above ours: α = 1
    without standardization here, 3e-5 above), ours must be the lower one."""
    model = dict(
        reg_param=reg_param, elastic_net_param=alpha, standardization=standardization, fit_intercept=fit_intercept
    )
    coef, intercept, fitted = three_classes.fit(solver=solver, family="multinomial", **model)
    assert coef.shape == (3, 4) and fitted.family.classes == 3
    mllib = MLlibLogisticRegression(
        regParam=reg_param,
        elasticNetParam=alpha,
        standardization=standardization,
        fitIntercept=fit_intercept,
        weightCol="w",
        maxIter=1000,
        tol=1e-12,
        family="multinomial",
    ).fit(three_classes.mllib_df)
    theirs_coef, theirs_intercept = mllib.coefficientMatrix.toArray(), mllib.interceptVector.toArray()
    X, y, w = three_classes.X, three_classes.y, three_classes.w
    ours_value, ours_optimality = _objective_at(X, y, w, coef, intercept, ModelConf(**model), classes=3)
    theirs_value, _ = _objective_at(X, y, w, theirs_coef, theirs_intercept, ModelConf(**model), classes=3)
    assert ours_value <= theirs_value * (1 + 1e-9) and ours_optimality < 1e-5
    if theirs_value > ours_value * (1 + 1e-7):
        return
    assert ours_value == pytest.approx(theirs_value, rel=1e-9)
    np.testing.assert_allclose(
        np.column_stack([coef, intercept]), np.column_stack([theirs_coef, theirs_intercept]), atol=1e-4, rtol=1e-4
    )


@pytest.mark.parametrize("reg_param", [0.0, 0.01])
def test_multinomial_matches_scikit_learn(spark, three_classes, reg_param):
    """scikit-learn minimises C Σ w ℓ + ½‖B‖²: ours with standardization = false and
    λ = 1/(C·W); without a penalty it leaves the softmax's free direction as it lands, so
    probabilities are compared there."""
    coef, intercept, _ = three_classes.fit(family="multinomial", reg_param=reg_param, standardization=False)
    X, y, w = three_classes.X, three_classes.y, three_classes.w
    C = 1 / (reg_param * w.sum()) if reg_param else np.inf
    sk = LogisticRegression(C=C, tol=1e-12, max_iter=100_000).fit(X, y, sample_weight=w)
    model = ModelConf(reg_param=reg_param, standardization=False)
    theirs_value = _objective_at(X, y, w, sk.coef_, sk.intercept_, model, classes=3)[0]
    assert _objective_at(X, y, w, coef, intercept, model, classes=3)[0] <= theirs_value * (1 + 1e-9)
    ours = X @ coef.T + intercept
    np.testing.assert_allclose(np.exp(ours) / np.exp(ours).sum(1, keepdims=True), sk.predict_proba(X), atol=1e-5)
    if reg_param:
        np.testing.assert_allclose(coef, sk.coef_, atol=1e-4, rtol=1e-4)
        np.testing.assert_allclose(intercept, sk.intercept_ - sk.intercept_.mean(), atol=1e-4)
