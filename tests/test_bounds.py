"""Bounds on coefficients and intercepts (MLlib's): the true optimum over the box, MLlib's answers
and refusals, and the params on every path (conf keys, save/load, the training job)."""

import json

import numpy as np
import pytest
from optimum import Problem, bounded_optimum
from pyspark.ml.classification import LogisticRegression as MLlibLogisticRegression
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.linalg import DenseMatrix, Matrices, Vectors

from logreg_spark import LogisticRegression, LogisticRegressionModel
from logreg_spark.app.config import load_conf
from logreg_spark.app.train import run
from logreg_spark.artifacts.checkpoint import fingerprint
from logreg_spark.core.bounds import Bounds
from logreg_spark.core.data import Block, Summary
from logreg_spark.core.engine import InMemoryEngine
from logreg_spark.core.family import BINOMIAL, Family
from logreg_spark.core.objective import Objective
from logreg_spark.errors import ConfigError, InputError
from logreg_spark.ml.cross_validation import LogisticRegressionCV
from logreg_spark.solvers import lbfgs, projected_lbfgs

FEATURES = ["a", "b", "c", "d"]
TOL = 1e-9  # the solver's; the coefficients then agree with the true optimum to 1e-8 (relative)


def _data(classes: int, rows: int = 400, seed: int = 3):
    """Features of different scales and means; labels from a softmax of the standardized ones."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 4)) * np.array([1.0, 10.0, 0.1, 3.0]) + np.array([5.0, 0.0, 0.0, 2.0])
    K = max(classes, 2)
    margins = ((X - X.mean(0)) / X.std(0)) @ rng.normal(size=(K, 4)).T
    P = np.exp(margins - margins.max(1, keepdims=True))
    y = np.array([rng.choice(K, p=p / p.sum()) for p in P]).astype(float)
    return X, y, rng.uniform(0.2, 3.0, rows)


def _bounds(margins: int, on_intercepts: bool) -> Bounds:
    """b ≥ 0 and d ≤ 0.05 for every class, a ≤ 0.1 for the first; intercepts in [-0.7, -0.5] or free."""
    lower, upper = np.full((margins, 4), -np.inf), np.full((margins, 4), np.inf)
    lower[:, 1], upper[:, 3], upper[0, 0] = 0.0, 0.05, 0.1
    ilower, iupper = np.full(margins, -np.inf), np.full(margins, np.inf)
    if on_intercepts:
        ilower[0], iupper[:] = -0.7, -0.5
    return Bounds(lower, upper, ilower, iupper)


def _fit(X, y, w, family: Family, bounds: Bounds | None, reg_param: float, standardization: bool):
    objective = Objective.build(
        InMemoryEngine(X, y, w),
        Summary.of_block(Block(X, y, w)),
        reg_param=reg_param,
        standardization=standardization,
        family=family,
        bounds=bounds,
    )
    start = objective.from_data(*family.prior(Summary.of_block(Block(X, y, w)).class_weight, X.shape[1]))
    solve = projected_lbfgs if bounds else lbfgs
    return objective, solve(objective, start, memory=10, max_iter=500, tol=TOL)


def _identified(intercept: np.ndarray, centre: bool) -> np.ndarray:
    """Intercepts up to the shift the softmax leaves free (when no bound fixes it)."""
    return intercept - intercept.mean() if centre else intercept


def _relative(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(got - expected)) / np.max(np.abs(expected)))


CASES = [
    (classes, reg_param, standardization, on_intercepts)
    for classes in (0, 3)
    for reg_param, standardization in ((0.0, True), (0.01, True), (0.01, False))
    for on_intercepts in (False, True)
    if not (classes and reg_param == 0)  # unpenalized softmax: the optimum is not unique
]


@pytest.mark.parametrize("classes, reg_param, standardization, on_intercepts", CASES)
def test_the_optimum_over_the_box_is_scipys(classes, reg_param, standardization, on_intercepts):
    X, y, w = _data(classes)
    family = Family.multinomial(classes) if classes else BINOMIAL
    bounds = _bounds(family.n_margins, on_intercepts)
    objective, result = _fit(X, y, w, family, bounds, reg_param, standardization)
    assert result.converged, result.reason
    assert result.history[-1].grad_norm <= TOL
    box = objective.box
    assert box is not None
    assert np.linalg.norm(box.projected_gradient(result.theta, result.final.gradient)) <= TOL
    assert np.all(result.theta == box.project(result.theta))
    coef, intercept = (np.atleast_2d(a) for a in objective.to_data(result.theta))
    intercept = intercept.ravel()
    problem = Problem(X, y, w, reg_param, 0.0, standardization, classes)
    lower = np.column_stack([bounds.coef_lower, bounds.intercept_lower])
    upper = np.column_stack([bounds.coef_upper, bounds.intercept_upper])
    true_coef, true_intercept = bounded_optimum(problem, lower, upper)
    assert _relative(coef, true_coef) < 1e-8
    centre = bool(classes) and not on_intercepts
    assert _relative(_identified(intercept, centre), _identified(true_intercept, centre)) < 1e-8
    active = (coef == bounds.coef_lower) | (coef == bounds.coef_upper)
    assert active.any() and not active.all()  # some bounds hold the optimum, some do not
    assert np.all((intercept >= bounds.intercept_lower) & (intercept <= bounds.intercept_upper))


def test_infinite_bounds_give_the_unbounded_optimum_and_equal_bounds_fix_a_coefficient():
    X, y, w = _data(0)
    inf = np.full((1, 4), np.inf)
    free_objective, free = _fit(X, y, w, BINOMIAL, None, 0.01, True)
    boxed_objective, boxed = _fit(X, y, w, BINOMIAL, Bounds(-inf, inf, -inf[0, :1], inf[0, :1]), 0.01, True)
    assert boxed.converged
    np.testing.assert_allclose(boxed_objective.to_data(boxed.theta)[0], free_objective.to_data(free.theta)[0], 1e-8)
    lower, upper = -inf.copy(), inf.copy()
    lower[0, 1] = upper[0, 1] = 0.02
    objective, result = _fit(X, y, w, BINOMIAL, Bounds(lower, upper, -inf[0, :1], inf[0, :1]), 0.01, True)
    assert result.converged and objective.to_data(result.theta)[0][1] == 0.02


@pytest.fixture(scope="module")
def frames(spark):
    """(binomial, three-class) DataFrames of :func:`_data`, with a Vector column for MLlib."""
    result = {}
    for classes in (0, 3):
        X, y, w = _data(classes)
        rows = [(*map(float, x), float(label), float(weight)) for x, label, weight in zip(X, y, w)]
        df = spark.createDataFrame(rows, [*FEATURES, "label", "weight"])
        result[classes] = (VectorAssembler(inputCols=FEATURES, outputCol="features").transform(df).cache(), X, y, w)
    return result


def _matrix(rows) -> DenseMatrix:
    rows = np.asarray(rows, dtype=float)
    return DenseMatrix(rows.shape[0], rows.shape[1], rows.ravel().tolist(), isTransposed=True)


BINOMIAL_PARAMS = {
    "lowerBoundsOnCoefficients": _matrix([[-np.inf, 0.0, -np.inf, -np.inf]]),
    "upperBoundsOnCoefficients": _matrix([[0.1, np.inf, np.inf, 0.05]]),
    "upperBoundsOnIntercepts": Vectors.dense([-0.5]),
}


def test_estimator_with_bounds_matches_the_true_optimum_and_mllib(spark, frames):
    df, X, y, w = frames[0]
    ours = LogisticRegression(
        featureCols=FEATURES, weightCol="weight", regParam=0.01, tol=TOL, maxIter=500, **BINOMIAL_PARAMS
    ).fit(df)
    summary = ours.summary
    assert summary.converged and summary.solver == "lbfgs" and summary.coefficientStandardErrors is None
    coef, intercept = ours.coefficients.toArray(), ours.intercept
    problem = Problem(X, y, w, 0.01, 0.0, True)
    lower = np.array([[-np.inf, 0.0, -np.inf, -np.inf, -np.inf]])
    upper = np.array([[0.1, np.inf, np.inf, 0.05, -0.5]])
    true_coef, true_intercept = bounded_optimum(problem, lower, upper)
    assert _relative(coef, true_coef[0]) < 1e-8 and abs(intercept - true_intercept[0]) < 1e-8
    assert intercept == -0.5 and coef[0] == 0.1  # at their bounds
    mllib = MLlibLogisticRegression(weightCol="weight", regParam=0.01, tol=1e-12, maxIter=1000, **BINOMIAL_PARAMS)
    theirs = mllib.fit(df)
    np.testing.assert_allclose(coef, theirs.coefficients.toArray(), rtol=1e-4, atol=1e-6)
    assert abs(intercept - theirs.intercept) < 1e-6
    assert problem.objective(coef, intercept) <= problem.objective(theirs.coefficients.toArray(), theirs.intercept)


def test_multinomial_bounds_match_mllib_and_are_centred_as_far_as_they_allow(spark, frames):
    df, X, y, w = frames[3]
    params = {
        "lowerBoundsOnCoefficients": _matrix(np.zeros((3, 4))),
        "lowerBoundsOnIntercepts": Vectors.dense([0.0, 0.0, 0.0]),
    }
    # tol 1e-8, and the optimum to 2e-8: on these rows the projected L-BFGS reaches the float64
    # floor of the objective at a projected gradient of 2e-9 (an Armijo decrease below that is lost
    # in the objective's rounding), where depending on the BLAS it stalled short of tol 1e-9. The
    # optimum to 1e-8 over the box: test_the_optimum_over_the_box_is_scipys.
    ours = LogisticRegression(featureCols=FEATURES, weightCol="weight", regParam=0.01, tol=1e-8, **params).fit(df)
    assert ours.summary.converged
    coef, intercept = ours.coefficientMatrix.toArray(), ours.interceptVector.toArray()
    assert coef.min() >= 0 and (coef == 0).any()  # not shifted out of the box
    # the intercepts' common shift changes nothing (no penalty on them): moved towards mean 0 until
    # one reaches its bound, whichever point of that line the solver stopped at
    assert intercept.min() == 0 and intercept.mean() > 0
    problem = Problem(X, y, w, 0.01, 0.0, True, 3)
    lower, upper = np.zeros((3, 5)), np.full((3, 5), np.inf)
    true_coef, true_intercept = bounded_optimum(problem, lower, upper)
    assert _relative(coef, true_coef) < 2e-8
    assert _relative(intercept, true_intercept - true_intercept.min()) < 2e-8
    theirs = MLlibLogisticRegression(weightCol="weight", regParam=0.01, tol=1e-12, maxIter=1000, **params).fit(df)
    # MLlib stops short of the optimum (its coefficients differ by up to 5e-4 on the standardized
    # scale): close to ours, within its bounds, and with an objective higher by less than 1e-6
    theirs_coef, theirs_intercept = theirs.coefficientMatrix.toArray(), theirs.interceptVector.toArray()
    std = problem.std()
    np.testing.assert_allclose(coef * std, theirs_coef * std, atol=2e-3)
    np.testing.assert_allclose(_identified(intercept, True), _identified(theirs_intercept, True), atol=2e-3)
    assert theirs_coef.min() >= 0 and theirs_intercept.min() >= 0
    gap = problem.objective(theirs_coef, theirs_intercept) - problem.objective(coef, intercept)
    assert 0 <= gap < 1e-6


@pytest.mark.parametrize(
    "params, message",
    [
        ({"elasticNetParam": 0.5, "regParam": 0.1}, "elasticNetParam: bounds .* support L2 only"),
        ({"fitIntercept": False}, "upperBoundsOnIntercepts: model.upper_bounds_on_intercepts needs"),
        ({"solver": "newton"}, 'solver: solver.name = "newton" does not take bounds'),
        (
            {"lowerBoundsOnCoefficients": _matrix([[1.0, 0.0, 0.0, 0.0]])},
            r"upperBoundsOnCoefficients: model.lower_bounds_on_coefficients must be <= .* \(0, 0\): 1.0 > 0.1",
        ),
    ],
)
def test_refusals_name_the_param(params, message):
    with pytest.raises(ConfigError, match=message):
        LogisticRegression(featureCols=FEATURES, **{**BINOMIAL_PARAMS, **params}).fit_conf()


def test_shapes_are_checked_against_the_data(spark, frames):
    df = frames[3][0]
    with pytest.raises(ConfigError, match=r"lowerBoundsOnCoefficients: .* is 1 x 4 but .* 3 classes.* needs 3 x 4"):
        LogisticRegression(featureCols=FEATURES, lowerBoundsOnCoefficients=_matrix(np.zeros((1, 4)))).fit(df)
    with pytest.raises(ConfigError, match=r"upperBoundsOnIntercepts: .* is 1 but .* needs 3"):
        LogisticRegression(featureCols=FEATURES, upperBoundsOnIntercepts=Vectors.dense([1.0])).fit(df)


def test_a_constant_feature_must_be_allowed_its_zero_coefficient(spark, frames):
    df = frames[0][0].withColumn("e", frames[0][0]["a"] * 0 + 3.0)
    columns = [*FEATURES, "e"]
    with pytest.raises(InputError, match="feature 'e' is constant"):
        LogisticRegression(featureCols=columns, lowerBoundsOnCoefficients=_matrix([[0, 0, 0, 0, 1.0]])).fit(df)
    model = LogisticRegression(featureCols=columns, lowerBoundsOnCoefficients=_matrix([[0, 0, 0, 0, -1.0]])).fit(df)
    assert model.coefficients[4] == 0.0 and model.summary.converged


def test_tuning_refuses_bounds():
    estimator = LogisticRegression(featureCols=FEATURES, **BINOMIAL_PARAMS)
    with pytest.raises(ConfigError, match="model.lower_bounds_on_coefficients is not used by tune"):
        LogisticRegressionCV(estimator=estimator).tune_conf()


def test_bounds_save_load_and_fitmultiple(spark, frames, tmp_path):
    df = frames[0][0]
    estimator = LogisticRegression(featureCols=FEATURES, regParam=0.01, tol=TOL, **BINOMIAL_PARAMS)
    estimator.save(str(tmp_path / "estimator"))
    loaded = LogisticRegression.load(str(tmp_path / "estimator"))
    assert loaded.fit_conf() == estimator.fit_conf()
    assert loaded.getLowerBoundsOnCoefficients() == BINOMIAL_PARAMS["lowerBoundsOnCoefficients"]
    model = estimator.fit(df)
    model.save(str(tmp_path / "model"))
    reloaded = LogisticRegressionModel.load(str(tmp_path / "model"))
    assert reloaded.getUpperBoundsOnIntercepts() == Vectors.dense([-0.5])
    metadata = json.loads((tmp_path / "model" / "metadata" / "part-00000").read_text())
    assert metadata["paramMap"]["upperBoundsOnIntercepts"] == {"type": 1, "values": [-0.5]}
    maps = [
        {estimator.regParam: 0.01},
        {estimator.regParam: 0.01, estimator.upperBoundsOnIntercepts: Vectors.dense([-1.0])},
    ]
    fitted = dict(estimator.fitMultiple(df, maps))
    np.testing.assert_allclose(fitted[0].coefficients.toArray(), model.coefficients.toArray(), rtol=1e-8)
    assert fitted[1].intercept == -1.0 and fitted[0].intercept == -0.5


def test_training_job_reads_the_bounds_keys(spark, frames, tmp_path):
    df = frames[0][0]
    data = tmp_path / "train"
    df.drop("features").write.parquet(str(data))
    job = tmp_path / "job.toml"
    job.write_text(
        f'[input]\npath = "{data}"\nfeatures = {json.dumps(FEATURES)}\nweight_col = "weight"\n'
        f'[output]\nmodel_path = "{tmp_path / "model"}"\n'
        f"[solver]\ntol = {TOL}\n"
        "[model]\nreg_param = 0.01\n"
        "lower_bounds_on_coefficients = [[-inf, 0.0, -inf, -inf]]\n"
        "upper_bounds_on_coefficients = [[0.1, inf, inf, 0.05]]\n"
        "upper_bounds_on_intercepts = [-0.5]\n"
    )
    run(spark, load_conf([job]))
    document = json.loads((tmp_path / "model" / "model.json").read_text())
    assert document["converged"] and document["conf"]["model"]["upper_bounds_on_intercepts"] == [-0.5]
    model = LogisticRegressionModel.load(str(tmp_path / "model"))
    expected = LogisticRegression(featureCols=FEATURES, weightCol="weight", regParam=0.01, tol=TOL, **BINOMIAL_PARAMS)
    np.testing.assert_allclose(model.coefficients.toArray(), expected.fit(df).coefficients.toArray(), rtol=1e-9)
    assert model.getLowerBoundsOnCoefficients() == Matrices.dense(1, 4, [-np.inf, 0.0, -np.inf, -np.inf])


def test_a_checkpoint_of_other_bounds_is_not_resumed(spark, frames):
    df = frames[0][0]
    conf = LogisticRegression(featureCols=FEATURES, **BINOMIAL_PARAMS).fit_conf()
    other = LogisticRegression(
        featureCols=FEATURES, **{**BINOMIAL_PARAMS, "upperBoundsOnIntercepts": Vectors.dense([0.0])}
    )
    assert fingerprint(conf, df, spark) != fingerprint(other.fit_conf(), df, spark)


def test_separable_data_within_bounds_has_a_finite_optimum():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    bounds = Bounds(np.array([[-3.0]]), np.array([[3.0]]), np.array([-1.0]), np.array([1.0]))
    objective, result = _fit(X, y, np.ones(4), BINOMIAL, bounds, 0.0, True)
    assert result.converged, result.reason
    assert objective.to_data(result.theta)[0][0] == 3.0


def test_standard_errors_only_when_no_bound_is_reached(spark, frames):
    df = frames[0][0]
    free = LogisticRegression(featureCols=FEATURES, weightCol="weight", tol=TOL).fit(df).summary
    loose = LogisticRegression(
        featureCols=FEATURES, weightCol="weight", tol=TOL, upperBoundsOnCoefficients=_matrix(np.full((1, 4), 100.0))
    ).fit(df)
    assert loose.summary.coefficientStandardErrors is not None
    np.testing.assert_allclose(loose.summary.coefficientStandardErrors, free.coefficientStandardErrors, rtol=1e-6)
    tight = LogisticRegression(featureCols=FEATURES, weightCol="weight", tol=TOL, **BINOMIAL_PARAMS).fit(df)
    assert tight.summary.converged and tight.summary.coefficientStandardErrors is None
