"""the author's choice to show their own answers beside their tip (off for every existing report)

Revision ID: 0018_tips_show_answers
Revises: 0017_releases
Create Date: 2026-12-06 23:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018_tips_show_answers"
down_revision = "0017_releases"
branch_labels = None
depends_on = None


def upgrade():
    # Off for every report already written: no one chose to show their answers before the choice existed.
    with op.batch_alter_table("experience", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tips_show_answers", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("experience", schema=None) as batch_op:
        batch_op.drop_column("tips_show_answers")
