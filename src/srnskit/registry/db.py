"""Opening the registry's database: the URL, the engine, sessions, migrations.

    database_url(given) -> str          --db, else SRNSKIT_DB, else sqlite:///srnskit.db
    make_engine(url) -> Engine          SQLite: WAL, foreign keys, a busy timeout
    upgrade(url_or_engine) -> str       create or migrate the schema (Alembic), the revision
    open_registry(url) -> Registry      engine + session factory; a new database is created,
                                        one behind the code's schema is refused (UsageError)
    Registry.session() -> Session       a unit of work: commit writes all or nothing

Every write of the service (``registry.store``) starts with ``lock_for_write(session)``: on
SQLite it takes the database's write lock before anything is read (so two writers queue instead
of failing), on PostgreSQL it locks the audit head row, which serialises the chain's appends.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from srnskit.errors import UsageError
from srnskit.registry.models import AuditHead, table_of
from srnskit.settings import database_url
from srnskit.sources.registry import redact_url

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "POSTGRESQL_POOL_SIZE",
    "Registry",
    "current_revision",
    "database_url",
    "head_revision",
    "lock_for_write",
    "make_engine",
    "open_registry",
    "upgrade",
]

# How long a writer waits for another's transaction on SQLite before giving up.
BUSY_TIMEOUT_SECONDS = 60

# Connections a process keeps open to a PostgreSQL server, opened as requests first need them
# and kept: as many as a server worker's requests can run at once under load (20 clients on
# one worker). SQLAlchemy's default (5 kept, 10 more opened and closed for each use) made every
# request beyond the fifth open a connection, a new server process (benchmarks/registry.py).
# No more than this are opened: a further request waits for one (up to 30 s). At the server's
# default of at most 4 workers, 80 connections of PostgreSQL's default max_connections of 100.
POSTGRESQL_POOL_SIZE = 20


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url``. SQLite: the file is in WAL mode (readers never wait for the
    writer), foreign keys are enforced, and a writer waits up to ``BUSY_TIMEOUT_SECONDS``.
    Raises ``UsageError`` for a URL SQLAlchemy cannot use."""
    try:
        parsed = sa.engine.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
            sa.event.listen(engine, "connect", _sqlite_connect)
            sa.event.listen(engine, "begin", _sqlite_begin)
            return engine
        return sa.create_engine(
            url, pool_pre_ping=True, pool_size=POSTGRESQL_POOL_SIZE, max_overflow=0
        )
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise UsageError(f"{redact_url(url)}: not a database URL srnskit can use ({exc})") from None


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy, not the sqlite3 module, says when a transaction begins (its documented
    # recipe), so a transaction spans every statement of a unit of work.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def lock_for_write(session: Session) -> None:
    """Make ``session``'s transaction the only writer until it ends: the first statement of
    every write. It touches the audit head row, which every write appends to anyway."""
    head = table_of(AuditHead)
    session.execute(sa.update(head).where(head.c.id == 1).values(id=head.c.id))


def _alembic_config(connection: sa.Connection) -> Any:
    from alembic.config import Config

    config = Config()
    location = resources.files("srnskit.registry") / "migrations"
    config.set_main_option("script_location", str(location))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision of the schema this srnskit's models describe (the newest migration)."""
    from alembic.script import ScriptDirectory

    location = resources.files("srnskit.registry") / "migrations"
    head = ScriptDirectory(str(location)).get_current_head()
    assert head is not None
    return head


def current_revision(connection: sa.Connection) -> str | None:
    """The database's schema revision, or None for a database without the registry."""
    from alembic.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(target: str | sa.Engine) -> str:
    """Create the schema, or migrate it to the newest revision; returns that revision.
    ``target`` is a URL or an engine. Idempotent."""
    from alembic import command

    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")
    except sa.exc.OperationalError as exc:
        raise UsageError(f"{redact_url(str(engine.url))}: cannot be opened ({exc.orig})") from None
    finally:
        if isinstance(target, str):
            engine.dispose()
    return head_revision()


@dataclass
class Registry:
    """An open registry: its engine and a factory of sessions (``with registry.session() as
    s: …; s.commit()``). ``close`` disposes of the engine's connections."""

    engine: sa.Engine
    sessions: sessionmaker[Session]

    def session(self) -> Session:
        return self.sessions()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_registry(url: str | None = None) -> Registry:
    """The registry at ``url`` (``database_url`` when None). A database without the registry
    (a new SQLite file) is created at the newest schema; one at an older revision is refused
    with a ``UsageError`` that says to run ``srnskit db upgrade``."""
    chosen = database_url(url)
    engine = make_engine(chosen)
    try:
        with engine.connect() as connection:
            revision = current_revision(connection)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise UsageError(f"{redact_url(chosen)}: cannot be opened ({exc.orig})") from None
    if revision is None:
        upgrade(engine)
    elif revision != head_revision():
        engine.dispose()
        raise UsageError(
            f"{redact_url(chosen)} has schema revision {revision}; this srnskit needs "
            f"{head_revision()}: run 'srnskit db upgrade' (after a backup)"
        )
    return Registry(engine, sessionmaker(engine, expire_on_commit=False))
