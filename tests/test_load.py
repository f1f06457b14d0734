"""Load: a cache larger than its memory, a model with 100,000 dense features, and one with 10,000,000
sparse ones (jobs in their own JVM)."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import reduce
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from conftest import ROOT
from scipy import sparse
from synthetic import write_classification

from logreg_spark.app.config import SolverConf
from logreg_spark.core.data import Block, Summary
from logreg_spark.core.objective import Objective
from logreg_spark.core.sums import Layout, Sums, block_sums
from logreg_spark.spark.cached_blocks import DRIVER_PARTIALS_BYTES, tree_depth


def _train(tmp_path: Path, conf: str, *overrides: str, job: str = "train") -> subprocess.CompletedProcess:
    """Run ``jobs/<job>.py`` with this conf in its own JVM."""
    path = tmp_path / f"{job}.toml"
    path.write_text(conf)
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_GATEWAY_PORT")}
    args = [a for o in overrides for a in ("--set", o)]
    return subprocess.run(
        [sys.executable, str(ROOT / "jobs" / f"{job}.py"), "--conf", str(path), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_a_cache_larger_than_storage_memory_spills_with_a_warning(tmp_path):
    names = write_classification(tmp_path / "data", 400_000, 50, files=8, seed=2)  # 160 MB of features
    conf = (
        f'[input]\npath = "{tmp_path / "data"}"\nfeatures = {json.dumps(names)}\ncache = "spark"\n'
        f'[model]\nreg_param = 0.01\n[solver]\nname = "lbfgs"\n'
        f'[output]\nmodel_path = "{tmp_path / "model"}"\n'
        '[spark]\n"spark.master" = "local[2]"\n"spark.driver.memory" = "1g"\n"spark.memory.fraction" = "0.1"\n'
    )
    result = _train(tmp_path, conf)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "did not fit in the executors' storage memory and went to disk" in result.stderr
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["rows"] == 400_000 and meta["converged"]


@dataclass(frozen=True)
class PartsEngine:
    """Passes over Parquet files of a ``features`` list column and a ``label``, one file at a time, so
    that rows too many to hold at once (here 800 MB of them) can be checked with the job's own math."""

    parts: list[Path]

    def blocks(self) -> Iterator[Block]:
        for part in self.parts:
            table = pq.read_table(part)
            y = table.column("label").to_numpy().astype(np.float64)
            X = table.column("features").combine_chunks().values.to_numpy().reshape(len(y), -1)
            yield Block(X, y, np.ones(len(y)))

    def run(self, coef: np.ndarray, intercept: float | np.ndarray, layout: Layout) -> Sums:
        return layout.unpack(
            sum(block_sums(block.X, block.y, block.w, coef, intercept, layout) for block in self.blocks())
        )

    def release(self) -> None:
        """Nothing is held between passes."""


