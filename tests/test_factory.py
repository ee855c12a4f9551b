"""The application factory: configuration, secret key, database settings (registry/__init__.py)."""

import stat

from sqlalchemy import text

from registry import instance_secret, _normalize_db_url, create_app
from registry.extensions import db


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
            return
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
    assert response.headers["Referrer-Policy"] == "no-referrer"
