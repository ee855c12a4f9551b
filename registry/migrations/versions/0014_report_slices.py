"""report slices: counts by months on treatment, dose and year of report

Revision ID: 0014_report_slices
Revises: 0013_tip_votes
Create Date: 2026-11-30 22:55:00

The table starts empty; `registry init` (which runs this upgrade) fills it from the raw
experiences, as it does for any missing aggregate (registry.reporting.report_upkeep.rebuild_if_missing).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014_report_slices"
down_revision = "0013_tip_votes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_slice",
        sa.Column("condition_id", sa.Integer(), nullable=False),
        sa.Column("treatment_id", sa.Integer(), nullable=False),
        sa.Column("axis", sa.String(length=8), nullable=False),
        sa.Column("bucket", sa.String(length=40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("effectiveness__worse", sa.Integer(), nullable=False),
        sa.Column("effectiveness__none", sa.Integer(), nullable=False),
        sa.Column("effectiveness__slight", sa.Integer(), nullable=False),
        sa.Column("effectiveness__moderate", sa.Integer(), nullable=False),
        sa.Column("effectiveness__major", sa.Integer(), nullable=False),
        sa.Column("effectiveness__cant_tell", sa.Integer(), nullable=False),
        sa.Column("side_effect_severity__none", sa.Integer(), nullable=False),
        sa.Column("side_effect_severity__mild", sa.Integer(), nullable=False),
        sa.Column("side_effect_severity__moderate", sa.Integer(), nullable=False),
        sa.Column("side_effect_severity__severe", sa.Integer(), nullable=False),
        sa.Column("side_effect_severity__very_severe", sa.Integer(), nullable=False),
        sa.Column("adherence__always", sa.Integer(), nullable=False),
        sa.Column("adherence__usually", sa.Integer(), nullable=False),
        sa.Column("adherence__sometimes", sa.Integer(), nullable=False),
        sa.Column("adherence__rarely", sa.Integer(), nullable=False),
        sa.Column("burden__not_at_all", sa.Integer(), nullable=False),
        sa.Column("burden__a_little", sa.Integer(), nullable=False),
        sa.Column("burden__somewhat", sa.Integer(), nullable=False),
        sa.Column("burden__very", sa.Integer(), nullable=False),
        sa.Column("cost_per_month__zero", sa.Integer(), nullable=False),
        sa.Column("cost_per_month__lt_25", sa.Integer(), nullable=False),
        sa.Column("cost_per_month__25_100", sa.Integer(), nullable=False),
        sa.Column("cost_per_month__100_500", sa.Integer(), nullable=False),
        sa.Column("cost_per_month__500_1000", sa.Integer(), nullable=False),
        sa.Column("cost_per_month__gt_1000", sa.Integer(), nullable=False),
        sa.Column("cost_per_month__unknown", sa.Integer(), nullable=False),
        sa.Column("insurance_coverage__covered", sa.Integer(), nullable=False),
        sa.Column("insurance_coverage__partly", sa.Integer(), nullable=False),
        sa.Column("insurance_coverage__not_covered", sa.Integer(), nullable=False),
        sa.Column("insurance_coverage__denied", sa.Integer(), nullable=False),
        sa.Column("insurance_coverage__no_insurance", sa.Integer(), nullable=False),
        sa.Column("insurance_coverage__unknown", sa.Integer(), nullable=False),
        sa.Column("would_recommend__yes", sa.Integer(), nullable=False),
        sa.Column("would_recommend__no", sa.Integer(), nullable=False),
        sa.Column("satisfaction__1", sa.Integer(), nullable=False),
        sa.Column("satisfaction__2", sa.Integer(), nullable=False),
        sa.Column("satisfaction__3", sa.Integer(), nullable=False),
        sa.Column("satisfaction__4", sa.Integer(), nullable=False),
        sa.Column("satisfaction__5", sa.Integer(), nullable=False),
        sa.Column("satisfaction__6", sa.Integer(), nullable=False),
        sa.Column("satisfaction__7", sa.Integer(), nullable=False),
        sa.Column("satisfaction__8", sa.Integer(), nullable=False),
        sa.Column("satisfaction__9", sa.Integer(), nullable=False),
        sa.Column("satisfaction__10", sa.Integer(), nullable=False),
        sa.Column("duration__lt_1m", sa.Integer(), nullable=False),
        sa.Column("duration__1_6m", sa.Integer(), nullable=False),
        sa.Column("duration__6_12m", sa.Integer(), nullable=False),
        sa.Column("duration__1_2y", sa.Integer(), nullable=False),
        sa.Column("duration__2_5y", sa.Integer(), nullable=False),
        sa.Column("duration__5y_plus", sa.Integer(), nullable=False),
        sa.Column("stop_reasons__side_effects", sa.Integer(), nullable=False),
        sa.Column("stop_reasons__not_effective", sa.Integer(), nullable=False),
        sa.Column("stop_reasons__cost", sa.Integer(), nullable=False),
        sa.Column("stop_reasons__not_covered", sa.Integer(), nullable=False),
        sa.Column("stop_reasons__doctor_advice", sa.Integer(), nullable=False),
        sa.Column("stop_reasons__improved", sa.Integer(), nullable=False),
        sa.Column("stop_reasons__inconvenient", sa.Integer(), nullable=False),
        sa.Column("stop_reasons__other", sa.Integer(), nullable=False),
        sa.Column("key_sum", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["condition_id"], ["condition.id"], name=op.f("fk_report_slice_condition_id_condition"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["treatment_id"], ["treatment.id"], name=op.f("fk_report_slice_treatment_id_treatment"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("condition_id", "treatment_id", "axis", "bucket", name=op.f("pk_report_slice")),
    )


def downgrade():
    op.drop_table("report_slice")
