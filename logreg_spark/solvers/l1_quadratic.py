"""The minimum of a quadratic plus an L1 part: the step of proximal Newton under an elastic net.

Newton's model of the objective at θ, with the smooth part's gradient g and Hessian H (the
L2 part's included), is

    q(u) = gᵀ(u − θ) + ½ (u − θ)ᵀ H (u − θ) + Σⱼ l1ⱼ |uⱼ|,

and its minimum is the proximal Newton point (Lee, Sun & Saunders, 2014). It is found by
feature-sign search (Lee, Battle, Raina & Ng, 2007), which stays exact on strongly correlated
columns where coordinate descent needs thousands of sweeps:

1. guess each coordinate's sign: a non-zero coordinate keeps its own; a zero one whose
   smooth gradient rⱼ is beyond ±l1ⱼ (so moving it lowers q) takes −sign(rⱼ); the others stay 0;
2. with the signs s fixed, q is a smooth quadratic on the signed coordinates F; its minimum
   solves ``H_FF (u_F − u'_F) = −(r_F + l1_F s_F)``;
3. along the segment to that minimum q is convex and piecewise quadratic, with a kink where a
   coordinate reaches zero: the point of least q among the kinks and the end is taken, a
   coordinate at its kink exactly 0. It lowers q, and signs only change at kinks;
4. repeat until no zero coordinate's gradient is beyond ±l1ⱼ and the last step reached its end.

Unpenalized coordinates (intercepts, L2-only) are always signed, with no kink.
"""

from __future__ import annotations

import numpy as np

from .linear_system import newton_direction

#: Rounds of feature-sign search before the best point so far is returned: each ends at a
#: lower q, and the signs of the optimum are usually found in a few.
MAX_ROUNDS = 200


def l1_quadratic_minimum(hessian: np.ndarray, gradient: np.ndarray, l1: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """The minimizer ``u`` of ``q`` (module docstring), from ``u = θ``."""
    penalized = l1 > 0
    u = theta.copy()
    none = np.zeros(u.size, dtype=bool)
    signs_optimal = False  # whether u is q's minimum with its own signs (step 2 reached its end)
    for _ in range(MAX_ROUNDS):
        r = gradient + hessian @ (u - theta)
        if not signs_optimal:
            moved, signs_optimal = _signed_step(hessian, l1, u, r, none)
            if moved is not None:
                u = moved
                continue
            signs_optimal = True  # nothing lowers q with these signs, to rounding
        violation = np.where(penalized & (u == 0), np.abs(r) - l1, 0.0)
        if not (violation > 0).any():
            return u
        moved, signs_optimal = _entering_step(hessian, l1, u, r, violation)
        if moved is None:  # nothing lowers q, to rounding: u is its minimum
            return u
        u = moved
    return u


def _entering_step(
    hessian: np.ndarray, l1: np.ndarray, u: np.ndarray, r: np.ndarray, violation: np.ndarray
) -> tuple[np.ndarray | None, bool]:
    """A round in which zero coordinates of positive ``violation`` (|rⱼ| − l1ⱼ) enter, at the minimum
    for the present signs. Each alone then steps to its own side (Lee et al., 2007); all at once
    usually do too, but along correlated columns some may step to the wrong side and spoil the
    round: then the quarter of largest violation is tried, and so on down to the largest alone."""
    count = int(np.count_nonzero(violation > 0))
    order = np.argsort(-violation)
    while True:
        entering = np.zeros(u.size, dtype=bool)
        entering[order[:count]] = True
        moved, reached_end = _signed_step(hessian, l1, u, r, entering)
        if moved is not None or count == 1:
            return moved, reached_end
        count = max(1, count // 4)


def _signed_step(
    hessian: np.ndarray, l1: np.ndarray, u: np.ndarray, r: np.ndarray, entering: np.ndarray
) -> tuple[np.ndarray | None, bool]:
    """One round: the ``entering`` zero coordinates signed against their gradient ``r``, the minimum
    of q with those signs, and the least point on the segment to it (None: none is below u)."""
    signs = np.where(u != 0, np.sign(u), np.where(entering, -np.sign(r), 0.0))
    free = np.flatnonzero((l1 == 0) | (u != 0) | entering)
    if free.size == 0:
        return None, True
    hessian_free = hessian[np.ix_(free, free)]
    step = newton_direction(hessian_free, r[free] + l1[free] * signs[free])
    moved, reached_end = _least_on_segment(u, free, step, r, hessian_free, l1)
    if moved is None:
        return None, True
    # an entering coordinate may have ended on the other side than its sign: then not at the minimum
    kept_signs = np.all((l1[free] == 0) | (np.sign(moved[free]) == signs[free]))
    return moved, reached_end and bool(kept_signs)


def _least_on_segment(
    u: np.ndarray, free: np.ndarray, step: np.ndarray, r: np.ndarray, hessian_free: np.ndarray, l1: np.ndarray
) -> tuple[np.ndarray | None, bool]:
    """The point of least q among ``u + t·step`` (on the ``free`` coordinates) at each kink t ∈ (0, 1)
    where a penalized coordinate reaches 0, and the end projected onto u's signs (a coordinate
    that would cross 0 stays there: often far lower than the first kink, and so saves a round per
    crossing); None if none is below ``u``. Whether it is the end with no coordinate crossing."""
    start = u[free]
    penalized = l1[free] > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        kinks = np.where(penalized & (start != 0), -start / step, np.inf)
    crossing = (kinks > 0) & (kinks <= 1)
    ts = np.unique(kinks[crossing & (kinks < 1)])
    points = start + ts[:, None] * step
    points[ts[:, None] == kinks[None, :]] = 0.0
    end = start + step
    end[crossing] = 0.0
    points = np.vstack([points, end])
    moves = points - start
    # q relative to u at each point (``hessian_free``: H on the free coordinates): the smooth part
    # plus the L1 part's change
    values = (
        moves @ r[free]
        + 0.5 * np.einsum("ij,ij->i", moves @ hessian_free, moves)
        + np.abs(points) @ l1[free]
        - np.abs(start) @ l1[free]
    )
    best = int(np.argmin(values))
    if values[best] >= 0:
        if ts.size == 0:
            return None, True
        best = 0  # a kink so near that q's decrease before it is below rounding: go there, one sign fewer
    moved = u.copy()
    moved[free] = points[best]
    return moved, best == ts.size and not crossing.any()
