"""All-or-nothing output: write into a temporary path beside the target, rename at the end.

An interrupted or failed command leaves the target as it was (cohort-format.md §4). A missing
folder above the target is created first, as ``mkdir -p`` would, and removed again when the
write fails, so a failed command leaves no empty folders behind either.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePath, PurePosixPath
from typing import Literal
from urllib.parse import urlsplit

from srnskit.errors import UsageError

__all__ = [
    "HDFS_DEFAULT_PORT",
    "WRITTEN_FOLDERS",
    "WRITTEN_SUFFIXES",
    "Entry",
    "atomic_directory",
    "atomic_file",
    "check_apart",
    "check_output_directory",
    "check_parents",
    "check_replaceable",
    "check_scheme_path",
    "is_uri",
    "local_entries",
    "location_file",
    "make_parents",
    "not_written",
    "relative_file_path",
    "remove_created",
    "unwritable",
]

# What --force may replace (docs/decisions.md, "Outputs and --force"): a folder holding only
# files of the kinds srnskit writes (cohort and derived tables, cohort.toml, flow.json, a FHIR
# bundle or NDJSON files, OMOP Parquet files, a report's figures) and the sub-folders it writes
# (a cohort's import/ and truth/, a report's figures/ and tables/) holding only such files.
WRITTEN_SUFFIXES = frozenset(
    {".csv", ".parquet", ".json", ".ndjson", ".toml", ".png", ".svg", ".pdf", ".html", ".docx"}
)
WRITTEN_FOLDERS = frozenset({"import", "truth", "figures", "tables"})
# Database URLs whose database is a local file: duckdb:///PATH (the path after "duckdb://", as
# the OMOP reader and exporter take it) and SQLAlchemy's sqlite:///PATH (relative) or
# sqlite:////PATH (absolute).
_DUCKDB_URL = re.compile(r"^duckdb://", re.IGNORECASE)
_SQLITE_URL = re.compile(r"^sqlite(\+[a-z0-9_]+)?:///", re.IGNORECASE)
# A URI's scheme and what follows it: "hdfs://", "s3a://", "hdfs:/" (the default NameNode's
# path, as Hadoop reads it), "file:/", or "file:" (Hadoop's relative file URI); a one-letter
# scheme is taken as none (a path is never "C:/…" here, but a URI scheme is longer).
_ANY_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]+:/|file:)", re.IGNORECASE)
# The port an hdfs:// URI means when it names none: the NameNode's RPC port
# (Hadoop's HdfsClientConfigKeys.DFS_NAMENODE_RPC_PORT_DEFAULT).
HDFS_DEFAULT_PORT = 8020
# The port a cluster URL's scheme means when it names none (``_comparable_url``).
_DEFAULT_PORTS = {"hdfs": HDFS_DEFAULT_PORT}
# A URL's scheme and authority, as written (the path follows); a URL with no authority
# (hdfs:/c1) has its scheme alone.
_AUTHORITY = re.compile(r"[^:/?#]+:(//[^/?#]*)?")
# A Hadoop file system's scheme, then a path with no '/' after the ':' (check_scheme_path).
_SCHEME_PATH = re.compile(
    r"^(hdfs|webhdfs|swebhdfs|viewfs|har|s3a|s3|s3n|abfs|abfss|wasb|wasbs|adl|gs|oss|cosn|"
    r"o3fs|ofs|dbfs|alluxio):(?!/)",
    re.IGNORECASE,
)
_FILE_URI = re.compile(r"^file:(//)?(?=/)", re.IGNORECASE)
# Hadoop's checksum of the file NAME, written beside it by its local file system: .NAME.crc
_CHECKSUM = re.compile(r"\.(.+)\.crc")


def unwritable(target: Path, exc: OSError) -> UsageError:
    """The ``UsageError`` for an output the system refuses (``PermissionError`` on ``/sys``,
    ``FileNotFoundError`` on ``/proc``, a read-only disk): "cannot write TARGET: REASON", the
    reason "operation not permitted" for any refused permission, else the system's own words
    in lower case ("no such file or directory")."""
    if isinstance(exc, PermissionError):  # EPERM and EACCES alike: one wording in every command
        reason = "operation not permitted"
    else:
        reason = (exc.strerror or type(exc).__name__).lower()
    return UsageError(f"cannot write {target}: {reason}")


def is_uri(location: str | Path) -> bool:
    """Whether ``location`` is a URI (``hdfs://…``, ``s3a://…``, ``hdfs:/…``, ``file:/…``,
    ``file:…``: a scheme of two letters or more, then ``:``, then ``/`` or for ``file:``
    anything), not a local path: the one test of a cohort's location and of an ``--out``."""
    return _ANY_URL.match(str(location)) is not None


