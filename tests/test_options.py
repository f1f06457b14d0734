"""Issue-3 options end to end: class weights, warm start, statistics, separation, stop reasons."""

import json
import logging

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LogisticRegression
from synthetic import make_classification, write_parquet

from logreg_spark.app.config import load_conf
from logreg_spark.app.train import run
from logreg_spark.errors import InputError

FEATURES = ["x0", "x1", "x2"]


@pytest.fixture(scope="module")
def imbalanced(tmp_path_factory):
    path = tmp_path_factory.mktemp("imbalanced")
    X, y, _ = make_classification(1500, 3, seed=4, condition=10.0, positive_rate=0.1, noise=1.5)
    write_parquet(path, X, y, files=2)
    return path, X, y


def _run(spark, tmp_path, data, *overrides):
    conf = tmp_path / "job.toml"
    conf.write_text(
        f'[input]\npath = "{data}"\nfeatures = {json.dumps(FEATURES)}\n'
        f'[output]\nmodel_path = "{tmp_path / "model"}"\nmode = "overwrite"\n'
        "[solver]\ntol = 1e-9\nmax_iter = 200\n"
    )
    run(spark, load_conf([conf], list(overrides)))
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    return pq.read_table(tmp_path / "model" / "coefficients"), meta


def test_balanced_class_weights_match_scikit_learn(spark, tmp_path, imbalanced):
    path, X, y = imbalanced
    table, meta = _run(
        spark, tmp_path, path, "model.class_weight=balanced", "model.reg_param=0.01", "model.standardization=false"
    )
    n, n1 = len(y), y.sum()
    assert meta["class_weights"] == pytest.approx([n / (2 * (n - n1)), n / (2 * n1)])
    # balanced weights sum to n, so scikit-learn's C = 1 / (n λ) still holds
    sk = LogisticRegression(C=1 / (n * 0.01), class_weight="balanced", tol=1e-12, max_iter=10_000).fit(X, y)
    got = table.column("coefficient").to_numpy()
    np.testing.assert_allclose(got[:3], sk.coef_[0], rtol=1e-5, atol=1e-6)
    assert got[3] == pytest.approx(sk.intercept_[0], rel=1e-5)


def test_statistics_only_for_unpenalized_fits(spark, tmp_path, imbalanced):
    path, _, _ = imbalanced
    table, meta = _run(spark, tmp_path, path)
    assert table.column_names == ["feature", "coefficient", "std_error", "z_value", "p_value"]
    assert np.all(np.isfinite(table.column("std_error").to_numpy()))
    table, _ = _run(spark, tmp_path, path, "model.reg_param=0.1")
    assert table.column_names == ["feature", "coefficient"]


def test_warm_start_from_an_earlier_model(spark, tmp_path, imbalanced):
    path, _, _ = imbalanced
    _, first = _run(spark, tmp_path, path, "solver.name=lbfgs")
    earlier = tmp_path / "earlier"
    (tmp_path / "model").rename(earlier)
    table, warm = _run(spark, tmp_path, path, "solver.name=lbfgs", f"model.init_model={earlier}")
    assert warm["iterations"] <= 2 < first["iterations"]
    assert warm["final_loss"] == pytest.approx(first["final_loss"], rel=1e-12)
    other = tmp_path / "other"
    other.mkdir()
    pq.write_table(
        pa.table({"x0": [0.0, 1.0], "x1": [1.0, 0.0], "z": [1.0, 2.0], "label": [0, 1]}), other / "part-0.parquet"
    )
    with pytest.raises(InputError, match=r"features do not match .*missing from the model: \['z'\]"):
        _run(spark, tmp_path, other, 'input.features=["x0", "x1", "z"]', f"model.init_model={earlier}")


