"""One pass for many models (issue 16's building blocks): fold ids from the rows' values, and a
shared pass whose every request equals its own pass over the rows it trains on."""

import numpy as np
import pytest
from helpers import family, small_problem
from scipy import sparse

from logreg_spark.core.engine import InMemoryEngine
from logreg_spark.core.folds import FoldRule, row_keys
from logreg_spark.core.sums import SPARSE_CHUNK_ROWS, Layout, Request, block_sums


def test_row_keys_do_not_depend_on_storage_or_order():
    X, y, w = small_problem(rows=500, features=6)
    X[X < 0.5] = 0.0
    keys = row_keys(np.asfortranarray(X), y, w)
    assert np.array_equal(keys, row_keys(np.ascontiguousarray(X), y, w))
    assert np.array_equal(keys, row_keys(sparse.csr_array(X), y, w))
    order = np.random.default_rng(3).permutation(500)
    assert np.array_equal(keys[order], row_keys(X[order], y[order], w[order]))
    signed_zero = X.copy()
    signed_zero[signed_zero == 0.0] = -0.0
    assert np.array_equal(keys, row_keys(signed_zero, y, w))
    assert np.unique(keys).size == 500  # distinct rows, distinct keys


def test_hashed_folds_are_balanced_reproducible_and_seeded():
    X, y, w = small_problem(rows=30000, features=4)
    folds = FoldRule(folds=5, seed=7).assign(X, y, w)
    assert np.array_equal(folds, FoldRule(folds=5, seed=7).assign(X, y, w))
    assert np.all(np.abs(np.bincount(folds) / 30000 - 0.2) < 0.01)
    assert np.mean(folds != FoldRule(folds=5, seed=8).assign(X, y, w)) > 0.7
    split = FoldRule(validation_fraction=0.25, seed=7).assign(X, y, w)
    assert set(np.unique(split)) == {0, 1}
    assert abs(np.mean(split == 0) - 0.25) < 0.01
    assert FoldRule(validation_fraction=0.25).held_out([0, 1]) == [0]
    assert FoldRule(folds=3).held_out([0, 1, 2]) == [0, 1, 2]


@pytest.mark.parametrize("classes", [0, 3])
@pytest.mark.parametrize("dense", [True, False])
def test_each_request_of_a_shared_pass_equals_its_own_pass(classes, dense):
    rows = 3000 if dense else 5 * SPARSE_CHUNK_ROWS // 2  # sparse: several chunks of rows in a shared pass
    X, y, w = small_problem(rows=rows, features=5)
    fam = family(classes)
    if classes:
        y = np.random.default_rng(5).integers(0, classes, rows).astype(float)
    features = X if dense else sparse.csr_array(np.where(np.abs(X) > 1.0, X, 0.0))
    fold = FoldRule(folds=3, seed=1).assign(X, y, w)
    rng = np.random.default_rng(2)
    shape = (fam.classes, 5) if classes else (5,)
    requests = [
        Request(
            rng.normal(size=shape) * 0.1,
            rng.normal(size=fam.classes) if classes else 0.3,
            Layout(5, fam, hessian=held_out == 1, diagonal=held_out == 2),
            held_out,
        )
        for held_out in [None, 0, 1, 2]
    ]
    shared = InMemoryEngine(features, y, w, fold).run_shared(requests)
    for request, (sums, held) in zip(requests, shared):
        trains = np.ones(rows, bool) if request.held_out is None else fold != request.held_out
        alone = request.layout.unpack(
            block_sums(features, y, np.where(trains, w, 0.0), request.coef, request.intercept, request.layout)
        )
        assert sums.rows == trains.sum() and held.rows == (~trains).sum()
        for name in ("loss", "weight", "misclassified", "gradient", "hessian", "diagonal"):
            if getattr(alone, name) is None:
                assert getattr(sums, name) is None, name
            else:
                assert np.allclose(getattr(sums, name), getattr(alone, name), rtol=1e-12, atol=1e-9), name
        held_out = InMemoryEngine(features, y, np.where(trains, 0.0, w)).run(
            request.coef, request.intercept, request.layout
        )
        assert np.isclose(held.loss, held_out.loss, rtol=1e-12) and np.isclose(held.weight, held_out.weight)
