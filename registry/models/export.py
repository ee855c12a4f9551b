"""The log of research exports: who exported what, when, with which filters, how many rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.models.user import User
from registry.platform.database import UTCDateTime, now_utc
from registry.platform.extensions import db


class ExportLog(db.Model):
    """One research export (web download or `registry export`)."""

    __tablename__ = "export_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    via: Mapped[str] = mapped_column(String(20))  # "web" or "cli:<system user>"
    filters: Mapped[dict] = mapped_column(JSON)
    with_text: Mapped[bool]
    row_counts: Mapped[dict | None] = mapped_column(JSON)  # None until the export finished
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<ExportLog {self.id} via={self.via} rows={self.row_counts}>"
