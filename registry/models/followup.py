"""Follow-ups of experiences, reminder mail settings, and followed conditions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column

from registry.platform.database import UTCDateTime, now_utc
from registry.platform.extensions import db

# Where a history point comes from: the answers as first kept (before the first follow-up), the
# answers as changed through the edit form since the last point, or a follow-up itself.
UPDATE_KINDS = ("original", "edit", "update")


class ExperienceUpdate(db.Model):
    """One dated point of an experience's history: the follow-up answers as they were then.

    The experience row always holds the latest answers (reports count those); these rows keep the
    earlier ones, so "after N months on it" can read each experience's answer nearest to that time.
    ``report_key`` is the experience's report key as saved with these answers: a set of points is
    named by the sum of its keys for disclosure control, and a later update does not rename it.
    """

    __tablename__ = "experience_update"
    __table_args__ = (Index("ix_experience_update_experience_recorded", "experience_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    experience_id: Mapped[int] = mapped_column(ForeignKey("experience.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # UPDATE_KINDS
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    report_key: Mapped[int] = mapped_column(BigInteger)
    stopped: Mapped[str | None] = mapped_column(String(7))  # YYYY-MM; empty = still using then
    stop_reasons: Mapped[str | None] = mapped_column(String(200))  # codes separated by spaces
    effectiveness: Mapped[str | None] = mapped_column(String(12))
    side_effect_severity: Mapped[str | None] = mapped_column(String(12))
    satisfaction: Mapped[int | None]
    would_recommend: Mapped[str | None] = mapped_column(String(3))

    @property
    def stop_reason_codes(self) -> list[str]:
        return (self.stop_reasons or "").split()

    def __repr__(self) -> str:
        return f"<ExperienceUpdate {self.id} of {self.experience_id} {self.kind} {self.recorded_at:%Y-%m}>"


class FollowupReminder(db.Model):
    """A participant's opt-in to a reminder mail when experiences they still use go un-updated."""

    __tablename__ = "followup_reminder"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<FollowupReminder {self.user_id} enabled={self.enabled}>"


class ConditionFollow(db.Model):
    """A participant follows a condition; what they saw at their last visit to "What's new".

    ``seen_ranking`` is the published (protected) ranking's treatment slugs, in order, at that visit:
    moves are told by comparing published rankings only, never raw counts.
    """

    __tablename__ = "condition_follow"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    condition_id: Mapped[int] = mapped_column(
        ForeignKey("condition.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    seen_ranking: Mapped[list] = mapped_column(JSON, default=list)

    def __repr__(self) -> str:
        return f"<ConditionFollow {self.user_id} {self.condition_id}>"
