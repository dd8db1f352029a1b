"""Spark's outputs at a URI (``hdfs://``, ``s3a://``, ``abfss://``, ``gs://``, ``file://``): the
checks and the all-or-nothing rename of ``atomic.atomic_directory``, done through Hadoop's
``FileSystem``, which the driver reaches through Spark's JVM. The scheme's connector must be on
the cluster's classpath, as for reading (docs/scale.md).

All or nothing: the executors write each table into a hidden folder beside the target
(``.NAME.`` and 12 random hex digits), the driver writes flow.json there, and the folder is
renamed to the target at the end; a folder it replaces (``--force``) is renamed aside first
and deleted after. Missing folders above the target are made, and removed again when the write
fails. A rename is atomic on HDFS, on a local disk and on Azure's ABFS with hierarchical namespaces;
on S3 (``s3a://``) and Google Cloud Storage a folder's rename copies each file, so a failure
there can leave part of the new folder (Hadoop's own documentation of its object-store
connectors says so).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from srnskit.atomic import Entry, check_replaceable
from srnskit.engine.backends.spark_raw import first_line, spark_errors
from srnskit.errors import UsageError

__all__ = ["check_output_uri", "output_folder", "write_text"]


def check_output_uri(session: Any, uri: str, *, force: bool) -> None:
    """Raise ``UsageError`` unless the folder at ``uri`` can be written: absent, empty, or
    ``force`` and holding only srnskit's outputs (``atomic.check_replaceable``, the rule for a
    local folder), or when the file system cannot be reached (no connector for the scheme, an
    unknown host: Hadoop's reason named)."""
    with _said(uri):
        fs, path = _file_system(session, uri)
        if not fs.exists(path):
            _check_parents(fs, path, uri)
            return
        if not fs.getFileStatus(path).isDirectory():
            raise UsageError(f"{uri} exists and is not a directory")
        entries = _entries(fs, path)
    check_replaceable(uri, entries, force=force)


@contextmanager
def output_folder(session: Any, uri: str, *, force: bool) -> Iterator[str]:
    """Yield the URI of a new hidden folder beside ``uri``; when the block ends without an
    error it becomes ``uri`` (the folder it replaces renamed aside, then deleted); on an error
    it is deleted and ``uri`` is left as it was. Raises ``UsageError`` as
    ``check_output_uri`` does, and when a folder cannot be made or renamed."""
    check_output_uri(session, uri, force=force)
    with _said(uri):
        fs, target = _file_system(session, uri)
        created = _missing_parents(fs, target)
        temporary = _beside(session, target, "")
        if not fs.mkdirs(temporary):
            # Hadoop's local file system answers False with no reason (HDFS raises its own).
            _remove_created(fs, created)
            where = _nearest(target, created)
            folder = where.toString() if where is not None else uri
            raise UsageError(
                f"cannot make a folder in {folder} to write {uri}: may this account write there?"
            )
    succeeded = False
    try:
        yield str(temporary.toString())
        with _said(uri):
            _put_in_place(session, fs, temporary, target, uri)
        succeeded = True
    finally:
        if not succeeded:
            with _said(uri):
                fs.delete(temporary, True)
                _remove_created(fs, created)


def write_text(session: Any, uri: str, text: str) -> None:
    """Write ``text`` (UTF-8) to the file at ``uri``, replacing it. Raises ``UsageError`` with
    Hadoop's reason when it cannot."""
    with _said(uri):
        fs, path = _file_system(session, uri)
        stream = fs.create(path, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()


def _file_system(session: Any, uri: str) -> tuple[Any, Any]:
    """Hadoop's ``FileSystem`` for ``uri`` (the Spark session's Hadoop configuration, so what
    ``--spark-conf spark.hadoop.…`` sets) and the ``Path`` of ``uri``."""
    path = session.sparkContext._jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(session.sparkContext._jsc.hadoopConfiguration()), path


def _check_parents(fs: Any, path: Any, uri: str) -> None:
    """Raise ``UsageError`` when the nearest folder above ``path`` that exists is a file (said
    before any work, as ``atomic.check_parents`` says it of a local folder)."""
    parent = _nearest(path, _missing_parents(fs, path))
    if parent is not None and not fs.getFileStatus(parent).isDirectory():
        raise UsageError(f"{parent.toString()} is not a folder, so {uri} cannot be written there")


def _entries(fs: Any, path: Any) -> list[Entry]:
    """The entries of the folder ``path``, sorted by name, as ``atomic.not_written`` reads
    them (a symbolic link is ``"other"``). On the local disk (``file://``) the listing is the
    raw one: Hadoop's ``ChecksumFileSystem`` (``LocalFileSystem``, Hive's
    ``ProxyLocalFileSystem``) hides every ``.NAME.crc`` file, which ``--force`` would then
    delete unseen though it is no checksum of srnskit's."""
    if _checksummed(fs):
        fs = fs.getRawFileSystem()
    found = []
    for status in fs.listStatus(path):
        name = str(status.getPath().getName())
        if status.isDirectory():
            found.append(Entry(name, "folder", partial(_entries, fs, status.getPath())))
        else:
            found.append(Entry(name, "file" if status.isFile() else "other"))
    return sorted(found, key=lambda entry: entry.name)


def _missing_parents(fs: Any, target: Any) -> list[Any]:
    """The folders above ``target`` that do not exist, innermost first: made with the hidden
    folder (``mkdirs``, as ``mkdir -p``), removed again when the write fails, as
    ``atomic.make_parents`` does for a local folder."""
    missing = []
    parent = target.getParent()
    while parent is not None and not fs.exists(parent):
        missing.append(parent)
        parent = parent.getParent()
    return missing


def _nearest(target: Any, missing: list[Any]) -> Any:
    """The nearest folder above ``target`` that exists, from ``_missing_parents``' list:
    the one above the outermost missing folder (None above the root)."""
    return (missing[-1] if missing else target).getParent()


def _remove_created(fs: Any, created: list[Any]) -> None:
    """Remove the folders ``_missing_parents`` listed, innermost first, each only while empty
    (one written meanwhile by another keeps its folder and those around it)."""
    for folder in created:
        if not fs.exists(folder):
            continue
        if len(fs.listStatus(folder)) or not fs.delete(folder, False):
            return


def _checksummed(fs: Any) -> bool:
    """Whether ``fs`` is a Hadoop ``ChecksumFileSystem`` (of any subclass)."""
    kind = fs.getClass()
    while kind is not None:
        if str(kind.getName()) == "org.apache.hadoop.fs.ChecksumFileSystem":
            return True
        kind = kind.getSuperclass()
    return False


def _beside(session: Any, target: Any, kind: str) -> Any:
    """A new hidden name in ``target``'s folder: ``.NAME.``, ``kind`` (``""`` or ``"old."``),
    then 12 random hex digits (``.out.old.3f9c0a1b2d4e``; readers of a folder skip names
    starting with a dot)."""
    name = f".{target.getName()}.{kind}{uuid.uuid4().hex[:12]}"
    return session.sparkContext._jvm.org.apache.hadoop.fs.Path(target.getParent(), name)


def _put_in_place(session: Any, fs: Any, temporary: Any, target: Any, uri: str) -> None:
    """Rename ``temporary`` to ``target``, the folder it replaces renamed aside first and
    deleted after (put back when the rename fails)."""
    if not fs.exists(target):
        if not fs.rename(temporary, target):
            raise UsageError(f"cannot rename the written folder to {uri}")
        return
    retired = _beside(session, target, "old.")
    if not fs.rename(target, retired):
        raise UsageError(f"cannot move the old {uri} aside to replace it")
    if not fs.rename(temporary, target):
        fs.rename(retired, target)
        raise UsageError(f"cannot rename the written folder to {uri}")
    fs.delete(retired, True)


@contextmanager
def _said(uri: str) -> Iterator[None]:
    """Hadoop's and Spark's errors while reaching ``uri`` as a ``UsageError`` naming it."""
    try:
        yield
    except spark_errors() as exc:
        raise UsageError(f"Spark cannot write {uri}: {first_line(exc)}") from exc
