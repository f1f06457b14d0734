"""The conf schema: one frozen dataclass per TOML section, and one per job.

A section's fields are its public keys, with their types, defaults and checks.
A conf checks itself when it is made, however it is made (loaded from files by
:func:`~logreg_spark.app.config.load_conf`, or built in code): each section its
own values, each job's conf what takes several keys (required keys, the feature
source, solver and penalty). Every error is one line naming the key and where it
was set: the file or ``--set`` while loading (see :func:`origins`), else ``conf``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
from dataclasses import dataclass, field
from typing import Any

from ..core.decision import inconsistency, thresholds_problem
from ..errors import ConfigError
from .bounds import check_bounded_solver, check_bounds
from .columns import check_feature_source, check_offset, check_roles
from .sections import WHERE, Section, Where, at_least, between, greater_than, one_of


@dataclass(frozen=True)
class InputConf(Section, section="input"):
    path: str | list[str] = ""
    label_col: str = "label"
    features: list[str] = field(default_factory=list)
    features_col: str = ""
    hash_features: list[str] = field(default_factory=list)
    hash_dim: int = field(default=1 << 18, metadata=at_least(1))
    indices_col: str = ""
    values_col: str = ""
    num_features: int | None = field(default=None, metadata=at_least(1))  # required with the two above
    weight_col: str = ""
    offset_col: str = ""  # "": every row's offset is 0
    invalid: str = field(default="error", metadata=one_of("error", "skip"))
    cache: str = field(default="local", metadata=one_of("local", "spark"))
    reader: str = field(default="auto", metadata=one_of("auto", "spark"))
    max_block_size_mb: float = field(default=0.0, metadata=at_least(0.0))  # 0: BLOCK_BYTES


#: Class thresholds as MLlib's ``thresholds`` param: one per class, >= 0, at most one 0.
_THRESHOLDS = {"check": thresholds_problem}


@dataclass(frozen=True)
class ModelConf(Section, section="model"):
    family: str = field(default="auto", metadata=one_of("auto", "binomial", "multinomial"))
    fit_intercept: bool = True
    reg_param: float = field(default=0.0, metadata=at_least(0.0))
    elastic_net_param: float = field(default=0.0, metadata=between(0.0, 1.0))
    standardization: bool = True
    threshold: float = field(default=0.5, metadata=between(0.0, 1.0))
    thresholds: list[float] = field(default_factory=list, metadata=_THRESHOLDS)  # []: unset
    class_weight: str = field(default="", metadata=one_of("", "balanced"))
    init_model: str = ""
    # MLlib's bounds (None: unset): K rows of d numbers, and K numbers (K = 1 for binomial)
    lower_bounds_on_coefficients: list[list[float]] | None = None
    upper_bounds_on_coefficients: list[list[float]] | None = None
    lower_bounds_on_intercepts: list[float] | None = None
    upper_bounds_on_intercepts: list[float] | None = None

    def __post_init__(self) -> None:
        """A ``threshold`` other than the default must agree with ``thresholds``, as in MLlib; the
        bounds are MLlib's (:func:`~logreg_spark.settings.bounds.check_bounds`)."""
        super().__post_init__()
        check_bounds(self, WHERE.get())
        problem = inconsistency(self.threshold, self.thresholds) if self.thresholds and self.threshold != 0.5 else None
        if problem:
            raise ConfigError(f"{WHERE.get()('model.thresholds')}: model.threshold, model.thresholds: {problem}")


@dataclass(frozen=True)
class SolverConf(Section, section="solver"):
    name: str = field(default="auto", metadata=one_of("auto", "gd", "lbfgs", "newton"))
    max_iter: int = field(default=100, metadata=at_least(0))
    tol: float = field(default=1e-6, metadata=at_least(0.0))
    learning_rate: float = field(default=1.0, metadata=greater_than(0.0))
    line_search: bool = True
    memory: int = field(default=10, metadata=at_least(1))
    dtype: str = field(default="float64", metadata=one_of("float64", "float32"))
    aggregation_depth: int = field(default=0, metadata=at_least(0))  # 0: chosen per pass
    checkpoint_path: str = ""
    checkpoint_every: int = field(default=1, metadata=at_least(1))
    resume: str = field(default="auto", metadata=one_of("auto", "never"))


@dataclass(frozen=True)
class OutputConf(Section, section="output"):
    model_path: str = ""
    mllib_path: str = ""  # "": no export in MLlib's format
    mode: str = field(default="error", metadata=one_of("error", "overwrite"))


#: The tracking URI when neither ``tracking.uri`` nor ``MLFLOW_TRACKING_URI`` gives one (MLflow's default).
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
_RUN_ID = re.compile(r"[a-zA-Z0-9][\w\-]{0,255}")  # MLflow's rule


