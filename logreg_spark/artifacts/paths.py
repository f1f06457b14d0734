"""Files on any Hadoop-supported filesystem (local, HDFS, S3A...), through Spark's JVM on a
classic session, or through pyarrow on a Spark Connect session (:func:`storage_path`).

Outputs are written to a hidden staging directory beside the target and moved
into place only when complete, so a failed run never leaves a partial output.
"""

from __future__ import annotations

import copy
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from py4j.java_gateway import JavaObject
from pyspark.sql import SparkSession

from ..errors import OutputError
from ..spark.session import is_connect
from .arrow_path import ArrowPath
from .storage import FileInfo, StoragePath

#: Bytes per read and write when copying between a local file and a Hadoop stream.
_BUFFER = 1 << 20
#: Up to this many bytes, one Py4J byte array costs fewer round trips than a temporary file.
_SMALL = 1 << 20


class HadoopPath(StoragePath):
    """A path and its filesystem, through Hadoop's ``FileSystem`` in Spark's JVM (Py4J)."""

    def __init__(self, spark: SparkSession, path: str) -> None:
        jvm = spark.sparkContext._jvm
        assert jvm is not None, "a running SparkContext has its JVM view"
        self._jvm = jvm
        self._path_class = jvm.org.apache.hadoop.fs.Path
        self._jpath = self._path_class(path)
        self._fs = self._jpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        self.uri = str(self._fs.makeQualified(self._jpath).toString())

    def _on_this_filesystem(self, jpath: JavaObject) -> Self:
        """The Hadoop path ``jpath`` on this path's filesystem, reusing its look-ups: every Py4J
        call is a round trip, and a fresh :class:`HadoopPath` takes about ten."""
        other = copy.copy(self)
        other._jpath = jpath
        other.uri = str(self._fs.makeQualified(jpath).toString())
        return other

    def child(self, name: str) -> Self:
        return self._on_this_filesystem(self._path_class(f"{self.uri.rstrip('/')}/{name}"))

    def sibling(self, name: str) -> Self:
        return self._on_this_filesystem(self._path_class(f"{self._jpath.getParent().toString()}/{name}"))

    @property
    def name(self) -> str:
        return str(self._jpath.getName())

    def exists(self) -> bool:
        return bool(self._fs.exists(self._jpath))

    def status(self) -> FileInfo:
        status = self._fs.getFileStatus(self._jpath)
        return FileInfo(size=int(status.getLen()), modified_ms=int(status.getModificationTime()))

    def children(self) -> list[Self]:
        if not self.exists():
            return []
        return [self._on_this_filesystem(status.getPath()) for status in self._fs.listStatus(self._jpath)]

    def delete(self) -> None:
        self._fs.delete(self._jpath, True)

    def rename_to(self, target: Self) -> None:
        if not self._fs.rename(self._jpath, target._jpath):
            raise OutputError(f"could not move {self.shown} to {target.shown}")

    def write_bytes(self, data: bytes | memoryview) -> None:
        """Write ``data`` as this file, replacing it.

        Py4J carries bytes base64-encoded over its socket: cheap for a few, slow for
        many (80 MB: 2.5 to 9 s). Beyond :data:`_SMALL` bytes, they cross as a local
        temporary file that the JVM streams into Hadoop's output stream instead (80 MB:
        about 1 s). The driver's Python and its JVM always share a host.
        """
        if memoryview(data).nbytes <= _SMALL:
            stream = self._fs.create(self._jpath, True)
            try:
                stream.write(bytearray(data))
            finally:
                stream.close()
            return
        with _local_file() as local:
            local.write_bytes(data)
            self._jvm.org.apache.hadoop.io.IOUtils.copyBytes(
                self._jvm.java.io.FileInputStream(str(local)), self._fs.create(self._jpath, True), _BUFFER, True
            )

    def read_bytes(self) -> bytes:
        """This file's bytes, through a local temporary file as in :meth:`write_bytes`
        (80 MB: about 1 s, against 17 to 25 s as a Py4J byte array)."""
        with _local_file() as local:
            source = self._fs.open(self._jpath)
            self._jvm.org.apache.hadoop.io.IOUtils.copyBytes(
                source, self._jvm.java.io.FileOutputStream(str(local)), _BUFFER, True
            )
            return local.read_bytes()

    def copy_to_local(self, local: Path) -> None:
        target = self._path_class(local.resolve().as_uri())
        self._fs.copyToLocalFile(False, self._jpath, target, True)


@contextmanager
def _local_file() -> Iterator[Path]:
    """A path for a temporary file on the driver's local disk, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="logreg_spark-") as directory:
        yield Path(directory) / "bytes"


def storage_path(spark: SparkSession, path: str) -> StoragePath:
    """``path`` through the session's JVM (:class:`HadoopPath`), or through pyarrow
    (:class:`~logreg_spark.artifacts.arrow_path.ArrowPath`) on a Spark Connect session, which has no JVM."""
    return ArrowPath(path) if is_connect(spark) else HadoopPath(spark, path)


def check_apart(
    spark: SparkSession, target: StoragePath, inputs: str | list[str], key: str, against: str = "input.path"
) -> None:
    """Refuse an output at, inside, or above an input path (or another output, conf key
    ``against``): the job would read its own output, or an overwrite would delete its input.
    Globs count from their fixed prefix; a local path compares equal with and without ``file:``."""
    out = _comparable(target.uri)
    for path in [inputs] if isinstance(inputs, str) else inputs:
        fixed = re.split(r"[*?\[{]", path, maxsplit=1)[0]
        source = _comparable(storage_path(spark, fixed.rstrip("/") or "/").uri)
        if out == source or out.startswith(source + "/") or source.startswith(out + "/"):
            raise OutputError(f"{key} {target.shown} overlaps {against} {path}: write the output elsewhere")


def _comparable(uri: str) -> str:
    """``uri`` without a trailing ``/``, and a ``file:`` URI as its bare absolute path."""
    return re.sub(r"^file:/+", "/", uri).rstrip("/")


#: How a job's user replaces an existing output.
OVERWRITE_HINT = 'set output.mode = "overwrite"'


def check_writable(target: StoragePath, mode: str, key: str, overwrite_hint: str = OVERWRITE_HINT) -> None:
    """Fail early when ``mode = "error"`` and ``target`` exists (given as ``key``)."""
    if mode == "error" and target.exists():
        raise OutputError(f"{key} {target.shown} already exists; {overwrite_hint} to replace it")


@contextmanager
def staged_directory(
    target: StoragePath, mode: str, key: str, overwrite_hint: str = OVERWRITE_HINT
) -> Iterator[StoragePath]:
    """Yield a staging directory; on success move it to ``target``, else delete it.

    With ``mode = "overwrite"`` an existing ``target`` is replaced, and it is
    restored if the final move fails.
    """
    check_writable(target, mode, key, overwrite_hint)
    token = uuid.uuid4().hex[:12]
    staging = target.sibling(f".{target.name}._staging-{token}")
    try:
        yield staging
        previous = target.sibling(f".{target.name}._previous-{token}")
        had_previous = target.exists()
        if had_previous:
            check_writable(target, mode, key, overwrite_hint)
            target.rename_to(previous)
        try:
            staging.rename_to(target)
        except Exception:
            if had_previous:
                previous.rename_to(target)
            raise
        if had_previous:
            previous.delete()
    finally:
        if staging.exists():
            staging.delete()
