"""The treatment-experience registry: a Flask application factory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, request

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = PROJECT_ROOT / "templates"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the registry application."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(TEMPLATES),
    )
    from registry.views import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI="sqlite:///" + os.path.join(app.instance_path, "registry.sqlite"),
        REPORT_MIN_N=5,
        PER_PAGE=25,
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
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
        RATELIMIT_API="120 per minute",
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        # Report caches are keyed by each condition's data version, so a stale entry is never read.
        CACHE_TYPE="SimpleCache",
        CACHE_DEFAULT_TIMEOUT=3600,
        # None: load the search vocabularies in the background at start, except under tests.
        PRELOAD_VOCABULARIES=None,
        # Responses are compressed by compress_response (Flask-Compress); streamed downloads are not.
        COMPRESS_REGISTER=False,
        COMPRESS_STREAMS=False,
        COMPRESS_ALGORITHM=["br", "gzip"],
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("REGISTRY")
    else:
        app.config.from_mapping(test_config)
    # REGISTRY_DATABASE_URL is the documented name; SQLAlchemy wants its own key.
    if app.config.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalize_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config.get("REDIS_URL"):  # shared by every worker and server
        app.config.setdefault("CACHE_REDIS_URL", app.config["REDIS_URL"])
        app.config["CACHE_TYPE"] = "RedisCache"
        if app.config["RATELIMIT_STORAGE_URI"] == "memory://":
            app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    _cookie_security(app)
    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path) / "secret_key")
    if not app.config.get("EXPORT_KEY"):
        # Keys the pseudonymous ids of research exports; every app server needs the same one.
        app.config["EXPORT_KEY"] = instance_secret(Path(app.instance_path) / "export_key")

    _init_extensions(app)
    _register_blueprints(app)
    from registry.text import thousands

    app.add_template_filter(thousands, "num")
    app.after_request(_security_headers)
    app.after_request(_compress)
    from registry.views import reject_nul_bytes

    app.before_request(reject_nul_bytes)

    from registry.cli import register_commands

    register_commands(app)
    _preload_vocabularies(app)
    return app


def _preload_vocabularies(app: Flask) -> None:
    """Start loading the vocabularies now, so that the first search is as fast as later ones."""
    preload = app.config["PRELOAD_VOCABULARIES"]
    if preload is None:
        preload = not app.testing
    if str(preload).lower() not in {"0", "false", "no", "off"}:
        from registry import vocab

        vocab.start_preload()


# Scripts only from this site (no inline script); plotly.js injects its own style rules.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


HSTS = "max-age=31536000; includeSubDomains"


def _security_headers(response):
    """Headers that keep a patient's page view private and the page unframeable."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Only over HTTPS: a browser ignores HSTS sent over plain HTTP, and a local demo must stay reachable.
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _compress(response):
    """Compress answers, except pages for a signed-in participant.

    Those pages hold a CSRF token and private answers next to text the request chose (a search,
    a filter), the mix a BREACH attack on compressed HTTPS pages needs; they are small anyway.
    """
    from flask import g
    from werkzeug.local import LocalProxy

    from registry.extensions import compress

    # The user the request already loaded (reading current_user here would touch the session).
    # login_user(current_user) stores the proxy itself, which cannot be resolved any more.
    user = g.get("_login_user")
    signed_in = type(user) is LocalProxy or (user is not None and user.is_authenticated)
    if response.mimetype == "text/html" and signed_in:
        response.vary.add("Accept-Encoding")
        return response
    if response.status_code != 200:  # a 206 range must stay a range of the plain file
        return response
    if response.direct_passthrough and response.mimetype in compress.compress_mimetypes_set:
        # A static file: read it here so its file handle is closed, then let Flask-Compress pack it.
        body = response.response
        response.direct_passthrough = False
        response.set_data(b"".join(body))
        if hasattr(body, "close"):
            body.close()
    return compress.after_request(response)


def _cookie_security(app: Flask) -> None:
    """Cookies go over HTTPS only, unless a setting says otherwise or the app is tested or debugged."""
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if app.config[key] is None:
            app.config[key] = not (app.testing or app.debug)


def _normalize_db_url(url: str) -> str:
    """Use psycopg 3 for a plain postgresql:// URL (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret(path: Path) -> str:
    """Read the instance's secret key, generating an owner-only file on first start."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    # O_EXCL: when two workers start at once, only one writes; the other reads its key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def _init_extensions(app: Flask) -> None:
    from sqlalchemy import event

    from registry import models  # noqa: F401  (registers the tables)
    from registry.auth import load_user
    from registry.extensions import cache, compress, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    cache.init_app(app)
    compress.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)

    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """Foreign keys on, WAL for concurrent readers, and a busy timeout instead of errors."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _register_blueprints(app: Flask) -> None:
    from registry.views import (
        account, api, assets, auth, catalog, errors, experiences, main, moderation, ratings, reports, research,
    )

    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(catalog.bp)
    app.register_blueprint(experiences.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(ratings.bp)
    app.register_blueprint(research.bp)
    app.register_blueprint(assets.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(moderation.bp)
    errors.register(app)
