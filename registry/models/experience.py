"""Treatment experiences: one per participant, condition and treatment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.models.catalog import Condition, Treatment
from registry.models.user import User
from registry.platform.database import UTCDateTime, new_report_key, now_utc
from registry.platform.extensions import db


class Diagnosis(db.Model):
    """The year a participant (or the person they care for) was diagnosed with a condition."""

    __tablename__ = "diagnosis"
    __table_args__ = (UniqueConstraint("user_id", "condition_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    condition_id: Mapped[int] = mapped_column(ForeignKey("condition.id", ondelete="CASCADE"))
    diagnosed_year: Mapped[int]

    def __repr__(self) -> str:
        return f"<Diagnosis {self.user_id} {self.condition_id} {self.diagnosed_year}>"


class Experience(db.Model):
    """What one treatment did for one participant's condition, on the scales of scales."""

    __tablename__ = "experience"
    __table_args__ = (
        UniqueConstraint("user_id", "condition_id", "treatment_id"),
        # Serves the report pages' newest tips (ORDER BY updated_at within a pair) and pair lookups.
        Index("ix_experience_pair_updated", "condition_id", "treatment_id", "updated_at"),
        Index("ix_experience_user_updated", "user_id", "updated_at"),
        Index("ix_experience_condition_tips_published", "condition_id", "tips_published_at"),
        # The moderators' queue and count on every page they load: held or hidden text among millions.
        # Partial, so the millions of public rows cost writes nothing; queries repeat the predicate.
        Index(
            "ix_experience_text_state_updated",
            "text_state",
            "updated_at",
            sqlite_where=text("text_state != 'public'"),
            postgresql_where=text("text_state != 'public'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    condition_id: Mapped[int] = mapped_column(ForeignKey("condition.id", ondelete="RESTRICT"))
    treatment_id: Mapped[int] = mapped_column(ForeignKey("treatment.id", ondelete="RESTRICT"))
    # role, started, effectiveness, side_effect_severity and would_recommend are required by the
    # form but empty in imported legacy reviews, which never gave them (counted as missing).
    role: Mapped[str | None] = mapped_column(String(12))
    started: Mapped[str | None] = mapped_column(String(7))  # YYYY-MM
    stopped: Mapped[str | None] = mapped_column(String(7))  # empty = still using
    dose_amount: Mapped[float | None]
    dose_unit: Mapped[str | None] = mapped_column(String(12))
    dose_frequency: Mapped[str | None] = mapped_column(String(20))
    effectiveness: Mapped[str | None] = mapped_column(String(12))
    side_effect_severity: Mapped[str | None] = mapped_column(String(12))
    adherence: Mapped[str | None] = mapped_column(String(12))
    burden: Mapped[str | None] = mapped_column(String(12))
    cost_per_month: Mapped[str | None] = mapped_column(String(12))
    insurance_coverage: Mapped[str | None] = mapped_column(String(14))
    satisfaction: Mapped[int]
    would_recommend: Mapped[str | None] = mapped_column(String(3))
    tips: Mapped[str | None] = mapped_column(Text)
    # Moderation of the free text only: scales.TEXT_STATE; the reason is shown to the author.
    text_state: Mapped[str] = mapped_column(String(8), default="public", server_default="public")
    text_reason: Mapped[str | None] = mapped_column(String(300))
    # When the tip's current text became public (its author's save, or a moderator's release of a held
    # tip): "What's new" counts new tips by it, so a follow-up that leaves the tip alone is not news.
    tips_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The author's choice, made beside the tip on the form: show their own answers (satisfaction, time
    # on it, dose band, side-effect severity, role) with the tip (registry.contributions.tips). Off unless ticked.
    # A server default only: the demo's bulk inserts leave the column out.
    tips_show_answers: Mapped[bool] = mapped_column(server_default=sa_false())
    # "Patients like me" bands, fixed when the report is written so aggregates stay stable.
    age_band: Mapped[str | None] = mapped_column(String(10))
    sex: Mapped[str | None] = mapped_column(String(12))
    years_since_diagnosis: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    # Random, new at every save: the published numbers' noise is drawn per set of these keys
    # (reports/disclosure.py), so a changed answer never shows as an exact difference.
    report_key: Mapped[int] = mapped_column(BigInteger, default=new_report_key)

    user: Mapped[User] = relationship()
    condition: Mapped[Condition] = relationship()
    treatment: Mapped[Treatment] = relationship()
    side_effects: Mapped[list[ExperienceSideEffect]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ExperienceSideEffect.term"
    )
    stop_reasons: Mapped[list[ExperienceStopReason]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ExperienceStopReason.reason"
    )

    def __repr__(self) -> str:
        return f"<Experience {self.id} user={self.user_id} {self.condition_id}/{self.treatment_id}>"


class ExperienceSideEffect(db.Model):
    """One side-effect term of an experience (normalized: lower-case, single spaces)."""

    __tablename__ = "experience_side_effect"

    experience_id: Mapped[int] = mapped_column(ForeignKey("experience.id", ondelete="CASCADE"), primary_key=True)
    term: Mapped[str] = mapped_column(String(80), primary_key=True)

    def __repr__(self) -> str:
        return f"<ExperienceSideEffect {self.experience_id} {self.term!r}>"


class ExperienceStopReason(db.Model):
    """One reason an experience's treatment was stopped."""

    __tablename__ = "experience_stop_reason"

    experience_id: Mapped[int] = mapped_column(ForeignKey("experience.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(20), primary_key=True)

    def __repr__(self) -> str:
        return f"<ExperienceStopReason {self.experience_id} {self.reason}>"


class TipVote(db.Model):
    """A participant's "this helped me" on a tip (held by its experience): one per tip and participant.

    Only the count is ever published (through disclosure control); who voted is never shown.
    """

    __tablename__ = "tip_vote"

    experience_id: Mapped[int] = mapped_column(ForeignKey("experience.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    def __repr__(self) -> str:
        return f"<TipVote {self.experience_id} user={self.user_id}>"
