"""Accounts, their optional profile and their research consent."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from registry.platform.database import UTCDateTime, now_utc
from registry.platform.extensions import db

# Bump when the consent text in templates/auth/_consent_text.html changes.
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
    # None until the participant follows the link mailed to the address (nothing waits on it).
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A new address waiting for its confirmation link; the account keeps the old one meanwhile.
    pending_email: Mapped[str | None] = mapped_column(String(254))
    # Set by an operator (`registry users disable`): no log-in, no session; nothing is deleted.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language chosen with the switcher while signed in ("es"); None reads the browser's. Mails use it too.
    locale: Mapped[str | None] = mapped_column(String(12))

    consent_events: Mapped[list[ConsentEvent]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="ConsentEvent.at"
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.pseudonym!r} {self.account_role}>"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # The key of the log-in this object was loaded through (set by registry.accounts.auth); never stored.
    login_key = None  # a str once set; a plain attribute, not a column

    def get_id(self) -> str | None:
        # Flask-Login keeps this in the session and the remember cookie: it names one UserSession row,
        # so deleting that row (log-out, "log out everywhere", a password change) kills both cookies.
        return self.login_key

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

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


class UserSession(db.Model):
    """One log-in on one device: what the session and remember-me cookies point to (by a hash of their key)."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # "Firefox on Linux": the user agent's family only; no address is stored.
    device: Mapped[str] = mapped_column(String(60))
    remember: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    def __repr__(self) -> str:
        return f"<UserSession {self.id} of {self.user_id} {self.device!r}>"


class LoginFailure(db.Model):
    """Failed log-ins per email (known or not, so the counter reveals no account), for a growing delay."""

    __tablename__ = "login_failure"

    email_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the normalized email
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)

    def __repr__(self) -> str:
        return f"<LoginFailure {self.email_key[:8]} {self.failures}>"
