"""follow-ups of experiences (history), reminder opt-ins, followed conditions

Revision ID: 0015_followups
Revises: 0014_report_slices
Create Date: 2026-11-30 22:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_followups"
down_revision = "0014_report_slices"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "experience_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experience_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report_key", sa.BigInteger(), nullable=False),
        sa.Column("stopped", sa.String(length=7), nullable=True),
        sa.Column("stop_reasons", sa.String(length=200), nullable=True),
        sa.Column("effectiveness", sa.String(length=12), nullable=True),
        sa.Column("side_effect_severity", sa.String(length=12), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("would_recommend", sa.String(length=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["experience_id"],
            ["experience.id"],
            name=op.f("fk_experience_update_experience_id_experience"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experience_update")),
    )
    with op.batch_alter_table("experience_update", schema=None) as batch_op:
        batch_op.create_index(
            "ix_experience_update_experience_recorded", ["experience_id", "recorded_at"], unique=False
        )
    op.create_table(
        "followup_reminder",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_followup_reminder_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_followup_reminder")),
    )
    op.create_table(
        "condition_follow",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("condition_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_ranking", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["condition_id"],
            ["condition.id"],
            name=op.f("fk_condition_follow_condition_id_condition"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_condition_follow_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "condition_id", name=op.f("pk_condition_follow")),
    )
    with op.batch_alter_table("condition_follow", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_condition_follow_condition_id"), ["condition_id"], unique=False)


def downgrade():
    with op.batch_alter_table("condition_follow", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_condition_follow_condition_id"))
    op.drop_table("condition_follow")
    op.drop_table("followup_reminder")
    with op.batch_alter_table("experience_update", schema=None) as batch_op:
        batch_op.drop_index("ix_experience_update_experience_recorded")
    op.drop_table("experience_update")
