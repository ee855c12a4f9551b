"""interchange: imported participants, answers an imported review did not give

Revision ID: 0011_interchange
Revises: 0010
Create Date: 2026-11-30 19:50:00

Legacy reviews carry a rating and text but no role, start month, effectiveness, side-effect
severity or recommendation: those answers stay empty (counted as missing) instead of invented.
Imported participants (FHIR or reviews) record where they came from and cannot log in.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011_interchange"
down_revision = "0010"
branch_labels = None
depends_on = None

NOW_OPTIONAL = (
    ("role", 12),
    ("started", 7),
    ("effectiveness", 12),
    ("side_effect_severity", 12),
    ("would_recommend", 3),
)


def upgrade():
    with op.batch_alter_table("experience", schema=None) as batch_op:
        for name, length in NOW_OPTIONAL:
            batch_op.alter_column(name, existing_type=sa.String(length=length), nullable=True)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("imported_from", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("imported_from")
    # Rows without these answers (imported reviews) cannot go back under NOT NULL.
    op.execute(
        "DELETE FROM experience WHERE role IS NULL OR started IS NULL OR effectiveness IS NULL "
        "OR side_effect_severity IS NULL OR would_recommend IS NULL"
    )
    with op.batch_alter_table("experience", schema=None) as batch_op:
        for name, length in NOW_OPTIONAL:
            batch_op.alter_column(name, existing_type=sa.String(length=length), nullable=False)