def check_scheme_path(location: str | Path) -> None:
    """Raise ``UsageError`` when ``location`` is a Hadoop file system's scheme and a path with
    no ``/`` (``hdfs:c9``): Hadoop reads it against a working folder on the cluster, srnskit as
    a local folder, so neither is guessed (``file:c1`` stays a folder here)."""
    found = _SCHEME_PATH.match(str(location))
    if found:
        scheme = found.group(1)
        default = (  # only a file system with a default (HDFS's NameNode) takes no host
            f", or '/' for the cluster's default file system ({scheme}:///PATH)"
            if scheme.lower() in ("hdfs", "viewfs", "webhdfs", "swebhdfs")
            else ""
        )
        raise UsageError(
            f"{location} names no place: after '{scheme}:' come '//' and a host or bucket "
            f"({scheme}://HOST/PATH){default}; a local folder so named is written "
            f"./{location}"
        )


def location_file(location: str | Path) -> Path | None:
    """The local file or folder a command's input or output names: a path as given, the file
    of ``duckdb:///PATH`` or ``sqlite:///PATH``, the path of ``file:///PATH`` (or
    ``file:/PATH``); None for any other URL (a database server's ``postgresql://…``, a
    cluster's ``hdfs://…``), which names no local file."""
    if isinstance(location, Path):
        return location
    if _DUCKDB_URL.match(location):
        return Path(_DUCKDB_URL.sub("", location).split("?")[0])
    if _SQLITE_URL.match(location):
        name = _SQLITE_URL.sub("", location).split("?")[0]
        return Path(name) if name and name != ":memory:" else None
    if _FILE_URI.match(location):
        # Hadoop reads the text after file:// as a path as it is (no %-decoding)
        return Path(_FILE_URI.sub("", location))
    relative = relative_file_path(location)
    if relative is not None:
        return relative
    if _ANY_URL.match(location):
        return None
    return Path(location)


def relative_file_path(location: str) -> Path | None:
    """The path of Hadoop's relative file URI (``file:c1``: the folder ``c1`` here, relative to
    the working folder), None for any other location (``file:/x`` and ``file:///x`` are
    absolute)."""
    if location[:5].lower() == "file:" and not location[5:].startswith("/"):
        return Path(location[5:])
    return None


def check_apart(
    out: str | Path, inputs: Iterable[str | Path | None], *, option: str = "--out"
) -> None:
    """Raise ``UsageError`` (exit 2) when the output ``out`` is one of ``inputs``, holds one
    (writing the folder whole would delete it) or lies inside one (a file or folder added to a
    source), after resolving symbolic links; a database URL counts as its file
    (``location_file``), two other URLs (``hdfs://…``) as ``_comparable_url`` writes them.
    The message names both. None in ``inputs`` (not given) is passed over; ``option`` names the
    output in the message."""
    out_file = location_file(out)
    written: PurePath
    read: PurePath
    for given in inputs:
        if given is None:
            continue
        in_file = location_file(given)
        if out_file is not None and in_file is not None:
            written, read = out_file.resolve(), in_file.resolve()
        elif out_file is None and in_file is None and _ANY_URL.match(str(given)):
            # Two URLs of one file system (hdfs://nn/a and hdfs://nn:8020/a/b)
            written, read = _comparable_url(str(out)), _comparable_url(str(given))
        else:
            continue
        if written == read:
            raise UsageError(
                f"{option} {out} is the input {given}: writing it would replace the data it is "
                f"made from; give another {option}"
            )
        if written in read.parents:
            raise UsageError(
                f"{option} {out} holds the input {given}: writing it would delete that input; "
                f"give another {option}"
            )
        if read in written.parents:
            raise UsageError(
                f"{option} {out} is inside the input {given}: srnskit does not write into its "
                f"sources; give {option} a path outside it"
            )


