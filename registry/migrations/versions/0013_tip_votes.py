"""tip votes: "this helped me", one per tip and participant

Revision ID: 0013_tip_votes
Revises: 0012_accounts
Create Date: 2026-11-30 20:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013_tip_votes"
down_revision = "0012_accounts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tip_vote",
        sa.Column("experience_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experience_id"], ["experience.id"], name=op.f("fk_tip_vote_experience_id_experience"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_tip_vote_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("experience_id", "user_id", name=op.f("pk_tip_vote")),
    )
    with op.batch_alter_table("tip_vote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tip_vote_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("tip_vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tip_vote_user_id"))
    op.drop_table("tip_vote")
