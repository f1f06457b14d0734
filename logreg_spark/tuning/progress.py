"""What a tuning search logs as it goes: a line per shared pass, with the best score so far.

A search runs every (λ, α, fold) model at once and takes as many passes as its slowest run (see
:mod:`~.search`), for minutes on real data. After each shared pass it logs the pass's number, the
runs still going, the fits finished, and the best mean held-out log loss over the (λ, α) whose
every fold has finished. That is the score the search ranks by with ``tune.metric = "log_loss"``;
ROC and PR AUC are computed from the held-out scores once the search ends.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .chains import PathFit

log = logging.getLogger(__name__)


@dataclass
class SearchProgress:
    """Collects the finished fits of a search over ``folds`` folds and ``fits`` fits in all."""

    folds: int
    fits: int
    _losses: dict[tuple[float, float], list[float]] = field(default_factory=lambda: defaultdict(list))
    _finished: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def finished(self, fit: PathFit) -> None:
        """Called by a run's thread as each of its fits ends."""
        with self._lock:
            self._losses[(fit.reg_param, fit.elastic_net_param)].append(fit.validation_log_loss)
            self._finished += 1

    def best(self) -> str:
        """The best mean held-out log loss among the (λ, α) whose folds have all finished."""
        with self._lock:
            means = [(float(np.mean(v)), point) for point, v in self._losses.items() if len(v) == self.folds]
        if not means:
            return "none complete yet"
        loss, (lam, alpha) = min(means, key=lambda m: (m[0], -m[1][0]))
        return f"{loss:.6f} (reg_param {lam:.4g}, elastic_net_param {alpha:g})"

    def passed(self, passes: int, running: int) -> None:
        """Called after each shared pass: ``running`` runs took part in pass number ``passes``."""
        log.info(
            "tune pass %d: %d runs still going, %d of %d fits done; best mean held-out log loss so far %s",
            passes,
            running,
            self._finished,
            self.fits,
            self.best(),
        )
