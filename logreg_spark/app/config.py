"""Job configuration: TOML files merged in order, then ``--set`` overrides.

Each TOML section is a frozen dataclass below; its fields are the public keys,
with their types, defaults and checks. Everything is validated before Spark
starts, and every error is one line naming the key and where it was set.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import operator
import tomllib
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError

Check = Callable[[Any], "str | None"]


def _at_least(low: float) -> dict[str, Check]:
    return {"check": lambda v: None if v >= low else f"must be >= {low}"}


def _greater_than(low: float) -> dict[str, Check]:
    return {"check": lambda v: None if v > low else f"must be > {low}"}


def _between(low: float, high: float) -> dict[str, Check]:
    return {"check": lambda v: None if low <= v <= high else f"must be in [{low}, {high}]"}


def _one_of(*choices: str) -> dict[str, Check]:
    return {"check": lambda v: None if v in choices else f"must be one of {', '.join(map(repr, choices))}"}


@dataclass(frozen=True)
class InputConf:
    path: str | list[str] = ""
    label_col: str = "label"
    features: list[str] = field(default_factory=list)
    features_col: str = ""
    hash_features: list[str] = field(default_factory=list)
    hash_dim: int = field(default=1 << 18, metadata=_at_least(1))
    indices_col: str = ""
    values_col: str = ""
    num_features: int | None = field(default=None, metadata=_at_least(1))  # required with the two above
    weight_col: str = ""
    invalid: str = field(default="error", metadata=_one_of("error", "skip"))
    cache: str = field(default="local", metadata=_one_of("local", "spark"))


@dataclass(frozen=True)
class ModelConf:
    family: str = field(default="auto", metadata=_one_of("auto", "binomial", "multinomial"))
    fit_intercept: bool = True
    reg_param: float = field(default=0.0, metadata=_at_least(0.0))
    elastic_net_param: float = field(default=0.0, metadata=_between(0.0, 1.0))
    standardization: bool = True
    threshold: float = field(default=0.5, metadata=_between(0.0, 1.0))
    class_weight: str = field(default="", metadata=_one_of("", "balanced"))
    init_model: str = ""


@dataclass(frozen=True)
class SolverConf:
    name: str = field(default="auto", metadata=_one_of("auto", "gd", "lbfgs", "newton"))
    max_iter: int = field(default=100, metadata=_at_least(0))
    tol: float = field(default=1e-6, metadata=_at_least(0.0))
    learning_rate: float = field(default=1.0, metadata=_greater_than(0.0))
    line_search: bool = True
    memory: int = field(default=10, metadata=_at_least(1))
    dtype: str = field(default="float64", metadata=_one_of("float64", "float32"))
    aggregation_depth: int = field(default=0, metadata=_at_least(0))  # 0: chosen per pass
    checkpoint_path: str = ""
    checkpoint_every: int = field(default=1, metadata=_at_least(1))
    resume: str = field(default="auto", metadata=_one_of("auto", "never"))


@dataclass(frozen=True)
class OutputConf:
    model_path: str = ""
    mode: str = field(default="error", metadata=_one_of("error", "overwrite"))


Where = Callable[[str], str]  # key → where it was set ("--set", a file, or "conf")


@dataclass(frozen=True)
class Conf:
    """The training job's conf."""

    input: InputConf = field(default_factory=InputConf)
    model: ModelConf = field(default_factory=ModelConf)
    solver: SolverConf = field(default_factory=SolverConf)
    output: OutputConf = field(default_factory=OutputConf)
    spark: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self, where: Where) -> None:
        _require_input_path(self.input.path, where)
        _validate_feature_source(self.input, where)
        if not self.output.model_path:
            raise ConfigError(f"{where('output.model_path')}: output.model_path is required")
        if self.solver.name == "newton" and self.model.reg_param > 0 and self.model.elastic_net_param > 0:
            raise ConfigError(
                f'{where("solver.name")}: solver.name = "newton" handles L2 only; '
                'use "lbfgs" (or "auto") when model.elastic_net_param > 0'
            )


#: The keys of the index/value pair input, which go together.
_PAIR_KEYS = ("indices_col", "values_col", "num_features")


def _validate_feature_source(conf: InputConf, where: Where) -> None:
    """Exactly one feature source; the index/value pair input needs all of its keys."""
    pair = {key: getattr(conf, key) for key in _PAIR_KEYS}
    sources = (conf.features, conf.features_col, conf.hash_features, conf.indices_col or conf.values_col)
    if sum(map(bool, sources)) != 1:
        raise ConfigError(
            f"{where('input.features')}: set exactly one of input.features (a list of columns), "
            "input.features_col (an array or Vector column), input.hash_features (columns to hash) "
            "or input.indices_col with input.values_col (index and value array columns)"
        )
    if any(pair.values()) and not all(pair.values()):
        given = next(key for key, value in pair.items() if value)
        missing = [f"input.{key}" for key, value in pair.items() if not value]
        raise ConfigError(
            f"{where(f'input.{given}')}: input.{given} needs {' and '.join(missing)} "
            "(the index/value pair input: input.indices_col, input.values_col and "
            "input.num_features go together)"
        )
    if conf.indices_col and conf.indices_col == conf.values_col:
        raise ConfigError(
            f"{where('input.values_col')}: input.indices_col and input.values_col must be "
            f"two columns, not both {conf.values_col!r}"
        )


