"""Training end to end in this process: answers, outputs, and refusals."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LogisticRegression
from synthetic import make_classification, write_parquet

from logreg_spark.app.config import load_conf
from logreg_spark.app.train import run
from logreg_spark.artifacts import model_dir
from logreg_spark.artifacts.paths import OutputError
from logreg_spark.errors import InputError


def _conf(tmp_path: Path, data: Path, *overrides: str):
    conf = tmp_path / "job.toml"
    conf.write_text(
        f'[input]\npath = "{data}"\nfeatures = ["x0", "x1", "x2", "x3", "x4"]\n'
        f'[output]\nmodel_path = "{tmp_path / "model"}"\n'
        "[solver]\nmax_iter = 500\ntol = 1e-9\n"
    )
    return load_conf([conf], list(overrides))


def _coefficients(model_path) -> dict[str, float]:
    table = pq.read_table(Path(model_path) / "coefficients")
    return dict(zip(table.column("feature").to_pylist(), table.column("coefficient").to_pylist()))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "train"
    X, y, _ = make_classification(800, 5, seed=11, condition=20.0, positive_rate=0.4, noise=2.0)
    write_parquet(path, X, y, files=3)
    return path, X, y


def test_l2_model_matches_scikit_learn(spark, tmp_path, data_dir):
    path, X, y = data_dir
    reg_param = 0.01
    conf = _conf(tmp_path, path, f"model.reg_param={reg_param}", "model.standardization=false")
    uri = run(spark, conf)
    got = _coefficients(uri.removeprefix("file:"))
    sk = LogisticRegression(C=1.0 / (len(y) * reg_param), tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose([got[f"x{j}"] for j in range(5)], sk.coef_[0], rtol=1e-5, atol=1e-5)
    assert got["(intercept)"] == pytest.approx(sk.intercept_[0], rel=1e-5, abs=1e-5)

    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["converged"] is True and meta["rows"] == 800 and meta["solver"] == "newton"
    assert meta["features"] == [f"x{j}" for j in range(5)]
    assert meta["conf"]["model"]["reg_param"] == reg_param
    assert {"spark", "logreg_spark"} <= set(meta["versions"])
    history = pq.read_table(tmp_path / "model" / "history").to_pylist()
    assert [h["iteration"] for h in history] == list(range(meta["iterations"] + 1))
    assert set(history[0]) == {"iteration", "loss", "grad_norm", "step_size", "seconds", "passes"}
    assert history[-1]["passes"] == meta["passes"] and history[0]["passes"] == 1
    assert history[-1]["loss"] == pytest.approx(meta["final_loss"])
    assert all(a["loss"] >= b["loss"] for a, b in zip(history, history[1:]))


def test_weighted_unregularised_model_matches_scikit_learn(spark, tmp_path, data_dir):
    path, X, y = data_dir
    w = np.random.default_rng(5).uniform(0.5, 2.0, len(y))
    weighted = tmp_path / "weighted"
    weighted.mkdir()
    table = pa.table({**{f"x{j}": X[:, j] for j in range(5)}, "label": y, "w": w})
    pq.write_table(table, weighted / "part-0.parquet")
    conf = _conf(tmp_path, weighted, "input.weight_col=w")
    got = _coefficients(run(spark, conf).removeprefix("file:"))
    sk = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y, sample_weight=w)
    np.testing.assert_allclose([got[f"x{j}"] for j in range(5)], sk.coef_[0], rtol=1e-5, atol=1e-5)


def test_existing_model_is_kept_unless_overwrite(spark, tmp_path, data_dir):
    path, _, _ = data_dir
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "keep.txt").write_text("old")
    with pytest.raises(OutputError, match="already exists"):
        run(spark, _conf(tmp_path, path, "solver.max_iter=2"))
    assert (tmp_path / "model" / "keep.txt").exists()
    run(spark, _conf(tmp_path, path, "solver.max_iter=2", "output.mode=overwrite"))
    assert not (tmp_path / "model" / "keep.txt").exists()
    assert (tmp_path / "model" / "model.json").exists()


def test_failed_write_leaves_no_partial_model_and_keeps_the_old_one(spark, tmp_path, data_dir, monkeypatch):
    path, _, _ = data_dir
    run(spark, _conf(tmp_path, path, "solver.max_iter=2"))
    before = (tmp_path / "model" / "model.json").read_text()
    write = model_dir.write_small_parquet
    calls = []

    def failing_write(table, target):
        """The real write the first time; the second fails as on a full disk, after a part is written."""
        calls.append(target)
        if len(calls) == 2:
            raise OSError("disk full")
        write(table, target)

    monkeypatch.setattr(model_dir, "write_small_parquet", failing_write)
    with pytest.raises(OSError, match="disk full"):
        run(spark, _conf(tmp_path, path, "solver.max_iter=3", "output.mode=overwrite"))
    assert (tmp_path / "model" / "model.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".model")) == []


@pytest.mark.parametrize(
    "column, values, message",
    [
        ("label", [0, 1, 2, 1], "column 'label': 1 row is not 0 or 1 (or null/NaN) (e.g. 2.0)"),
        ("x1", [0.0, np.nan, 1.0, np.inf], "column 'x1': 2 rows are NaN, infinite or null"),
    ],
)
def test_invalid_rows_are_refused_or_skipped(spark, tmp_path, column, values, message):
    rows = tmp_path / "rows"
    rows.mkdir()
    rng = np.random.default_rng(0)
    table = {f"x{j}": rng.normal(size=40) for j in range(5)}
    table["label"] = np.tile([0, 1], 20)
    table[column] = np.concatenate([values, table[column][4:]]).astype(
        table[column].dtype if column != "label" else float
    )
    pq.write_table(pa.table(table), rows / "part-0.parquet")
    with pytest.raises(InputError) as err:
        run(spark, _conf(tmp_path, rows, "solver.max_iter=2", "model.family=binomial"))
    assert message in str(err.value)
    assert not (tmp_path / "model").exists()
    run(spark, _conf(tmp_path, rows, "solver.max_iter=2", "model.family=binomial", "input.invalid=skip"))
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["rows_skipped"] == sum(1 for v in values if not (v in (0, 1) if column == "label" else np.isfinite(v)))
    assert meta["rows"] == 40 - meta["rows_skipped"]


@pytest.mark.parametrize(
    "override, message",
    [
        ("input.label_col=target", "input.label_col: column 'target' is not in the input"),
        ('input.features=["x0", "nope"]', "input.features: column 'nope' is not in the input"),
        ("input.path=/no/such/dir", "input.path /no/such/dir: "),
    ],
)
def test_input_errors_name_the_problem(spark, tmp_path, data_dir, override, message):
    with pytest.raises(InputError) as err:
        run(spark, _conf(tmp_path, data_dir[0], override))
    assert message in str(err.value)
    assert not (tmp_path / "model").exists()


def test_one_class_is_refused(spark, tmp_path):
    rows = tmp_path / "rows"
    rows.mkdir()
    pq.write_table(
        pa.table({**{f"x{j}": np.arange(10.0) for j in range(5)}, "label": np.ones(10)}), rows / "part-0.parquet"
    )
    with pytest.raises(InputError, match="every row has label 1"):
        run(spark, _conf(tmp_path, rows))


def test_paths_as_glob_or_list_and_boolean_labels_with_float_arrays(spark, tmp_path, data_dir):
    path, X, y = data_dir
    files = sorted(str(p) for p in path.glob("*.parquet"))
    for given in (f"{path}/part-*.parquet", files):
        conf = _conf(tmp_path, path, "solver.max_iter=1", "output.mode=overwrite")
        run(spark, replace(conf, input=replace(conf.input, path=given)))
        assert json.loads((tmp_path / "model" / "model.json").read_text())["rows"] == 800
    arrays = tmp_path / "arrays"
    arrays.mkdir()
    pq.write_table(
        pa.table(
            {"v": pa.array(X.astype(np.float32).tolist(), pa.list_(pa.float32())), "label": pa.array(y.astype(bool))}
        ),
        arrays / "part-0.parquet",
    )
    conf = _conf(
        tmp_path,
        arrays,
        "input.features=[]",
        "input.features_col=v",
        "model.reg_param=0.01",
        "model.standardization=false",
        "output.mode=overwrite",
    )
    got = _coefficients(run(spark, conf).removeprefix("file:"))
    sk = LogisticRegression(C=1.0 / (len(y) * 0.01), tol=1e-12, max_iter=10_000).fit(
        X.astype(np.float32).astype(np.float64), y
    )
    np.testing.assert_allclose([got[f"v[{j}]"] for j in range(5)], sk.coef_[0], rtol=1e-5, atol=1e-5)
