"""GET /health and the app under ordinary faults: a database gone or behind, Redis down, connections killed."""

from __future__ import annotations

import logging
import os

import pytest
import sqlalchemy as sa

from registry import MIGRATIONS, create_app
from registry.extensions import db
from registry.health import migration_heads

PG_URL = os.environ.get("REGISTRY_TEST_DATABASE_URL", "")

DEAD_POSTGRES = "postgresql+psycopg://registry@127.0.0.1:1/registry"  # nothing listens on port 1
DEAD_REDIS = "redis://127.0.0.1:1/0"


def _app_like(app, **settings):
    keys = (
        "TESTING",
        "SECRET_KEY",
        "EXPORT_KEY",
        "DISCLOSURE_KEY",
        "SQLALCHEMY_DATABASE_URI",
        "WTF_CSRF_ENABLED",
        "RATELIMIT_ENABLED",
    )
    return create_app({**{key: app.config[key] for key in keys}, **settings})


@pytest.fixture
def apps():
    """Apps a test made; their pools are closed afterwards (the app fixture then empties the tables)."""
    made = []
    yield made
    for extra in made:
        with extra.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def community(make):
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])
    for i in range(6):
        make.experience(effectiveness="major" if i < 4 else "none", tips=f"Tip {i}")


def test_health_reports_a_migrated_database_and_no_shared_cache(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["cache"] == "off"
    assert body["migration"] == body["migration_head"] == ",".join(sorted(migration_heads()))
    assert body["migration_state"] == "current" and body["version"]
    assert "Set-Cookie" not in response.headers


def test_health_is_503_while_migrations_are_behind(tmp_path):
    from flask_migrate import upgrade

    url = "sqlite:///" + str(tmp_path / "old.sqlite")
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "k", "EXPORT_KEY": "k", "DISCLOSURE_KEY": "k", "SQLALCHEMY_DATABASE_URI": url}
    )
    client = app.test_client()
    empty = client.get("/health")  # never migrated
    assert empty.status_code == 503 and empty.get_json()["migration_state"] == "behind"
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="0008")
    body = client.get("/health").get_json()
    assert client.get("/health").status_code == 503
    assert body["status"] == "unavailable" and body["database"] == "ok" and body["migration"] == "0008"
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    assert client.get("/health").status_code == 200
    with app.app_context():  # a newer release migrated the database: this server still serves (rolling upgrade)
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_newer'"))
        db.engine.dispose()
    newer = client.get("/health")
    assert newer.status_code == 200 and newer.get_json()["migration_state"] == "ahead"


def test_unreachable_database_answers_503_not_500(app, apps):
    down = _app_like(app, SQLALCHEMY_DATABASE_URI=DEAD_POSTGRES, DB_CONNECT_TIMEOUT=2)
    apps.append(down)
    client = down.test_client()
    health = client.get("/health")
    assert health.status_code == 503
    assert health.get_json()["database"] == "unreachable" and health.get_json()["status"] == "unavailable"
    page = client.get("/")
    assert page.status_code == 503 and "briefly unavailable" in page.text and "try again" in page.text
    assert page.headers["Retry-After"] == "30" and "Traceback" not in page.text
    api = client.get("/api/v1/conditions")
    assert api.status_code == 503 and api.get_json()["error"] == "The registry is briefly unavailable."
    form = client.post("/login", data={"email": "a@example.org", "password": "whatever it is"})
    assert form.status_code == 503


def test_redis_down_costs_speed_not_pages(app, apps, community, caplog):
    down = _app_like(app, REDIS_URL=DEAD_REDIS, RATELIMIT_ENABLED=True)
    apps.append(down)
    client = down.test_client()
    with caplog.at_level(logging.WARNING, logger="registry.cache"):
        for url in (
            "/conditions/migraine",
            "/conditions/migraine/treatments/sumatriptan",
            "/api/v1/conditions/migraine/treatments",
            "/experiences/new",
            "/conditions/migraine",
        ):
            response = client.get(url)
            assert response.status_code in (200, 302), (url, response.status_code)
        assert "Sumatriptan" in client.get("/conditions/migraine").text
        # Rate limits on Redis too: counted in memory meanwhile, the log-in still answers.
        login = client.post("/login", data={"email": "nobody@example.org", "password": "wrong password"})
        assert login.status_code == 200 and "Email or password is not right." in login.text
    outage_logs = [r for r in caplog.records if r.name == "registry.cache" and "unreachable" in r.message]
    assert len(outage_logs) == 1  # logged once, not once per request
    health = client.get("/health")
    assert health.status_code == 200
    assert health.get_json()["cache"] == "degraded" and health.get_json()["cache_errors"] >= 1


def _redis_or_skip():
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI: {error}")
        pytest.skip(f"Redis at 127.0.0.1:6379 is unreachable: {error}")


def test_health_says_ok_with_redis_up(app, apps):
    _redis_or_skip()
    shared = _app_like(app, REDIS_URL="redis://127.0.0.1:6379/0")
    apps.append(shared)
    body = shared.test_client().get("/health").get_json()
    assert body["cache"] == "ok" and body["cache_errors"] == 0


def test_killed_database_connections_cost_no_500(app, apps, community, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    served = _app_like(app)
    apps.append(served)
    client = served.test_client()
    urls = [
        "/",
        "/conditions/migraine",
        "/conditions/migraine/treatments/sumatriptan",
        "/api/v1/conditions",
        "/health",
        "/about",
    ]
    killer = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    statuses = []
    try:
        for round_ in range(3):
            for url in urls:
                statuses.append(client.get(url).status_code)
            with killer.connect() as conn:  # a restart or failover: every other connection is gone
                killed = conn.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar()
            assert killed >= 1, "the app's pooled connections were not killed"
            for url in urls:
                statuses.append(client.get(url).status_code)
    finally:
        killer.dispose()
    assert statuses == [200] * len(statuses), statuses


def test_pool_settings_reach_the_engine_on_postgresql(app, apps):
    url = PG_URL or "postgresql+psycopg://registry@127.0.0.1:5432/registry"
    sized = _app_like(
        app,
        SQLALCHEMY_DATABASE_URI=url.replace("postgresql://", "postgresql+psycopg://"),
        DB_POOL_SIZE=3,
        DB_MAX_OVERFLOW=1,
    )
    apps.append(sized)
    with sized.app_context():
        pool = db.engine.pool
        assert (pool.size(), pool._max_overflow, pool._pre_ping) == (3, 1, True)


def test_connection_killed_during_a_request_costs_no_500(app, apps, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    served = _app_like(app)
    apps.append(served)
    killer = sa.create_engine(database_url, poolclass=sa.pool.NullPool)

    @served.get("/killed-after-reading")
    def killed_after_reading():
        # The view has read and answered; the database drops the connection before the request ends.
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with killer.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return "read"

    @served.get("/killed-mid-request")
    def killed_mid_request():
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with killer.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return str(db.session.execute(sa.text("SELECT 1")).scalar())

    client = served.test_client()
    try:
        assert client.get("/killed-after-reading").status_code == 200
        mid = client.get("/killed-mid-request")
        assert mid.status_code == 503 and "briefly unavailable" in mid.text
        assert client.get("/health").status_code == 200  # the pool replaced the connection
    finally:
        killer.dispose()
