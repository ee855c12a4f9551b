"""upkeep checks: windows after an upgrade in which releases check the report tables against the raw rows

Revision ID: 0020_upkeep_check
Revises: 0019_mail_outbox_link_tokens
Create Date: 2026-12-07 03:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020_upkeep_check"
down_revision = "0019_mail_outbox_link_tokens"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "upkeep_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upkeep_check")),
    )


def downgrade():
    op.drop_table("upkeep_check")
