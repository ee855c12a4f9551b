"""The mail outbox and the opaque tokens of mailed links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.platform.database import UTCDateTime, now_utc
from registry.platform.extensions import db


class OutboxMail(db.Model):
    """One mail waiting to go out (registry.accounts.mail): kept until the mail server took it, retried meanwhile.

    A row with no recipient is a decoy (a reset asked for an address with no account): it costs the
    request the same work as a real mail and is dropped by the next drain without sending anything.
    """

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a drain is sending it
    last_error: Mapped[str | None] = mapped_column(String(200))  # the server's answer, never an address
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # given up after every attempt

    def __repr__(self) -> str:
        return f"<OutboxMail {self.id} attempts={self.attempts} failed={self.failed_at is not None}>"


class LinkToken(db.Model):
    """The token of a mailed link (password reset, address confirmation), stored as its SHA-256 only.

    The link carries 32 random bytes and nothing else: neither the account nor the address can be read
    from it. A token works once and only for a while (registry.accounts.auth). A row with no account stands in
    for a reset asked for an unknown address (the same work, a link that never works).
    """

    __tablename__ = "link_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))  # "reset" or "confirm"
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))  # the address a confirmation link confirms
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)

    def __repr__(self) -> str:
        return f"<LinkToken {self.id} {self.purpose} user={self.user_id}>"