def _comparable_url(url: str) -> PurePosixPath:
    """A cluster URL as two naming the same place are written alike: the scheme and host in
    lower case (RFC 3986 §6.2.2.1: both are case-blind), the port left out when it is the
    scheme's default (``_DEFAULT_PORTS``: an hdfs:// URI's is ``HDFS_DEFAULT_PORT``), no user
    (a file system is found by host and port), and the path's dot segments removed as Hadoop's
    ``Path`` removes them (``java.net.URI.normalize``, RFC 3986 §5.2.4: ``/x/../c1`` is
    ``/c1``), with no slash at the end and repeated slashes read as one. The path is otherwise
    kept as written, ``?`` and ``#`` with it (Hadoop reads no query in a path). The scheme and
    authority are one segment of their own, before the path's: ``hdfs:///c1`` (the folder
    ``/c1`` of the cluster's default NameNode) is not ``hdfs://c1`` (a NameNode named c1). A
    URL whose host or port cannot be read (``[::1``, ``:x``) is compared as written."""
    try:
        parts = urlsplit(url)  # the scheme in lower case, the host too (``hostname``)
        port = parts.port
    except ValueError:
        return PurePosixPath(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    host += f":{port}" if port is not None and port != _DEFAULT_PORTS.get(parts.scheme) else ""
    after = _AUTHORITY.match(url)
    path = url[after.end() :] if after else ""
    # normpath of an absolute path stops at its root: no '..' reaches the authority.
    folder = posixpath.normpath(path).lstrip("/") if path else ""
    return PurePosixPath("/", f"{parts.scheme}:{host}", folder)


def _nearest_existing(folder: Path) -> Path:
    """``folder`` itself or its nearest ancestor that exists."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_parents(target: Path) -> None:
    """Raise ``UsageError`` unless the folders above ``target`` exist or can be made: the
    nearest one that exists must be a folder (not a file)."""
    existing = _nearest_existing(target.absolute().parent)
    if not existing.is_dir():
        raise UsageError(f"{existing} is not a folder, so {target} cannot be written there")


def make_parents(target: Path) -> list[Path]:
    """Create the missing folders above ``target``, as ``mkdir -p`` would.

    Returns the folders created, outermost first (empty when the parent existed), for
    ``remove_created`` to undo. Raises ``UsageError`` when a file stands where a folder must be
    or a folder cannot be created (permissions, say); nothing created stays behind then.
    """
    check_parents(target)
    missing: list[Path] = []
    folder = target.absolute().parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    created: list[Path] = []
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            if not folder.is_dir():  # made by someone else meanwhile, as a file
                remove_created(created)
                raise UsageError(f"{folder} is not a folder") from None
            continue  # made by someone else meanwhile: theirs, not ours to remove
        except OSError as exc:
            remove_created(created)
            raise UsageError(f"cannot create the folder {folder}: {exc.strerror}") from None
        created.append(folder)
    return created


def remove_created(created: list[Path]) -> None:
    """Remove the folders ``make_parents`` created, innermost first, each only when empty (an
    output written there meanwhile by another part of the command keeps its folder)."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return  # not empty: neither are the folders around it


@contextmanager
def atomic_file(target: Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary file path; on success it replaces ``target``.

    Missing folders above ``target`` are created (``make_parents``) and removed again on
    failure. Raises ``UsageError`` when ``target`` exists and ``force`` is false, or is a
    directory, or a folder above it cannot be made.
    """
    if target.is_dir():
        raise UsageError(f"{target} is a directory; give a file name")
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; use --force to replace it")
    created = make_parents(target)
    succeeded = False
    try:
        try:
            handle, name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=target.suffix, dir=target.absolute().parent
            )
        except OSError as exc:
            raise unwritable(target, exc) from None
        os.close(handle)
        temporary = Path(name)
        try:
            yield temporary
            try:
                # mkstemp makes it private; a report is shared
                os.chmod(temporary, 0o666 & ~_umask())
                os.replace(temporary, target)
            except OSError as exc:
                raise unwritable(target, exc) from None
            succeeded = True
        finally:
            temporary.unlink(missing_ok=True)
    finally:
        if not succeeded:
            remove_created(created)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output_directory(target: Path, *, force: bool = False) -> None:
    """Raise ``UsageError`` unless ``target`` can be written: absent, empty, or ``force`` and
    holding only srnskit's outputs (``check_replaceable``), and the folders above it exist or
    can be made (``check_parents``)."""
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    if target.is_dir():
        check_replaceable(str(target), local_entries(target), force=force)
    check_parents(target)


def check_replaceable(target: str, entries: list[Entry], *, force: bool) -> None:
    """Raise ``UsageError`` unless the existing folder ``target`` (a path or a URI), holding
    ``entries``, may be replaced: it is empty, or ``force`` is given and it holds only what
    srnskit writes (``not_written``)."""
    if not entries:
        return
    if not force:
        raise UsageError(f"{target} is not empty; use --force to replace it")
    foreign = not_written(entries)
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise UsageError(
            f"{target} holds {shown}, which srnskit does not write: --force replaces only "
            "a folder of srnskit's own outputs; move those away or give another --out"
        )


@dataclass(frozen=True)
class Entry:
    """One entry of a folder, as any file system lists it (the local disk here, Hadoop's
    ``FileSystem`` for a Spark output at a URI): its ``name``, its ``kind`` (``"file"``,
    ``"folder"``, or ``"other"``: a symbolic link, a device) and, for a folder, ``entries``,
    which lists it when called."""

    name: str
    kind: Literal["file", "folder", "other"]
    entries: Callable[[], list[Entry]] = list


def local_entries(folder: Path) -> list[Entry]:
    """The entries of the local ``folder``, sorted by name; a symbolic link is ``"other"``."""
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink() or not (entry.is_dir() or entry.is_file()):
            found.append(Entry(entry.name, "other"))
        elif entry.is_dir():
            found.append(Entry(entry.name, "folder", partial(local_entries, entry)))
        else:
            found.append(Entry(entry.name, "file"))
    return found


def not_written(entries: Iterable[Entry], prefix: str = "") -> list[str]:
    """The ``entries`` of a folder srnskit does not write (``WRITTEN_SUFFIXES``,
    ``WRITTEN_FOLDERS`` one level down, a table Spark wrote as part files), as paths relative
    to it: what stops ``--force`` replacing the folder (docs/decisions.md, "Outputs and
    --force"). A symbolic link counts as not written."""
    foreign: list[str] = []
    listed = list(entries)
    names = {entry.name for entry in listed}
    for entry in listed:
        name = f"{prefix}{entry.name}"
        checksum = _CHECKSUM.fullmatch(entry.name)
        if entry.kind == "file" and checksum and checksum.group(1) in names:
            continue  # Hadoop's checksum of a file beside it (flow.json written at a URI)
        if entry.kind == "folder":
            inside = entry.entries()
            if _parts_folder(entry.name, inside):
                continue
            if prefix or entry.name not in WRITTEN_FOLDERS:
                foreign.append(f"{name}/")
            else:
                foreign.extend(not_written(inside, f"{name}/"))
        elif entry.kind != "file" or Path(entry.name).suffix.lower() not in WRITTEN_SUFFIXES:
            foreign.append(name)
    return foreign


def _parts_folder(name: str, entries: list[Entry]) -> bool:
    """Whether the folder ``name`` holding ``entries`` is a table Spark wrote (cohort-format.md
    §3: ``NAME.parquet``, a folder of part files): only Parquet part files, Spark's
    ``_SUCCESS`` marker and Hadoop's ``.crc`` checksums, no link or sub-folder."""
    return Path(name).suffix.lower() == ".parquet" and all(
        part.kind == "file"
        and (Path(part.name).suffix.lower() in {".parquet", ".crc"} or part.name == "_SUCCESS")
        for part in entries
    )


@contextmanager
def atomic_directory(target: Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory; on success it becomes ``target``.

    Missing folders above ``target`` are created (``make_parents``) and removed again on
    failure. Raises ``UsageError`` when ``target`` exists, is not empty and ``force`` is false,
    or a folder above it cannot be made.
    """
    check_output_directory(target, force=force)
    created = make_parents(target)
    succeeded = False
    try:
        parent = target.absolute().parent
        try:
            temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
        except OSError as exc:
            raise unwritable(target, exc) from None
        try:
            # mkdtemp makes it private; the result is an ordinary folder
            temporary.chmod(0o777 & ~_umask())
            yield temporary
            try:
                _put_in_place(temporary, target)
            except OSError as exc:
                raise unwritable(target, exc) from None
            succeeded = True
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
    finally:
        if not succeeded:
            remove_created(created)


def _put_in_place(temporary: Path, target: Path) -> None:
    """Rename the written folder ``temporary`` to ``target``, the folder it replaces (if any)
    moved aside first and removed after."""
    if not target.exists():
        os.replace(temporary, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.absolute().parent))
    try:
        os.replace(target, retired / target.name)
    except OSError:
        retired.rmdir()
        raise
    try:
        os.replace(temporary, target)
    except OSError:
        os.replace(retired / target.name, target)  # the old output back where it was
        retired.rmdir()
        raise
    shutil.rmtree(retired, ignore_errors=True)