@dataclass(frozen=True)
class TrackingConf(Section, section="tracking"):
    """Optional MLflow tracking (:mod:`~logreg_spark.app.tracking`); off by default."""

    enabled: bool = False
    uri: str = ""  # "": MLFLOW_TRACKING_URI, else DEFAULT_TRACKING_URI
    experiment: str = field(default="logreg_spark", metadata={"check": lambda v: None if v.strip() else "is empty"})
    run_name: str = ""  # "": MLflow makes one up

    def __post_init__(self) -> None:
        """With tracking on, refuse before Spark starts when the ``mlflow`` extra is missing."""
        super().__post_init__()
        if not self.enabled:
            return
        needed = ["mlflow"] + (["sqlalchemy", "alembic"] if self.store_uri().startswith("sqlite:") else [])
        missing = [name for name in needed if importlib.util.find_spec(name) is None]
        if missing:
            raise ConfigError(
                f"{WHERE.get()('tracking.enabled')}: tracking.enabled = true needs {', '.join(missing)}: "
                "pip install 'logreg_spark[mlflow]'"
            )

    def store_uri(self) -> str:
        """The tracking URI in force."""
        return self.uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


@dataclass(frozen=True)
class TrainTrackingConf(TrackingConf):
    registered_model_name: str = ""  # "": not registered


@dataclass(frozen=True)
class EvaluateTrackingConf(TrackingConf):
    run_id: str = field(  # "": a new run
        default="", metadata={"check": lambda v: None if not v or _RUN_ID.fullmatch(v) else "must be an MLflow run id"}
    )


@dataclass(frozen=True)
class FitConf:
    """What a fit needs: where the features are and the model and solver settings (the Python
    API's :class:`~logreg_spark.ml.LogisticRegression` holds one as its params)."""

    input: InputConf = field(default_factory=InputConf)
    model: ModelConf = field(default_factory=ModelConf)
    solver: SolverConf = field(default_factory=SolverConf)
    spark: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = WHERE.get()
        _check_spark(self.spark, where)
        check_feature_source(self.input, where)
        check_roles(self.input, {}, where)
        check_offset(self.input, self.model, where)
        check_bounded_solver(self.model, self.solver.name, where)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Conf(FitConf):
    """The training job's conf: a fit's, its input path and its output."""

    output: OutputConf = field(default_factory=OutputConf)
    tracking: TrainTrackingConf = field(default_factory=TrainTrackingConf)

    def __post_init__(self) -> None:
        where = WHERE.get()
        require_input_path(self.input.path, where)
        super().__post_init__()
        if not self.output.model_path:
            raise ConfigError(f"{where('output.model_path')}: output.model_path is required")
        if self.output.mllib_path and self.input.offset_col:
            raise ConfigError(f"{where('output.mllib_path')}: output.mllib_path: MLlib's model has no input.offset_col")


def _check_spark(settings: dict[str, str], where: Where) -> None:
    """A ``[spark]`` table names a classic master or a Spark Connect endpoint, not both."""
    if "spark.master" in settings and "spark.remote" in settings:
        raise ConfigError(
            f"{where('spark.spark.remote')}: spark.remote and spark.master ({where('spark.spark.master')}) "
            "cannot both be set: spark.remote runs the job on a Spark Connect server, spark.master "
            "starts Spark in this process; keep one"
        )


@dataclass(frozen=True)
class ScoredInputConf(Section, section="input"):
    path: str | list[str] = ""
    invalid: str = field(default="error", metadata=one_of("error", "skip"))
    offset_col: str = ""  # "": the model's


@dataclass(frozen=True)
class PredictInputConf(ScoredInputConf):
    reader: str = field(default="auto", metadata=one_of("auto", "spark"))


@dataclass(frozen=True)
class EvaluateInputConf(ScoredInputConf):
    label_col: str = "label"
    weight_col: str = ""


@dataclass(frozen=True)
class ModelRefConf(Section, section="model"):
    path: str = ""
    threshold: float | None = field(default=None, metadata=between(0.0, 1.0))  # None: the model's
    thresholds: list[float] | None = field(default=None, metadata=_THRESHOLDS)  # None: the model's


@dataclass(frozen=True)
class EvaluateOutputConf(Section, section="output"):
    path: str = ""
    mode: str = field(default="error", metadata=one_of("error", "overwrite"))


@dataclass(frozen=True)
class PredictOutputConf(EvaluateOutputConf):
    keep_cols: list[str] | None = None  # None: every input column
    raw_margin: bool = False


def _check_scoring(conf: PredictConf | EvaluateConf) -> None:
    """A scoring job's required keys."""
    where = WHERE.get()
    _check_spark(conf.spark, where)
    require_input_path(conf.input.path, where)
    for key in ("model.path", "output.path"):
        section, name = key.split(".")
        if not getattr(getattr(conf, section), name):
            raise ConfigError(f"{where(key)}: {key} is required")


@dataclass(frozen=True)
class PredictConf:
    """The scoring job's conf."""

    input: PredictInputConf = field(default_factory=PredictInputConf)
    model: ModelRefConf = field(default_factory=ModelRefConf)
    output: PredictOutputConf = field(default_factory=PredictOutputConf)
    spark: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_scoring(self)


@dataclass(frozen=True)
class EvaluateConf:
    """The evaluation job's conf."""

    input: EvaluateInputConf = field(default_factory=EvaluateInputConf)
    model: ModelRefConf = field(default_factory=ModelRefConf)
    output: EvaluateOutputConf = field(default_factory=EvaluateOutputConf)
    tracking: EvaluateTrackingConf = field(default_factory=EvaluateTrackingConf)
    spark: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_scoring(self)


def require_input_path(path: str | list[str], where: Where) -> None:
    if not path:
        raise ConfigError(f"{where('input.path')}: input.path is required (a Parquet path, glob or list)")
