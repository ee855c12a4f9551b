"""releases: the published tables pages read, and the release's bookkeeping

Revision ID: 0017_releases
Revises: 0016_tips_published_at
Create Date: 2026-12-06 20:30:00

The tables start empty; `registry init` (which runs this upgrade) then runs a first release
(registry.reporting.release), as `registry release` does on its timer.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017_releases"
down_revision = "0016_tips_published_at"
branch_labels = None
depends_on = None


def _unit(table: str, primary_key: bool = False):
    return [
        sa.Column("condition_id", sa.Integer(), nullable=False, primary_key=primary_key),
        sa.Column("treatment_id", sa.Integer(), nullable=False, primary_key=primary_key),
        sa.ForeignKeyConstraint(
            ["condition_id"], ["condition.id"], ondelete="CASCADE", name=op.f(f"fk_{table}_condition_id_condition")
        ),
        sa.ForeignKeyConstraint(
            ["treatment_id"], ["treatment.id"], ondelete="CASCADE", name=op.f(f"fk_{table}_treatment_id_treatment")
        ),
    ]


def _budget():
    return [
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("publications", sa.Integer(), nullable=False),
    ]


def upgrade():
    op.create_table(
        "release",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("frozen", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
    )
    op.create_table(
        "pub_cell",
        sa.Column("view", sa.BigInteger(), primary_key=True, autoincrement=False),
        *_unit("pub_cell"),
        sa.Column("role", sa.String(14), nullable=False),
        sa.Column("age_band", sa.String(14), nullable=False),
        sa.Column("sex", sa.String(14), nullable=False),
        sa.Column("years_since_diagnosis", sa.String(14), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("key_sum", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.LargeBinary(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        *_budget(),
    )
    op.create_index(
        "ix_pub_cell_condition_view",
        "pub_cell",
        ["condition_id", "role", "age_band", "sex", "years_since_diagnosis"],
    )
    op.create_index("ix_pub_cell_treatment", "pub_cell", ["treatment_id"])
    op.create_table(
        "pub_slice",
        *_unit("pub_slice", primary_key=True),
        sa.Column("axis", sa.String(8), primary_key=True),
        sa.Column("bucket", sa.String(40), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("key_sum", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "pub_point",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_unit("pub_point"),
        sa.Column("experience_id", sa.Integer(), nullable=False),
        sa.Column("started", sa.String(7)),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("report_key", sa.BigInteger(), nullable=False),
        sa.Column("stopped", sa.String(7)),
        sa.Column("effectiveness", sa.String(14)),
        sa.Column("side_effect_severity", sa.String(14)),
        sa.Column("satisfaction", sa.Integer()),
        sa.Column("would_recommend", sa.String(14)),
    )
    op.create_index("ix_pub_point_unit", "pub_point", ["condition_id", "treatment_id"])
    op.create_table(
        "pub_rating",
        sa.Column("doctor_id", sa.Integer(), sa.ForeignKey("doctor.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("condition_id", sa.Integer(), sa.ForeignKey("condition.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("key_sum", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        *_budget(),
    )
    op.create_table(
        "pub_condition",
        sa.Column("condition_id", sa.Integer(), sa.ForeignKey("condition.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("release_id", sa.Integer(), primary_key=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_table(
        "pub_version",
        sa.Column("condition_id", sa.Integer(), sa.ForeignKey("condition.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "pub_member",
        sa.Column("kind", sa.String(1), primary_key=True),
        sa.Column("report_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("a", sa.Integer(), nullable=False),
        sa.Column("b", sa.Integer(), nullable=False),
        sa.Column("dims", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "pub_pending",
        sa.Column("kind", sa.String(1), primary_key=True),
        sa.Column("view", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("user_id", sa.Integer(), primary_key=True, autoincrement=False),
    )


def downgrade():
    for name in ("pub_pending", "pub_member", "pub_version", "pub_condition", "pub_rating", "pub_point"):
        op.drop_table(name)
    op.drop_table("pub_slice")
    op.drop_index("ix_pub_cell_treatment", table_name="pub_cell")
    op.drop_index("ix_pub_cell_condition_view", table_name="pub_cell")
    op.drop_table("pub_cell")
    op.drop_table("release")
