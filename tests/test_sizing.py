"""The sizing model's arithmetic (benchmarks/sizing.py): what it fits and projects, without a cluster."""

import sys

import numpy as np
import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import sizing  # noqa: E402 - a benchmark script, importable from its directory

#: Per width: seconds per pass, per non-zero (per worker) and per task's partial.
TRUE = {10**5: (0.2, 4e-9, 0.001), 10**6: (0.3, 6e-9, 0.05), 10**7: (1.0, 6e-8, 0.4)}


def _results() -> list[dict]:
    """Passes of a grid timed exactly as the model says, with cache bytes of 20 per non-zero."""
    out = []
    for workers in (1, 2):
        for rows in (10**5, 4 * 10**5):
            for d, (per_pass, per_nnz, per_partial) in TRUE.items():
                nnz = 30 * rows
                seconds = per_pass + per_nnz * nnz / workers
                out.append(
                    {"workers": workers, "rows": rows, "d": d, "nnz": nnz, "cache": 20 * nnz}
                    | {"pass": seconds, "partials": per_partial}
                )
    return out


def test_the_fit_recovers_the_constants_the_passes_were_timed_with():
    fitted = sizing.fit_constants(_results(), {d: d * 5e-8 for d in TRUE})
    for d, (per_pass, per_nnz, per_partial) in TRUE.items():
        assert fitted[d]["per_pass"] == pytest.approx(per_pass, rel=1e-6)
        assert fitted[d]["per_nnz"] == pytest.approx(per_nnz, rel=1e-6)
        assert fitted[d]["per_partial"] == pytest.approx(per_partial)
        assert fitted[d]["driver_step"] == d * 5e-8 and fitted[d]["cache_per_nnz"] == 20


def test_projections_grow_with_the_work_and_the_partials_each_reducer_adds():
    c = sizing.fit_constants(_results(), {d: d * 5e-8 for d in TRUE})
    base = sizing.projected_pass(c, 100, 3e10, 1e7)
    assert base < sizing.projected_pass(c, 100, 3e11, 1e7) and base < sizing.projected_pass(c, 100, 3e10, 1e8)
    # more executors share the non-zeros, but each reducer of the tree adds √executors partials
    assert sizing.projected_pass(c, 1000, 3e12, 1e7) < sizing.projected_pass(c, 100, 3e12, 1e7)
    assert sizing.projected_pass(c, 1000, 3e10, 1e7) > sizing.projected_pass(c, 100, 3e10, 1e7)
    assert sizing.projected_pass(c, 1, 3e6, 1e7) == pytest.approx(1.0 + 6e-8 * 3e6 + 0.5)
    assert sizing.driver_bytes(1e7) == 8 * (2 * sizing.MEMORY + 10) * 1e7
    assert sizing.driver_bytes(1e7, classes=3, models=2) == 6 * sizing.driver_bytes(1e7)


def test_the_driver_step_is_measured_from_a_real_fit():
    seconds = sizing.driver_step(10_000, rows=500)
    assert np.isfinite(seconds) and 0 < seconds < 1
