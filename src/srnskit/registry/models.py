"""The registry's tables as SQLAlchemy 2 models (docs/registry.md).

The cohort tables (``patients``, ``measurements``, ``treatments``, ``adverse_events``,
``events``) are declared FROM ``schema.tables``: one column per column of the format, its SQL
type from the column's kind, NOT NULL when the format requires it; nothing about them is written
here twice. Values are stored canonical (as ``cohort.read_cohort`` loads them: units converted,
enums spelled the one way). Each table has ``extra_columns`` (JSON text of the row's
centre-supplied columns); child tables have an integer ``id`` and reference ``patients``.

The registry's own tables are typed ORM models: ``User`` and ``UserCenter`` (accounts, argon2
hashes, centres), ``AuditEntry``/``AuditCenter``/``AuditHead`` (the hash-chained trail,
registry.md §4), ``RegistrySecret`` (the pseudonym key, §5), ``PatientOffset`` (each child's
date shift, §5), ``DerivedResult`` (the engine's output per patient and definition set,
§4b) and ``LoginFailure`` (failed logins of the last minute, the throttle of §3).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from srnskit.schema import COHORT_TABLES, ColumnKind
from srnskit.sources.registry import EXTRA_COLUMN

__all__ = [
    "COHORT_MODEL_TABLES",
    "EXTRA_COLUMN",
    "ID_LENGTH",
    "ROLES",
    "STATUS_COLUMNS",
    "AdverseEvent",
    "AuditCenter",
    "AuditEntry",
    "AuditHead",
    "Base",
    "DerivedResult",
    "Event",
    "LoginFailure",
    "Measurement",
    "Patient",
    "PatientOffset",
    "RegistrySecret",
    "Role",
    "Treatment",
    "User",
    "UserCenter",
    "cohort_table",
    "table_of",
]

Role = Literal["admin", "investigator", "data_entry", "viewer"]
ROLES: tuple[Role, ...] = get_args(Role)
# Longest identifier (patient, centre, user name) the registry stores.
ID_LENGTH = 64

# Constraint names spelled the same on SQLite and PostgreSQL, so migrations can name them.
_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_SQL_TYPES: dict[ColumnKind, type[sa.types.TypeEngine[Any]]] = {
    "text": sa.Text,
    "enum": sa.Text,
    "date": sa.Date,
    "number": sa.Double,
    "integer": sa.Integer,
    "bool": sa.Boolean,
    "value": sa.Double,
}


class Base(DeclarativeBase):
    """The registry's metadata: every table, with named constraints."""

    metadata = sa.MetaData(naming_convention=_NAMING)


def cohort_table(name: str, metadata: sa.MetaData) -> sa.Table:
    """The registry table of the cohort table ``name``, declared from ``schema.tables``.

    ``patients`` is keyed by ``patient_id`` (unique in the whole registry, registry.md §2) and
    its ``center_id`` is always filled; the other tables get an integer ``id`` and a
    ``patient_id`` referencing ``patients`` (deleted with it). Every table ends with
    ``extra_columns`` (JSON text, or NULL).
    """
    table = COHORT_TABLES[name]
    columns: list[sa.Column[Any]] = []
    for column in table.columns:
        if column.name == "patient_id":
            if name == "patients":
                columns.append(sa.Column("patient_id", sa.String(ID_LENGTH), primary_key=True))
            else:
                columns.append(sa.Column("id", sa.Integer, primary_key=True, autoincrement=True))
                reference = sa.ForeignKey("patients.patient_id", ondelete="CASCADE")
                columns.append(
                    sa.Column("patient_id", sa.String(ID_LENGTH), reference, nullable=False)
                )
            continue
        sql_type: sa.types.TypeEngine[Any] = (
            sa.String(ID_LENGTH) if column.name == "center_id" else _SQL_TYPES[column.kind]()
        )
        required = column.required or column.name == "center_id"
        columns.append(sa.Column(column.name, sql_type, nullable=not required))
    columns.append(sa.Column(EXTRA_COLUMN, sa.Text, nullable=True))
    indexes = [sa.Index(f"ix_{name}_patient_id", "patient_id")] if name != "patients" else []
    if name == "patients":
        indexes.append(sa.Index("ix_patients_center_id", "center_id"))
    return sa.Table(name, metadata, *columns, *indexes)


class Patient(Base):
    """A child (``patients``): columns as ``schema.tables`` declares them."""

    __table__ = cohort_table("patients", Base.metadata)


class Measurement(Base):
    """One value (``measurements``), in its canonical unit."""

    __table__ = cohort_table("measurements", Base.metadata)


class Treatment(Base):
    """One drug course or infusion (``treatments``)."""

    __table__ = cohort_table("treatments", Base.metadata)


class AdverseEvent(Base):
    """One adverse event (``adverse_events``)."""

    __table__ = cohort_table("adverse_events", Base.metadata)


class Event(Base):
    """One kidney, follow-up or vital event (``events``)."""

    __table__ = cohort_table("events", Base.metadata)


def table_of(model: type[Base]) -> sa.Table:
    """The Core table of a model (for bulk statements)."""
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