def test_a_wide_model_trains_within_the_drivers_memory(tmp_path):
    rows, d, reg_param = 1000, 100_000, 0.1
    rng = np.random.default_rng(0)
    beta = rng.normal(size=d) / np.sqrt(d) * 3
    (tmp_path / "data").mkdir()
    for part in range(10):  # 100 rows of 100,000 doubles per file
        X = rng.normal(size=(rows // 10, d))
        y = (rng.random(rows // 10) < 1 / (1 + np.exp(-X @ beta))).astype(np.int64)
        features = pa.ListArray.from_arrays(np.arange(0, X.size + 1, d, dtype=np.int32), X.ravel())
        pq.write_table(pa.table({"features": features, "label": y}), tmp_path / "data" / f"part-{part}.parquet")
    conf = (
        f'[input]\npath = "{tmp_path / "data"}"\nfeatures_col = "features"\n'
        f"[model]\nreg_param = {reg_param}\n[solver]\nmax_iter = 15\n"
        f'[output]\nmodel_path = "{tmp_path / "model"}"\n'
        '[spark]\n"spark.master" = "local[2]"\n"spark.driver.memory" = "2g"\n'
        '"spark.sql.execution.arrow.maxRecordsPerBatch" = "100"\n'
    )
    result = _train(tmp_path, conf)
    assert result.returncode == 0, result.stderr[-3000:]
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["rows"] == rows and meta["n_features"] == d and "features" not in meta and meta["solver"] == "lbfgs"
    coefficients = pq.read_table(tmp_path / "model" / "coefficients").column("coefficient").to_numpy()
    assert coefficients.shape == (d + 1,) and np.isfinite(coefficients).all()
    # n ≪ d: the estimate is only loosely aligned with the truth, but far beyond chance (±0.003)
    assert np.corrcoef(coefficients[:-1], beta)[0, 1] > 0.03
    # 15 iterations need not reach tol, but what the job reports must be true of the coefficients it wrote
    engine = PartsEngine(sorted((tmp_path / "data").glob("*.parquet")))
    summary = reduce(Summary.merge, map(Summary.of_block, engine.blocks()))
    objective = Objective.build(engine, summary, reg_param=reg_param)
    written = objective.evaluate(objective.from_data(coefficients[:-1], coefficients[-1]))
    optimality = objective.optimality(written)
    np.testing.assert_allclose([meta["final_loss"], meta["optimality"]], [written.total, optimality], rtol=1e-6)
    assert meta["converged"] == (optimality <= SolverConf().tol), (meta["stop_reason"], optimality)


def _objective_and_gradient_norm(
    X: sparse.csr_array, y: np.ndarray, reg_param: float, coef: np.ndarray, intercept: float
) -> tuple[float, float]:
    """SciPy's own computation, for unit weights, of the objective (L2 on standardized coefficients, as
    MLlib) and of the norm of its gradient in the solver's coordinates (centred, and scaled to unit
    curvature at the intercept-only model: 1/√(q m₂ⱼ + λσⱼ²) per feature, 1/√q for the intercept,
    with q = p(1 − p) of the positive share p and m₂ the biased variance)."""
    n = X.shape[0]
    mean = X.T @ np.full(n, 1.0 / n)
    std = np.sqrt(np.maximum(X.multiply(X).T @ np.ones(n) - n * mean * mean, 0.0) / (n - 1))
    z = X @ coef + intercept
    value = np.mean(np.logaddexp(0.0, z) - y * z) + reg_param / 2 * np.sum((coef * std) ** 2)
    residual = (1.0 / (1.0 + np.exp(-z)) - y) / n
    gradient = X.T @ residual + reg_param * std * std * coef
    centred = gradient - mean * residual.sum()
    q = y.mean() * (1.0 - y.mean())
    curvature = q * std * std * (n - 1) / n + reg_param * std * std
    scaled = np.divide(centred, np.sqrt(curvature), out=np.zeros_like(centred), where=std > 0)
    return float(value), float(np.linalg.norm(np.append(scaled, residual.sum() / np.sqrt(q))))


def test_ten_million_sparse_features_from_index_value_pairs(tmp_path):
    rows, d, per_row, reg_param = 4000, 10_000_000, 50, 0.5
    rng = np.random.default_rng(7)
    shared = rng.random((rows, per_row)) < 0.3  # a third of the entries fall on 1,000 common features
    cols = np.where(shared, rng.integers(0, 1000, (rows, per_row)), rng.integers(0, d, (rows, per_row)))
    values = rng.normal(size=(rows, per_row))
    # an index repeated within a row adds up, in the job as in SciPy's COO → CSR
    X = sparse.coo_array((values.ravel(), (np.repeat(np.arange(rows), per_row), cols.ravel())), shape=(rows, d)).tocsr()
    y = (rng.random(rows) < 1 / (1 + np.exp(-X[:, :1000] @ rng.normal(size=1000)))).astype(float)
    (tmp_path / "data").mkdir()
    for part, chunk in enumerate(np.array_split(np.arange(rows), 2)):
        offsets = np.arange(0, len(chunk) * per_row + 1, per_row, dtype=np.int32)
        pq.write_table(
            pa.table(
                {
                    "idx": pa.ListArray.from_arrays(offsets, cols[chunk].ravel().astype(np.int32)),
                    "val": pa.ListArray.from_arrays(offsets, values[chunk].ravel()),
                    "label": y[chunk].astype(np.int64),
                }
            ),
            tmp_path / "data" / f"part-{part}.parquet",
        )
    conf = (
        f'[input]\npath = "{tmp_path / "data"}"\nindices_col = "idx"\nvalues_col = "val"\n'
        f"num_features = {d}\n[model]\nreg_param = {reg_param}\n"
        '[solver]\nname = "lbfgs"\nmemory = 3\nmax_iter = 5\ntol = 1e-9\n'
        f'[output]\nmodel_path = "{tmp_path / "model"}"\n'
        '[spark]\n"spark.master" = "local[2]"\n"spark.driver.memory" = "3g"\n'
    )
    result = _train(tmp_path, conf)
    assert result.returncode == 0, result.stderr[-3000:]
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["rows"] == rows and meta["n_features"] == d and "features" not in meta
    theta = pq.read_table(tmp_path / "model" / "coefficients").column("coefficient").to_numpy()
    coef, intercept = theta[:-1], theta[-1]
    assert coef.shape == (d,) and np.all(coef[np.bincount(X.indices, minlength=d) == 0] == 0.0)  # never seen
    history = pq.read_table(tmp_path / "model" / "history").sort_by("iteration")
    losses, gradient_norms = history.column("loss").to_numpy(), history.column("grad_norm").to_numpy()
    start = _objective_and_gradient_norm(X, y, reg_param, np.zeros(d), np.log(y.mean() / (1 - y.mean())))
    final = _objective_and_gradient_norm(X, y, reg_param, coef, intercept)
    np.testing.assert_allclose([losses[0], gradient_norms[0]], start, rtol=1e-9)
    np.testing.assert_allclose([meta["final_loss"], gradient_norms[-1]], final, rtol=1e-6)
    assert final[1] < 0.01 * start[1]  # the job's steps make real progress towards the optimum
    # the model scores its own rows (predict reads its 10⁷ coefficients by name)
    scored = _train(
        tmp_path,
        f'[input]\npath = "{tmp_path / "data"}"\n[model]\npath = "{tmp_path / "model"}"\n'
        f'[output]\npath = "{tmp_path / "scores"}"\nkeep_cols = ["label"]\nraw_margin = true\n'
        '[spark]\n"spark.master" = "local[2]"\n"spark.driver.memory" = "3g"\n',
        job="predict",
    )
    assert scored.returncode == 0, scored.stderr[-3000:]
    margins = pq.read_table(tmp_path / "scores").column("raw_margin").to_numpy()
    np.testing.assert_allclose(np.sort(margins), np.sort(X @ coef + intercept), rtol=1e-9, atol=1e-12)


def test_aggregation_depth_grows_with_the_partials_the_driver_would_receive():
    assert tree_depth(3, 10_000, 10**9) == 3  # a depth set in the conf is kept
    assert tree_depth(0, 8, 8 * 51) == 2
    ten_million = 8 * (10_000_000 + 5)  # a sparse model's dense partial gradient
    depth = tree_depth(0, 1000, ten_million)
    assert depth > 2 and np.ceil(1000 ** (1 / depth)) * ten_million <= DRIVER_PARTIALS_BYTES
