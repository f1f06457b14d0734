"""Offsets (``input.offset_col``, ``offsetCol``): a fixed term of each row's binomial margin, in
training (both readers), scoring (transform, the predict job) and evaluation."""

import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import statsmodels.api as sm
from optimum import Problem
from pyspark.sql import functions as F
from scipy.optimize import brentq
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from logreg_spark import LogisticRegression, LogisticRegressionModel
from logreg_spark.app import evaluate, predict, train
from logreg_spark.errors import ConfigError, InputError, ModelError
from logreg_spark.settings.schema import (
    Conf,
    EvaluateConf,
    EvaluateInputConf,
    EvaluateOutputConf,
    FitConf,
    InputConf,
    ModelConf,
    ModelRefConf,
    OutputConf,
    PredictConf,
    PredictInputConf,
    PredictOutputConf,
    SolverConf,
)
from logreg_spark.settings.tuning import TuneFitConf, TuneSection
from logreg_spark.spark import expressions
from logreg_spark.spark.blocks import FeatureSpec
from logreg_spark.spark.parquet_direct import direct_source
from logreg_spark.spark.reading import read_input, source_columns
from logreg_spark.training.fitting import fit
from logreg_spark.tuning.run import tune_frame

FEATURES = ["x0", "x1", "x2"]
REG_PARAM = 0.05


@pytest.fixture(scope="module")
def data(spark, tmp_path_factory):
    """Weighted rows whose labels follow a logistic model with an offset of about ±3 (a log exposure,
    say); the offset also as a second column ``off2``, and a column ``zero`` of zero offsets."""
    root = tmp_path_factory.mktemp("offset")
    rng = np.random.default_rng(7)
    n = 1500
    X = rng.normal(size=(n, 3)) * [1.0, 3.0, 0.2]
    offset = rng.normal(size=n) * 1.5
    z = X @ [0.8, -0.3, 2.0] - 0.4 + offset
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.int64)
    w = rng.uniform(0.5, 2.0, n)
    columns = {**{name: X[:, j] for j, name in enumerate(FEATURES)}, "label": y, "w": w}
    table = pa.table(
        {"id": np.arange(n), **columns, "off": offset, "off2": offset, "zero": np.zeros(n), "fold": np.arange(n) % 2}
    )
    (root / "rows").mkdir()
    pq.write_table(table, root / "rows" / "part-0.parquet")
    return root, X, y.astype(float), w, offset


def _input(root, reader: str = "auto", **keys) -> InputConf:
    return InputConf(path=str(root / "rows"), features=FEATURES, weight_col="w", reader=reader, **keys)


def _fit(spark, conf: FitConf) -> np.ndarray:
    trained = fit(read_input(spark, conf.input), conf)
    return np.append(trained.coefficients, trained.intercept)


def _newton(problem: Problem) -> np.ndarray:
    """The minimum of the smooth (L2) objective by Newton's method in the original coordinates."""
    theta = np.zeros(problem.X.shape[1] + 1)
    for _ in range(50):
        _, grad, Z = problem.smooth(theta[:-1], theta[-1:])
        step = np.linalg.solve(problem.hessian(Z, np.arange(problem.X.shape[1])), grad.ravel())
        theta -= step
        if np.max(np.abs(step)) < 1e-15 * max(1.0, np.max(np.abs(theta))):
            break
    return theta


def test_an_unpenalized_fit_is_statsmodels_glm_with_the_offset(spark, data):
    """Coefficients and standard errors of the weighted maximum likelihood with the offset."""
    root, X, y, w, offset = data
    conf = FitConf(input=_input(root, offset_col="off"), solver=SolverConf(name="newton", tol=1e-12))
    trained = fit(read_input(spark, conf.input), conf)
    glm = sm.GLM(y, sm.add_constant(X, prepend=False), family=sm.families.Binomial(), offset=offset, var_weights=w)
    reference = glm.fit(tol=1e-14)
    ours = np.append(trained.coefficients, trained.intercept)
    np.testing.assert_allclose(ours, reference.params, rtol=1e-8)
    np.testing.assert_allclose(trained.statistics["std_error"], reference.bse, rtol=1e-6)


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_a_penalized_fit_reaches_the_optimum_and_both_readers_agree(spark, data, solver):
    """Weighted mean log loss with the offsets + L2 (standardized), against Newton's method on the
    textbook objective (tests/optimum.py), read by the tasks themselves and by Spark."""
    root, X, y, w, offset = data
    expected = _newton(Problem(X, y, w, REG_PARAM, 0.0, True, offset=offset))
    fits = {}
    for reader in ("auto", "spark"):
        conf = FitConf(
            input=_input(root, reader, offset_col="off"),
            model=ModelConf(reg_param=REG_PARAM),
            solver=SolverConf(name=solver, tol=1e-12),
        )
        df = read_input(spark, conf.input)
        direct = direct_source(df, source_columns(FeatureSpec(columns=tuple(FEATURES)), conf.input), reader)
        assert (direct is not None) == (reader == "auto")
        fits[reader] = _fit(spark, conf)
        np.testing.assert_allclose(fits[reader], expected, rtol=1e-8, err_msg=reader)
    np.testing.assert_allclose(fits["auto"], fits["spark"], rtol=1e-12, atol=1e-14)


