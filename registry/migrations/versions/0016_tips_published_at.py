"""when each tip's current text became public (What's new counts new tips by it)

Revision ID: 0016_tips_published_at
Revises: 0015_followups
Create Date: 2026-12-01 02:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016_tips_published_at"
down_revision = "0015_followups"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("experience", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tips_published_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_experience_condition_tips_published", ["condition_id", "tips_published_at"], unique=False
        )
    # The best date known for a tip already public: its report's last save.
    op.execute(
        "UPDATE experience SET tips_published_at = updated_at "
        "WHERE tips IS NOT NULL AND tips <> '' AND text_state = 'public'"
    )


def downgrade():
    with op.batch_alter_table("experience", schema=None) as batch_op:
        batch_op.drop_index("ix_experience_condition_tips_published")
        batch_op.drop_column("tips_published_at")
