"""The one reader of the environment: every setting srnskit takes from ``SRNSKIT_*`` (and the
few standard variables it honours), read when asked for, so a test or a user can change one
between two calls.

| variable | meaning | default |
|---|---|---|
| ``SRNSKIT_MEMORY_LIMIT`` | DuckDB's memory limit (``6GB``); beyond it, spill to disk | none |
| ``SRNSKIT_NO_PLAN_CACHE`` | any non-empty value: compile the engine's SQL plan every time | off |
| ``XDG_CACHE_HOME`` | where the cache folder ``srnskit/`` lives | ``~/.cache`` |
| ``SPARK_MASTER`` | the Spark master URL when ``--spark-master`` is not given | ``local[2]`` |
| ``SRNSKIT_DB`` | the registry's database when ``--db`` is not given | ``sqlite:///srnskit.db`` |
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "DEFAULT_DATABASE_URL",
    "cache_root",
    "database_url",
    "memory_limit",
    "plan_cache_enabled",
    "spark_master",
]

# The registry's database when neither --db nor SRNSKIT_DB says: a SQLite file in the working
# directory (docs/registry.md).
DEFAULT_DATABASE_URL = "sqlite:///srnskit.db"


def memory_limit() -> str | None:
    """DuckDB's memory limit from ``SRNSKIT_MEMORY_LIMIT`` (``'6GB'``), or None for no limit."""
    return os.environ.get("SRNSKIT_MEMORY_LIMIT") or None


def plan_cache_enabled() -> bool:
    """False when ``SRNSKIT_NO_PLAN_CACHE`` is set to anything non-empty."""
    return not os.environ.get("SRNSKIT_NO_PLAN_CACHE")


def cache_root() -> Path:
    """The cache folder: ``$XDG_CACHE_HOME/srnskit`` (default ``~/.cache/srnskit``)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "srnskit"


def spark_master(given: str | None = None) -> str:
    """The Spark master: ``given`` (``--spark-master``), else ``SPARK_MASTER``, else local."""
    return given or os.environ.get("SPARK_MASTER") or "local[2]"


def database_url(given: str | None = None) -> str:
    """The registry's database URL: ``given`` (``--db``), else ``SRNSKIT_DB``, else
    ``DEFAULT_DATABASE_URL`` (``sqlite:///srnskit.db`` in the working directory)."""
    return given or os.environ.get("SRNSKIT_DB") or DEFAULT_DATABASE_URL
