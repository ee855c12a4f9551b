"""Logs that hold no health data and no secrets: JSON lines, a request id, one line per request.

What a log line may say about a request: its id, method, route name (``reports.treatment``, never the
path: a path names a condition or carries a link's token), client address, status, duration and size. Every message
and traceback passes scrub() on its way out: query strings, email addresses, hex digests and long
tokens are cut from the text, wherever they came from (gunicorn's "Error handling request /path?...",
an SMTP error naming a recipient, a library's debug line).

gunicorn's configuration (registry/web/gunicorn_conf.py) routes its own loggers through the same handler
(LOGGING); outside gunicorn, configure() does it when REGISTRY_LOG_FORMAT is "json" or "text".
"""

from __future__ import annotations

import copy
import logging
import logging.config
import re
import time
import types
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
# A request id the proxy sent (nginx's $request_id: 32 hex digits; a UUID) is kept when it looks like one;
# anything else is replaced, so that no client writes words of its choosing into the log.
_GOOD_ID = re.compile(r"^[0-9A-Fa-f-]{16,64}$")

request_log = logging.getLogger("registry.request")

# --- scrubbing -----------------------------------------------------------------------------------------

_PATTERNS = (
    # The token of a mailed link, by where it stands (the shape patterns below miss one in some 1,500
    # reset tokens: 43 URL-safe characters without a digit), as the guide's nginx format writes it.
    (re.compile(r"(/(?:password/reset|account/confirm|reminders/stop)/)[^\s/?\"'<>]+"), r"\1-"),
    # ?condition=hypertension&age_band=30_44, ?token=...: everything after the ? up to a space or quote.
    (re.compile(r"\?[^\s\"'<>\\]+"), ""),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"), "<email>"),
    # itsdangerous links (payload.timestamp.signature) and JWT-like tokens.
    (re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,10}\.[A-Za-z0-9_-]{20,}"), "<token>"),
    # Digests of 32 hex digits and more (SHA-256, a keyed rate-limit key): a hash of an address is an address
    # to anyone with a list of addresses. (The request id is a field of its own, never scrubbed.)
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), "<hash>"),
    # Opaque tokens (secrets.token_urlsafe(32) is 43 characters): long runs of URL-safe characters with a digit.
    (re.compile(r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{32,}"), "<token>"),
    # PostgreSQL's DETAIL line holds the row's values ("Key (user_id, condition_id)=(5, 12) already exists",
    # "Failing row contains (...)"), and a bad value is quoted in "invalid input syntax for type integer".
    (re.compile(r"(DETAIL:\s*)[^\n]*"), r"\1[hidden]"),
    (re.compile(r"(invalid input (?:syntax|value) for [^:\n]*: )\"[^\n]*"), r"\1[hidden]"),
    # SQLAlchemy's statement and parameters, should an error's full text reach a log.
    (re.compile(r"\[parameters: .*?\](?=\s|$)", re.S), "[parameters hidden]"),
)


def scrub(text: str) -> str:
    """text without query strings, email addresses, digests and tokens."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class Scrub(logging.Filter):
    """A handler filter: the record's message and traceback, scrubbed (the record itself is changed once),
    and the id of the request it was written in."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_scrubbed", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the template alone
            message = str(record.msg)
        record.msg, record.args = scrub(message), ()
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        record._scrubbed = True
        if getattr(record, "request_id", None) is None:  # every line written during a request names it
            rid = request_id()
            if rid:
                record.request_id = rid
        return True


class JSONFormatter:
    """python-json-logger's formatter with our field names: time, level, logger, message, and extras."""

    def __new__(cls):

        return JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
            json_ensure_ascii=False,
        )


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The logging configuration gunicorn applies (logconfig_dict) and configure() applies elsewhere: one
# handler on stderr, scrubbed, JSON or text; gunicorn's error log and the app's loggers propagate to it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub": {"()": "registry.platform.logs.Scrub"}},
    "formatters": {
        "json": {"()": "registry.platform.logs.JSONFormatter"},
        "text": {"format": TEXT_FORMAT},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "json",
            "filters": ["scrub"],
        }
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        # The app logs each request itself (route, status, duration, request id): gunicorn's own access
        # log would repeat it with the path, which names conditions and carries links' tokens.
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        # A development server's request lines carry the query string: scrubbed, and only warnings.
        "werkzeug": {"level": "WARNING"},
        # Statements and their parameters stay out of the log whatever the root level (SQLAlchemy's default).
        "sqlalchemy": {"level": "WARNING"},
        "alembic": {"level": "WARNING"},  # each worker's start would list alembic's plugins
    },
}


def logging_config(fmt: str = "json") -> dict:
    """LOGGING with its handler in the format fmt ("json" or "text")."""
    config = copy.deepcopy(LOGGING)
    config["handlers"]["stderr"]["formatter"] = "text" if fmt == "text" else "json"
    return config


def configure(fmt: str | None) -> None:
    """Route every log through one scrubbed handler on stderr (fmt "json" or "text"; None or "": leave
    logging as it is, e.g. under gunicorn, whose configuration already did it, or in tests)."""
    if not fmt or any(isinstance(f, Scrub) for h in logging.getLogger().handlers for f in h.filters):
        return
    logging.config.dictConfig(logging_config(fmt))


# --- one line per request ------------------------------------------------------------------------------


def install(app: Flask) -> None:
    """A request id for every request (returned as X-Request-ID) and one log line per answer."""
    configure(app.config.get("LOG_FORMAT"))
    app.before_request(_start)
    app.after_request(_finish)
    app.log_exception = types.MethodType(_log_exception, app)  # type: ignore[method-assign]


def _log_exception(app: Flask, exc_info) -> None:
    """Flask's "Exception on /path [GET]", by route instead of path (a path may carry a link's token)."""
    rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
    app.logger.error(
        "Exception on %s [%s]", rule, request.method, exc_info=exc_info, extra={"request_id": request_id()}
    )


def request_id() -> str | None:
    """This request's id (None outside a request)."""
    return g.get("request_id") if has_request_context() else None


def _start() -> None:
    g.request_started = time.perf_counter()
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = sent if _GOOD_ID.match(sent) else uuid.uuid4().hex


def _finish(response):
    rid = g.get("request_id") or uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = rid
    fields = {
        "request_id": rid,
        "method": request.method,
        "route": request.endpoint or "(none)",
        # The client's address (behind the proxy, with REGISTRY_PROXY_FIX, the one the proxy saw): beside a
        # route name, never a path, it says which kind of page someone asked for, not which condition.
        "client": request.remote_addr,
        "status": response.status_code,
    }
    started = g.get("request_started", time.perf_counter())

    def log_line() -> None:  # when the body has gone out: a streamed export's whole time
        fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
        status = fields["status"]
        level = logging.INFO if status < 500 else logging.WARNING if status == 503 else logging.ERROR
        request_log.log(level, "request", extra=fields)

    if response.is_streamed:
        response.call_on_close(log_line)
    else:
        fields["bytes"] = response.calculate_content_length()
        log_line()
    return response
