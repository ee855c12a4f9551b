"""Doctor ratings: one per participant, doctor and condition, on CG-CAHPS items."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.models.catalog import Condition, Doctor
from registry.models.user import User
from registry.platform.database import UTCDateTime, new_report_key, now_utc
from registry.platform.extensions import db
from scales import COMMUNICATION_ITEMS  # noqa: F401  (re-exported by registry.models)


class DoctorRating(db.Model):
    """A participant's rating of a doctor who treated their condition."""

    __tablename__ = "doctor_rating"
    __table_args__ = (
        UniqueConstraint("user_id", "doctor_id", "condition_id"),
        Index("ix_doctor_rating_doctor_condition", "doctor_id", "condition_id"),
        Index("ix_doctor_rating_condition", "condition_id"),
        Index(
            "ix_doctor_rating_text_state_updated",
            "text_state",
            "updated_at",
            sqlite_where=text("text_state != 'public'"),
            postgresql_where=text("text_state != 'public'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctor.id", ondelete="RESTRICT"))
    condition_id: Mapped[int] = mapped_column(ForeignKey("condition.id", ondelete="RESTRICT"))
    last_visit: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    overall: Mapped[int]  # 0-10
    explained_clearly: Mapped[str] = mapped_column(String(10))
    listened_carefully: Mapped[str] = mapped_column(String(10))
    showed_respect: Mapped[str] = mapped_column(String(10))
    spent_enough_time: Mapped[str] = mapped_column(String(10))
    got_appointment: Mapped[str | None] = mapped_column(String(10))
    knowledge: Mapped[int]  # 1-5
    would_recommend: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    text_state: Mapped[str] = mapped_column(String(8), default="public", server_default="public")
    text_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    # Random, new at every save: see Experience.report_key.
    report_key: Mapped[int] = mapped_column(BigInteger, default=new_report_key)

    user: Mapped[User] = relationship()
    doctor: Mapped[Doctor] = relationship()
    condition: Mapped[Condition] = relationship()

    def __repr__(self) -> str:
        return f"<DoctorRating {self.id} doctor={self.doctor_id} overall={self.overall}>"
