"""The application's settings: defaults, where a deployment overrides them, and what follows from them.

Order: DEFAULTS, then the instance's config.py and REGISTRY_* environment variables (or a test's
mapping), then the settings derived from those (database URL and pool, Redis, cookies, mail),
then the instance's generated secrets.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask
from limits import parse_many

from registry.platform.cache import REDIS_OPTIONS
from reports.disclosure import Policy

DEFAULTS = dict(
    REPORT_MIN_N=Policy.min_n,
    # "perturb": every published count carries keyed noise (reports/disclosure.py); "exact":
    # true counts, for closed deployments whose every reader is trusted, and arithmetic tests.
    DISCLOSURE=Policy.mode,
    DISCLOSURE_SIGMA=Policy.sigma,
    # Pages read published numbers (registry/reporting/release.py). "manual": `registry release` publishes (a timer
    # in production, docs/deploy.md); "auto": a release runs before a page is read whenever the reports
    # moved (the demo and tests: as safe, since a view changes only when min_n people changed in it).
    RELEASE="manual",
    RELEASE_BUDGET=52,  # parts of the year; one view gets new numbers at most once in each (0: no cap)
    PER_PAGE=25,
    WTF_CSRF_TIME_LIMIT=None,
    # Tokens stay strict; Flask-WTF's HTTPS Referer demand gives way to registry.platform.csrf's
    # same-origin check of Origin/Referer where a browser sends them.
    WTF_CSRF_SSL_STRICT=False,
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE="Lax",
    REMEMBER_COOKIE_HTTPONLY=True,
    REMEMBER_COOKIE_SAMESITE="Lax",
    # A remembered log-in lasts 30 days without use; each use of the cookie rotates its key.
    REMEMBER_COOKIE_DURATION=timedelta(days=30),
    # None: HTTPS-only cookies unless testing or debugging (see _cookie_security).
    SESSION_COOKIE_SECURE=None,
    REMEMBER_COOKIE_SECURE=None,
    # The number of reverse proxies whose X-Forwarded-* headers are trusted (0: none).
    PROXY_FIX=0,
    # Rate limits (Flask-Limiter); memory:// is per process, REGISTRY_REDIS_URL shares them.
    RATELIMIT_ENABLED=True,
    RATELIMIT_STORAGE_URI="memory://",
    RATELIMIT_LOGIN="10 per minute",
    RATELIMIT_REGISTER="5 per hour",
    RATELIMIT_SUBMIT="30 per minute",
    # Behind the address's limit, changes of one's own reports (save, move, delete, follow-up) a day: per
    # report (account and pair; a move counts for both pairs) and per account. Repeating a change to average
    # away the published numbers' noise needs many (docs/privacy.md); no one needs many.
    RATELIMIT_SUBMIT_PAIR="3 per day",
    RATELIMIT_SUBMIT_ACCOUNT="50 per day",
    RATELIMIT_API="120 per minute",
    # Redis down: count in each worker's memory meanwhile instead of failing the request.
    RATELIMIT_SWALLOW_ERRORS=True,
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
    # PostgreSQL connections per worker: DB_POOL_SIZE kept open, DB_MAX_OVERFLOW more at a peak
    # (docs/deploy.md sizes them against max_connections).
    DB_POOL_SIZE=4,
    DB_MAX_OVERFLOW=2,
    DB_POOL_TIMEOUT=10,
    DB_CONNECT_TIMEOUT=5,
    RATELIMIT_RESET="5 per hour",
    # Mail (Flask-Mailman): REGISTRY_MAIL_SERVER etc.; without a server, see _mail_settings.
    MAIL_SERVER=None,
    MAIL_PORT=25,
    MAIL_USE_TLS=False,
    MAIL_USE_SSL=False,
    MAIL_USERNAME=None,
    MAIL_PASSWORD=None,
    MAIL_SENDER="registry@localhost",
    MAIL_TIMEOUT=10,
    # Send after answering (a thread), so a slow mail server neither delays nor reveals anything.
    MAIL_ASYNC=True,
    # Where links in mails point, e.g. https://registry.example.org; None: the request's host.
    BASE_URL=None,
    MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    # Report caches are keyed by each condition's data version, so a stale entry is never read.
    CACHE_TYPE="registry.platform.cache.JSONSimpleCache",  # JSON entries, as on Redis (registry/platform/cache.py)
    CACHE_DEFAULT_TIMEOUT=3600,
    # None: load the search vocabularies in the background at start, except under tests.
    PRELOAD_VOCABULARIES=None,
    # Responses are compressed by compress_response (Flask-Compress); streamed downloads are not.
    COMPRESS_REGISTER=False,
    COMPRESS_STREAMS=False,
    COMPRESS_ALGORITHM=["br", "gzip"],
)
# The settings that are Flask-Limiter limit strings ("" turns one off).
LIMITS = (
    "RATELIMIT_LOGIN",
    "RATELIMIT_REGISTER",
    "RATELIMIT_SUBMIT",
    "RATELIMIT_SUBMIT_PAIR",
    "RATELIMIT_SUBMIT_ACCOUNT",
    "RATELIMIT_API",
    "RATELIMIT_RESET",
)


def load(app: Flask, test_config: dict | None) -> None:
    """Every setting of the app, in the order above."""
    app.config.from_mapping(DEFAULTS)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "registry.sqlite")
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("REGISTRY")
    else:
        app.config.from_mapping(test_config)
    # REGISTRY_DATABASE_URL is the documented name; SQLAlchemy wants its own key.
    if app.config.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalize_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    _rate_limits(app)
    _redis(app)
    _database_engine_options(app)
    _cookie_security(app)
    _mail_settings(app)
    _secrets(app)


def _rate_limits(app: Flask) -> None:
    """Every rate limit must read, or the app does not start: a mistyped limit would be skipped in silence."""
    for name in LIMITS:
        value = app.config[name]
        try:
            if value:
                parse_many(str(value))
        except ValueError as error:
            raise ValueError(f"{name} = {value!r} is no rate limit (say e.g. '3 per day'): {error}") from None


def _redis(app: Flask) -> None:
    """With REGISTRY_REDIS_URL, the report cache and the rate limits are shared by every worker and server."""
    if not app.config.get("REDIS_URL"):
        return

    app.config.setdefault("CACHE_REDIS_URL", app.config["REDIS_URL"])
    app.config["CACHE_TYPE"] = "registry.platform.cache.FailOpenRedisCache"
    app.config.setdefault("CACHE_OPTIONS", dict(REDIS_OPTIONS))
    if app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", dict(REDIS_OPTIONS))


def _secrets(app: Flask) -> None:
    """Keys a deployment did not set are generated once in the instance folder (owner-only files)."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path) / "secret_key")
    if not app.config.get("EXPORT_KEY"):
        # Keys the pseudonymous ids of research exports; every app server needs the same one.
        app.config["EXPORT_KEY"] = instance_secret(Path(app.instance_path) / "export_key")
    if not app.config.get("DISCLOSURE_KEY"):
        # Seeds the noise of every published number; changing it re-draws all noise (docs/privacy.md).
        app.config["DISCLOSURE_KEY"] = instance_secret(Path(app.instance_path) / "disclosure_key")


