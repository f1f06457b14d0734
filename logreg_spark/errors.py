"""The one error family: everything a user can fix is a :class:`UserError`.

A job that fails with a ``UserError`` exits with code 2 and prints its message
as one line (``logreg_spark: error: …``); the message names the conf key,
column or path and what to do. Any other exception is a bug or an outage:
exit code 1 and a traceback in the log. The subclasses say which part of the
user's set-up is at fault; each also derives from the built-in error it has
always been, so existing ``except ValueError`` code keeps working.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator, Mapping

#: How messages name a setting, by its conf key: the key itself in a job, the param that stands
#: for it in the Python API (see :func:`naming`).
_NAMES: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("names", default=None)


def named(key: str) -> str:
    """Conf ``key`` as the user set it: the key (``input.label_col``), or under :func:`naming`
    the name given for it (``labelCol``)."""
    return (_NAMES.get() or {}).get(key, key)


@contextlib.contextmanager
def naming(names: Mapping[str, str]) -> Iterator[None]:
    """While entered, messages name conf keys as ``names`` does (key → the name a user set)."""
    token = _NAMES.set(names)
    try:
        yield
    finally:
        _NAMES.reset(token)


def shown_uri(uri: str) -> str:
    """``uri`` as messages show it, the same on every kind of session: a local file's as its
    absolute path (Hadoop qualifies it as ``file:/a``, pyarrow as ``file:///a``), any other as it is."""
    return re.sub(r"^file:(//)?(?=/)", "", uri)


#: How a message about rows refused by ``input.invalid = "error"`` begins.
INVALID_ROWS = "invalid rows ("


class UserError(Exception):
    """A problem the user can fix; the message is one line saying what and where."""


def raised_in_task(err: BaseException) -> UserError | None:
    """The :class:`UserError` a Spark task raised, which reaches the driver as the text of its
    traceback (PySpark's ``PythonException``, on classic Spark and Spark Connect): the last
    line naming one of this module's classes; else None."""
    said = re.findall(rf"^{re.escape(__name__)}\.(\w+): (.+)$", str(err), re.MULTILINE)
    if not said:
        return None
    kind, message = said[-1]
    cls = globals().get(kind)
    return cls(message.strip()) if isinstance(cls, type) and issubclass(cls, UserError) else None


class ConfigError(UserError, ValueError):
    """A configuration problem: a key, value or combination the jobs refuse."""


class InputError(UserError, ValueError):
    """The input cannot be trained on or scored; the message says which column and why."""


class ModelError(UserError, ValueError):
    """A model directory that cannot be used; the message says why."""


class OutputError(UserError, RuntimeError):
    """The output cannot be written where the conf asks."""


class CheckpointError(UserError, RuntimeError):
    """The checkpoints found cannot be resumed from."""
