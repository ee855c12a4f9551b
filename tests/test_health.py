"""GET /health and the app under ordinary faults: a database gone or behind, Redis down, connections killed."""

from __future__ import annotations

import contextlib
import logging
import os

import pytest
import sqlalchemy as sa

from registry import MIGRATIONS
from registry.app import create_app
from registry.platform.extensions import db
from registry.web.health import migration_heads

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
    with caplog.at_level(logging.WARNING, logger="registry.platform.cache"):
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
    outage_logs = [r for r in caplog.records if r.name == "registry.platform.cache" and "unreachable" in r.message]
    assert len(outage_logs) == 1  # logged once, not once per request
    health = client.get("/health")
    assert health.status_code == 200
    assert health.get_json()["cache"] == "degraded" and health.get_json()["cache_errors"] >= 1


def test_health_says_ok_with_redis_up(app, apps, redis_url):
    shared = _app_like(app, REDIS_URL=redis_url)
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


# --- the database taken away from a signed-in reader (issue 26) ----------------------------------------

OUTAGE_PAGES = [
    "/",
    "/conditions/migraine",
    "/conditions/migraine/treatments/sumatriptan",
    "/experiences",
    "/whats-new",
    "/account",
    "/no/such/page",
    "/api/v1/conditions",
    "/api/v1/conditions/migraine/treatments",
]


def _sqlite_file(url: str):
    from pathlib import Path

    return Path(url.removeprefix("sqlite:///"))


@contextlib.contextmanager
def _sqlite_gone(app, url: str):
    """The database file moved away and a folder in its place: every new connection fails to open it."""
    path = _sqlite_file(url)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # pooled connections would keep reading the moved file
    moved = [(p, p.with_name(p.name + ".away")) for p in (path, path.with_name(path.name + "-wal")) if p.exists()]
    for source, target in moved:
        source.rename(target)
    path.mkdir()
    try:
        yield
    finally:
        path.rmdir()
        for source, target in moved:
            target.rename(source)


@contextlib.contextmanager
def _postgres_gone(app, url: str):
    """No new connections to the test's own database, and every open one terminated."""
    admin_url = sa.engine.make_url(url).set(database="postgres")
    admin = sa.create_engine(admin_url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    name = sa.engine.make_url(url).database
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
        )
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


