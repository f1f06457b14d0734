"""The tuning job's conf: the training job's sections, ``[tune]`` (the grid and the folds) and ``[output]``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..core.folds import FoldRule
from ..errors import ConfigError
from .bounds import COEFFICIENT_KEYS, INTERCEPT_KEYS
from .columns import check_roles
from .schema import FitConf, ModelConf, SolverConf, require_input_path
from .sections import WHERE, Check, Section, at_least, one_of


def _grid_values(low: float, high: float | None = None, required: bool = False) -> dict[str, Check]:
    """A list of distinct numbers in [``low``, ``high``] (no upper bound when None), at least one
    when ``required``."""

    def check(values: list[float]) -> str | None:
        if required and not values:
            return "must hold at least one value"
        outside = [v for v in values if v < low or (high is not None and v > high)]
        if outside:
            interval = f"[{low}, {high}]" if high is not None else f"[{low}, inf)"
            return f"must hold numbers in {interval}, not {outside[0]}"
        if len(set(values)) < len(values):
            return "must not repeat a value"
        return None

    return {"check": check}


@dataclass(frozen=True)
class TuneSection(Section, section="tune"):
    """The grid of (λ, α) and how rows are split into folds."""

    reg_params: list[float] = field(default_factory=list, metadata=_grid_values(0.0))  # []: a path
    path_length: int = field(default=10, metadata=at_least(2))
    path_min_ratio: float = field(
        default=1e-4, metadata={"check": lambda v: None if 0 < v < 1 else "must be in (0, 1)"}
    )
    elastic_net_params: list[float] = field(
        default_factory=lambda: [0.0], metadata=_grid_values(0.0, 1.0, required=True)
    )
    folds: int = field(default=3, metadata=at_least(2))
    fold_col: str = ""  # the user's fold ids (an integer column); folds is then ignored
    validation_fraction: float = field(  # > 0: one split holding out about this share; folds is then ignored
        default=0.0, metadata={"check": lambda v: None if 0 <= v < 1 else "must be in [0, 1)"}
    )
    seed: int = 0
    metric: str = field(default="log_loss", metadata=one_of("log_loss", "roc_auc", "pr_auc"))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fold_col and self.validation_fraction:
            where = WHERE.get()
            raise ConfigError(
                f"{where('tune.validation_fraction')}: tune.validation_fraction and tune.fold_col "
                f"({where('tune.fold_col')}) cannot both be set: the folds come from one or the other"
            )

    def fold_rule(self) -> FoldRule:
        """How rows are split: the user's column, one hashed split, or hashed k-fold."""
        if self.fold_col:
            return FoldRule(column=self.fold_col)
        if self.validation_fraction:
            return FoldRule(validation_fraction=self.validation_fraction, seed=self.seed)
        return FoldRule(folds=self.folds, seed=self.seed)


@dataclass(frozen=True)
class TuneOutputConf(Section, section="output"):
    path: str = ""  # a directory: path/, tune.json, cv.png and best/
    mode: str = field(default="error", metadata=one_of("error", "overwrite"))


#: [model] and [solver] keys a tuning run chooses itself or does not use, with the reason.
_NOT_FOR_TUNING = {
    "model.reg_param": "the grid chooses it: set tune.reg_params or the path",
    "model.elastic_net_param": "the grid chooses it: set tune.elastic_net_params",
    "model.init_model": "every path starts from the intercept-only model",
    "model.class_weight": "class weights per fold are not supported by tune yet",
    "solver.checkpoint_path": "tune keeps no checkpoints",
    **{f"model.{key}": "bounds are not supported by tune yet" for key in COEFFICIENT_KEYS + INTERCEPT_KEYS},
}


@dataclass(frozen=True)
class TuneFitConf(FitConf):
    """What a tuning run needs besides where its input and output are (the Python API's
    :class:`~logreg_spark.ml.LogisticRegressionCV` holds one as its params)."""

    tune: TuneSection = field(default_factory=TuneSection)

    def __post_init__(self) -> None:
        super().__post_init__()
        where = WHERE.get()
        check_roles(self.input, {"tune.fold_col": self.tune.fold_col}, where)
        defaults = {"model": ModelConf(), "solver": SolverConf()}
        for key, reason in _NOT_FOR_TUNING.items():
            section, name = key.split(".")
            if getattr(getattr(self, section), name) != getattr(defaults[section], name):
                raise ConfigError(f"{where(key)}: {key} is not used by tune: {reason}")

    def fit_conf(self, reg_param: float, elastic_net_param: float) -> FitConf:
        """The training conf of one (λ, α): what a separate training run would be given."""
        model = replace(self.model, reg_param=reg_param, elastic_net_param=elastic_net_param)
        return FitConf(self.input, model, self.solver, self.spark)


@dataclass(frozen=True)
class TuneConf(TuneFitConf):
    """The tuning job's conf."""

    output: TuneOutputConf = field(default_factory=TuneOutputConf)

    def __post_init__(self) -> None:
        where = WHERE.get()
        require_input_path(self.input.path, where)
        super().__post_init__()
        if not self.output.path:
            raise ConfigError(f"{where('output.path')}: output.path is required")
