"""All-or-nothing output: write into a temporary path beside the target, rename at the end.

An interrupted or failed command leaves the target as it was (cohort-format.md §4). A missing
folder above the target is created first, as ``mkdir -p`` would, and removed again when the
write fails, so a failed command leaves no empty folders behind either.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from srnskit.errors import UsageError

__all__ = [
    "atomic_directory",
    "atomic_file",
    "check_output_directory",
    "check_parents",
    "make_parents",
    "remove_created",
]


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
        handle, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=target.suffix, dir=target.absolute().parent
        )
        os.close(handle)
        temporary = Path(name)
        try:
            yield temporary
            os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; a report is shared
            os.replace(temporary, target)
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
    """Raise ``UsageError`` unless ``target`` can be written: absent, empty, or ``force``, and
    the folders above it exist or can be made (``check_parents``)."""
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise UsageError(f"{target} is not empty; use --force to replace it")
    check_parents(target)


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
        temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
        # mkdtemp makes it private; the result is an ordinary folder
        temporary.chmod(0o777 & ~_umask())
        try:
            yield temporary
            if target.exists():
                retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=parent))
                os.replace(target, retired / target.name)
                os.replace(temporary, target)
                shutil.rmtree(retired, ignore_errors=True)
            else:
                os.replace(temporary, target)
            succeeded = True
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
    finally:
        if not succeeded:
            remove_created(created)
