"""Logs without health data or secrets (registry/platform/logs.py, registry/web/gunicorn_conf.py): a journey scraped."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re

import pytest

from registry.platform import logs

LINK = re.compile(r"https://registry\.example(/\S+)")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
QUERY = re.compile(r"\?[A-Za-z_]+=")
HEX = re.compile(r"\b[0-9a-fA-F]{32,}\b")


class Raw(logging.Handler):
    """The messages as the app's own loggers wrote them, before the scrubbing filter."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        if record.name.startswith("registry"):
            self.messages.append(record.getMessage())


@pytest.fixture
def captured():
    """Every logger's lines at DEBUG through the shipped handler (scrubbed JSON), and our loggers' raw messages."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(logs.Scrub())
    handler.setFormatter(logs.JSONFormatter())
    raw = Raw()
    root = logging.getLogger()
    level = root.level
    root.handlers[:0] = [raw, handler]  # before pytest's own: they see the records first
    root.setLevel(logging.DEBUG)
    try:
        yield buffer, raw
    finally:
        root.removeHandler(handler)
        root.removeHandler(raw)
        root.setLevel(level)


def _lines(buffer) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def _link(message) -> str:
    return LINK.search(message.get_body(("plain",)).get_content()).group(1)


def test_a_whole_journey_leaves_no_health_data_or_secret_in_any_log_line(mail_app, make, inbox, captured):
    """Register, confirm, reset the password, read filtered pages, export, and two failures that name a path
    with its query string (a 500 whose error holds an address, gunicorn's "Error handling request"):
    no query string, token, address or digest of one in any line; one JSON line per request."""
    buffer, raw = captured
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])
    for i in range(6):
        make.experience(birth_year=1985, sex="female", effectiveness="major" if i % 2 else "moderate")
    researcher = "researcher@example.org"
    make.user(email=researcher, role="researcher")
    client = mail_app.test_client()
    secrets_seen: list[str] = []
    mail_app.config["PROPAGATE_EXCEPTIONS"] = False

    @mail_app.get("/boom")
    def boom():
        raise RuntimeError("could not mail ana@example.org the link /password/reset/" + secrets_seen[-1])

    # Register and confirm.
    registered = client.post(
        "/register",
        data={
            "email": "ana@example.org",
            "pseudonym": "ana-k",
            "password": "long enough pw",
            "confirm": "long enough pw",
        },
    )
    assert registered.status_code == 302
    [confirm] = inbox.wait(1)
    path = _link(confirm)
    secrets_seen.append(path.rsplit("/", 1)[-1])
    assert client.get(path).status_code in (200, 302)

    # Reset the password from another browser.
    other = mail_app.test_client()
    assert other.post("/password/forgot", data={"email": "ana@example.org"}).status_code == 302
    [_, reset] = inbox.wait(2)
    path = _link(reset)
    secrets_seen.append(path.rsplit("/", 1)[-1])
    assert other.get(path).status_code == 200
    done = other.post(path, data={"password": "a brand new password", "confirm": "a brand new password"})
    assert done.status_code == 302
    wrong = mail_app.test_client().post("/login", data={"email": "nobody@example.org", "password": "wrong password"})
    assert wrong.status_code == 200

    # Filtered pages, the form a link pre-fills, the API.
    responses = [
        other.get("/conditions/migraine?age_band=30_44&sex=female"),
        other.get("/conditions/migraine/treatments/sumatriptan?age_band=30_44&sex=female"),
        other.get("/api/v1/conditions/migraine/treatments?sex=female&age_band=30_44"),
        other.get("/experiences/new?condition=migraine&treatment=sumatriptan"),
    ]
    assert [r.status_code for r in responses] == [200] * 4

    # An export by a researcher (streamed: its line is written when the download ends).
    exporter = mail_app.test_client()
    assert exporter.post("/login", data={"email": researcher, "password": "correct horse battery"}).status_code == 302
    export = exporter.post("/research/export?conditions=migraine", data={"conditions": ["migraine"]})
    assert export.status_code == 200 and export.data[:2] == b"PK"
    export.close()

    # Failures that carry what must not be logged.
    assert client.get("/boom?condition=hypertension&token=" + secrets_seen[-1]).status_code == 500
    try:
        raise OSError("connection reset")
    except OSError:
        logging.getLogger("gunicorn.error").exception(
            "Error handling request %s", "/experiences/new?condition=hypertension&treatment=lisinopril"
        )
    address_digest = hashlib.sha256(b"ana@example.org").hexdigest()

    lines = _lines(buffer)
    text = buffer.getvalue()
    assert lines, "nothing was logged"
    for line in lines:
        body = json.dumps({k: v for k, v in line.items() if k != "request_id"})
        assert not QUERY.search(body), line
        assert not EMAIL.search(body), line
        assert not HEX.search(body), line
        for secret in secrets_seen:
            assert secret not in body, line
    for needle in ("30_44", "hypertension", "lisinopril", "age_band=", address_digest, "ana@example.org"):
        assert needle not in text
    # The app's own messages hold none of it even before the scrubbing filter.
    for message in raw.messages:
        if message == "request":
            continue
        assert not QUERY.search(message) and not EMAIL.search(message) and not HEX.search(message), message

    # One line per request: request id (returned as X-Request-ID), route name, status, duration.
    requests = [line for line in lines if line["logger"] == "registry.request"]
    assert {"request_id", "method", "route", "status", "duration_ms", "time", "level"} <= set(requests[0])
    routes = {line["route"] for line in requests}
    assert {"auth.register", "auth.reset_password", "reports.condition", "research.download"} <= routes, routes
    ids = {line["request_id"] for line in requests}
    assert responses[0].headers["X-Request-ID"] in ids and export.headers["X-Request-ID"] in ids
    assert len(ids) == len(requests)  # one line each
    assert [line["status"] for line in requests if line["route"] == "boom"] == [500]
    [crash] = [line for line in lines if line["message"].startswith("Exception on")]
    assert (
        crash["message"] == "Exception on /boom [GET]" and crash["request_id"] in ids and "<email>" in crash["exc_info"]
    )
    # What the app logs during a request names the request too (here the 500's traceback).
    own = [line for line in lines if line["logger"] == "registry"]
    assert own and all(line.get("request_id") in ids for line in own)
    gunicorn = [line for line in lines if line["logger"] == "gunicorn.error"]
    assert gunicorn and gunicorn[0]["message"] == "Error handling request /experiences/new"


def test_a_links_token_is_cut_by_where_it_stands_whatever_its_letters():
    token = "AbcdefghijklmnopqrstuvwxyzABCDEFGHIJ_klmnopq"  # token_urlsafe(32) can draw no digit
    for path in ("/password/reset/", "/account/confirm/", "/reminders/stop/"):
        line = logs.scrub(f"Error handling request {path}{token} HTTP/1.1")
        assert token not in line and f"{path}- HTTP/1.1" in line


def test_postgresqls_detail_and_a_quoted_bad_value_are_cut():
    error = (
        'UniqueViolation: duplicate key value violates unique constraint "diagnosis_user_id_condition_id_key"\n'
        "DETAIL:  Key (user_id, condition_id)=(5, 12) already exists.\n"
        'DataError: invalid input syntax for type integer: "breast cancer"\nLINE 1: SELECT $1::int'
    )
    line = logs.scrub(error)
    assert "(5, 12)" not in line and "breast cancer" not in line
    assert 'constraint "diagnosis_user_id_condition_id_key"' in line and "DETAIL:  [hidden]" in line


def test_a_request_id_from_the_proxy_is_kept_and_a_bad_one_replaced(client):
    kept = client.get("/about", headers={"X-Request-ID": "3f2a9c0d1e4b5a6978877665544332211"})
    assert kept.headers["X-Request-ID"] == "3f2a9c0d1e4b5a6978877665544332211"
    for forged in ("x;Set-Cookie: a=b", "hypertension-lisinopril", "ana@example.org"):
        answer = client.get("/about", headers={"X-Request-ID": forged})
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])


def test_gunicorns_configuration_logs_json_through_the_scrubbing_handler(monkeypatch):
    """The shipped gunicorn settings: no access log of its own (paths carry tokens and slugs), the error log
    and the app's loggers through one JSON handler with the scrubbing filter."""
    import importlib

    monkeypatch.setenv("REGISTRY_DB_POOL_SIZE", "4")  # the module sets it when absent
    conf = importlib.import_module("registry.web.gunicorn_conf")
    assert conf.accesslog is None and conf.errorlog == "-"
    handler = conf.logconfig_dict["handlers"]["stderr"]
    assert handler["filters"] == ["scrub"] and handler["formatter"] == "json"
    assert conf.logconfig_dict["loggers"]["gunicorn.access"]["propagate"] is False
    assert conf.logconfig_dict["formatters"]["json"]["()"] == "registry.platform.logs.JSONFormatter"
    assert conf.logconfig_dict["loggers"]["sqlalchemy"]["level"] == "WARNING"  # statements never, at any root level


def test_the_rate_limit_key_of_an_address_is_keyed(app):
    from registry.web.views.auth import _posted_email_key

    with app.test_request_context("/password/forgot", method="POST", data={"email": "Ana@Example.org"}):
        key = _posted_email_key()
    assert key.startswith("email:") and hashlib.sha256(b"ana@example.org").hexdigest()[:32] not in key
