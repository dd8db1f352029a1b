"""Alembic migrations of the registry's schema (``srnskit db upgrade``, ``registry.db.upgrade``)."""

__all__: list[str] = []
