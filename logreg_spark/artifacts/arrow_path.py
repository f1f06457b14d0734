"""Files on any filesystem pyarrow reaches (local, S3, GCS, HDFS, Azure), with no JVM: the
:class:`~logreg_spark.artifacts.storage.StoragePath` of Spark Connect sessions."""

from __future__ import annotations

import copy
import os
import posixpath
import shutil
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

import pyarrow.fs as pafs
from pyarrow import ArrowException

from ..errors import OutputError
from .storage import FileInfo, StoragePath

#: Bytes per read and write when copying a file to the local disk.
_BUFFER = 1 << 20


def _parent(path: str) -> str:
    """``path`` (or URI) without its last component, with its trailing ``/`` (``file:///x`` → ``file:///``)."""
    return path[: path.rstrip("/").rfind("/") + 1]


def _join(directory: str, name: str) -> str:
    """The entry ``name`` of ``directory`` (a path or URI)."""
    return directory + name if directory.endswith("/") else f"{directory}/{name}"


def _is_checksum_file(name: str) -> bool:
    """Whether ``name`` is a checksum (``.<file>.crc``) that Hadoop's local filesystem keeps beside a file."""
    return name.startswith(".") and name.endswith(".crc")


class ArrowPath(StoragePath):
    """A path and its filesystem, through :mod:`pyarrow.fs` (``FileSystem.from_uri``).

    A path without a scheme is a local one, made absolute against the current working
    directory; its :attr:`uri` stays without a scheme, so Spark (under Connect, the server)
    reads it with its default filesystem. The two agree where that is the local one, or a
    mount this process shares with the server (a local server, Databricks' ``/Volumes``).
    """

    def __init__(self, path: str) -> None:
        bare = not urlsplit(path).scheme
        if bare:
            path = os.path.abspath(path)
        self._fs, self._path = pafs.FileSystem.from_uri("file://" + path if bare else path)
        if bare:
            self.uri = self._path
        elif isinstance(self._fs, pafs.LocalFileSystem):
            self.uri = "file://" + self._path
        else:
            self.uri = path.rstrip("/")

    def _at(self, path: str, uri: str) -> Self:
        """The path ``path``, whose URI is ``uri``, on this path's filesystem."""
        other = copy.copy(self)
        other._path, other.uri = path, uri
        return other

    def child(self, name: str) -> Self:
        return self._at(_join(self._path, name), _join(self.uri, name))

    def sibling(self, name: str) -> Self:
        return self._at(_join(_parent(self._path), name), _join(_parent(self.uri), name))

    @property
    def name(self) -> str:
        return self._path.rstrip("/").rpartition("/")[2]

    def _info(self) -> pafs.FileInfo:
        return self._fs.get_file_info(self._path)

    def exists(self) -> bool:
        return self._info().type != pafs.FileType.NotFound

    def status(self) -> FileInfo:
        info = self._info()
        if info.type == pafs.FileType.NotFound:
            raise FileNotFoundError(f"{self.shown} does not exist")
        return FileInfo(size=info.size or 0, modified_ms=(info.mtime_ns or 0) // 1_000_000)

    def children(self) -> list[Self]:
        listing = self._fs.get_file_info(pafs.FileSelector(self._path, allow_not_found=True))
        return [self.child(entry.base_name) for entry in listing]

    def delete(self) -> None:
        kind = self._info().type
        if kind == pafs.FileType.Directory:
            self._fs.delete_dir(self._path)
        elif kind != pafs.FileType.NotFound:
            self._fs.delete_file(self._path)

    def rename_to(self, target: Self) -> None:
        """Move this file or directory to ``target``; an existing ``target`` is refused (Hadoop's
        rename would move a directory into it), as is a directory on S3 or GCS (pyarrow moves
        only files there)."""
        if target.exists():
            raise OutputError(f"could not move {self.shown} to {target.shown}: it exists")
        try:
            self._fs.move(self._path, target._path)
        except (OSError, ArrowException) as err:
            raise OutputError(f"could not move {self.shown} to {target.shown} ({err})") from None

    def write_bytes(self, data: bytes | memoryview) -> None:
        self._fs.create_dir(posixpath.dirname(self._path), recursive=True)
        with self._fs.open_output_stream(self._path, compression=None) as stream:
            stream.write(data)

    def read_bytes(self) -> bytes:
        with self._fs.open_input_stream(self._path, compression=None) as stream:
            return stream.read()

    def copy_to_local(self, local: Path) -> None:
        if self._info().type == pafs.FileType.File:
            self._download(self._path, local)
            return
        entries = self._fs.get_file_info(pafs.FileSelector(self._path, recursive=True))
        local.mkdir(parents=True, exist_ok=True)
        for entry in entries:
            destination = local / posixpath.relpath(entry.path, self._path)
            if entry.type == pafs.FileType.Directory:
                destination.mkdir(parents=True, exist_ok=True)
            elif not _is_checksum_file(entry.base_name):
                self._download(entry.path, destination)

    def _download(self, path: str, local: Path) -> None:
        """Copy the file ``path`` of this filesystem to ``local``."""
        local.parent.mkdir(parents=True, exist_ok=True)
        with self._fs.open_input_stream(path, compression=None) as source, local.open("wb") as sink:
            shutil.copyfileobj(source, sink, _BUFFER)
