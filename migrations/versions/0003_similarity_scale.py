"""similarity scale per model, and each narrative's cohesion

Cut-offs became levels on the corpus's own similarity scale (tracker.narratives.calibration): a
model's background mean and spread, and the language offsets removed before clustering, are kept in
``similarity_scales``; ``narratives.cohesion`` turns a cosine to the centroid into a mean similarity
to the narrative's statements. Both are filled by the next full discovery (``tracker cluster --full``);
until then assignment measures the scale from the stored vectors.

Revision ID: 0003_similarity_scale
Revises: 0002_assignment_state_index
Create Date: 2026-11-30 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_similarity_scale"
down_revision: str | None = "0002_assignment_state_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "similarity_scales",
        sa.Column("model", sa.String(length=300), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("sd", sa.Float(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("offsets", sa.LargeBinary(), nullable=True),
        sa.Column("statements", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model", name=op.f("pk_similarity_scales")),
    )
    with op.batch_alter_table("narratives") as batch:
        batch.add_column(sa.Column("cohesion", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("narratives") as batch:
        batch.drop_column("cohesion")
    op.drop_table("similarity_scales")
