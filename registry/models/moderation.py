"""Flags raised by participants and the audit trail of changes, both for moderators and admins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.models.user import User
from registry.platform.database import UTCDateTime, now_utc
from registry.platform.extensions import db

# What can be flagged: free text (by the row that holds it) and catalog entries.
FLAG_TARGETS = ("tip", "comment", "condition", "treatment", "doctor")


class Flag(db.Model):
    """A participant's report that a tip, comment or catalog entry needs a moderator."""

    __tablename__ = "flag"
    __table_args__ = (
        Index("ix_flag_open", "resolved_at", "created_at"),
        Index("ix_flag_target", "target_kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    target_kind: Mapped[str] = mapped_column(String(12))  # FLAG_TARGETS
    target_id: Mapped[int]
    reason: Mapped[str] = mapped_column(String(16))  # scales.FLAG_REASON
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    resolution: Mapped[str | None] = mapped_column(String(12))  # hidden, kept, merged, restored

    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])

    def __repr__(self) -> str:
        return f"<Flag {self.id} {self.target_kind}:{self.target_id} {self.reason}>"


class AuditEvent(db.Model):
    """One recorded change: who (the account, kept as a label if it is later deleted), when, what."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_object", "object_kind", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    actor_label: Mapped[str] = mapped_column(String(60))  # pseudonym, "cli:<user>" or "system"
    action: Mapped[str] = mapped_column(String(40))  # e.g. experience.update, flag.hide, export
    object_kind: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int | None]
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} {self.object_kind}:{self.object_id}>"
