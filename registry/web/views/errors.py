"""Error pages in the site's style, and JSON errors under /api/, in the reader's language (the log's words stay English)."""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError

from registry.catalog import vocab
from registry.platform.extensions import ChangesUsedUp, db, limiter
from scales.i18n import N_, ngettext
from scales.i18n import gettext as _

# English sources (N_): message() gives them in the reader's language.
MESSAGES = {
    400: N_("The request could not be understood."),
    403: N_("You don't have access to this page."),
    404: N_("We couldn't find that page."),
    405: N_("That action isn't allowed here."),
    413: N_("What you sent is too large."),
    429: N_("Too many requests. Please wait a moment and try again."),
    500: N_("Something went wrong on our side. Nothing you entered was saved half-way; please try again."),
    503: N_("The registry is briefly unavailable."),
}
RETRY_AFTER = 30  # seconds: a database restart or failover


def message(code: int) -> str:
    """The page's words for an error code, in the reader's language."""
    return _(MESSAGES[code])


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _render(code: int, message: str, detail: str | None = None):
    if wants_json():
        return jsonify(error=f"{message} {detail}" if detail else message, status=code), code
    try:
        return render_template("errors/error.html", code=code, message=message, detail=detail), code
    except SQLAlchemyError as error:
        # The layout asks who is signed in (and a moderator's queue); with the database gone that fails,
        # and an error page must not fail in turn: the page without the layout's database parts.
        current_app.logger.warning("Error page %s without its layout: %s", code, describe(error))
        _rollback()
        return render_template("errors/unavailable.html", code=code, message=message, detail=detail), code


def describe(error: BaseException) -> str:
    """A database error for the log: its kind and the driver's first line, never the SQL or its parameters
    (they hold user ids beside condition ids, addresses, answers)."""
    cause = getattr(error, "orig", None) or error
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(error).__name__}: {first[:200]}" if first else type(error).__name__


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool replaces it
        pass


def handle_http(error: HTTPException):
    code = error.code or 500
    text = message(code) if code in MESSAGES else error.name
    # Our own abort(4xx, "message") carries a message worth showing (in the reader's language already).
    if error.description and error.description != type(error).description:
        text = error.description
    return _render(code, text)


def handle_rate_limit(error: RateLimitExceeded):

    # The limit's own description ("10 per 1 minute") is no message; say how long to wait instead.
    current = limiter.current_limit
    wait = min(max(1, math.ceil(current.reset_at - time.time())), current.limit.get_expiry()) if current else 60
    if wait < 120:
        text = ngettext(
            "Too many requests. Please wait %(num)s second and try again.",
            "Too many requests. Please wait %(num)s seconds and try again.",
            wait,
        )
    else:
        text = ngettext(
            "Too many requests. Please wait %(num)s minute and try again.",
            "Too many requests. Please wait %(num)s minutes and try again.",
            math.ceil(wait / 60),
        )
    body, code = _render(429, text)
    response = make_response(body, code)
    response.headers["Retry-After"] = str(wait)
    return response


def handle_changes_used_up(error: ChangesUsedUp):
    """A day's changes of one report, or of the whole account, are used up (registry.platform.extensions.count_change)."""
    if error.whole_account:
        text = _("You can make more changes tomorrow.")
        detail = _(
            "You have changed your reports as often as the registry allows in one day, so nothing was changed "
            "just now. The daily limit stops anyone from working out other people's answers by changing a report "
            "over and over."
        )
    else:
        text = _("You can change this report again tomorrow.")
        detail = _(
            "It has been saved, moved or deleted as often as the registry allows in one day, so nothing was "
            "changed just now. The daily limit stops anyone from working out other people's answers by changing "
            "a report over and over."
        )
    body, code = _render(429, text, detail)
    response = make_response(body, code)
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def handle_csrf(error: CSRFError):
    return _render(400, _("This form expired or was sent from another site. Please reload the page and try again."))


def handle_unexpected(error: Exception):
    _rollback()
    return _render(500, message(500))


def handle_database_down(error: Exception):
    """The database cannot be reached (down, restarting, failing over) or every connection is busy: a 503."""
    _log_outage(error)
    _rollback()
    if wants_json():
        response = make_response(jsonify(error=message(503), status=503), 503)
    else:
        # Stands alone: not even the signed-in user is loaded (the layout would ask the database).
        response = make_response(render_template("errors/unavailable.html", code=503, message=message(503)), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    return response


def handle_vocabulary_unavailable(error: vocab.Unavailable):
    """The search vocabularies cannot be read (their file is being rebuilt, or cannot be): a 503, logged."""
    current_app.logger.warning("Search vocabularies unavailable for %s %s: %s", request.method, _route(), error)
    _rollback()
    response = make_response(*_render(503, _("Search is briefly unavailable."), _("Please try again in a minute.")))
    response.headers["Retry-After"] = str(RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    return response


OUTAGE_LOG_EVERY = 10.0  # seconds: an outage is a warning every 10 s per worker, not one per request
_outage = {"logged_at": float("-inf"), "unlogged": 0}


def _log_outage(error: Exception) -> None:
    now = time.monotonic()
    if now - _outage["logged_at"] < OUTAGE_LOG_EVERY:
        _outage["unlogged"] += 1
        return
    more = f" ({_outage['unlogged']} more requests answered 503 since the last message)" if _outage["unlogged"] else ""
    _outage["logged_at"], _outage["unlogged"] = now, 0
    # The route, not the path: a path can hold a condition's slug or a link's token.
    current_app.logger.warning("Database unavailable for %s %s: %s%s", request.method, _route(), describe(error), more)


def _route() -> str:
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def register(app: Flask) -> None:
    """Install the error handlers on app."""
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(RateLimitExceeded, handle_rate_limit)
    app.register_error_handler(ChangesUsedUp, handle_changes_used_up)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(InternalServerError, handle_unexpected)
    app.register_error_handler(vocab.Unavailable, handle_vocabulary_unavailable)
    for error in (OperationalError, InterfaceError, PoolTimeoutError):
        app.register_error_handler(error, handle_database_down)
