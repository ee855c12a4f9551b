"""The application factory: configuration, secret key, database settings (registry/app.py, registry/platform/settings.py)."""

import re
import stat

import pytest
from sqlalchemy import text

from registry.app import create_app
from registry.platform.extensions import db
from registry.platform.settings import _normalize_db_url, instance_secret


def test_config_comes_from_registry_prefixed_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("REGISTRY_DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite")
    monkeypatch.setenv("REGISTRY_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("REGISTRY_REPORT_MIN_N", "7")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/env.sqlite"
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["REPORT_MIN_N"] == 7
    with app.app_context():
        db.engine.dispose()


def test_plain_postgresql_urls_use_psycopg3():
    assert _normalize_db_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert _normalize_db_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert _normalize_db_url("sqlite:///x") == "sqlite:///x"


def test_secret_key_is_generated_once_owner_only(tmp_path):
    path = tmp_path / "secret_key"
    first = instance_secret(path)
    assert len(first) == 64 and instance_secret(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas: PostgreSQL enforces foreign keys and has no journal mode to set")
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000


def test_pages_load_nothing_from_other_hosts(client):
    page = client.get("/").text
    assert "http://" not in page and "https://" not in page
    with client.get("/static/style.css") as css:
        assert css.status_code == 200


def test_every_page_carries_the_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def _production_app(app, **settings):
    """An app configured as deployed (not TESTING) on the test database."""
    keys = ("SECRET_KEY", "EXPORT_KEY", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED", "RATELIMIT_ENABLED")
    return create_app({**{key: app.config[key] for key in keys}, **settings})


def test_csp_forbids_inline_scripts_plugins_and_framing(client):
    directives = dict(
        part.strip().split(" ", 1) for part in client.get("/about").headers["Content-Security-Policy"].split(";")
    )
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    # plotly.js injects style rules; only styles may be inline.
    assert [name for name, value in directives.items() if "unsafe" in value] == ["style-src"]


def test_json_and_error_responses_carry_the_headers_too(client):
    for response in (client.get("/api/v1/conditions"), client.get("/no/such/page")):
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/about", base_url="http://localhost").headers
    secure = client.get("/about", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_proxy_fix_trusts_forwarded_proto_only_when_configured(app):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    plain = _production_app(app)
    behind_proxy = _production_app(app, PROXY_FIX=1)
    assert "Strict-Transport-Security" not in plain.test_client().get("/about", headers=forwarded).headers
    assert "Strict-Transport-Security" in behind_proxy.test_client().get("/about", headers=forwarded).headers
    for extra in (plain, behind_proxy):
        with extra.app_context():
            db.engine.dispose()


def test_no_template_has_inline_script_or_event_handler():
    from registry import TEMPLATES

    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    handler = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
    javascript_url = re.compile(r"javascript:", re.IGNORECASE)
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (inline_script, handler, javascript_url):
            assert not pattern.search(text), f"{path.name}: {pattern.search(text).group(0)}"


def test_cookies_are_https_only_in_production_unless_a_setting_says_otherwise(app, make, monkeypatch):
    make.user(email="ana@example.org")
    production = _production_app(app)
    assert production.config["SESSION_COOKIE_SECURE"] and production.config["REMEMBER_COOKIE_SECURE"]
    login = production.test_client().post(
        "/login",
        base_url="https://localhost",
        data={"email": "ana@example.org", "password": "correct horse battery", "remember": "y"},
    )
    assert login.status_code == 302
    cookies = {c.split("=", 1)[0]: c for c in login.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):
        flags = cookies[name].lower()
        assert "; secure" in flags and "; httponly" in flags and "samesite=lax" in flags
    opted_out = _production_app(app, SESSION_COOKIE_SECURE=False)
    assert not opted_out.config["SESSION_COOKIE_SECURE"] and opted_out.config["REMEMBER_COOKIE_SECURE"]
    assert not app.config["SESSION_COOKIE_SECURE"]  # tests (and the debug server) speak plain HTTP
    for extra in (production, opted_out):
        with extra.app_context():
            db.engine.dispose()


def test_pages_and_answers_are_compressed_for_visitors(client):
    for url in ("/", "/static/style.css", "/api/v1/openapi.json"):
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers.get("Content-Encoding") == "gzip", url
        assert "Accept-Encoding" in response.headers["Vary"]


def test_signed_in_pages_are_not_compressed(client, auth):
    # CSRF token and private answers beside reflected text: the mix a BREACH attack needs.
    auth.login()
    response = client.get("/search?q=migraine", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert "Accept-Encoding" in response.headers["Vary"]


def test_vocabularies_preload_only_where_the_app_serves(monkeypatch):
    """A gunicorn worker preloads them; a `registry` command (seed-demo, export) does not pay for it."""
    import click

    from registry.app import create_app
    from registry.catalog import vocab

    started = []
    monkeypatch.setattr(vocab, "start_preload", lambda: started.append(True))
    config = {
        "SECRET_KEY": "x",
        "EXPORT_KEY": "x",
        "DISCLOSURE_KEY": "x",
        "PRELOAD_VOCABULARIES": True,
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
    }
    with click.Context(click.Command("seed-demo")):
        create_app(config)
    assert started == []
    create_app(config)  # no command running: a server's worker
    assert started == [True]
