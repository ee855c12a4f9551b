"""The treatment-experience registry: a Flask application factory."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, request

PACKAGE = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE.parent
# An installed wheel carries the templates inside the package (setup.py maps them there);
# a checkout (editable install, tests) reads the top-level templates/ directly.
TEMPLATES = PACKAGE / "templates" if (PACKAGE / "templates").is_dir() else PROJECT_ROOT / "templates"
MIGRATIONS = PACKAGE / "migrations"


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the registry application."""
    # The instance folder (config.py, generated keys, the default SQLite file): named explicitly in
    # production, since an installed package's default is <venv>/var/registry-instance.
    instance_path = os.environ.get("REGISTRY_INSTANCE_PATH") if test_config is None else test_config.get("INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(TEMPLATES),
    )
    from registry.views import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)  # keys and maybe the database
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI="sqlite:///" + os.path.join(app.instance_path, "registry.sqlite"),
        REPORT_MIN_N=5,
        # "perturb": every published count carries keyed noise (reports/disclosure.py); "exact":
        # true counts, for closed deployments whose every reader is trusted, and arithmetic tests.
        DISCLOSURE="perturb",
        DISCLOSURE_SIGMA=2.5,
        PER_PAGE=25,
        WTF_CSRF_TIME_LIMIT=None,
        # Tokens stay strict; Flask-WTF's HTTPS Referer demand gives way to registry.csrf's
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
        from registry.cache import REDIS_OPTIONS

        app.config.setdefault("CACHE_REDIS_URL", app.config["REDIS_URL"])
        app.config["CACHE_TYPE"] = "registry.cache.FailOpenRedisCache"
        app.config.setdefault("CACHE_OPTIONS", dict(REDIS_OPTIONS))
        if app.config["RATELIMIT_STORAGE_URI"] == "memory://":
            app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
            app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", dict(REDIS_OPTIONS))
    _database_engine_options(app)
    _cookie_security(app)
    _mail_settings(app)
    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path) / "secret_key")
    if not app.config.get("EXPORT_KEY"):
        # Keys the pseudonymous ids of research exports; every app server needs the same one.
        app.config["EXPORT_KEY"] = instance_secret(Path(app.instance_path) / "export_key")
    if not app.config.get("DISCLOSURE_KEY"):
        # Seeds the noise of every published number; changing it re-draws all noise (docs/privacy.md).
        app.config["DISCLOSURE_KEY"] = instance_secret(Path(app.instance_path) / "disclosure_key")
    app.extensions["disclosure"] = app.jinja_env.globals["disclosure"] = _disclosure_policy(app)

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


def _preload_vocabularies(app: Flask, serving: bool | None = None) -> None:
    """Start loading the vocabularies now, so that the first search is as fast as later ones.

    Only where the app serves: a `registry` command (seed-demo, export, ...) has no search to speed
    up and would pay ~500 MB and a core for it; `registry demo` starts the load itself.
    """
    import click

    if serving is None:
        serving = click.get_current_context(silent=True) is None  # gunicorn workers: no click context
    preload = app.config["PRELOAD_VOCABULARIES"]
    if preload is None:
        preload = not app.testing
    if serving and str(preload).lower() not in {"0", "false", "no", "off"}:
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
    # same-origin: other sites learn nothing of the page a patient came from, and our own
    # forms still carry Origin and Referer for the same-origin check (registry.csrf).
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # A signed-in page must not stay in a shared computer's cache or a proxy (downloads included).
    if _signed_in():
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
    # Only over HTTPS: a browser ignores HSTS sent over plain HTTP, and a local demo must stay reachable.
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _disclosure_policy(app: Flask):
    """The deployment's disclosure-control policy, checked at start (a typo must not publish exact counts)."""
    from reports.disclosure import Policy

    return Policy(
        mode=str(app.config["DISCLOSURE"]).strip().lower(),
        min_n=int(app.config["REPORT_MIN_N"]),
        sigma=float(app.config["DISCLOSURE_SIGMA"]),
        key=str(app.config["DISCLOSURE_KEY"]).encode(),
    )


def _signed_in() -> bool:
    """Whether this request was answered for a signed-in account (without loading one just to ask)."""
    from flask import g

    user = g.get("_login_user")
    return user is not None and user.is_authenticated


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


def _database_engine_options(app: Flask) -> None:
    """Pooled connections checked before use (a restarted or failed-over database costs no error);
    on PostgreSQL, a bounded pool per worker and a bounded wait for a connection."""
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    options.setdefault("pool_pre_ping", True)
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
    from flask_login import user_loaded_from_cookie

    from registry.auth import rotate_remembered
    from registry.extensions import cache, compress, csrf, db, limiter, login_manager, mail, migrate

    db.init_app(app)
    # Runs before Flask-SQLAlchemy's own teardown (last registered, first run).
    app.teardown_appcontext(_remove_session)
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
    user_loaded_from_cookie.connect(rotate_remembered, app)
    mail.init_app(app)

    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)


def _remove_session(exc) -> None:
    """End the request's session; a connection the database dropped meanwhile must not turn the
    answer already made into a 500 (the pool replaces the connection)."""
    from sqlalchemy.exc import SQLAlchemyError

    from registry.extensions import db

    try:
        db.session.remove()
    except SQLAlchemyError as error:
        from flask import current_app

        current_app.logger.warning("Dropped a broken database connection after a request: %s", error)
        db.session.registry.clear()


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
        account, api, assets, auth, catalog, errors, experiences, fhir, health, main, moderation, ratings, reports, research,
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
    app.register_blueprint(health.bp)
    app.register_blueprint(fhir.bp)
    from registry.views import followups, following  # follow-ups of experiences; followed conditions

    app.register_blueprint(followups.bp)
    app.register_blueprint(following.bp)
    errors.register(app)
