"""The one error family: everything a user can fix is a :class:`UserError`.

A job that fails with a ``UserError`` exits with code 2 and prints its message
as one line (``logreg_spark: error: …``); the message names the conf key,
column or path and what to do. Any other exception is a bug or an outage:
exit code 1 and a traceback in the log. The subclasses say which part of the
user's set-up is at fault; each also derives from the built-in error it has
always been, so existing ``except ValueError`` code keeps working.
"""

from __future__ import annotations

import re


def shown_uri(uri: str) -> str:
    """``uri`` as messages show it, the same on every kind of session: a local file's as its
    absolute path (Hadoop qualifies it as ``file:/a``, pyarrow as ``file:///a``), any other as it is."""
    return re.sub(r"^file:(//)?(?=/)", "", uri)


class UserError(Exception):
    """A problem the user can fix; the message is one line saying what and where."""


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