# Cohort table name → its registry table, in the format's order.
COHORT_MODEL_TABLES: dict[str, sa.Table] = {
    name: Base.metadata.tables[name] for name in COHORT_TABLES
}


class User(Base):
    """An account: ``name`` (unique), ``role``, an argon2 ``password_hash``, ``active`` (a
    disabled account cannot log in; its history stays) and its centres (``'*'``: all)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(ID_LENGTH), unique=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    password_hash: Mapped[str] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[str] = mapped_column(sa.String(32))
    centers: Mapped[list[UserCenter]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def center_ids(self) -> frozenset[str]:
        """The user's centres (``'*'`` among them: every centre)."""
        return frozenset(c.center_id for c in self.centers)


class UserCenter(Base):
    """One centre of a user."""

    __tablename__ = "user_centers"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    center_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    user: Mapped[User] = relationship(back_populates="centers")


class AuditEntry(Base):
    """One entry of the audit trail (registry.md §4). ``hash`` = SHA-256 of ``prev_hash``
    followed by the canonical JSON of every other field (``registry.audit.entry_hash``).
    ``old``/``new`` hold canonical JSON text and ``time`` ISO text in UTC, so the bytes
    hashed are the bytes stored, on SQLite and PostgreSQL alike."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(sa.String(32))
    user: Mapped[str] = mapped_column(sa.String(ID_LENGTH + 16))
    action: Mapped[str] = mapped_column(sa.String(8))
    table: Mapped[str] = mapped_column(sa.String(32))
    record: Mapped[str] = mapped_column(sa.Text)
    centers: Mapped[str] = mapped_column(sa.Text)
    old: Mapped[str | None] = mapped_column(sa.Text)
    new: Mapped[str | None] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    __table_args__ = (sa.Index("ix_audit_entries_table_record", "table", "record"),)


class AuditCenter(Base):
    """Which centres an audit entry concerns, for reading the trail by centre (the same
    centres are inside the hashed entry, ``AuditEntry.centers``)."""

    __tablename__ = "audit_centers"

    entry_id: Mapped[int] = mapped_column(
        sa.ForeignKey("audit_entries.id", ondelete="CASCADE"), primary_key=True
    )
    center_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)

    __table_args__ = (sa.Index("ix_audit_centers_center_id", "center_id"),)


class AuditHead(Base):
    """The one row kept apart from the chain: the latest entry's id and hash (0 and 64 zeros
    before the first), so an entry removed at the end is detected too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(sa.Integer)
    last_hash: Mapped[str] = mapped_column(sa.String(64))


class RegistrySecret(Base):
    """A secret of the registry (``pseudonym_key``: the HMAC key of de-identified ids)."""

    __tablename__ = "registry_secrets"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(128))


class PatientOffset(Base):
    """A child's date shift in de-identified exports: ``days`` back, 1 to 365, drawn once and
    kept (not tied to the patient row, so a child deleted and imported again keeps it)."""

    __tablename__ = "patient_offsets"

    patient_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    days: Mapped[int] = mapped_column(sa.Integer)


# The columns of the patient's derived outcome (``patient_outcomes``, cohort-format.md §3) kept
# beside its stored result, so the patient list shows and filters them in one query.
STATUS_COLUMNS = (
    "steroid_response",
    "cni_response",
    "first_remission_date",
    "ckd_stage_last",
    "krt",
)


class DerivedResult(Base):
    """The engine's output for one patient under one definition set (registry.md §4b):
    ``data`` is JSON text ``{"patient_outcomes": [...], "courses": [...], "episodes": [...]}``
    (rows as ``srnskit derive`` writes them), computed when the patient's data changed; the
    ``STATUS_COLUMNS`` are the outcome's values of the same name, written with it (types as
    ``schema.derived`` declares them)."""

    __tablename__ = "derived_results"

    patient_id: Mapped[str] = mapped_column(
        sa.ForeignKey("patients.patient_id", ondelete="CASCADE"), primary_key=True
    )
    definitions: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    study: Mapped[str] = mapped_column(sa.String(64))
    computed_at: Mapped[str] = mapped_column(sa.String(32))
    version: Mapped[str] = mapped_column(sa.String(32))
    data: Mapped[str] = mapped_column(sa.Text)
    steroid_response: Mapped[str | None] = mapped_column(sa.Text)
    cni_response: Mapped[str | None] = mapped_column(sa.Text)
    first_remission_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    ckd_stage_last: Mapped[str | None] = mapped_column(sa.Text)
    krt: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        # The list's status filter: one set's patients of a steroid response.
        sa.Index(
            "ix_derived_results_definitions_steroid_response", "definitions", "steroid_response"
        ),
    )


class LoginFailure(Base):
    """One failed login (registry.md §3's throttle), kept in the database so that every server
    process counts the same failures: ``name_hash`` is the SHA-256 (hex) of the name tried (a
    name typed wrong, or a password typed in its place, is not stored as typed), ``at`` the
    time in seconds since 1970 (UTC). Rows older than the throttle's window are deleted as
    new failures come."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_hash: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[float] = mapped_column(sa.Double)

    __table_args__ = (sa.Index("ix_login_failures_name_hash_at", "name_hash", "at"),)