@dataclass(frozen=True)
class PredictInputConf:
    path: str | list[str] = ""
    invalid: str = field(default="error", metadata=_one_of("error", "skip"))


@dataclass(frozen=True)
class EvaluateInputConf(PredictInputConf):
    label_col: str = "label"
    weight_col: str = ""


@dataclass(frozen=True)
class ModelRefConf:
    path: str = ""
    threshold: float | None = field(default=None, metadata=_between(0.0, 1.0))  # None: the model's


@dataclass(frozen=True)
class EvaluateOutputConf:
    path: str = ""
    mode: str = field(default="error", metadata=_one_of("error", "overwrite"))


@dataclass(frozen=True)
class PredictOutputConf(EvaluateOutputConf):
    keep_cols: list[str] | None = None  # None: every input column
    raw_margin: bool = False


def _validate_scoring(conf: PredictConf | EvaluateConf, where: Where) -> None:
    _require_input_path(conf.input.path, where)
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

    validate = _validate_scoring


@dataclass(frozen=True)
class EvaluateConf:
    """The evaluation job's conf."""

    input: EvaluateInputConf = field(default_factory=EvaluateInputConf)
    model: ModelRefConf = field(default_factory=ModelRefConf)
    output: EvaluateOutputConf = field(default_factory=EvaluateOutputConf)
    spark: dict[str, str] = field(default_factory=dict)

    validate = _validate_scoring


def _require_input_path(path: str | list[str], where: Where) -> None:
    if not path:
        raise ConfigError(f"{where('input.path')}: input.path is required (a Parquet path, glob or list)")


AnyConf = TypeVar("AnyConf", Conf, PredictConf, EvaluateConf)


def _sections(schema: type) -> dict[str, type]:
    return {name: hint for name, hint in typing.get_type_hints(schema).items() if name != "spark"}


def load_conf(files: list[str | Path], overrides: list[str] = (), schema: type[AnyConf] = Conf) -> AnyConf:
    """Merge ``files`` in order, apply ``--set section.key=value`` overrides, validate
    against ``schema`` (a job's conf class)."""
    sections = _sections(schema)
    values: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    for path in files:
        for section, key, value in _read_toml(Path(path)):
            _check_key(sections, section, key, str(path))
            values.setdefault(section, {})[key] = value
            origin[f"{section}.{key}"] = str(path)
    for item in overrides:
        section, key, value = _parse_override(item)
        _check_key(sections, section, key, "--set")
        values.setdefault(section, {})[key] = value
        origin[f"{section}.{key}"] = "--set"
    return _build(schema, values, origin)


def _read_toml(path: Path) -> list[tuple[str, str, Any]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: conf file not found") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    items = []
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {section}: expected a [section] table, got a value")
        items += [(section, key, value) for key, value in table.items()]
    return items


def _parse_override(item: str) -> tuple[str, str, Any]:
    name, sep, text = item.partition("=")
    section, dot, key = name.strip().partition(".")
    if not sep or not dot or not key:
        raise ConfigError(f"--set {item}: expected section.key=value")
    if section == "spark":  # spark keys contain dots and are always strings
        return section, key, text
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text  # a bare word: take it as a string (paths, names)
    return section, key, value


def _check_key(sections: dict[str, type], section: str, key: str, where: str) -> None:
    if section == "spark":
        return
    if section not in sections:
        raise ConfigError(f"{where}: unknown section [{section}]{_suggest(section, [*sections, 'spark'])}")
    known = [f.name for f in dataclasses.fields(sections[section])]
    if key not in known:
        raise ConfigError(f"{where}: unknown key {section}.{key}{_suggest(key, known)}")


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _build(schema: type[AnyConf], values: dict[str, dict[str, Any]], origin: dict[str, str]) -> AnyConf:
    sections = {}
    for section, cls in _sections(schema).items():
        given = values.get(section, {})
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name not in given:
                continue
            name = f"{section}.{f.name}"
            problem = _type_problem(given[f.name], hints[f.name])
            if problem is None and "check" in f.metadata:
                problem = f.metadata["check"](given[f.name])
            if problem:
                raise ConfigError(f"{origin[name]}: {name} {problem} (got {given[f.name]!r})")
            if _given_type(hints[f.name]) is float:
                given[f.name] = float(given[f.name])
        sections[section] = cls(**given)
    spark = {key: str(value) for key, value in values.get("spark", {}).items()}
    conf = schema(**sections, spark=spark)
    conf.validate(lambda key: origin.get(key, "conf"))
    return conf


def _given_type(hint: Any) -> Any:
    """The type a value set in a file may have: ``X`` for a field ``X | None`` (None is the unset default)."""
    args = typing.get_args(hint)
    if type(None) not in args:
        return hint
    return functools.reduce(operator.or_, [arg for arg in args if arg is not type(None)])


def _type_problem(value: Any, hint: Any) -> str | None:
    hint = _given_type(hint)
    accepted = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
        list[str]: isinstance(value, list) and all(isinstance(v, str) for v in value),
        str | list[str]: isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)),
    }
    if accepted[hint]:
        return None
    names = {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        list[str]: "a list of strings",
        str | list[str]: "a string or a list of strings",
    }
    return f"must be {names[hint]}"
