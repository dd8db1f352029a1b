"""The registry's schema: declared from the one format, migrated by Alembic, the two agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from srnskit.registry.db import current_revision, head_revision, make_engine, open_registry
from srnskit.registry.models import COHORT_MODEL_TABLES, EXTRA_COLUMN, Base
from srnskit.schema import COHORT_TABLES
from srnskit.settings import DEFAULT_DATABASE_URL, database_url


def test_the_latest_migration_builds_exactly_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def test_cohort_tables_are_the_formats_columns_in_its_order() -> None:
    for name, table in COHORT_TABLES.items():
        columns = [c.name for c in COHORT_MODEL_TABLES[name].columns]
        own = [] if name == "patients" else ["id"]
        assert columns == [*own, *table.column_names, EXTRA_COLUMN]
        model = COHORT_MODEL_TABLES[name]
        for column in table.columns:
            # the format's required columns are NOT NULL; center_id is always filled
            assert model.c[column.name].nullable is not (
                column.required or column.name == "center_id"
            )


def test_a_new_sqlite_database_is_created_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with open_registry(url) as registry, registry.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert current_revision(connection) == head_revision()
        assert sa.inspect(connection).has_table("audit_entries")


def test_the_database_url_is_the_option_then_the_environment_then_a_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SRNSKIT_DB", raising=False)
    assert database_url(None) == DEFAULT_DATABASE_URL == "sqlite:///srnskit.db"
    monkeypatch.setenv("SRNSKIT_DB", "sqlite:///from-env.db")
    assert database_url(None) == "sqlite:///from-env.db"
    assert database_url("sqlite:///given.db") == "sqlite:///given.db"
