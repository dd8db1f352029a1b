"""The one reader of the environment: every setting srnskit takes from ``SRNSKIT_*`` (and the
few standard variables it honours), read when asked for, so a test or a user can change one
between two calls.

| variable | meaning | default |
|---|---|---|
| ``SRNSKIT_MEMORY_LIMIT`` | DuckDB's memory limit (``6GB``); beyond it, spill to disk | none |
| ``SRNSKIT_NO_PLAN_CACHE`` | non-empty: compile the engine's and validation's SQL each time | off |
| ``XDG_CACHE_HOME`` | where the cache folder ``srnskit/`` lives | ``~/.cache`` |
| ``SPARK_MASTER`` | the Spark master URL when ``--spark-master`` is not given | Spark's own ¹ |
| ``SRNSKIT_DB`` | the registry's database when ``--db`` is not given | ``sqlite:///srnskit.db`` |

¹ ``spark.master`` in the user's ``spark-defaults.conf``, else ``local[2]``. Spark reads its own
variables (``SPARK_CONF_DIR``, ``SPARK_HOME``, ``SPARK_LOCAL_IP``, ``SPARK_DRIVER_MEMORY``,
``MASTER``) itself when its JVM starts; ``environment_defaults`` sets srnskit's defaults there
for the start, below whatever the user set (docs/scale.md).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = [
    "DEFAULT_DATABASE_URL",
    "cache_root",
    "database_url",
    "environment_defaults",
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


def spark_master(given: str | None = None) -> str | None:
    """The Spark master the user chose: ``given`` (``--spark-master``), else ``SPARK_MASTER``;
    None leaves it to Spark's own configuration (``spark.master`` in ``spark-defaults.conf``),
    else the engine's default (``local[2]``)."""
    return given or os.environ.get("SPARK_MASTER") or None


def database_url(given: str | None = None) -> str:
    """The registry's database URL: ``given`` (``--db``), else ``SRNSKIT_DB``, else
    ``DEFAULT_DATABASE_URL`` (``sqlite:///srnskit.db`` in the working directory)."""
    return given or os.environ.get("SRNSKIT_DB") or DEFAULT_DATABASE_URL


@contextlib.contextmanager
def environment_defaults(variables: Mapping[str, str]) -> Iterator[None]:
    """Within the block, each of ``variables`` that the environment does not set is set (for a
    child process started there, such as Spark's JVM); removed again afterwards. A variable the
    user set is left as it is."""
    added = [name for name in variables if name not in os.environ]
    for name in added:
        os.environ[name] = variables[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
