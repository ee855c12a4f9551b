"""the mail outbox (mail survives restarts and failing servers) and opaque tokens of mailed links

Revision ID: 0019_mail_outbox_link_tokens
Revises: 0018_tips_show_answers
Create Date: 2026-12-07 03:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019_mail_outbox_link_tokens"
down_revision = "0018_tips_show_answers"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_outbox_next_attempt_at"), ["next_attempt_at"], unique=False)
    op.create_table(
        "link_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_link_token_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_token")),
        sa.UniqueConstraint("digest", name=op.f("uq_link_token_digest")),
    )
    with op.batch_alter_table("link_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_token_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_link_token_created_at"), ["created_at"], unique=False)


def downgrade():
    op.drop_table("link_token")
    op.drop_table("mail_outbox")
