"""The file operations this project uses, on any filesystem: the interface its two implementations
share (:class:`~logreg_spark.artifacts.paths.HadoopPath` through Spark's JVM,
:class:`~logreg_spark.artifacts.arrow_path.ArrowPath` through pyarrow, with no JVM)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from ..errors import shown_uri


@dataclass(frozen=True)
class FileInfo:
    """A file's size in bytes and last modification time in milliseconds since the epoch."""

    size: int
    modified_ms: int


class StoragePath(ABC):
    """A file or directory and its filesystem, with the few operations this project needs."""

    #: The qualified URI, in a form Spark accepts.
    uri: str

    @property
    def shown(self) -> str:
        """:attr:`uri` as messages show it (:func:`shown_uri`)."""
        return shown_uri(self.uri)

    @abstractmethod
    def child(self, name: str) -> Self:
        """The entry ``name`` of this directory."""

    @abstractmethod
    def sibling(self, name: str) -> Self:
        """The entry ``name`` of this path's parent directory."""

    @property
    @abstractmethod
    def name(self) -> str:
        """The last component of the path."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether a file or directory is here."""

    @abstractmethod
    def status(self) -> FileInfo:
        """This file's size and modification time."""

    @abstractmethod
    def children(self) -> list[Self]:
        """The entries of this directory; none if it does not exist."""

    @abstractmethod
    def delete(self) -> None:
        """Delete this file, or this directory and everything in it; nothing if it does not exist."""

    @abstractmethod
    def rename_to(self, target: Self) -> None:
        """Move this file or directory to ``target``, which must not exist yet;
        :class:`~logreg_spark.errors.OutputError` if the move fails."""

    @abstractmethod
    def write_bytes(self, data: bytes | memoryview) -> None:
        """Write ``data`` as this file, replacing it and creating its parent directories."""

    @abstractmethod
    def read_bytes(self) -> bytes:
        """This file's bytes."""

    @abstractmethod
    def copy_to_local(self, local: Path) -> None:
        """Copy this file or directory tree to ``local`` on the driver's disk (no ``.crc`` files)."""

    def write_text(self, text: str) -> None:
        """Write ``text`` as this file, in UTF-8."""
        self.write_bytes(text.encode("utf-8"))

    def read_text(self) -> str:
        """This file's text, in UTF-8."""
        return self.read_bytes().decode("utf-8")
