"""report keys for disclosure control

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 20:20:00

Every experience and doctor rating gets a random report key; report_cell keeps the sum of its
experiences' keys. Existing rows get random keys, and the sums are computed from them.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KEY_RANGE = 2**40  # registry.platform.database.REPORT_KEY_BITS


def _random_key() -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"floor(random() * {KEY_RANGE})::bigint"
    return f"abs(random()) % {KEY_RANGE}"


def upgrade():
    for table in ("experience", "doctor_rating"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("report_key", sa.BigInteger(), nullable=False, server_default="0"))
        op.execute(f"UPDATE {table} SET report_key = {_random_key()}")
    with op.batch_alter_table("report_cell", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_sum", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE report_cell SET key_sum = COALESCE((SELECT SUM(e.report_key) FROM experience e"
        " WHERE e.condition_id = report_cell.condition_id AND e.treatment_id = report_cell.treatment_id"
        " AND COALESCE(e.role, '') = report_cell.role AND COALESCE(e.age_band, '') = report_cell.age_band"
        " AND COALESCE(e.sex, '') = report_cell.sex"
        " AND COALESCE(e.years_since_diagnosis, '') = report_cell.years_since_diagnosis), 0)"
    )


def downgrade():
    with op.batch_alter_table("report_cell", schema=None) as batch_op:
        batch_op.drop_column("key_sum")
    for table in ("doctor_rating", "experience"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("report_key")
