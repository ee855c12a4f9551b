"""Account domain: loading users for Flask-Login, registering, roles and consent."""

from __future__ import annotations

import secrets
from functools import cache, wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from registry.extensions import db
from registry.models import CONSENT_VERSION, ConsentEvent, User
from registry.database import now_utc
from registry.scales import ACCOUNT_ROLE
from registry.text import clean, name_key

MIN_PASSWORD_LENGTH = 10


def load_user(user_id: str) -> User | None:
    """Flask-Login loader: the session holds "id:token"; a stale token signs the session out."""
    ident, _, token = user_id.partition(":")
    if not ident.isdigit():
        return None
    user = db.session.get(User, int(ident))
    if user is None or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def normalize_email(email: str) -> str:
    return clean(email).lower()


def email_taken(email: str) -> bool:
    return db.session.scalar(select(User.id).where(User.email == normalize_email(email))) is not None


def pseudonym_taken(pseudonym: str, exclude_user_id: int | None = None) -> bool:
    query = select(User.id).where(User.pseudonym_key == name_key(pseudonym))
    if exclude_user_id is not None:
        query = query.where(User.id != exclude_user_id)
    return db.session.scalar(query) is not None


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


@cache
def _no_account_hash() -> str:
    """Checked when no account has the email, so that an unknown email costs as long as a wrong password."""
    return generate_password_hash(secrets.token_hex(16))


def authenticate(email: str, password: str) -> User | None:
    """The account with this email and password, or None; both failures take one password check."""
    user = find_user(email)
    if user is None:
        check_password_hash(_no_account_hash(), password)
        return None
    return user if user.check_password(password) else None


def create_user(email: str, password: str, pseudonym: str, account_role: str = "patient") -> User:
    """Add a new account to the session (the caller commits)."""
    if account_role not in ACCOUNT_ROLE:
        raise ValueError(f"unknown role {account_role!r}; choose one of {', '.join(ACCOUNT_ROLE)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if email_taken(email):
        raise ValueError(f"an account with the email {normalize_email(email)} already exists")
    if pseudonym_taken(pseudonym):
        raise ValueError(f"the pseudonym {clean(pseudonym)!r} is taken")
    user = User(
        email=normalize_email(email),
        pseudonym=clean(pseudonym),
        pseudonym_key=name_key(pseudonym),
        account_role=account_role,
        session_token=secrets.token_hex(16),
    )
    user.set_password(password)
    db.session.add(user)
    return user


def unique_pseudonym(email: str) -> str:
    """A free pseudonym derived from nothing identifying (used by the CLI)."""
    while True:
        candidate = f"member-{secrets.token_hex(3)}"
        if not pseudonym_taken(candidate):
            return candidate


def change_password(user: User, new_password: str) -> None:
    """Set a new password and rotate the session token so other sessions sign out."""
    user.set_password(new_password)
    user.session_token = secrets.token_hex(16)


def set_role(user: User, role: str, actor: User | None = None) -> None:
    """Change what an account may do, on the audit trail (the caller commits)."""
    from registry import audit

    if role != user.account_role:
        audit.record("user.role", "user", user.id, {"from": user.account_role, "to": role}, actor=actor)
        user.account_role = role


def set_consent(user: User, consent: bool) -> bool:
    """Give or withdraw research consent; return True when anything changed."""
    if consent and not user.has_research_consent:
        user.research_consent_version = CONSENT_VERSION
        user.research_consent_at = now_utc()
        user.consent_events.append(ConsentEvent(action="given", version=CONSENT_VERSION))
        return True
    if not consent and user.has_research_consent:
        user.consent_events.append(
            ConsentEvent(action="withdrawn", version=user.research_consent_version or CONSENT_VERSION)
        )
        user.research_consent_version = None
        user.research_consent_at = None
        return True
    return False


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


def owned_or_none(model, user, object_id: int):
    """The row if user owns it; None otherwise, so that others' rows look exactly like missing ones."""
    row = db.session.get(model, object_id)
    return row if row is not None and row.user_id == user.id else None


def role_required(*roles: str):
    """Allow the view only to signed-in accounts with one of roles (admins always)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
