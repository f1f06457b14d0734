"""PNG pictures of a fit and of an evaluation, drawn with matplotlib.

matplotlib is a dependency, but a job must not fail for want of a picture:
when it cannot be imported, each function logs a warning and returns None.
Figures are made with matplotlib's object API (no pyplot state), in memory.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)


def _render(draw: Callable[[object], None], what: str) -> bytes | None:
    """Draw on a fresh 6.4 × 4.8 in. axes with ``draw(axes)``; the PNG bytes, or None."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        log.warning("no %s picture: matplotlib cannot be imported (%s)", what, err)
        return None
    figure = Figure(figsize=(6.4, 4.8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    draw(figure.add_subplot())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def loss_curve(iterations: Sequence[int], losses: Sequence[float]) -> bytes | None:
    """The objective per iteration, relative to the last (log scale when that shows more)."""
    gaps = np.asarray(losses, dtype=float) - losses[-1]

    def draw(ax) -> None:
        ax.plot(iterations, losses, marker="o", markersize=3)
        if len(losses) > 2 and np.all(gaps[:-1] > 0):
            inset = ax.inset_axes([0.45, 0.45, 0.5, 0.45])
            inset.semilogy(iterations[:-1], gaps[:-1], marker=".", color="tab:orange")
            inset.set_title("objective − final", fontsize=8)
            inset.tick_params(labelsize=7)
        ax.set_xlabel("iteration")
        ax.set_ylabel("objective (mean log loss + penalty)")
        ax.set_title("Training loss")
        ax.grid(alpha=0.3)

    return _render(draw, "loss")


def _unit_square(ax, diagonal: str, xlabel: str, ylabel: str, title: str, legend: str) -> None:
    """Axes over [0, 1]², with the dashed diagonal labelled ``diagonal``."""
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label=diagonal)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc=legend)
    ax.grid(alpha=0.3)


def roc_curve(false_positive_rate: np.ndarray, true_positive_rate: np.ndarray, auc: float) -> bytes | None:
    def draw(ax) -> None:
        ax.plot(false_positive_rate, true_positive_rate, label=f"model (AUC = {auc:.4f})")
        _unit_square(ax, "chance", "false positive rate", "true positive rate", "ROC curve", "lower right")

    return _render(draw, "ROC")


def calibration(mean_predicted: np.ndarray, observed_rate: np.ndarray, weight: np.ndarray) -> bytes | None:
    """Observed positive rate against mean predicted probability per bin; empty bins left out."""
    filled = weight > 0

    def draw(ax) -> None:
        ax.plot(mean_predicted[filled], observed_rate[filled], marker="o", label="model")
        _unit_square(
            ax,
            "perfectly calibrated",
            "mean predicted probability (bin)",
            "observed rate of label 1",
            "Calibration (10 bins)",
            "upper left",
        )

    return _render(draw, "calibration")


def cv_curve(
    curves: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]], best: tuple[float, float], metric: str
) -> bytes | None:
    """A tuning run's metric against λ (log scale), one line per α with its spread over the folds
    (± one standard deviation) shaded; ``curves`` maps α to (λ, mean, std); ``best`` is (λ, α)."""

    def draw(ax) -> None:
        for alpha, (lams, mean, std) in curves.items():
            line = ax.plot(lams, mean, marker="o", markersize=3, label=f"α = {alpha:g}")[0]
            ax.fill_between(lams, mean - std, mean + std, color=line.get_color(), alpha=0.2)
        ax.axvline(best[0], linestyle="--", color="grey", label=f"best: λ = {best[0]:.3g}, α = {best[1]:g}")
        ax.set_xscale("log")
        ax.set(xlabel="λ (reg_param)", ylabel=f"held-out {metric.replace('_', ' ')}", title="Cross-validation")
        ax.legend()
        ax.grid(alpha=0.3)

    return _render(draw, "cross-validation")
