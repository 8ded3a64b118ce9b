"""The embedding backlog: one row per distinct text still waiting for its vector in a model

Workers against one PostgreSQL lock these rows (``FOR UPDATE SKIP LOCKED``) while they embed the texts,
so several ``tracker embed`` / ``tracker run`` processes share the backlog without embedding a text
twice (tracker.backlog). SQLite has the table too, unused: there one process embeds.

Revision ID: 0006_embedding_backlog
Revises: 0005_tokens_and_fetch_log
Create Date: 2026-11-30 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_embedding_backlog"
down_revision: str | None = "0005_tokens_and_fetch_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "embedding_backlog",
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("model", "text_hash", name=op.f("pk_embedding_backlog")),
    )


def downgrade() -> None:
    op.drop_table("embedding_backlog")
