"""Alembic's environment: migrate the connection ``registry.db.upgrade`` hands over.

Run online only (srnskit never writes SQL scripts for a database administrator to replay); the
models' metadata is the target, so ``alembic revision --autogenerate`` (developers) and the
test that models and migrations agree compare against it.
"""

from __future__ import annotations

from alembic import context

from srnskit.registry.models import Base

__all__: list[str] = []

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the alembic command line, for developers
    from srnskit.registry.db import make_engine
    from srnskit.settings import database_url

    engine = make_engine(database_url())
    with engine.begin() as opened:
        context.configure(connection=opened, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