def disclosure_policy(app: Flask):
    """The deployment's disclosure-control policy, checked at start (a typo must not publish exact counts)."""
    return Policy(
        mode=str(app.config["DISCLOSURE"]).strip().lower(),
        min_n=int(app.config["REPORT_MIN_N"]),
        sigma=float(app.config["DISCLOSURE_SIGMA"]),
        key=str(app.config["DISCLOSURE_KEY"]).encode(),
    )


def _cookie_security(app: Flask) -> None:
    """Cookies go over HTTPS only, unless a setting says otherwise or the app is tested or debugged."""
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if app.config[key] is None:
            app.config[key] = not (app.testing or app.debug)


def _database_engine_options(app: Flask) -> None:
    """Pooled connections checked before use (a restarted or failed-over database costs no error);
    on PostgreSQL, a bounded pool per worker and a bounded wait for a connection."""
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    options.setdefault("pool_pre_ping", True)
    # An error's text never carries its statement's parameters (user ids beside condition ids, answers):
    # it reaches logs and tracebacks.
    options.setdefault("hide_parameters", True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options.setdefault("pool_size", int(app.config["DB_POOL_SIZE"]))
        options.setdefault("max_overflow", int(app.config["DB_MAX_OVERFLOW"]))
        options.setdefault("pool_timeout", float(app.config["DB_POOL_TIMEOUT"]))
        options.setdefault("connect_args", {"connect_timeout": int(app.config["DB_CONNECT_TIMEOUT"])})


def _mail_settings(app: Flask) -> None:
    """SMTP when a server is set; the console when tested or debugged; otherwise no mail.

    Without mail, password reset and address confirmation are off (their pages say so) and the
    rest of the registry works; `registry demo` switches the console on.
    """
    if not app.config.get("MAIL_BACKEND"):
        if app.config.get("MAIL_SERVER"):
            app.config["MAIL_BACKEND"] = "smtp"
        elif app.testing or app.debug:
            app.config["MAIL_BACKEND"] = "console"
        else:
            app.config["MAIL_BACKEND"] = None
    app.config["MAIL_DEFAULT_SENDER"] = app.config["MAIL_SENDER"]


def _normalize_db_url(url: str) -> str:
    """Use psycopg 3 for a plain postgresql:// URL (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret(path: Path) -> str:
    """Read the instance's secret key, generating an owner-only file on first start."""
    try:
        return _written(path)
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    # O_EXCL: when two workers start at once, only one writes; the other reads its key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _written(path)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def _written(path: Path, wait: float = 5.0) -> str:
    """The file's key, waiting while another worker that just created it has not written it yet."""
    deadline = time.monotonic() + wait
    while True:
        key = path.read_text().strip()
        if key or time.monotonic() > deadline:
            return key
        time.sleep(0.02)