@contextlib.contextmanager
def _own_postgres_database():
    """A database of this test's own on the test server (never the shared one, which other runs use)."""
    from flask_migrate import upgrade

    base = sa.engine.make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    name = f"outage_{os.getpid()}"
    admin = sa.create_engine(base.set(database="postgres"), poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.SQLAlchemyError as error:
        admin.dispose()
        pytest.skip(f"cannot create a database of this test's own on PostgreSQL: {error}")
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        yield url, upgrade
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _signed_in_reader(app):
    """A client signed in as a participant with a report (a condition, a treatment, six reports)."""
    from registry.accounts import auth
    from registry.contributions import experiences
    from registry.models import User

    with app.app_context():
        from registry.catalog import catalog

        treatment, _ = catalog.add_treatment("Sumatriptan", "drug", ())
        condition, _ = catalog.add_condition("Migraine", "G43", ())
        condition.treatments.append(treatment)
        user = auth.create_user("reader@example.org", "correct horse battery", "reader")
        db.session.commit()
        for i in range(6):
            member = user if i == 0 else User(email=f"m{i}@example.org", pseudonym=f"m{i}", pseudonym_key=f"m{i}")
            member.password_hash = member.password_hash or "!"
            member.session_token = member.session_token or f"t{i}"
            db.session.add(member)
            db.session.flush()
            answers = {
                "role": "patient",
                "started": "2024-01",
                "effectiveness": "major",
                "side_effect_severity": "mild",
            }
            experiences.save(
                member, condition, treatment, {**answers, "satisfaction": 8, "would_recommend": "yes"}, None
            )
        db.session.commit()
    client = app.test_client()
    login = client.post("/login", data={"email": "reader@example.org", "password": "correct horse battery"})
    assert login.status_code == 302, login.text
    return client


def _outage_statuses(client) -> dict[str, int]:
    statuses = {url: client.get(url).status_code for url in OUTAGE_PAGES}
    statuses["/health"] = client.get("/health").status_code
    statuses["POST /logout"] = client.post("/logout").status_code  # after it, the cookie still names the log-in
    return statuses


def _check_outage(client) -> None:
    before = {url: client.get(url).status_code for url in OUTAGE_PAGES}
    assert set(before.values()) <= {200, 404}, before
    page = client.get("/experiences")
    assert page.status_code == 200 and "Log out" in page.text


def test_signed_in_reader_gets_503_not_500_while_the_database_is_gone(app, database_url, caplog):
    """Issue 26: a signed-in person's pages answered gunicorn's bare 500 during an outage (the 503 page's
    layout loaded the user from the database). Every page, JSON and the health check: 503 (a 404 stays
    404), none a 500; and once the database is back the same session reads its pages again."""
    if database_url.startswith("postgresql"):
        with _own_postgres_database() as (url, upgrade):
            own = create_app(
                {
                    **{k: app.config[k] for k in ("TESTING", "SECRET_KEY", "EXPORT_KEY", "DISCLOSURE_KEY")},
                    "SQLALCHEMY_DATABASE_URI": url,
                    "DISCLOSURE": "exact",
                    "RELEASE": "auto",
                    "WTF_CSRF_ENABLED": False,
                    "RATELIMIT_ENABLED": False,
                    "DB_CONNECT_TIMEOUT": 2,
                }
            )
            with own.app_context():
                upgrade(directory=str(MIGRATIONS))
            try:
                _outage_round(own, url, _postgres_gone)
            finally:
                with own.app_context():
                    db.session.remove()
                    db.engine.dispose()
        return
    from registry.web.views import errors

    errors._outage["logged_at"] = float("-inf")
    with caplog.at_level(logging.WARNING, logger="registry"):
        _outage_round(app, database_url, _sqlite_gone)
    # An outage is one warning per 10 s and worker, not one per request; never the SQL or its parameters.
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Database unavailable")]
    assert len(warnings) == 1 and "[SQL" not in warnings[0] and "parameters" not in warnings[0], warnings


def _outage_round(app, url, gone) -> None:
    client = _signed_in_reader(app)
    _check_outage(client)
    with gone(app, url):
        statuses = _outage_statuses(client)
        page = client.get("/experiences")
        api = client.get("/api/v1/conditions")
        health = client.get("/health").get_json()
    assert 500 not in statuses.values(), statuses
    assert {statuses[u] for u in OUTAGE_PAGES if u != "/no/such/page"} == {503}, statuses
    assert statuses["/no/such/page"] in (404, 503) and statuses["/health"] == 503, statuses
    assert "briefly unavailable" in page.text and page.headers["Retry-After"] == "30"
    assert page.headers["Cache-Control"] == "no-store"
    assert api.get_json() == {"error": "The registry is briefly unavailable.", "status": 503}
    assert health["database"] == "unreachable" and health["migration_state"] in ("unknown", None)
    # Back: the same cookie is still signed in (the log-out above could not end it), and pages answer.
    with app.app_context():
        db.engine.dispose()
    assert client.get("/experiences").status_code == 200
    assert client.get("/health").status_code == 200


def test_a_failed_read_of_the_migration_state_is_unknown_not_behind(app, monkeypatch):
    """Right after an outage one read may fail while the database answers again: 'unknown' (503), never 'behind'."""
    from registry.web import health

    real = db.session.scalars

    def failing(statement, *args, **kwargs):
        if "alembic_version" in str(statement):
            raise sa.exc.OperationalError(str(statement), {}, Exception("server closed the connection"))
        return real(statement, *args, **kwargs)

    client = app.test_client()
    with app.app_context():
        monkeypatch.setattr(db.session, "scalars", failing)
        report, healthy = health.check()
    assert report["database"] == "ok" and report["migration_state"] == "unknown" and not healthy
    assert report["migration"] is None and report["status"] == "unavailable"
    assert health.migration_state(None) == "behind" and health.migration_state(set(migration_heads())) == "current"
    monkeypatch.undo()
    assert client.get("/health").get_json()["migration_state"] == "current"


def test_the_release_version_is_the_changelogs_top_entry(client):
    """One version per release: CHANGELOG.md's first heading, registry.__version__, /health, `registry --version`."""
    import re
    from pathlib import Path

    from click.testing import CliRunner

    from registry import PROJECT_ROOT, __version__
    from registry.__main__ import cli

    changelog = (Path(PROJECT_ROOT) / "CHANGELOG.md").read_text(encoding="utf-8")
    top = re.search(r"^## (\S+)", changelog, re.M).group(1)
    assert top == __version__ and re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    assert client.get("/health").get_json()["version"] == __version__
    assert CliRunner().invoke(cli, ["--version"]).output.strip() == f"registry {__version__}"
