"""Account domain: log-ins as server-side sessions, registering, roles, consent, failed log-ins, signed links."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from functools import cache

import ua_parser
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from forms.auth import MIN_PASSWORD_LENGTH
from forms.text import clean, name_key
from registry.accounts import audit
from registry.models import CONSENT_VERSION, ConsentEvent, LinkToken, LoginFailure, User, UserSession
from registry.platform.database import now_utc
from registry.platform.extensions import db
from scales import ACCOUNT_ROLE
from scales.i18n import gettext as _

# A session not marked "keep me logged in" dies after this long without a request; a remembered
# one after REMEMBER_COOKIE_DURATION. last_seen is written at most this often (one write, not one per page).
SESSION_IDLE = timedelta(hours=12)
LAST_SEEN_EVERY = timedelta(minutes=5)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _session_row(key: str) -> UserSession | None:
    return db.session.scalar(select(UserSession).where(UserSession.key_hash == _hash(key)))


def _remember_for() -> timedelta:
    value = current_app.config["REMEMBER_COOKIE_DURATION"]  # a timedelta, or seconds from the environment
    return value if isinstance(value, timedelta) else timedelta(seconds=int(value))


def _expired(row: UserSession, now: datetime) -> bool:
    return now - row.last_seen_at > (_remember_for() if row.remember else SESSION_IDLE)


def active_login(key: str) -> User | None:
    """The account a log-in key belongs to; a deleted, expired or disabled log-in is nobody's."""
    if not key or len(key) > 100:
        return None
    row = _session_row(key)
    if row is None:
        return None
    now = now_utc()
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active or _expired(row, now):
        return None
    if now - row.last_seen_at > LAST_SEEN_EVERY:
        # Its own short transaction: the request's session may be half-way through its own writes later.
        with db.engine.begin() as conn:
            conn.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
    user.login_key = key
    return user


def device_family(user_agent: str | None) -> str:
    """ "Firefox on Linux": the browser and system family of a user agent (ua-parser), nothing finer."""
    found = ua_parser.parse(user_agent or "")
    browser = found.user_agent.family if found.user_agent else "Other"
    system = found.os.family if found.os else "Other"
    # ua-parser tells mobile builds apart ("Mobile Safari", "Chrome Mobile iOS"); the device list needs less.
    browser = _BROWSERS.get(browser, re.sub(r"^Mobile |( Mobile)?( iOS| WebView)?$", "", browser))
    system = _SYSTEMS.get(system, system)
    if browser == "Other":
        return "Unknown browser"
    return f"{browser} on {system}" if system != "Other" else browser


_BROWSERS = {"Edge Mobile": "Edge", "Firefox iOS": "Firefox", "Python Requests": "a script", "Other": "Other"}
_SYSTEMS = {"Mac OS X": "macOS", "Chrome OS": "ChromeOS", "Ubuntu": "Linux", "Fedora": "Linux", "Debian": "Linux"}


def start_session(user: User, user_agent: str | None, remember: bool) -> str:
    """Record a new log-in of user on a device and return its key (for the cookies; only its hash is stored)."""
    key = secrets.token_urlsafe(32)
    now = now_utc()
    # The account's expired log-ins go now, so the table holds live ones only.
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            ((UserSession.remember.is_(False)) & (UserSession.last_seen_at < now - SESSION_IDLE))
            | (UserSession.last_seen_at < now - _remember_for()),
        )
    )
    db.session.add(
        UserSession(user_id=user.id, key_hash=_hash(key), device=device_family(user_agent)[:60], remember=remember)
    )
    user.login_key = key
    return key


def rotate_session(user: User) -> str:
    """Give the current log-in a new key (a remember-me cookie that was used is never valid again)."""
    key = secrets.token_urlsafe(32)
    with db.engine.begin() as conn:
        conn.execute(
            update(UserSession)
            .where(UserSession.key_hash == _hash(user.login_key or ""))
            .values(key_hash=_hash(key), last_seen_at=now_utc())
        )
    user.login_key = key
    return key


def end_session(user: User) -> None:
    """End the log-in this request came through (the caller commits)."""
    if user.login_key:
        db.session.execute(delete(UserSession).where(UserSession.key_hash == _hash(user.login_key)))


def end_sessions(user: User, keep_current: bool = False, session_id: int | None = None) -> int:
    """End the account's log-ins (all, all but the current one, or one by id); return how many (caller commits)."""
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if keep_current and user.login_key:
        query = query.where(UserSession.key_hash != _hash(user.login_key))
    if session_id is not None:
        query = query.where(UserSession.id == session_id)
    return db.session.execute(query).rowcount


