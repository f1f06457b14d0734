"""``FitReport``: how a fit went, as the model directory records it."""

from __future__ import annotations

from dataclasses import dataclass

from ..artifacts.model_dir import TrainedModel


@dataclass(frozen=True)
class FitReport:
    """How the fit went, as the model directory records it (so also for a loaded model). The
    statistics (intercept last, as MLlib's GLM summary) exist for converged, unpenalized binomial
    fits with an intercept of at most 2,000 features."""

    objectiveHistory: list[float]
    totalIterations: int
    passes: int
    converged: bool
    stopReason: str
    optimality: float
    solver: str
    coefficientStandardErrors: list[float] | None
    zValues: list[float] | None
    pValues: list[float] | None

    @classmethod
    def of(cls, model: TrainedModel) -> FitReport:
        meta, stats = model.metadata, {name: values.tolist() for name, values in model.statistics.items()}
        return cls(
            objectiveHistory=[rec.loss for rec in model.history],
            totalIterations=len(model.history) - 1,
            passes=int(meta.get("passes", model.history[-1].passes)),
            converged=bool(meta.get("converged")),
            stopReason=str(meta.get("stop_reason", "")),
            optimality=model.history[-1].grad_norm,
            solver=str(meta.get("solver", "")),
            coefficientStandardErrors=stats.get("std_error"),
            zValues=stats.get("z_value"),
            pValues=stats.get("p_value"),
        )
