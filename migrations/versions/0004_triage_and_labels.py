"""narrative triage, the statement a label came from, statements about no narrative

``narratives.triage``: candidate (what discovery finds), tracked, or not_narrative (routine news,
sport, weather); seeded narratives and ones a researcher already edited or confirmed start tracked.
``narratives.label_source_id``: the statement an automatic label was taken from, so the label changes
only when that statement stops representing the narrative. ``statements.off_topic``: a researcher's
"about no narrative", which keeps the statement out of the tagging queue and of clustering.

Revision ID: 0004_triage_and_labels
Revises: 0003_similarity_scale
Create Date: 2026-11-30 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_triage_and_labels"
down_revision: str | None = "0003_similarity_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("narratives") as batch:
        batch.add_column(sa.Column("triage", sa.String(length=20), server_default="candidate", nullable=False))
        batch.add_column(sa.Column("label_source_id", sa.Integer(), nullable=True))
        batch.create_check_constraint("triage", "triage IN ('candidate', 'tracked', 'not_narrative')")
        batch.create_foreign_key(batch.f("fk_narratives_label_source_id_statements"), "statements",
                                 ["label_source_id"], ["id"], ondelete="SET NULL")
        batch.create_index(batch.f("ix_narratives_triage"), ["triage"])
    op.execute("UPDATE narratives SET triage = 'tracked' WHERE origin = 'seeded' OR locked OR label_edited")
    with op.batch_alter_table("statements") as batch:
        batch.add_column(sa.Column("off_topic", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("statements") as batch:
        batch.drop_column("off_topic")
    with op.batch_alter_table("narratives") as batch:
        batch.drop_index(batch.f("ix_narratives_triage"))
        batch.drop_constraint(batch.f("fk_narratives_label_source_id_statements"), type_="foreignkey")
        batch.drop_constraint(batch.f("ck_narratives_triage"), type_="check")
        batch.drop_column("label_source_id")
        batch.drop_column("triage")
