"""All-or-nothing output: write into a temporary path beside the target, rename at the end.

An interrupted or failed command leaves the target as it was (cohort-format.md §4).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from srnskit.errors import UsageError

__all__ = ["atomic_directory", "atomic_file", "check_output_directory"]


@contextmanager
def atomic_file(target: Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary file path; on success it replaces ``target``.

    Raises ``UsageError`` when ``target`` exists and ``force`` is false, or is a directory.
    """
    if target.is_dir():
        raise UsageError(f"{target} is a directory; give a file name")
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; use --force to replace it")
    if not target.parent.is_dir():
        raise UsageError(f"{target.parent}: no such directory")
    handle, name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent
    )
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; a report is shared
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output_directory(target: Path, *, force: bool = False) -> None:
    """Raise ``UsageError`` unless ``target`` can be written: absent, empty, or ``force``."""
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise UsageError(f"{target} is not empty; use --force to replace it")
    if not target.resolve().parent.is_dir():
        raise UsageError(f"{target.resolve().parent}: no such directory")


@contextmanager
def atomic_directory(target: Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory; on success it becomes ``target``.

    Raises ``UsageError`` when ``target`` exists, is not empty and ``force`` is false.
    """
    check_output_directory(target, force=force)
    parent = target.resolve().parent
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    temporary.chmod(0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary folder
    try:
        yield temporary
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=parent))
            os.replace(target, retired / target.name)
            os.replace(temporary, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
