"""Where executors keep their blocks between passes.

``spark``: the blocks themselves are the cached RDD's elements; Spark keeps
them pickled in the JVM and ships them to the Python workers on every pass.

``local``: each block is written once as ``.npy`` files into the executor's
application-scoped local directory, and the cached RDD holds only small
:class:`BlockFile` handles. A pass memory-maps the files (kept open in the
long-lived Python workers), so no block crosses the JVM/Python boundary after
preparation. Spark schedules each task where its handle is cached, hence where
its files are. A handle whose files are not on the machine that runs the task
raises :class:`BlockLost`, which the pass reports to the driver as
:class:`~logreg_spark.spark.engine.LostBlocks`; the driver then rebuilds the
cache from the input.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyspark import SparkFiles
from scipy import sparse

from ..core.columns import OwnColumns
from ..core.data import Block

#: Blocks memory-mapped by this Python worker, by directory.
_OPEN: dict[str, Block] = {}


class BlockLost(RuntimeError):
    """A block's files are not on this machine (its executor was lost, or the task moved)."""


def executor_directory() -> Path:
    """A local directory that Spark removes with the application.

    Standalone executors get ``SPARK_EXECUTOR_DIRS``, YARN containers
    ``LOCAL_DIRS``; in local mode and on Kubernetes, the directory of files
    added to the SparkContext, which goes away with it (or with the pod).
    """
    for variable in ("SPARK_EXECUTOR_DIRS", "LOCAL_DIRS"):
        if os.environ.get(variable):
            return Path(os.environ[variable].split(os.pathsep)[0].split(",")[0])
    return Path(SparkFiles.getRootDirectory())


#: The arrays of a CSR matrix, stored as files ``X.<part>.npy``.
_CSR_PARTS = ("data", "indices", "indptr")


def _arrays(block: Block) -> dict[str, np.ndarray]:
    """The block as named arrays, one file each: a CSR ``X`` as its three arrays and its shape."""
    X = block.X
    if sparse.issparse(X):
        features = {f"X.{part}": getattr(X, part) for part in _CSR_PARTS} | {"X.shape": np.array(X.shape)}
    else:
        features = {"X": X}
    optional = {name: values for name, values in (("fold", block.fold), ("offset", block.offset)) if values is not None}
    own = {} if block.own is None else {"own.columns": block.own.columns, "own.indices": block.own.indices}
    return features | {"y": block.y, "w": block.w} | optional | own


@dataclass(frozen=True)
class BlockFile:
    """A block written as ``.npy`` files (``X``, or a CSR ``X``'s arrays; ``y``; ``w``; ``fold``;
    ``offset``; its own columns' two arrays) in ``directory`` on one machine."""

    directory: str
    nbytes: int
    fields: tuple[str, ...] = ("X", "y", "w")

    @classmethod
    def write(cls, block: Block, name: str) -> BlockFile:
        directory = executor_directory() / "logreg_spark_blocks" / name
        directory.mkdir(parents=True, exist_ok=True)
        arrays = _arrays(block)
        for field, array in arrays.items():
            temporary = directory / f".{field}.{uuid.uuid4().hex}.npy"
            np.save(temporary, array)  # keeps the array's memory order
            os.replace(temporary, directory / f"{field}.npy")
        return cls(str(directory), sum(array.nbytes for array in arrays.values()), tuple(arrays))

    def load(self) -> Block:
        """The block, memory-mapped; mapped once per worker process."""
        block = _OPEN.get(self.directory)
        if block is not None and os.path.isdir(self.directory):
            return block
        _forget_removed()
        try:
            arrays = {field: np.load(Path(self.directory) / f"{field}.npy", mmap_mode="r") for field in self.fields}
        except FileNotFoundError:
            raise BlockLost(f"block files {self.directory} are not on this machine") from None
        X = arrays.get("X")
        if X is None:
            X = sparse.csr_array(tuple(arrays[f"X.{part}"] for part in _CSR_PARTS), shape=tuple(arrays["X.shape"]))
        own = OwnColumns(arrays["own.columns"], arrays["own.indices"]) if "own.columns" in arrays else None
        block = Block(X, arrays["y"], arrays["w"], arrays.get("fold"), arrays.get("offset"), own)
        _OPEN[self.directory] = block
        return block

    def remove(self) -> None:
        _OPEN.pop(self.directory, None)
        for field in self.fields:
            Path(self.directory, f"{field}.npy").unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty, or gone already
            os.rmdir(self.directory)


def _forget_removed() -> None:
    """Drop mappings of blocks whose files were removed, so their space is freed."""
    for directory in [d for d in _OPEN if not os.path.isdir(d)]:
        del _OPEN[directory]
