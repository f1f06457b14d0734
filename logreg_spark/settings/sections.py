"""Conf sections: frozen dataclasses whose fields are checked when made.

A :class:`Section`'s fields are a TOML section's keys, with their types, defaults
and checks (:func:`at_least`, :func:`between`, …, given as field metadata). Errors
are one line naming the key and where it was set: a file or ``--set`` while
loading (:func:`origins`), else ``conf``; :data:`WHERE` holds that rule.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import operator
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from ..errors import ConfigError

Check = Callable[[Any], "str | None"]
Where = Callable[[str], str]  # key → where it was set ("--set", a file, or "conf")


def _in_code(key: str) -> str:
    return "conf"


WHERE: contextvars.ContextVar[Where] = contextvars.ContextVar("where", default=_in_code)


@contextlib.contextmanager
def origins(origin: Mapping[str, str]) -> Iterator[None]:
    """Confs made inside name ``origin[key]`` (a file, ``--set``) in their errors; other keys ``conf``."""
    token = WHERE.set(lambda key: origin.get(key, "conf"))
    try:
        yield
    finally:
        WHERE.reset(token)


def at_least(low: float) -> dict[str, Check]:
    return {"check": lambda v: None if v >= low else f"must be >= {low}"}


def greater_than(low: float) -> dict[str, Check]:
    return {"check": lambda v: None if v > low else f"must be > {low}"}


def between(low: float, high: float) -> dict[str, Check]:
    return {"check": lambda v: None if low <= v <= high else f"must be in [{low}, {high}]"}


def one_of(*choices: str) -> dict[str, Check]:
    return {"check": lambda v: None if v in choices else f"must be one of {', '.join(map(repr, choices))}"}


class Section:
    """A TOML section (``section=`` names it): when made, each value must have its field's type
    and pass its check; numbers for a float field (or list of floats) become floats."""

    _name: ClassVar[str]
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]  # every section is a dataclass

    def __init_subclass__(cls, section: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if section:
            cls._name = section

    def __post_init__(self) -> None:
        section: type = type(self)  # as a plain type: mypy takes a class for unhashable (python/mypy#20409)
        where, hints = WHERE.get(), _hints(section)
        for f in dataclasses.fields(self):
            value, hint = getattr(self, f.name), hints[f.name]
            if value is None and type(None) in typing.get_args(hint):
                continue  # unset: the default of an optional key
            key = f"{self._name}.{f.name}"
            problem = _type_problem(value, hint)
            if problem is None and "check" in f.metadata:
                problem = f.metadata["check"](value)
            if problem:
                raise ConfigError(f"{where(key)}: {key} {problem} (got {value!r})")
            if _given_type(hint) is float:
                object.__setattr__(self, f.name, float(value))
            elif _given_type(hint) == list[float]:
                object.__setattr__(self, f.name, [float(v) for v in value])
            elif _given_type(hint) == list[list[float]]:
                object.__setattr__(self, f.name, [[float(v) for v in row] for row in value])


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _given_type(hint: Any) -> Any:
    """The type a value may have: ``X`` for a field ``X | None`` (None is the unset default)."""
    args = typing.get_args(hint)
    if type(None) not in args:
        return hint
    return functools.reduce(operator.or_, [arg for arg in args if arg is not type(None)])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _type_problem(value: Any, hint: Any) -> str | None:
    hint = _given_type(hint)
    accepted = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: _is_number(value),
        str: isinstance(value, str),
        list[str]: isinstance(value, list) and all(isinstance(v, str) for v in value),
        list[float]: isinstance(value, list) and all(_is_number(v) for v in value),
        list[list[float]]: isinstance(value, list)
        and all(isinstance(row, list) and all(_is_number(v) for v in row) for row in value),
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
        list[float]: "a list of numbers",
        list[list[float]]: "a list of lists of numbers",
        str | list[str]: "a string or a list of strings",
    }
    return f"must be {names[hint]}"