def sessions_of(user: User) -> list[tuple[UserSession, bool]]:
    """The account's log-ins, last seen first, each with whether it is the one asking."""
    current = _hash(user.login_key) if user.login_key else None
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ).all()
    now = now_utc()
    return [(row, row.key_hash == current) for row in rows if not _expired(row, now)]


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


def create_user(
    email: str, password: str, pseudonym: str, account_role: str = "patient", confirmed: bool = False
) -> User:
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
        email_confirmed_at=now_utc() if confirmed else None,
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


def change_password(user: User, new_password: str, keep_current: bool = True) -> None:
    """Set a new password and end the account's other log-ins (all of them unless keep_current).

    Every password-reset link of the account dies with the old password.
    """
    db.session.execute(delete(LinkToken).where(LinkToken.user_id == user.id, LinkToken.purpose == "reset"))
    user.set_password(new_password)
    user.session_token = secrets.token_hex(16)
    end_sessions(user, keep_current=keep_current)
    clear_failures(user.email)


def set_disabled(user: User, disabled: bool) -> bool:
    """Disable an account (no log-in, every session ended, nothing deleted) or enable it; True if it changed."""
    if disabled == (user.disabled_at is not None):
        return False
    user.disabled_at = now_utc() if disabled else None
    if disabled:
        end_sessions(user)
    return True


# --- failed log-ins: a growing delay per email, not a lock-out ------------------------------

FREE_FAILURES = 5  # then 1, 2, 4 ... seconds between attempts, at most MAX_DELAY
MAX_DELAY = 900
FAILURES_FORGOTTEN = timedelta(hours=24)


def _email_key(email: str) -> str:
    """The failed-log-in counter's key: keyed, since an unsalted SHA-256 of an address is the address to
    anyone holding a list of addresses (a backup, a log line)."""
    secret = current_app.config["SECRET_KEY"]
    secret = secret if isinstance(secret, bytes) else str(secret).encode()
    return hmac.new(secret, b"login-failure|" + normalize_email(email).encode(), hashlib.sha256).hexdigest()


def delay_for(failures: int) -> int:
    """Seconds to wait after this many failures in a row."""
    return 0 if failures < FREE_FAILURES else min(2 ** (failures - FREE_FAILURES), MAX_DELAY)


def login_wait(email: str) -> int:
    """Seconds before the next password check for this email may run (0: now)."""
    row = db.session.get(LoginFailure, _email_key(email))
    if row is None:
        return 0
    left = delay_for(row.failures) - (now_utc() - row.last_failed_at).total_seconds()
    return max(0, int(left + 0.999))


def record_failure(email: str) -> None:
    """Count a failed password check for this email (known or not, alike); the caller commits."""
    now = now_utc()
    row = db.session.get(LoginFailure, _email_key(email))
    if row is None or now - row.last_failed_at > FAILURES_FORGOTTEN:
        if row is None:
            row = LoginFailure(email_key=_email_key(email), failures=0)
            db.session.add(row)
        row.failures = 0
    row.failures += 1
    row.last_failed_at = now
    # Keep the table small: forget old counters now and then.
    if secrets.randbelow(100) == 0:
        db.session.execute(delete(LoginFailure).where(LoginFailure.last_failed_at < now - FAILURES_FORGOTTEN))


def clear_failures(email: str) -> None:
    db.session.execute(delete(LoginFailure).where(LoginFailure.email_key == _email_key(email)))


# --- mailed links (password reset, address confirmation) and the known-device cookie ----------
#
# A mailed link carries an opaque random token; the database keeps its SHA-256 with the account and,
# for a confirmation, the address it confirms. Nothing about the person can be read from a link (it
# ends up in access logs and mail servers), each works once, and only for RESET_MAX_AGE or
# CONFIRM_MAX_AGE seconds.

RESET_MAX_AGE = 3600
CONFIRM_MAX_AGE = 7 * 24 * 3600
DEVICE_MAX_AGE = 365 * 24 * 3600


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"registry-{purpose}")


def stand_in(email: str) -> User:
    """An unsaved account for an address that has none, so a reset request for it does the same work."""
    return User(id=0, email=normalize_email(email), pseudonym="member", password_hash=_no_account_hash())


def _link_token(purpose: str, user: User, email: str | None = None) -> str:
    """A new opaque token for a mailed link (the caller commits; mail.send does)."""
    token = secrets.token_urlsafe(32)
    db.session.add(LinkToken(digest=_hash(token), purpose=purpose, user_id=user.id or None, email=email))
    if secrets.randbelow(50) == 0:  # now and then, forget links too old to work
        stale = now_utc() - timedelta(seconds=max(RESET_MAX_AGE, CONFIRM_MAX_AGE))
        db.session.execute(
            delete(LinkToken).where(LinkToken.created_at < stale, LinkToken.purpose.in_(("reset", "confirm")))
        )
    return token


