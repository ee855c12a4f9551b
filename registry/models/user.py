"""Accounts, their optional profile and their research consent."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from registry.extensions import db
from registry.database import UTCDateTime, now_utc

# Bump when the consent text in templates/account/_consent_text.html changes.
CONSENT_VERSION = "2026-11-2"


class User(UserMixin, db.Model):
    """A registered person: participant, researcher, moderator or admin."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    pseudonym: Mapped[str] = mapped_column(String(40))
    pseudonym_key: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    account_role: Mapped[str] = mapped_column(String(20), default="patient")
    birth_year: Mapped[int | None]
    sex: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    research_consent_version: Mapped[str | None] = mapped_column(String(20))
    research_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Changing it signs out every session that carries the old value.
    session_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # Set when a moderator hides one of their texts: their new or edited text waits for review.
    text_on_review: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # Set for participants created by `registry fhir import` / `registry import reviews`: where their
    # reports came from. They have no usable password and cannot log in.
    imported_from: Mapped[str | None] = mapped_column(String(200))

    consent_events: Mapped[list[ConsentEvent]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="ConsentEvent.at"
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.pseudonym!r} {self.account_role}>"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        # Flask-Login keeps this in the session; a new token invalidates old sessions.
        return f"{self.id}:{self.session_token}"

    @property
    def has_research_consent(self) -> bool:
        return self.research_consent_at is not None

    def has_role(self, *roles: str) -> bool:
        return self.account_role in roles or self.account_role == "admin"


class ConsentEvent(db.Model):
    """Every giving and withdrawing of research consent, with the text's version."""

    __tablename__ = "consent_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(10))  # "given" or "withdrawn"
    version: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    user: Mapped[User] = relationship(back_populates="consent_events")

    def __repr__(self) -> str:
        return f"<ConsentEvent {self.user_id} {self.action} {self.version}>"
