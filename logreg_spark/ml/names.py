"""Param names: an unknown one is refused with the closest known one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pyspark.ml.param import Params

from ..errors import ConfigError


def check_known(owner: Params, names: Iterable[str]) -> None:
    """A :class:`ConfigError` for the first of ``names`` that is not a param of ``owner``,
    suggesting the closest one (``LogisticRegression: unknown param 'regparam' (did you mean
    'regParam'?)``)."""
    known = {param.name.lower(): param.name for param in owner.params}
    for name in sorted(names):
        if not owner.hasParam(name):
            close = difflib.get_close_matches(name.lower(), list(known), n=1)
            hint = f" (did you mean {known[close[0]]!r}?)" if close else ""
            raise ConfigError(f"{type(owner).__name__}: unknown param {name!r}{hint}")
