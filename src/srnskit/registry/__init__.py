"""The registry: a multi-centre database of the cohort (registry.md, docs/registry.md).

A source (it holds cohorts: ``srnskit derive sqlite:///srnskit.db`` reads it through
``sources.registry``) and a service for the web app and the command line. It re-implements no
rule: every write is validated and loaded by ``srnskit.cohort``, derived results come from
``srnskit.engine``.

The service API (every function takes a SQLAlchemy ``Session``, whose transaction the caller
commits, and an ``Actor``; errors are ``registry.errors`` — NotFoundError 404, ForbiddenError
403, ConflictError 409 — and ``srnskit.errors.InvalidCohortError`` 422 with the problems):

- ``db``: ``open_registry(url) -> Registry`` (``.session()``), ``upgrade(url)``,
  ``database_url(given)``, ``make_engine(url)``, ``lock_for_write(session)``.
- ``access``: ``Actor(name, role, centers)``, ``Actor.of(user)``, ``Actor.system()``,
  ``require(actor, action, center=None)``, ``PERMISSIONS`` (registry.md §2's matrix),
  ``visible(actor, table)`` — THE centre filter every patient query goes through.
- ``users``: ``add_user(session, actor, name, role, centers, password) -> User``,
  ``list_users(session, actor)``, ``disable_user(session, actor, name)``,
  ``authenticate(session, name, password) -> User | None``, ``get_user(session, name)``.
- ``store``: ``list_patients(session, actor, center=, q=, limit=, offset=)``,
  ``get_patient(session, actor, patient_id)``, ``create_patient(session, actor, row)``,
  ``update_patient(session, actor, patient_id, changes)``,
  ``delete_patient(session, actor, patient_id)``,
  ``add_rows(session, actor, patient_id, table, rows) -> rows with id``,
  ``update_row(session, actor, patient_id, table, row_id, changes)``,
  ``delete_row(session, actor, patient_id, table, row_id)``.
- ``imports``: ``import_cohort(session, actor, path, center=, today=, commit=False) ->
  ImportResult`` (``.valid``, ``.problems``, ``.preview``, ``.to_dict()``); the API unpacks an
  uploaded ``.zip`` or saves an ``.xlsx`` to a temporary path and calls it.
- ``export``: ``export_tables(session, actor, centers=None, deidentify=False) -> {table:
  pyarrow.Table}``, ``write_export(tables, out, fmt=, force=)``.
- ``derived``: ``read_derived(session, actor, patient_id, definitions) -> dict`` (stored,
  never computed on read), ``refresh_derived(session, patient_ids)``.
- ``audit``: ``read_entries(session, actor, table=, record=, limit=, offset=)``,
  ``verify(connection) -> Verdict``, ``AuditWriter``, ``entry_hash``.
- ``models``: the SQLAlchemy models (``Base.metadata``; cohort tables declared from
  ``schema.tables``) and ``migrations/`` (Alembic).
"""

__all__: list[str] = []