def test_separable_data_stops_with_a_warning_and_no_statistics(spark, tmp_path, caplog):
    data = tmp_path / "separable"
    data.mkdir()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(float)
    pq.write_table(pa.table({**{n: X[:, j] for j, n in enumerate(FEATURES)}, "label": y}), data / "p.parquet")
    with caplog.at_level(logging.WARNING, logger="logreg_spark"):
        table, meta = _run(spark, tmp_path, data)
    assert meta["converged"] is False and meta["stop_reason"].startswith("separable data")
    assert "maximum-likelihood estimate does not exist" in caplog.text
    assert table.column_names == ["feature", "coefficient"]
    assert np.all(np.isfinite(table.column("coefficient").to_numpy()))
    for solver in ("newton", "lbfgs", "gd"):
        _, meta = _run(
            spark,
            tmp_path,
            data,
            "model.reg_param=0.01",
            f"solver.name={solver}",
            "solver.max_iter=5000",
            "solver.tol=1e-7",
        )  # gradient descent's float64 floor: ~1e-8
        assert meta["converged"], (solver, meta["stop_reason"])


def test_max_iter_warning_names_the_setting(spark, tmp_path, imbalanced, caplog):
    path, _, _ = imbalanced
    with caplog.at_level(logging.WARNING, logger="logreg_spark"):
        _, meta = _run(spark, tmp_path, path, "solver.name=gd", "solver.max_iter=2")
    assert meta["stop_reason"] == "max_iter reached" and not meta["converged"]
    assert "raise solver.max_iter" in caplog.text


def test_multinomial_balanced_weights_and_warm_start(spark, tmp_path, imbalanced):
    """Three unequal classes: balanced weights n / (3 n_k) as scikit-learn's; a warm start from a
    multinomial model; a binomial model cannot start a multinomial fit."""
    path, X, y = imbalanced
    labels = (y + (X[:, 2] > 1.0) * (1 - y) * 2).astype(np.int64)  # classes 0, 1, 2 of unequal sizes
    data = tmp_path / "three"
    write_parquet(data, X, labels, files=2)
    table, meta = _run(
        spark,
        tmp_path,
        data,
        "model.class_weight=balanced",
        "model.reg_param=0.01",
        "model.standardization=false",
        "solver.name=lbfgs",
        # 1e-9 is at float64's floor for this model: L-BFGS stalls at 1.3e-9 on some BLAS builds
        "solver.tol=1e-8",
    )
    assert meta["converged"], meta["stop_reason"]
    counts = np.bincount(labels)
    assert meta["family"] == "multinomial" and meta["class_weights"] == pytest.approx(len(labels) / (3 * counts))
    sk = LogisticRegression(C=1 / (len(labels) * 0.01), class_weight="balanced", tol=1e-12, max_iter=10_000).fit(
        X, labels
    )
    got = table.sort_by([("class", "ascending")]).column("coefficient").to_numpy().reshape(3, 4)
    np.testing.assert_allclose(got[:, :3], sk.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[:, 3], sk.intercept_ - sk.intercept_.mean(), rtol=1e-4, atol=1e-5)

    earlier = tmp_path / "earlier"
    (tmp_path / "model").rename(earlier)
    _, warm = _run(
        spark,
        tmp_path,
        data,
        "model.class_weight=balanced",
        "model.reg_param=0.01",
        "model.standardization=false",
        "solver.name=lbfgs",
        "solver.tol=1e-8",
        f"model.init_model={earlier}",
    )
    assert warm["converged"] and warm["iterations"] <= 2 < meta["iterations"]
    assert warm["final_loss"] == pytest.approx(meta["final_loss"], rel=1e-10)
    binomial = tmp_path / "binomial"
    _run(spark, tmp_path, path, "solver.max_iter=3")
    (tmp_path / "model").rename(binomial)
    with pytest.raises(
        InputError,
        match=r"model.init_model .*: not a model of the same family and classes "
        r"\(multinomial, 3 classes\)",
    ):
        _run(spark, tmp_path, data, f"model.init_model={binomial}")


def test_a_tol_below_what_float64_resolves_ends_stalled_not_converged(spark, tmp_path, imbalanced, caplog):
    path, _, _ = imbalanced
    with caplog.at_level(logging.INFO, logger="logreg_spark"):
        _, meta = _run(spark, tmp_path, path, "solver.name=gd", "solver.tol=1e-15", "solver.max_iter=5000")
    assert meta["stop_reason"].startswith("stalled") and meta["converged"] is False
    assert 1e-15 < meta["optimality"] < 1e-6  # at the optimum to float64's resolution, but not to tol
    assert "gd stalled with optimality" in caplog.text and "accept this model with a solver.tol of" in caplog.text
    assert f"gd did not converge after {meta['iterations']} iterations: stalled" in caplog.text
