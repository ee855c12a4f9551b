"""user.locale: the language a participant chose for the site and its mails

Revision ID: 0021_user_locale
Revises: 0020_upkeep_check
Create Date: 2026-12-07 11:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021_user_locale"
down_revision = "0020_upkeep_check"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user") as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=12), nullable=True))


def downgrade():
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_column("locale")
