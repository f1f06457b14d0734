"""Job configuration: TOML files merged in order, then ``--set`` overrides.

The conf classes are in :mod:`~logreg_spark.settings.schema` (re-exported here, where the
jobs and their callers import them from); this module reads files and overrides into
them. Everything is validated before Spark starts, and every error is one line naming
the key and where it was set.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError
from ..settings.schema import (
    Conf,
    EvaluateConf,
    EvaluateInputConf,
    EvaluateOutputConf,
    EvaluateTrackingConf,
    InputConf,
    ModelConf,
    ModelRefConf,
    OutputConf,
    PredictConf,
    PredictInputConf,
    PredictOutputConf,
    SolverConf,
    TrackingConf,
    TrainTrackingConf,
)
from ..settings.sections import origins
from ..settings.tuning import TuneConf, TuneOutputConf, TuneSection

#: A job's conf class.
AnyConf = TypeVar("AnyConf", Conf, PredictConf, EvaluateConf, TuneConf)

__all__ = [
    "AnyConf",
    "Conf",
    "ConfigError",
    "EvaluateConf",
    "EvaluateInputConf",
    "EvaluateOutputConf",
    "EvaluateTrackingConf",
    "InputConf",
    "ModelConf",
    "ModelRefConf",
    "OutputConf",
    "PredictConf",
    "PredictInputConf",
    "PredictOutputConf",
    "SolverConf",
    "TrackingConf",
    "TrainTrackingConf",
    "TuneConf",
    "TuneOutputConf",
    "TuneSection",
    "load_conf",
    "load_job_conf",
]


def _sections(schema: type) -> dict[str, type]:
    return {name: hint for name, hint in typing.get_type_hints(schema).items() if name != "spark"}


def load_conf(files: Sequence[str | Path], overrides: Sequence[str] = ()) -> Conf:
    """The training job's conf: :func:`load_job_conf` with the schema :class:`Conf`."""
    return load_job_conf(files, overrides, Conf)


def load_job_conf(files: Sequence[str | Path], overrides: Sequence[str], schema: type[AnyConf]) -> AnyConf:
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
    """The conf of ``values``; its checks name ``origin`` (the file or ``--set`` of each key)."""
    spark = {key: str(value) for key, value in values.get("spark", {}).items()}
    with origins(origin):
        sections = {section: cls(**values.get(section, {})) for section, cls in _sections(schema).items()}
        return schema(**sections, spark=spark)
