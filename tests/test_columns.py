"""A wide sparse block's pass in its own columns gives the full-width sums bit for bit, and a task's
partial leaves it as its touched entries without changing a bit (no Spark)."""

import pickle

import numpy as np
import pytest
from scipy import sparse

from logreg_spark.core.columns import OwnColumns, add_block_sums
from logreg_spark.core.data import Block, Summary
from logreg_spark.core.family import BINOMIAL, Family
from logreg_spark.core.sums import Layout, Request, shared_block_sums
from logreg_spark.spark.compact import TaskSummary
from logreg_spark.spark.engine import TaskSums, TouchedSums, _add_partials


def wide_block(rows: int, per_row: int, d: int, seed: int, dtype=np.float64) -> Block:
    """Rows using ``per_row`` of d columns each, from the even ones; labels of 3 classes."""
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.choice(d // 2, size=(rows, per_row), replace=True) * 2, axis=1)
    X = sparse.csr_array(
        (rng.lognormal(size=rows * per_row).astype(dtype), indices.ravel(), np.arange(0, rows * per_row + 1, per_row)),
        shape=(rows, d),
    )
    X.sum_duplicates()
    y = rng.integers(0, 3, rows).astype(np.float64)
    return Block(X, y, rng.uniform(0.5, 2.0, rows), rng.integers(0, 3, rows), rng.normal(scale=0.3, size=rows))


def requests(d: int, family: Family, hessian: bool, diagonal: bool, seed: int) -> list[Request]:
    """Three models sharing a pass: one on every row, two holding out a fold."""
    rng = np.random.default_rng(seed)
    shape = (family.n_margins, d) if family.is_multinomial else (d,)
    layout = Layout(d, family, hessian, diagonal)
    out = []
    for held_out in (None, 0, 2):
        intercept = rng.normal(size=family.n_margins)
        coef = rng.normal(scale=0.1, size=shape)
        out.append(Request(coef, intercept if family.is_multinomial else float(intercept[0]), layout, held_out))
    return out


@pytest.mark.parametrize("family", [BINOMIAL, Family.multinomial(3)], ids=["binomial", "3 classes"])
@pytest.mark.parametrize("hessian, diagonal", [(False, False), (False, True), (True, False)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_own_columns_give_the_full_width_sums_bit_for_bit(family, hessian, diagonal, dtype):
    d = 600 if hessian else 5000  # a Hessian is (K (d + 1))² numbers
    block = wide_block(60 if hessian else 400, 7, d, seed=1, dtype=dtype)
    own = OwnColumns.of(block.X)
    assert own is not None and own.columns.size < d / 2
    point = requests(d, family, hessian, diagonal, seed=2)
    labels = block.y if family.is_multinomial else (block.y > 0).astype(np.float64)
    block = block._replace(y=labels)
    full = shared_block_sums(block.X, block.y, block.w, block.fold, point, block.offset)
    narrow = add_block_sums(None, block._replace(own=own), block.w, point)
    assert narrow.tobytes() == full.tobytes()
    # added to what a task holds already, as a dense block's sums are
    twice = add_block_sums(full.copy(), block._replace(own=own), block.w, point)
    assert twice.tobytes() == (full + full).tobytes()


def test_blocks_that_use_many_of_their_columns_none_or_are_dense_keep_them_all():
    dense = np.asfortranarray(np.ones((4, 3)))
    assert OwnColumns.of(dense) is None
    crowded = sparse.csr_array(np.eye(10)[:6])  # 6 of 10 columns
    assert OwnColumns.of(crowded) is None
    empty = sparse.csr_array((3, 10))  # rows of empty vectors use no column
    assert OwnColumns.of(empty) is None
    few = sparse.csr_array(np.eye(10)[:5])
    own = OwnColumns.of(few)
    assert own is not None and own.columns.tolist() == [0, 1, 2, 3, 4]
    assert (own.narrowed(few).toarray() == np.eye(5)).all()


def _sent(flat: np.ndarray) -> TaskSums | TouchedSums:
    return pickle.loads(pickle.dumps(TaskSums(flat.copy()), protocol=5))


def _dense(partial: TaskSums | TouchedSums) -> np.ndarray:
    return (partial.dense() if isinstance(partial, TouchedSums) else partial).flat


@pytest.mark.parametrize("touched", [0, 10, 500, 1000])
def test_a_task_partial_arrives_as_the_same_vector(touched):
    flat = np.zeros(1000)
    rng = np.random.default_rng(touched)
    flat[rng.choice(1000, touched, replace=False)] = rng.normal(size=touched)
    arrived = _sent(flat)
    assert isinstance(arrived, TouchedSums) == (3 * touched < 2 * 1000)  # entries only when they take fewer bytes
    assert _dense(arrived).tobytes() == flat.tobytes()
    assert (len(pickle.dumps(TaskSums(flat), protocol=5)) < 8 * 1000) == isinstance(arrived, TouchedSums)


def test_partials_add_up_in_any_form():
    rng = np.random.default_rng(3)
    flats = [np.where(rng.random(1000) < share, rng.normal(size=1000), 0.0) for share in (0.05, 0.9, 0.2, 0.01)]
    total = None
    for flat in flats:
        total = _add_partials(total, _sent(flat))
    expected = ((flats[0] + flats[1]) + flats[2]) + flats[3]
    assert total is not None and _dense(total).tobytes() == expected.tobytes()


def test_a_wide_tasks_statistics_arrive_as_the_same_summary_in_fewer_bytes():
    d, rng = 2**20, np.random.default_rng(5)
    X = sparse.random_array((50, d), density=20 / d, format="csr", rng=rng)
    block = Block(X, (rng.random(50) < 0.5).astype(float), np.ones(50))
    summary = Summary.of_block(block)
    sent = pickle.dumps(TaskSummary(summary), protocol=5)
    assert len(sent) < 0.01 * 16 * d  # two d-vectors' entries, not the vectors
    arrived = pickle.loads(sent).summary
    for field in ("rows", "weight", "weight_sq"):
        assert getattr(arrived, field) == getattr(summary, field)
    for field in ("class_weight", "class_rows", "mean", "m2"):
        assert getattr(arrived, field).tobytes() == getattr(summary, field).tobytes()
    dense = Summary.of_block(Block(np.ones((3, 4)), np.array([0.0, 1.0, 1.0]), np.ones(3)))
    assert pickle.loads(pickle.dumps(TaskSummary(dense))).summary.mean.tolist() == [1.0] * 4
