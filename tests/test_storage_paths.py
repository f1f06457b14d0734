"""The file operations of both storage paths: ArrowPath (pyarrow, no JVM: Spark Connect) on its own,
then HadoopPath (Spark's JVM) and ArrowPath on the same operations, which must agree."""

import os
import re
import time
from pathlib import Path

import pytest

from logreg_spark.artifacts.arrow_path import ArrowPath
from logreg_spark.artifacts.paths import HadoopPath, check_apart, check_writable, staged_directory, storage_path
from logreg_spark.errors import OutputError, shown_uri

#: More than one Py4J byte array (HadoopPath's limit) and than one copy buffer.
LARGE = os.urandom(3 * (1 << 20) + 7)


class ConnectSession:
    """Stands for a Spark Connect session, which ``is_connect`` knows by its class's module."""


ConnectSession.__module__ = "pyspark.sql.connect.session"


def _tree(root: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (relative path → bytes) under ``root``."""
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def _local_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root``: relative path → bytes."""
    return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}


def _written(root: Path) -> dict[str, bytes]:
    """The files under ``root`` but Hadoop's checksums (``.<file>.crc``, which HadoopPath writes on local disks)."""
    return {name: data for name, data in _local_files(root).items() if not name.endswith(".crc")}


def test_arrow_uris_are_absolute_and_keep_their_scheme_or_none(tmp_path, monkeypatch):
    """A path without a scheme stays without one (the server's default filesystem reads it)."""
    monkeypatch.chdir(tmp_path)
    bare = f"{tmp_path}/out"
    for given in ["out", "./out/", str(tmp_path / "out")]:
        assert ArrowPath(given).uri == bare, given
    for given in [f"file:{tmp_path}/out", f"file://{tmp_path}/out/"]:
        assert ArrowPath(given).uri == f"file://{bare}", given
    path = ArrowPath("out")
    assert (path.name, path.child("a").uri, path.child("a").name) == ("out", f"{bare}/a", "a")
    assert path.child("a").sibling("b").uri == f"{bare}/b"
    assert path.sibling("b").uri == f"{tmp_path}/b"
    assert ArrowPath("/").child("x").uri == "/x"
    assert ArrowPath("file:///").child("x").uri == "file:///x"


def test_arrow_exists_status_and_children(tmp_path):
    directory = ArrowPath(str(tmp_path / "d"))
    assert not directory.exists() and directory.children() == []
    directory.child("sub").child("f.bin").write_bytes(b"12345")
    directory.child("g.txt").write_text("é")
    assert directory.exists() and directory.child("sub").exists()
    assert sorted(child.name for child in directory.children()) == ["g.txt", "sub"]
    assert {child.uri for child in directory.children()} == {directory.child("g.txt").uri, directory.child("sub").uri}

    status = directory.child("sub").child("f.bin").status()
    stat = (tmp_path / "d" / "sub" / "f.bin").stat()
    assert status.size == 5 and status.modified_ms == stat.st_mtime_ns // 1_000_000
    assert abs(status.modified_ms - time.time() * 1000) < 3_600_000
    assert directory.child("g.txt").status().size == 2
    assert directory.status().size == 0
    with pytest.raises(FileNotFoundError):
        directory.child("missing").status()


def test_arrow_reads_back_what_it_writes(tmp_path):
    root = ArrowPath(str(tmp_path))
    root.child("large.bin").write_bytes(memoryview(LARGE))
    assert root.child("large.bin").read_bytes() == LARGE == (tmp_path / "large.bin").read_bytes()
    # The bytes as given, whatever the name: no compression guessed from ".gz".
    root.child("raw.gz").write_bytes(b"not gzip")
    assert (tmp_path / "raw.gz").read_bytes() == b"not gzip" and root.child("raw.gz").read_bytes() == b"not gzip"
    root.child("a").child("b.json").write_text('{"θ": 1}\n')
    assert root.child("a").child("b.json").read_text() == '{"θ": 1}\n'
    root.child("a").child("b.json").write_text("shorter")
    assert (tmp_path / "a" / "b.json").read_text() == "shorter"


