"""API tokens that expire, a fetch log per source, and source intervals bounded to a year

``api_tokens.expires_at``: an optional end of life (None: valid until revoked). ``source_fetches``:
one row per fetch of a source (status and counts, or the error), the log the admin page shows.
Intervals longer than a year, which older versions accepted and which overflowed the next run's date
arithmetic, are cut to a year.

Revision ID: 0005_tokens_and_fetch_log
Revises: 0004_triage_and_labels
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_tokens_and_fetch_log"
down_revision: str | None = "0004_triage_and_labels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

YEAR = 365 * 86400


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "source_fetches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("row_errors", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name=op.f("fk_source_fetches_source_id_sources"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_fetches")),
    )
    op.create_index("ix_source_fetches_source_id_at", "source_fetches", ["source_id", "at"])
    op.execute(f"UPDATE sources SET every_seconds = {YEAR} WHERE every_seconds > {YEAR}")


def downgrade() -> None:
    op.drop_index("ix_source_fetches_source_id_at", table_name="source_fetches")
    op.drop_table("source_fetches")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
