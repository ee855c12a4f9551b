"""Web glue: what the factory installs on the app (converters, request hooks, the log-in loader)
and the decorator views use to require a role. The domain modules know nothing of requests.
"""

from __future__ import annotations

from datetime import timezone
from functools import wraps

from babel.dates import format_date, format_time
from flask import Flask, abort, current_app, g, has_request_context, request, session
from flask_login import current_user, login_required, user_loaded_from_cookie
from flask_login.utils import _user_context_processor
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.local import LocalProxy
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from forms.text import MAX_ID, thousands
from registry.accounts import audit, auth
from registry.contributions import screening
from registry.models import User
from registry.platform import logs
from registry.platform.extensions import compress, db, login_manager
from registry.reporting import release
from registry.web.views.errors import describe
from scales import i18n
from scales.i18n import gettext as _
from scales.i18n import lazy_gettext


def install(app: Flask) -> None:
    """Converters, request hooks, the log-in loader and template filters."""
    app.url_map.converters["int"] = BoundedIntConverter
    logs.install(app)  # first: the request id exists before any other hook may log
    if app.config["PROXY_FIX"]:
        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.before_request(reject_nul_bytes)
    app.before_request(release_if_auto)
    app.after_request(security_headers)
    app.after_request(compress_response)
    # Runs before Flask-SQLAlchemy's own teardown (last registered, first run).
    app.teardown_appcontext(remove_session)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please log in to continue.")
    login_manager.localize_callback = str  # flashed as the reader's words, a plain string the session can hold
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)
    _lazy_current_user(app)
    user_loaded_from_cookie.connect(rotate_remembered, app)
    audit.use_request_actor(request_actor)
    app.add_template_filter(thousands, "num")
    app.add_template_filter(screening.reason_text, "reason")  # why a text is held, in the reader's language
    app.jinja_env.globals["disclosure"] = app.extensions["disclosure"]
    app.jinja_env.globals["numbers_updated"] = numbers_updated


def _lazy_current_user(app: Flask) -> None:
    """Templates get current_user as Flask-Login's proxy, loaded when a template first reads it.

    Flask-Login's own context processor loads the user (a database read) for every template, also
    for the standalone 503 page rendered because the database is down: that turned a signed-in
    person's 503 into a 500. With the proxy, a page that never asks never reads.
    """

    processors = app.template_context_processors[None]
    processors[:] = [p for p in processors if p is not _user_context_processor]
    processors.append(lambda: {"current_user": current_user})


# The day as the English pages write it ("6 December 2026"); other languages take their locale's long date.
DAY_FORMATS = {"en": "d MMMM y"}


def numbers_updated() -> str | None:
    """When the published numbers were last updated, for the pages ("6 December 2026, 14:00 UTC"; in
    Spanish "6 de diciembre de 2026, 14:00 UTC")."""
    when = release.last_released(db.session)
    if not when:
        return None
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    locale = i18n.locale()
    day = format_date(when, DAY_FORMATS.get(locale.language, "long"), locale=locale)
    return _("%(day)s, %(time)s UTC", day=day, time=format_time(when, "HH:mm", tzinfo=timezone.utc, locale=locale))


def release_if_auto() -> None:
    """REGISTRY_RELEASE=auto (demo, tests): publish before a read whenever the reports moved since the last release."""
    if current_app.config.get("RELEASE") == "auto":
        if request.endpoint in (None, "static", "health.status") or (request.endpoint or "").startswith("assets."):
            return
        release.release_if_changed(db.session)


# --- log-ins ----------------------------------------------------------------------------------------


def load_user(key: str) -> User | None:
    """Flask-Login loader: the cookie holds a log-in's key; a deleted, expired or disabled log-in is anonymous."""
    return auth.active_login(key)


def rotate_remembered(sender, user: User) -> None:
    """Flask-Login signal: a remember-me cookie restored a log-in; give it a new key and a new cookie."""
    session["_user_id"] = auth.rotate_session(user)
    session["_remember"] = "set"  # Flask-Login writes the new remember cookie after the request


def request_actor() -> tuple[bool, User | None]:
    """For the audit trail: whether a web request is running, and its signed-in account."""
    if not has_request_context():
        return False, None
    return True, (current_user._get_current_object() if current_user.is_authenticated else None)


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


# --- requests and responses -------------------------------------------------------------------------


class BoundedIntConverter(IntegerConverter):
    """<int:...> limited to what a database integer holds: a larger id is a 404, not an overflow."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)  # the same bound as forms.text.parse_id for query strings
        super().__init__(map, *args, **kwargs)


def reject_nul_bytes():
    """Refuse text with NUL characters before it reaches a database that cannot store them."""
    if (
        "\x00" in request.path
        or any("\x00" in v for v in request.args.values())
        or (request.method == "POST" and any("\x00" in v for _, v in request.form.items(multi=True)))
    ):
        abort(400, _("Text may not contain NUL characters."))


# Scripts only from this site (no inline script); plotly.js injects its own style rules.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


HSTS = "max-age=31536000; includeSubDomains"


def security_headers(response):
    """Headers that keep a patient's page view private and the page unframeable."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin: other sites learn nothing of the page a patient came from, and our own
    # forms still carry Origin and Referer for the same-origin check (registry.platform.csrf).
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # A signed-in page must not stay in a shared computer's cache or a proxy (downloads included).
    if signed_in():
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
    # Only over HTTPS: a browser ignores HSTS sent over plain HTTP, and a local demo must stay reachable.
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def signed_in() -> bool:
    """Whether this request was answered for a signed-in account (without loading one just to ask)."""
    user = g.get("_login_user")
    return user is not None and user.is_authenticated


def compress_response(response):
    """Compress answers, except pages for a signed-in participant.

    Those pages hold a CSRF token and private answers next to text the request chose (a search,
    a filter), the mix a BREACH attack on compressed HTTPS pages needs; they are small anyway.
    """
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


def remove_session(exc) -> None:
    """End the request's session; a connection the database dropped meanwhile must not turn the
    answer already made into a 500 (the pool replaces the connection)."""
    try:
        db.session.remove()
    except SQLAlchemyError as error:
        current_app.logger.warning("Dropped a broken database connection after a request: %s", describe(error))
        db.session.registry.clear()