def test_arrow_rename_moves_files_and_directories_onto_absent_targets_only(tmp_path):
    _tree(tmp_path, {"dir/x": b"x", "dir/sub/y": b"y", "file": b"f", "taken/z": b"z", "taken-file": b"t"})
    root = ArrowPath(str(tmp_path))
    root.child("dir").rename_to(root.child("moved"))
    root.child("file").rename_to(root.child("moved").child("file"))
    assert _local_files(tmp_path / "moved") == {"x": b"x", "sub/y": b"y", "file": b"f"}
    assert not root.child("dir").exists() and not root.child("file").exists()

    # Where POSIX's rename would replace the target (a file, an empty directory), or fail.
    (tmp_path / "empty").mkdir()
    for source, target in [("moved", "taken"), ("moved", "taken-file"), ("moved", "empty"), ("taken-file", "taken/z")]:
        with pytest.raises(OutputError, match="could not move"):
            root.child(source).rename_to(root.child(target))
    with pytest.raises(OutputError, match="could not move"):
        root.child("missing").rename_to(root.child("elsewhere"))
    assert _local_files(tmp_path) == {
        "moved/x": b"x",
        "moved/sub/y": b"y",
        "moved/file": b"f",
        "taken/z": b"z",
        "taken-file": b"t",
    }
    assert (tmp_path / "empty").is_dir()


def test_arrow_delete_is_recursive_and_quiet_about_missing_paths(tmp_path):
    _tree(tmp_path, {"d/a": b"a", "d/e/f": b"f", "file": b"x"})
    root = ArrowPath(str(tmp_path))
    root.child("d").delete()
    root.child("file").delete()
    root.child("missing").delete()
    assert list(tmp_path.iterdir()) == []


