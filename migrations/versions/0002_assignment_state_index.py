"""covering index for "has this statement an open assignment?"

Incremental assignment asks it of every statement twice per run (new statements, then the
unassigned pool). With only the (statement_id, narrative_id) unique index each probe also read the
table row for its state; with (statement_id, state) the probe is answered from the index alone.

Revision ID: 0002_assignment_state_index
Revises: 0001_initial
Create Date: 2026-11-29 10:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_assignment_state_index"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_assignments_statement_state", "assignments", ["statement_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_assignments_statement_state", table_name="assignments")
