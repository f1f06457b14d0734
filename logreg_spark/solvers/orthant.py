"""The orthant-wise step of an elastic net (Andrew & Gao, 2007): OWL-QN, L-BFGS under an L1 part.

|θⱼ| is smooth within an orthant, so each iteration minimizes the objective within the
orthant of the current point, extended at zero coordinates by the sign of −pseudo-gradient
(the side the objective decreases towards):

- the direction is built from the pseudo-gradient (:meth:`ElasticNet.pseudo_gradient`), the
  minimum-norm subgradient, with the coordinates held at zero (at zero with a zero
  pseudo-gradient: the L1 part holds them) left out of the model;
- a zero coordinate may only leave into the orthant of its −pseudo-gradient;
- every trial point is projected back: a coordinate that would cross zero stops at zero;
- the Armijo test measures the decrease predicted by the pseudo-gradient along the projected step.

Without an L1 part none of this does anything: the pseudo-gradient is the gradient, nothing
is held, nothing projected, and no d-sized orthant work is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.objective import Evaluation
from ..core.penalty import ElasticNet
from .loop import ARMIJO


@dataclass(frozen=True)
class OrthantStep:
    """An iteration's orthant at ``current``: its ``pseudo``-gradient, the coordinates ``at_zero``
    that have an L1 part and are 0, and the sign of each coordinate's ``orthant`` (both None
    without an L1 part)."""

    current: Evaluation
    pseudo: np.ndarray
    l1: np.ndarray | None
    at_zero: np.ndarray | None
    orthant: np.ndarray | None

    @classmethod
    def at(cls, penalty: ElasticNet, current: Evaluation) -> OrthantStep:
        pseudo = penalty.pseudo_gradient(current.theta, current.gradient)
        if not penalty.has_l1:
            return cls(current, pseudo, None, None, None)
        l1 = penalty.l1 > 0
        at_zero = l1 & (current.theta == 0)
        orthant = np.where(current.theta != 0, np.sign(current.theta), np.sign(-pseudo))
        return cls(current, pseudo, l1, at_zero, orthant)

    @property
    def held(self) -> np.ndarray | None:
        """The coordinates the L1 part holds at zero this iteration (None: none can be)."""
        return None if self.at_zero is None else self.at_zero & (self.pseudo == 0)

    def kept(self, direction: np.ndarray) -> bool:
        """Hold at zero (in place) every zero coordinate of ``direction`` that would leave against
        its −pseudo-gradient; whether what is left descends. (Constraining the sign of non-zero
        coordinates too makes correlated pairs zigzag: the trial projection keeps them from
        crossing zero instead.)"""
        if self.at_zero is not None:
            direction[self.at_zero & (np.sign(direction) != np.sign(-self.pseudo))] = 0.0
        return bool(direction @ self.pseudo < 0)

    def trial(self, direction: np.ndarray) -> Callable[[float], np.ndarray]:
        """The point a step of ``alpha`` along ``direction`` reaches, projected onto the orthant."""

        def point(alpha: float) -> np.ndarray:
            moved = np.multiply(direction, alpha)
            moved += self.current.theta
            if self.orthant is not None:
                moved[self.l1 & (np.sign(moved) != self.orthant)] = 0.0
            return moved

        return point

    def sufficient(self, alpha: float, new: Evaluation) -> bool:
        """Armijo's test of a trial point, on the whole objective, L1 part included."""
        return new.total <= self.current.total + ARMIJO * self.pseudo @ (new.theta - self.current.theta)