def test_arrow_copy_to_local_skips_checksums(tmp_path):
    files = {"part-0.parquet": b"p0", "_SUCCESS": b"", "sub/part-1": b"p1", "sub/deeper/part-2": LARGE}
    checksums = {".part-0.parquet.crc": b"c", "._SUCCESS.crc": b"c", "sub/.part-1.crc": b"c"}
    _tree(tmp_path / "remote", files | checksums)
    (tmp_path / "remote" / "empty").mkdir()
    ArrowPath(str(tmp_path / "remote")).copy_to_local(tmp_path / "local" / "copy")
    assert _local_files(tmp_path / "local" / "copy") == files
    assert (tmp_path / "local" / "copy" / "empty").is_dir()

    ArrowPath(str(tmp_path / "remote" / "sub" / "part-1")).copy_to_local(tmp_path / "one")
    assert (tmp_path / "one").read_bytes() == b"p1"
    with pytest.raises(FileNotFoundError):
        ArrowPath(str(tmp_path / "missing")).copy_to_local(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()


def test_storage_path_is_arrow_on_spark_connect(tmp_path):
    assert isinstance(storage_path(ConnectSession(), str(tmp_path)), ArrowPath)


def test_check_apart_and_check_writable_with_arrow_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spark = ConnectSession()
    target = ArrowPath("out")
    check_apart(spark, target, [str(tmp_path / "data"), "data/*.csv", "outer"], "output.path")
    for overlapping in ["out", f"file://{tmp_path}/out/", "out/part-*.csv", str(tmp_path)]:
        with pytest.raises(OutputError, match="overlaps input.path"):
            check_apart(spark, target, overlapping, "output.path")

    check_writable(target, "error", "output.path")
    target.child("x").write_text("x")
    check_writable(target, "overwrite", "output.path")
    with pytest.raises(OutputError, match="already exists"):
        check_writable(target, "error", "output.path")


# Both implementations: HadoopPath needs the session's JVM (the shared ``spark`` fixture).


@pytest.fixture(params=["hadoop", "arrow"])
def make_path(request):
    """A constructor of paths of one implementation."""
    if request.param == "arrow":
        return ArrowPath
    spark = request.getfixturevalue("spark")
    return lambda path: HadoopPath(spark, path)


def _normal_uri(uri: str) -> str:
    """A local path's URI (``/x`` from ArrowPath, ``file:/x`` from HadoopPath) as its bare path."""
    return re.sub(r"^file:/+", "/", uri)


def test_storage_path_is_hadoop_on_a_classic_session(spark, tmp_path):
    path = storage_path(spark, str(tmp_path / "x"))
    assert isinstance(path, HadoopPath) and path.uri == f"file:{tmp_path}/x"
    assert ArrowPath(str(tmp_path / "x")).uri == _normal_uri(path.uri)


def test_both_paths_do_the_same(make_path, tmp_path):
    root = make_path(str(tmp_path / "root"))
    assert _normal_uri(root.child("a").sibling("b").uri) == f"{tmp_path}/root/b"
    assert root.children() == [] and not root.exists()
    root.child("d").child("large.bin").write_bytes(LARGE)
    root.child("d").child("e").child("note.txt").write_text("é")
    root.child("small").write_bytes(b"abc")
    assert root.exists() and root.child("d").child("large.bin").read_bytes() == LARGE
    assert root.child("d").child("e").child("note.txt").read_text() == "é"
    assert sorted(child.name for child in root.children()) == ["d", "small"]
    assert root.child("small").status().size == 3

    root.child("d").copy_to_local(tmp_path / "local")
    assert _local_files(tmp_path / "local") == {"large.bin": LARGE, "e/note.txt": "é".encode()}

    # Onto an absent target only, as the project renames: Hadoop's local filesystem moves a
    # directory into an existing one, and fails with a Java exception, not an OutputError.
    root.child("d").rename_to(root.child("moved"))
    assert not root.child("d").exists() and root.child("moved").child("e").child("note.txt").read_text() == "é"

    root.child("moved").delete()
    root.child("moved").delete()
    assert [child.name for child in root.children()] == ["small"]


def test_both_paths_see_a_spark_output_alike(spark, tmp_path):
    """A directory Spark wrote (part files, ``_SUCCESS``, ``.crc`` checksums), through each implementation."""
    spark.range(50).coalesce(2).write.parquet(str(tmp_path / "table"))
    assert any(f.name.endswith(".crc") for f in (tmp_path / "table").iterdir())
    hadoop, arrow = HadoopPath(spark, str(tmp_path / "table")), ArrowPath(str(tmp_path / "table"))
    assert arrow.uri == _normal_uri(hadoop.uri)

    # Hadoop's local filesystem hides the checksums from its listings; pyarrow lists every file.
    names = sorted(child.name for child in hadoop.children())
    assert names == sorted(child.name for child in arrow.children() if not child.name.endswith(".crc"))
    for name in names:
        assert hadoop.child(name).status() == arrow.child(name).status()
        assert hadoop.child(name).read_bytes() == arrow.child(name).read_bytes()

    hadoop.copy_to_local(tmp_path / "by-hadoop")
    arrow.copy_to_local(tmp_path / "by-arrow")
    copied = _local_files(tmp_path / "by-arrow")
    assert copied == _local_files(tmp_path / "by-hadoop") and "_SUCCESS" in copied
    assert not any(name.endswith(".crc") for name in copied)


def test_staged_directory_with_both_paths(make_path, tmp_path):
    target = make_path(str(tmp_path / "model"))
    with staged_directory(target, "error", "output.path") as staging:
        assert staging.sibling(target.name).uri == target.uri and not target.exists()
        staging.child("a").write_text("first")
    assert _written(tmp_path) == {"model/a": b"first"}

    with pytest.raises(OutputError, match="already exists"), staged_directory(target, "error", "output.path"):
        pass
    with pytest.raises(RuntimeError, match="boom"), staged_directory(target, "overwrite", "output.path") as staging:
        staging.child("b").write_text("lost")
        raise RuntimeError("boom")
    assert _written(tmp_path) == {"model/a": b"first"}

    with staged_directory(target, "overwrite", "output.path") as staging:
        staging.child("b").write_text("second")
    assert _written(tmp_path) == {"model/b": b"second"} and os.listdir(tmp_path) == ["model"]


def test_messages_show_a_local_path_alike_on_every_kind_of_session():
    for uri in ["file:/tmp/m", "file:///tmp/m", "/tmp/m"]:
        assert shown_uri(uri) == "/tmp/m"
    assert shown_uri("hdfs://nn/m") == "hdfs://nn/m" and shown_uri("s3a://b/file:/x") == "s3a://b/file:/x"
