"""Solver checkpoints: a run that is killed goes on from its last checkpoint.

Every ``solver.checkpoint_every`` iterations the solver's
:class:`~logreg_spark.solvers.Progress` (point, history, solver memory) is
written as ``checkpoint-<iteration>.json`` under ``solver.checkpoint_path``,
first under a hidden name and then renamed, so a file with the final name is
always complete; older checkpoints are deleted after the new one is in place.
Floats are written as JSON numbers, which read back bit for bit: a resumed run
takes exactly the steps the uninterrupted run would have taken.

Each checkpoint carries a fingerprint of what it was made from (the input
files' names, sizes and modification times, the conf sections that shape
the fit, and the kind of coordinates the solver's point is in). A run that
finds checkpoints with another fingerprint refuses, unless
``solver.resume = "never"``, which deletes them and starts afresh. The
checkpoints are deleted once the model is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import uuid

import numpy as np
from pyspark.sql import DataFrame, SparkSession

from ..app.config import Conf
from ..core.scaling import COORDINATES
from ..errors import CheckpointError
from ..solvers import IterationRecord, Progress
from .paths import HadoopPath

log = logging.getLogger(__name__)

_NAME = re.compile(r"checkpoint-(\d+)\.json")
#: Solver keys that do not change the path a fit takes.
_NOT_FINGERPRINTED = {"checkpoint_path", "checkpoint_every", "resume", "max_iter"}


def fingerprint(conf: Conf, df: DataFrame, spark: SparkSession) -> str:
    """A digest of the input files (name, size, modification time) and the fit's conf."""
    files = []
    for uri in sorted(df.inputFiles()):
        status = HadoopPath(spark, uri).status()
        files.append([uri, status.getLen(), status.getModificationTime()])
    solver = {k: v for k, v in dataclasses.asdict(conf.solver).items() if k not in _NOT_FINGERPRINTED}
    document = {
        "files": files,
        "input": dataclasses.asdict(conf.input),
        "model": dataclasses.asdict(conf.model),
        "solver": solver,
        "coordinates": COORDINATES,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


class Checkpoints:
    """The checkpoints of one fit, in a directory on any Hadoop filesystem."""

    def __init__(self, spark: SparkSession, path: str, fingerprint: str, every: int) -> None:
        self.directory = HadoopPath(spark, path)
        self.fingerprint = fingerprint
        self.every = every

    def _saved(self) -> list[tuple[int, HadoopPath]]:
        found = [(int(m.group(1)), child) for child in self.directory.children() if (m := _NAME.fullmatch(child.name))]
        return sorted(found, key=lambda item: item[0])

    def load(self, resume: str) -> Progress | None:
        """The latest checkpoint's progress, or None to start afresh."""
        saved = self._saved()
        if not saved:
            return None
        if resume == "never":
            log.info('solver.resume = "never": deleting %d old checkpoint(s) in %s', len(saved), self.directory.uri)
            self.clear()
            return None
        iteration, path = saved[-1]
        try:
            document = json.loads(path.read_text())
            if document["fingerprint"] != self.fingerprint:
                raise CheckpointError(
                    f"solver.checkpoint_path {self.directory.uri}: the checkpoint was made from another input, "
                    "conf or version of the solver's coordinates; delete it, or set "
                    'solver.resume = "never" to start afresh'
                )
            progress = Progress(
                theta=np.array(document["theta"], dtype=np.float64),
                history=[IterationRecord(**record) for record in document["history"]],
                state={
                    name: np.array(value, dtype=np.float64) if isinstance(value, list) else value
                    for name, value in document["memory"].items()
                },
            )
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"{path.uri}: not a readable checkpoint ({err})") from None
        log.info("resuming from %s (iteration %d)", path.uri, iteration)
        return progress

    def save(self, progress: Progress) -> None:
        """Write ``progress`` if its iteration is due; then delete older checkpoints."""
        iteration = progress.last.iteration
        if iteration == 0 or iteration % self.every:
            return
        document = {
            "fingerprint": self.fingerprint,
            "theta": progress.theta.tolist(),
            "history": [dataclasses.asdict(record) for record in progress.history],
            "memory": {name: np.asarray(value).tolist() for name, value in progress.state.items()},
        }
        final = self.directory.child(f"checkpoint-{iteration:06d}.json")
        hidden = self.directory.child(f".checkpoint-{iteration:06d}.{uuid.uuid4().hex[:12]}.json")
        hidden.write_text(json.dumps(document))
        hidden.rename_to(final)
        for older, path in self._saved():
            if older < iteration:
                path.delete()

    def clear(self) -> None:
        for _, path in self._saved():
            path.delete()