def test_zero_offsets_give_exactly_the_fit_without_offsets(spark, data):
    root = data[0]
    model, solver = ModelConf(reg_param=REG_PARAM), SolverConf(tol=1e-10)
    without = _fit(spark, FitConf(input=_input(root), model=model, solver=solver))
    zero = _fit(spark, FitConf(input=_input(root, offset_col="zero"), model=model, solver=solver))
    np.testing.assert_array_equal(zero, without)


@pytest.fixture(scope="module")
def estimator_model(spark, data):
    root = data[0]
    estimator = LogisticRegression(featureCols=FEATURES, weightCol="w", offsetCol="off", regParam=REG_PARAM, tol=1e-10)
    return estimator.fit(spark.read.parquet(str(root / "rows")))


def _by_hand(model, X: np.ndarray, offset: np.ndarray) -> np.ndarray:
    return X @ model.coefficients.toArray() + model.intercept + offset


def test_transform_adds_the_offset_to_every_output(spark, data, estimator_model):
    root, X, _, _, offset = data
    df = spark.read.parquet(str(root / "rows"))
    margin = _by_hand(estimator_model, X, offset)
    assert estimator_model.getOffsetCol() == "off"
    rows = estimator_model.transform(df).orderBy("id").collect()
    np.testing.assert_allclose([r.rawPrediction[1] for r in rows], margin, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose([r.rawPrediction[0] for r in rows], -margin, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose([r.probability[1] for r in rows], 1.0 / (1.0 + np.exp(-margin)), rtol=1e-12)
    np.testing.assert_array_equal([r.prediction for r in rows], (margin > 0).astype(float))
    renamed = estimator_model.copy().setOffsetCol("offset")
    moved = df.drop("off").withColumnRenamed("off2", "offset")
    assert [r.probability for r in renamed.transform(moved).orderBy("id").collect()] == [r.probability for r in rows]


def test_scoring_needs_the_offset_column(spark, data, estimator_model):
    df = spark.read.parquet(str(data[0] / "rows"))
    with pytest.raises(InputError, match=r"model offset .*: column 'off' is not in the input"):
        estimator_model.transform(df.drop("off"))
    plain = LogisticRegression(featureCols=FEATURES).fit(df)
    with pytest.raises(ConfigError, match=r"offsetCol: the model .* was trained without an offset"):
        plain.setOffsetCol("off").transform(df)
    with pytest.raises(ModelError, match=r"MLlib's LogisticRegressionModel has no offset"):
        estimator_model.to_mllib()


def test_the_predict_and_evaluate_jobs_apply_the_offset(spark, data, tmp_path, monkeypatch):
    root, X, y, w, offset = data
    model_path = tmp_path / "model"
    conf = Conf(
        input=_input(root, offset_col="off"),
        model=ModelConf(reg_param=REG_PARAM),
        output=OutputConf(model_path=str(model_path)),
    )
    train.run(spark, conf)
    assert json.loads((model_path / "model.json").read_text())["offset_col"] == "off"
    margin = _by_hand(LogisticRegressionModel.load(str(model_path)), X, offset)
    for reader in ("auto", "spark"):  # the tasks write the files, or Spark does
        out = tmp_path / f"scores-{reader}"
        predict.run(
            spark,
            PredictConf(
                input=PredictInputConf(path=str(root / "rows"), reader=reader),
                model=ModelRefConf(path=str(model_path)),
                output=PredictOutputConf(path=str(out), keep_cols=["id"], raw_margin=True),
            ),
        )
        rows = spark.read.parquet(str(out)).orderBy("id").collect()
        np.testing.assert_allclose([r.raw_margin for r in rows], margin, rtol=1e-9, atol=1e-9, err_msg=reader)
    p = 1.0 / (1.0 + np.exp(-margin))
    log_loss = float(w @ -(y * np.log(p) + (1 - y) * np.log1p(-p)) / w.sum())
    cases = [("", True), ("off2", True), ("off2", False)]  # the model's column or another; by expressions or not
    for offset_col, expressed in cases:
        monkeypatch.setattr(expressions, "MAX_TERMS", expressions.MAX_TERMS if expressed else 0)
        out = tmp_path / f"metrics{offset_col}{expressed}"
        evaluate.run(
            spark,
            EvaluateConf(
                input=EvaluateInputConf(path=str(root / "rows"), weight_col="w", offset_col=offset_col),
                model=ModelRefConf(path=str(model_path)),
                output=EvaluateOutputConf(path=str(out)),
            ),
        )
        assert json.loads((out / "metrics.json").read_text())["log_loss"] == pytest.approx(log_loss, rel=1e-8)


@pytest.fixture(scope="module")
def with_invalid(spark, tmp_path_factory):
    """Rows of which two have an offset that is not a finite number."""
    path = tmp_path_factory.mktemp("invalid") / "rows"
    rng = np.random.default_rng(3)
    n = 200
    offset = rng.normal(size=n)
    offset[[5, 17]] = [math.nan, math.inf]
    path.mkdir()
    X = rng.normal(size=(n, 3))
    columns = {name: X[:, j] for j, name in enumerate(FEATURES)}
    pq.write_table(pa.table({**columns, "label": rng.integers(0, 2, n), "off": offset}), path / "part-0.parquet")
    return path


@pytest.mark.parametrize("reader", ["auto", "spark"])
def test_invalid_offsets_fail_or_are_skipped(spark, with_invalid, reader):
    keys = {"path": str(with_invalid), "features": FEATURES, "offset_col": "off", "reader": reader}
    with pytest.raises(InputError, match=r"column 'off': 2 rows are NaN, infinite or null"):
        _fit(spark, FitConf(input=InputConf(**keys)))
    skipped = _fit(spark, FitConf(input=InputConf(**keys, invalid="skip"), solver=SolverConf(tol=1e-10)))
    rows = pq.read_table(with_invalid).filter(pa.compute.is_finite(pa.compute.field("off")))
    valid = with_invalid.parent / f"valid-{reader}"
    valid.mkdir()
    pq.write_table(rows, valid / "part-0.parquet")
    expected = _fit(spark, FitConf(input=InputConf(**{**keys, "path": str(valid)}), solver=SolverConf(tol=1e-10)))
    np.testing.assert_allclose(skipped, expected, rtol=1e-12, atol=1e-14)


def test_a_multinomial_model_takes_no_offset(spark, data):
    with pytest.raises(ConfigError, match=r"^offsetCol: input.offset_col needs a binomial model"):
        LogisticRegression(featureCols=FEATURES, offsetCol="off", family="multinomial").fit_conf()
    df = spark.read.parquet(str(data[0] / "rows")).withColumn("label", (F.col("id") % 3).cast("int"))
    with pytest.raises(InputError, match=r"offsetCol 'off': offsets need a binomial model.* 3 classes"):
        LogisticRegression(featureCols=FEATURES, offsetCol="off").fit(df)


@pytest.mark.parametrize(
    "keys, message",
    [
        (
            {"offset_col": "label"},
            r"^conf: input.label_col names 'label', which is also input.offset_col \(the row offset\); one column",
        ),
        ({"offset_col": "X1"}, r"^conf: input.features names 'x1', which is also input.offset_col \(the row offset\)"),
        ({"offset_col": "w", "weight_col": "w"}, r"^conf: input.weight_col names 'w', which is also input.offset_col"),
    ],
)
def test_the_offset_column_is_no_other_column(keys, message):
    with pytest.raises(ConfigError, match=message):
        FitConf(input=InputConf(path="x", features=FEATURES, **keys))


def test_the_offset_column_is_not_the_fold_column():
    with pytest.raises(ConfigError, match=r"^conf: input.offset_col names 'f', which is also tune.fold_col"):
        TuneFitConf(input=InputConf(path="x", features=FEATURES, offset_col="f"), tune=TuneSection(fold_col="f"))


def test_an_mllib_export_of_an_offset_model_is_refused_before_training():
    with pytest.raises(ConfigError, match=r"^conf: output.mllib_path: MLlib's model has no input.offset_col$"):
        Conf(
            input=InputConf(path="x", features=FEATURES, offset_col="off"),
            output=OutputConf(model_path="m", mllib_path="mllib"),
        )


def test_tuning_starts_its_path_fits_and_scores_held_out_rows_with_the_offsets(spark, data):
    """λ_max from the intercept-only optimum with the offsets (not the prior log-odds); each fold's
    held-out log loss (shared passes) and ROC AUC (scored apart) of margins with the offsets."""
    root, X, y, w, offset = data
    tune = TuneSection(elastic_net_params=[1.0], path_length=2, fold_col="fold", metric="roc_auc")
    conf = TuneFitConf(input=_input(root, offset_col="off"), solver=SolverConf(tol=1e-10), tune=tune)
    tuned = tune_frame(spark.read.parquet(str(root / "rows")), conf)
    b = brentq(lambda b: w @ (expit(b + offset) - y), -10.0, 10.0, xtol=1e-14)
    gradient = X.T @ (w * (expit(b + offset) - y)) / w.sum()
    mean = w @ X / w.sum()
    std = np.sqrt(w @ (X - mean) ** 2 / (w.sum() - w @ w / w.sum()))
    assert tuned.result.grid.reg_params[0][0] == pytest.approx(np.max(np.abs(gradient) / std), rel=1e-9)
    fold = np.arange(len(y)) % 2
    for fit_, auc in zip(tuned.result.fits, tuned.values, strict=True):
        held = fold == fit_.held_out
        margin = X[held] @ fit_.coef + fit_.intercept + offset[held]
        loss = w[held] @ (np.logaddexp(0.0, margin) - y[held] * margin)
        assert fit_.held.loss == pytest.approx(loss, rel=1e-10)
        assert auc == pytest.approx(roc_auc_score(y[held], margin, sample_weight=w[held]), rel=1e-10)
