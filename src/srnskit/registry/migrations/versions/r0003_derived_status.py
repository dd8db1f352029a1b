"""The patient list's status columns kept beside each stored derived result.

The columns of the patient's outcome the list shows and filters (steroid response, CNI
response, first remission, last CKD stage, kidney replacement therapy) become columns of
``derived_results``, filled here from each stored result's JSON and written with every result
from now on, so the list reads them in one query instead of parsing each patient's result.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:00:00.000000
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["downgrade", "upgrade"]

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As the columns were at this revision (a migration does not follow later code).
_TEXT = ("steroid_response", "cni_response", "ckd_stage_last", "krt")
_DATE = ("first_remission_date",)
_BATCH = 1_000


def upgrade() -> None:
    with op.batch_alter_table("derived_results", schema=None) as batch_op:
        for name in _TEXT[:2]:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("first_remission_date", sa.Date(), nullable=True))
        for name in _TEXT[2:]:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=True))
        batch_op.create_index(
            "ix_derived_results_definitions_steroid_response",
            ["definitions", "steroid_response"],
            unique=False,
        )
    _fill(op.get_bind())


def _fill(connection: sa.Connection) -> None:
    """Each stored result's status columns from its JSON (``patient_outcomes[0]``), a batch of
    rows at a time in key order."""
    table = sa.table(
        "derived_results",
        sa.column("patient_id", sa.String()),
        sa.column("definitions", sa.String()),
        sa.column("data", sa.Text()),
        *(sa.column(name, sa.Text()) for name in _TEXT),
        sa.column("first_remission_date", sa.Date()),
    )
    after: tuple[str, str] = ("", "")
    while True:
        rows = connection.execute(
            sa.select(table.c.patient_id, table.c.definitions, table.c.data)
            .where(sa.tuple_(table.c.patient_id, table.c.definitions) > sa.tuple_(*after))
            .order_by(table.c.patient_id, table.c.definitions)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for patient_id, definitions, data in rows:
            outcomes = json.loads(data).get("patient_outcomes") or [{}]
            values = {name: outcomes[0].get(name) for name in _TEXT}
            remission = outcomes[0].get("first_remission_date")
            values["first_remission_date"] = dt.date.fromisoformat(remission) if remission else None
            connection.execute(
                sa.update(table)
                .where(table.c.patient_id == patient_id, table.c.definitions == definitions)
                .values(**values)
            )
        after = (rows[-1][0], rows[-1][1])


def downgrade() -> None:
    with op.batch_alter_table("derived_results", schema=None) as batch_op:
        batch_op.drop_index("ix_derived_results_definitions_steroid_response")
        for name in reversed((*_TEXT[:2], *_DATE, *_TEXT[2:])):
            batch_op.drop_column(name)
