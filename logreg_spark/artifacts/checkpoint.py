"""Solver checkpoints: a run that is killed goes on from its last checkpoint.

Every ``solver.checkpoint_every`` iterations the solver's
:class:`~logreg_spark.solvers.Progress` is written under ``solver.checkpoint_path``
as one small JSON file and one binary ``.npy`` file per array::

    checkpoint-000006.json                    fingerprint, iteration, history, scalar state,
                                              and the file, dtype and shape of every array
    checkpoint-000006.<token>.theta.npy       the point θ
    checkpoint-000006.<token>.state-s.npy     solver state arrays (L-BFGS: s, y, diagonal)

The JSON file is the commit point. The arrays are written first, under names no
earlier save used (``<token>`` is random); then the JSON is written under a
hidden name and renamed into place. A checkpoint exists only once its JSON has
its final name, and a JSON names only arrays written in full, so a reader never
sees a half-written checkpoint; arrays without their JSON, or a hidden JSON,
are left-overs of an interrupted save: ignored, and deleted by the next save
(the directory is the checkpoints' own: any ``checkpoint-<n>.*`` file in it
counts as one of theirs). The single-file rename is atomic on HDFS and local
disks and is a single object copy on S3A, where renaming a directory would not
be. After the new JSON is in place, every older checkpoint is deleted, its JSON
first. Arrays are ``np.save`` bytes read back with ``allow_pickle=False``, and
scalars JSON numbers, both bit for bit: a resumed run takes exactly the steps
the uninterrupted run would have taken.

Each checkpoint carries a fingerprint of what it was made from (the input
files' names, sizes and modification times, the conf sections that shape
the fit, the kind of coordinates the solver's point is in, and the format of
these files). A run that finds checkpoints with another fingerprint refuses,
unless ``solver.resume = "never"``, which deletes them and starts afresh; an
all-JSON checkpoint from versions before :data:`FORMAT` is such a foreign one.
The checkpoints are deleted once the model is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from pyspark.sql import DataFrame, SparkSession

from ..core.scaling import COORDINATES
from ..errors import CheckpointError
from ..settings.schema import FitConf
from ..solvers import IterationRecord, Progress, SolverState
from .paths import storage_path
from .storage import StoragePath

log = logging.getLogger(__name__)

#: The layout of the checkpoint files; part of the fingerprint, so a checkpoint in another layout is foreign.
FORMAT = 2
_NAME = re.compile(r"checkpoint-(\d+)\.json")
#: Every file a save writes, complete or not: the JSON, its hidden staging name, the arrays.
_ANY_PART = re.compile(r"\.?checkpoint-\d+\..+")
#: Solver keys that do not change the path a fit takes.
_NOT_FINGERPRINTED = {"checkpoint_path", "checkpoint_every", "resume", "max_iter"}

#: How an array is named in a checkpoint's JSON: its file beside the JSON, its dtype and shape.
ArrayEntry = dict[str, Any]


def fingerprint(conf: FitConf, df: DataFrame, spark: SparkSession) -> str:
    """A digest of the input files (name, size, modification time), the fit's conf and the checkpoint format."""
    files = []
    for uri in sorted(df.inputFiles()):
        status = storage_path(spark, uri).status()
        files.append([uri, status.size, status.modified_ms])
    solver = {k: v for k, v in dataclasses.asdict(conf.solver).items() if k not in _NOT_FINGERPRINTED}
    document = {
        "files": files,
        "input": dataclasses.asdict(conf.input),
        "model": dataclasses.asdict(conf.model),
        "solver": solver,
        "coordinates": COORDINATES,
        "checkpoint_format": FORMAT,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


class Checkpoints:
    """The checkpoints of one fit, in a directory on any filesystem (see :func:`.paths.storage_path`)."""

    def __init__(self, spark: SparkSession, path: str, fingerprint: str, every: int) -> None:
        self.directory = storage_path(spark, path)
        self.fingerprint = fingerprint
        self.every = every

    def _saved(self) -> list[tuple[int, StoragePath]]:
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
                    f"solver.checkpoint_path {self.directory.shown}: the checkpoint was made from another input, "
                    "conf or version of the solver's coordinates or of the checkpoint files; delete it, or set "
                    'solver.resume = "never" to start afresh'
                )
            state = {
                name: self._read_array(value) if isinstance(value, dict) else value
                for name, value in document["state"].items()
            }
            progress = Progress(
                theta=self._read_array(document["theta"]),
                history=[IterationRecord(**record) for record in document["history"]],
                state_of=lambda: state,
            )
        except (KeyError, TypeError, ValueError, FileNotFoundError) as err:
            raise CheckpointError(f"{path.shown}: not a readable checkpoint ({err})") from None
        log.info("resuming from %s (iteration %d)", path.uri, iteration)
        return progress

    def save(self, progress: Progress) -> None:
        """Write ``progress`` if its iteration is due; then delete older checkpoints and left-overs."""
        iteration = progress.last.iteration
        if iteration == 0 or iteration % self.every:
            return
        stem = f"checkpoint-{iteration:06d}.{uuid.uuid4().hex[:12]}"
        document = {
            "fingerprint": self.fingerprint,
            "iteration": iteration,
            "history": [dataclasses.asdict(record) for record in progress.history],
            "theta": self._write_array(f"{stem}.theta.npy", progress.theta),
            "state": self._write_state(stem, progress.state),
        }
        final = self.directory.child(f"checkpoint-{iteration:06d}.json")
        hidden = self.directory.child(f".{stem}.json")
        hidden.write_text(json.dumps(document))
        hidden.rename_to(final)
        self._delete(lambda name: name != final.name and not name.startswith(f"{stem}."))

    def clear(self) -> None:
        """Delete every checkpoint, and the left-overs of interrupted saves."""
        self._delete(lambda name: True)

    def _delete(self, chosen: Callable[[str], bool]) -> None:
        """Delete the checkpoint files ``chosen(name)`` picks: JSONs first, so no checkpoint outlives its arrays."""
        parts = [child for child in self.directory.children() if _ANY_PART.fullmatch(child.name) and chosen(child.name)]
        for path in sorted(parts, key=lambda child: not _NAME.fullmatch(child.name)):
            path.delete()

    def _write_state(self, stem: str, state: SolverState) -> dict[str, ArrayEntry | float]:
        """Arrays to ``.npy`` files (named in the result); numbers as they are."""
        arrays = {name: np.asarray(value) for name, value in state.items()}
        return {
            name: self._write_array(f"{stem}.state-{name}.npy", array) if array.ndim else array.item()
            for name, array in arrays.items()
        }

    def _write_array(self, name: str, array: np.ndarray) -> ArrayEntry:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        self.directory.child(name).write_bytes(buffer.getbuffer())
        return {"file": name, "dtype": array.dtype.str, "shape": list(array.shape)}

    def _read_array(self, entry: ArrayEntry) -> np.ndarray:
        """The array ``entry`` names; ValueError if it is not the dtype and shape the JSON says."""
        path = self.directory.child(entry["file"])
        if not path.exists():
            raise FileNotFoundError(f"{entry['file']} is missing")
        array = np.load(io.BytesIO(path.read_bytes()), allow_pickle=False)
        if array.dtype.str != entry["dtype"] or list(array.shape) != entry["shape"]:
            found = f"{array.dtype.str} {list(array.shape)}"
            raise ValueError(f"{entry['file']} holds {found}, not {entry['dtype']} {entry['shape']}")
        return array


@contextmanager
def checkpointing(df: DataFrame, conf: FitConf) -> Iterator[Checkpoints | None]:
    """The checkpoints of fitting ``conf`` on ``df`` (None without ``solver.checkpoint_path``);
    deleted when the block ends without an error (the training job writes its model in it)."""
    if not conf.solver.checkpoint_path:
        yield None
        return
    spark = df.sparkSession
    checkpoints = Checkpoints(
        spark, conf.solver.checkpoint_path, fingerprint(conf, df, spark), conf.solver.checkpoint_every
    )
    yield checkpoints
    checkpoints.clear()