def _link_row(token: str, purpose: str, max_age: int) -> LinkToken | None:
    """The stored token a link carries, or None when it is unknown, used, expired or for no account."""
    if not token or len(token) > 100:
        return None
    row = db.session.scalar(select(LinkToken).where(LinkToken.digest == _hash(token), LinkToken.purpose == purpose))
    if row is None or row.user_id is None or row.created_at < now_utc() - timedelta(seconds=max_age):
        return None
    return row


def reset_token(user: User) -> str:
    """The token of a password-reset link (an unknown address's stand-in gets one that never works)."""
    return _link_token("reset", user)


def user_for_reset(token: str) -> User | None:
    """The account a reset link is for, or None when it is unknown, older than an hour, used or outdated.

    Setting the password (auth.change_password) deletes the account's reset tokens: a link works once.
    """
    row = _link_row(token, "reset", RESET_MAX_AGE)
    user = db.session.get(User, row.user_id) if row is not None else _legacy_reset_user(token)
    return user if user is not None and user.is_active else None


# Links mailed by the release before the opaque tokens (signed payloads) still work for their hour or
# week, so that a rolling upgrade breaks no link in flight; none is made any more.


def _legacy(token: str, purpose: str, max_age: int) -> dict | None:
    if "." not in token:
        return None
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


def _legacy_reset_user(token: str) -> User | None:
    data = _legacy(token, "reset", RESET_MAX_AGE)
    try:
        user = db.session.get(User, int(data["u"])) if data else None
    except (KeyError, TypeError, ValueError):
        return None
    # The link carried a digest of the password hash then: a new password (or the link used once) kills it.
    if user is None or not secrets.compare_digest(_hash(user.password_hash)[:16], str(data.get("p"))):
        return None
    return user


def _legacy_confirmation(token: str) -> tuple[User, str] | None:
    data = _legacy(token, "confirm", CONFIRM_MAX_AGE)
    try:
        user = db.session.get(User, int(data["u"])) if data else None
        return (user, str(data["e"])) if user is not None else None
    except (KeyError, TypeError, ValueError):
        return None


def confirm_token(user: User, email: str) -> str:
    """The token of a link that confirms email as the account's address."""
    return _link_token("confirm", user, email)


def confirm_email(token: str) -> tuple[User, str | None] | None:
    """Follow a confirmation link: (user, old address when it changed), or None for a bad, used or stale link.

    The caller commits (the link is used up with it). Raises ValueError when another account took the
    new address meanwhile.
    """
    row = _link_row(token, "confirm", CONFIRM_MAX_AGE)
    if row is not None:
        user, email = db.session.get(User, row.user_id), str(row.email)
    else:
        user, email = _legacy_confirmation(token) or (None, "")
    if user is None:
        return None
    if email == user.email:
        if user.email_confirmed_at is None:
            user.email_confirmed_at = now_utc()
        if row is not None:
            db.session.delete(row)
        return user, None
    if email != user.pending_email:
        return None
    if email_taken(email):
        raise ValueError(_("Another account uses this address now."))
    old = user.email

    audit.record("user.email", "user", user.id, {"confirmed": True}, actor=user)
    user.email, user.pending_email, user.email_confirmed_at = email, None, now_utc()
    db.session.execute(delete(LinkToken).where(LinkToken.user_id == user.id, LinkToken.purpose == "confirm"))
    return user, old


def unsubscribe_token(user: User) -> str:
    """The token of a reminder mail's unsubscribe link (registry.contributions.reminders); it never expires."""
    return _link_token("unsubscribe", user)


def user_for_unsubscribe(token: str) -> User | None:
    """The account an unsubscribe link is for, or None (it stays usable: stopping mail must always work)."""
    row = _link_row(token, "unsubscribe", 100 * 365 * 24 * 3600)
    return db.session.get(User, row.user_id) if row is not None else None


def device_token(user: User) -> str:
    return _serializer("device").dumps(user.id)


def known_device(token: str | None, email: str) -> bool:
    """True when this browser logged in to the account with this email before (it skips the delay)."""
    if not token:
        return False
    try:
        user_id = _serializer("device").loads(token, max_age=DEVICE_MAX_AGE)
    except BadSignature:
        return False
    user = find_user(email)
    return user is not None and user.id == user_id


def set_role(user: User, role: str, actor: User | None = None) -> None:
    """Change what an account may do, on the audit trail (the caller commits)."""

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
