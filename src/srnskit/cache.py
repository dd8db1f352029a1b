"""The user's cache folder: things srnskit derives from its own code, never from patient data.

Compiled SQL plans (engine/backends/duckdb.py) and the chart runtime bundle
(outputs/report/render.py) live in ``$XDG_CACHE_HOME/srnskit`` (default ``~/.cache/srnskit``).
Reading or writing the cache never fails a command: a missing, broken or read-only cache only
means computing the thing again.
"""

from __future__ import annotations

import os
from pathlib import Path

from srnskit.settings import cache_root

__all__ = ["cache_dir", "read_cached", "write_cached"]


def cache_dir() -> Path:
    return cache_root()


def read_cached(name: str) -> str | None:
    """The text cached under ``name`` (a relative path), or None."""
    try:
        return (cache_dir() / name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def write_cached(name: str, text: str) -> None:
    """Cache ``text`` under ``name``, atomically (a reader never sees half a file)."""
    target = cache_dir() / name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, target)
    except OSError:
        pass
