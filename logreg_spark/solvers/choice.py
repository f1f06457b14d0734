"""Which solver ``auto`` runs: the one whose whole fit is estimated to take less time.

A fit's time is its passes × the time of a pass, plus the driver's work between passes:

- a pass costs a fixed :data:`PASS_SECONDS` (a Spark job and its tasks), plus each row's
  work shared by the ``parallelism`` tasks: for every model sharing the pass, the margins
  and gradient, :data:`GRADIENT_NS` per feature and margin, and for Newton its Hessian,
  :data:`HESSIAN_NS` per entry of the K(K + 1)/2 blocks of (d + 1)² it adds up;
- Newton's driver solves a system of p = K(d + 1) unknowns per iteration, :data:`SOLVE_NS`
  per p³ (under an L1 part a few of them: :mod:`.l1_quadratic`); L-BFGS's driver work is
  a few dozen vectors of p, nothing beside a pass at the widths where Newton is a choice;
- Newton converges in :data:`NEWTON_PASSES` passes on every problem of the hard-problems
  benchmark (6–10 to 1e-8 of the optimum: correlated, near-collinear, 3–50 classes, badly
  scaled); binomial L-BFGS in 10–40 on well-conditioned data and 30–600 on correlated data,
  counted at :data:`LBFGS_PASSES`; multinomial L-BFGS (no diagonal metric: it would ignore
  the softmax's coupling of the classes) in 110–480, counted at
  :data:`LBFGS_MULTINOMIAL_PASSES`.

Sparse rows are counted as dense (d non-zeros), which only ever overstates Newton's cost. The
constants were measured on the 2-core machine of the benchmarks (``benchmarks/hard_problems.py``
has the passes; the per-entry costs are NumPy's, one thread, 100,000 rows).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Seconds a pass costs whatever its rows (a Spark job: scheduling, tasks, the point sent out).
PASS_SECONDS = 0.15
#: Nanoseconds of a row's margins and gradient per feature and margin (measured 0.9–2.7).
GRADIENT_NS = 2.0
#: Nanoseconds per entry of a row's Hessian blocks (measured 0.04–0.17 on one thread, the narrowest
#: Grams the slowest: binomial d = 20; 50 classes of 20 features 0.06 in one stacked product).
HESSIAN_NS = 0.15
#: Nanoseconds of Newton's driver per p³ (a Cholesky factorization at p = 1000 takes 0.03 s;
#: under an L1 part feature-sign search factors several).
SOLVE_NS = 1.0
#: Passes a fit takes (see the module docstring).
NEWTON_PASSES = 10
LBFGS_PASSES = 60
LBFGS_MULTINOMIAL_PASSES = 150
#: Beyond this many parameters Newton is never chosen: its Hessian (8 p² bytes) is summed in every
#: task and shipped to the driver on every pass.
NEWTON_MAX_PARAMS = 2000


@dataclass(frozen=True)
class FitShape:
    """What a fit's cost depends on: ``rows`` × ``features`` with ``margins`` margins per row (1,
    or K classes), a pass run by ``parallelism`` tasks at once, and ``models`` fits sharing
    every pass (tuning)."""

    rows: int
    features: int
    margins: int
    parallelism: int = 1
    models: int = 1

    @property
    def n_params(self) -> int:
        return self.margins * (self.features + 1)

    def _row_seconds(self, ns_per_row: float) -> float:
        return self.models * self.rows * ns_per_row * 1e-9 / max(self.parallelism, 1)

    @property
    def _lbfgs_passes(self) -> int:
        return LBFGS_PASSES if self.margins == 1 else LBFGS_MULTINOMIAL_PASSES

    def lbfgs_seconds(self) -> float:
        """The estimated time of an L-BFGS fit of every model."""
        return self._lbfgs_passes * (PASS_SECONDS + self._row_seconds(GRADIENT_NS * self.n_params))

    def newton_seconds(self) -> float:
        """The estimated time of a Newton fit of every model."""
        blocks = self.margins * (self.margins + 1) / 2 * (self.features + 1) ** 2
        row = GRADIENT_NS * self.n_params + HESSIAN_NS * blocks
        driver = self.models * SOLVE_NS * 1e-9 * self.n_params**3
        return NEWTON_PASSES * (PASS_SECONDS + self._row_seconds(row) + driver)

    def newton_after(self) -> int | None:
        """For fits whose conditioning is not known beforehand (tuning, where a wrong guess costs
        every model): the L-BFGS iterations that cost as much as a whole Newton fit, after which an
        unconverged fit goes on with Newton; None where Newton is no choice. Like renting skis
        until the rent paid equals the price: never more than twice the cheaper solver's time."""
        if self.n_params > NEWTON_MAX_PARAMS:
            return None
        return max(1, int(self.newton_seconds() / (self.lbfgs_seconds() / self._lbfgs_passes)))


def resolve_solver(name: str, shape: FitShape, bounded: bool = False) -> str:
    """``auto`` → ``newton`` when its fit is estimated to take less time than L-BFGS's (:class:`FitShape`),
    up to :data:`NEWTON_MAX_PARAMS` parameters and without bounds, else ``lbfgs`` (within bounds:
    :func:`~.lbfgsb.projected_lbfgs`); any other name is itself."""
    if name != "auto":
        return name
    if bounded or shape.n_params > NEWTON_MAX_PARAMS:
        return "lbfgs"
    return "newton" if shape.newton_seconds() < shape.lbfgs_seconds() else "lbfgs"
