"""Tuning from Python: ``LogisticRegression.fitMultiple`` (what ``CrossValidator`` calls) in
shared passes, giving each param map the model a separate fit gives, and ``LogisticRegressionCV``."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.ml.tuning import ParamGridBuilder
from synthetic import make_classification

from logreg_spark import LogisticRegression, LogisticRegressionCV
from logreg_spark.errors import ConfigError
from logreg_spark.ml import estimator
from logreg_spark.tuning.many import fit_many
from logreg_spark.tuning.run import tune_frame

FEATURES = ["x0", "x1", "x2", "x3"]


@pytest.fixture(scope="module")
def df(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("tune_api")
    X, y, _ = make_classification(3000, 4, seed=5, condition=3.0, positive_rate=0.4, noise=1.5)
    classes = np.digitize(X @ [1.0, -0.5, 0.3, 0.0] + np.random.default_rng(3).logistic(size=len(y)), [-1.0, 1.0])
    w = np.random.default_rng(2).uniform(0.5, 2.0, len(y))
    table = {**{n: X[:, j] for j, n in enumerate(FEATURES)}, "label": y.astype(np.int64), "classes": classes, "w": w}
    pq.write_table(pa.table(table), root / "rows.parquet")
    return spark.read.parquet(str(root / "rows.parquet"))


@pytest.mark.parametrize("label_col", ["label", "classes"])
def test_fit_multiple_shares_passes_and_gives_each_map_its_separate_fit(df, label_col, monkeypatch):
    calls = []
    monkeypatch.setattr(estimator, "fit_many", lambda *args: calls.append(1) or fit_many(*args))
    lr = LogisticRegression(featureCols=FEATURES, labelCol=label_col, weightCol="w", tol=1e-8)
    grid = (
        ParamGridBuilder()
        .addGrid(lr.regParam, [0.0, 0.01, 0.2])
        .addGrid(lr.elasticNetParam, [0.0, 0.7])
        .addGrid(lr.maxIter, [200])
        .build()
    )
    models = dict(lr.fitMultiple(df, grid))
    assert calls == [1] and sorted(models) == list(range(6))
    for i, params in enumerate(grid):
        alone = lr.fit(df, params)
        shared = models[i]
        assert shared.getRegParam() == params[lr.regParam] and shared.getMaxIter() == 200
        assert shared.trained.metadata["converged"]
        assert shared.trained.metadata["final_loss"] == pytest.approx(alone.trained.metadata["final_loss"], rel=1e-10)
        np.testing.assert_allclose(
            shared.coefficientMatrix.toArray(), alone.coefficientMatrix.toArray(), rtol=1e-6, atol=1e-8
        )


def test_fit_multiple_fits_one_by_one_when_the_maps_read_the_rows_differently(df, monkeypatch):
    monkeypatch.setattr(estimator, "fit_many", lambda *args: pytest.fail("the maps cannot share a cache"))
    lr = LogisticRegression(featureCols=FEATURES, regParam=0.01)
    grid = ParamGridBuilder().addGrid(lr.weightCol, ["w", ""]).build()
    models = dict(lr.fitMultiple(df, grid))
    assert [models[i].getOrDefault("weightCol") for i in (0, 1)] == ["w", ""]


def test_logistic_regression_cv_selects_as_the_tuning_run_does_and_transforms_with_the_best(df):
    lr = LogisticRegression(featureCols=FEATURES, weightCol="w", tol=1e-8)
    cv = LogisticRegressionCV(estimator=lr, regParams=[0.3, 0.03, 0.003], elasticNetParams=[0.0, 1.0], numFolds=3)
    model = cv.fit(df)
    conf = cv.tune_conf()
    assert conf.tune.reg_params == [0.3, 0.03, 0.003] and conf.tune.folds == 3
    tuned = tune_frame(df, conf)
    assert model.avgMetrics == pytest.approx([s.mean for s in tuned.selection.scores], rel=1e-12)
    assert (model.bestRegParam, model.bestElasticNetParam) == (
        tuned.selection.best.reg_param,
        tuned.selection.best.elastic_net_param,
    )
    assert model.bestRegParam == model.grid[int(np.argmin(model.avgMetrics))][0]
    best = model.bestModel
    assert (best.getRegParam(), best.getElasticNetParam()) == (model.bestRegParam, model.bestElasticNetParam)
    alone = lr.copy({lr.regParam: model.bestRegParam, lr.elasticNetParam: model.bestElasticNetParam}).fit(df)
    np.testing.assert_allclose(
        best.coefficientMatrix.toArray(), alone.coefficientMatrix.toArray(), rtol=1e-6, atol=1e-8
    )
    scored = model.transform(df).select("probability").first()
    assert scored is not None and 0 < scored.probability[1] < 1


@pytest.mark.parametrize(
    "params, message",
    [
        ({"numFolds": 1}, "numFolds: tune.folds must be >= 2 (got 1)"),
        ({"elasticNetParams": [2.0]}, "elasticNetParams: tune.elastic_net_params must hold numbers in [0.0, 1.0]"),
        (
            {"estimator": LogisticRegression(featureCols=FEATURES, regParam=0.1)},
            "regParam: model.reg_param is not used",
        ),
        ({"foldCol": "x1"}, "featureCols: input.features names 'x1', which is also tune.fold_col (the fold id)"),
        ({"foldCol": "label"}, "labelCol: input.label_col names 'label', which is also tune.fold_col"),
    ],
)
def test_logistic_regression_cv_refuses_bad_params_in_one_line(params, message):
    with pytest.raises(ConfigError) as caught:
        LogisticRegressionCV(**{"estimator": LogisticRegression(featureCols=FEATURES), **params}).tune_conf()
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
