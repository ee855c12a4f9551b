"""Fixtures: the app on every configured database, its client, CLI runner, and row factories.

Every test runs on SQLite; when REGISTRY_TEST_DATABASE_URL is set, it runs on PostgreSQL too.
Hypothesis runs the "dev" profile, or "ci" (many more examples) when CI=true; see below.
The schema is built once per database through the migrations, as `registry init` builds it,
and every test starts from empty tables.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from hypothesis import settings

from registry import MIGRATIONS
from registry.app import create_app
from registry.platform.extensions import db

PG_URL = os.environ.get("REGISTRY_TEST_DATABASE_URL", "")

# Hypothesis profiles. "dev" (the default) runs few examples, random ones, and replays a failure it found
# from its local example database (.hypothesis/). "ci" (CI=true) runs many more random examples, keeps no
# database, and prints the failing example with the @reproduce_failure(...) line that replays it exactly.
# HYPOTHESIS_PROFILE=ci runs CI's amount locally. Tests scale their example counts from max_examples
# (tests/test_properties.py's examples()).
settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("ci", max_examples=200, deadline=None, database=None, print_blob=True, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev"))
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _base_config(url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "EXPORT_KEY": "test-export-key",
        "DISCLOSURE_KEY": "test-disclosure-key",
        # Arithmetic tests check exact counts; tests of the noise use their own perturbing app.
        "DISCLOSURE": "exact",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,  # tests that check the limits turn them on for their own app
        "RELEASE": "auto",  # pages publish before they are read; tests of releases run them by hand
    }


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    except sa.exc.OperationalError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {url} is unreachable under CI: {error}")
        pytest.skip(f"PostgreSQL at {url} is unreachable: {error}")
    finally:
        engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> str:
    """A migrated, empty database of each configured kind."""
    from flask_migrate import upgrade

    from registry.platform.settings import _normalize_db_url

    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")
    else:
        url = _normalize_db_url(PG_URL)
        _reset_postgres(url)
    app = create_app(_base_config(url))
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        db.engine.dispose()
    return url


@pytest.fixture
def app(database_url):
    """A fresh app on empty tables."""
    app = create_app(_base_config(database_url))
    yield app
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # ids restart at 1, as on a fresh SQLite table
                names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
                conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            else:
                from registry.reporting import report_upkeep

                with report_upkeep.bulk_write():  # emptied whole, counts and all
                    for table in reversed(db.metadata.sorted_tables):
                        conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def base_config(database_url) -> dict:
    """The tests' app settings on this database, for tests that make an app of their own (perturbed, manual)."""
    return _base_config(database_url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An application context for tests that call the domain directly."""
    with app.app_context():
        yield


class Factory:
    """Small helpers that add rows and commit."""

    def __init__(self, app):
        self.app = app
        self.counter = 0

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def user(self, email=None, password="correct horse battery", role="patient", pseudonym=None, **profile):
        from registry.accounts import auth

        with self.app.app_context():
            n = self._next()
            user = auth.create_user(email or f"user{n}@example.org", password, pseudonym or f"member{n}", role)
            for key, value in profile.items():
                setattr(user, key, value)
            db.session.commit()
            return user.id

    def condition(self, name="Migraine", icd10="G43", synonyms=(), treatments=()):
        from registry.catalog import catalog
        from registry.models import Treatment

        with self.app.app_context():
            condition, _ = catalog.add_condition(name, icd10, synonyms)
            for slug in treatments:
                treatment = db.session.scalar(sa.select(Treatment).where(Treatment.slug == slug))
                if treatment not in condition.treatments:  # the starter catalog may link them already
                    condition.treatments.append(treatment)
            db.session.commit()
            return condition.slug

    def treatment(self, name="Sumatriptan", kind="drug", synonyms=()):
        from registry.catalog import catalog

        with self.app.app_context():
            treatment, _ = catalog.add_treatment(name, kind, synonyms)
            db.session.commit()
            return treatment.slug

    def member(self, **profile) -> int:
        """A participant added without hashing a password (fast, for aggregate fixtures)."""
        from registry.models import User

        with self.app.app_context():
            n = self._next()
            user = User(
                email=f"member{n}@example.org",
                pseudonym=f"member{n}",
                pseudonym_key=f"member{n}",
                password_hash="!",
                session_token=f"t{n}",
                **profile,
            )
            db.session.add(user)
            db.session.commit()
            return user.id

    def experience(
        self,
        condition="migraine",
        treatment="sumatriptan",
        user_id=None,
        side_effects=(),
        stop_reasons=(),
        diagnosed=None,
        **values,
    ):
        """Add one experience (by a new member unless user_id is given); return its id."""
        from registry.contributions import experiences
        from registry.models import User

        answers = {
            "role": "patient",
            "started": "2024-01",
            "stopped": None,
            "effectiveness": "moderate",
            "side_effect_severity": "mild",
            "satisfaction": 7,
            "would_recommend": "yes",
            **values,
            "side_effects": list(side_effects),
            "stop_reasons": list(stop_reasons),
        }
        user_id = user_id or self.member(**{k: answers.pop(k) for k in ("birth_year", "sex") if k in answers})
        with self.app.app_context():
            condition_row, treatment_row = experiences.by_slugs(condition, treatment)
            saved = experiences.save(db.session.get(User, user_id), condition_row, treatment_row, answers, diagnosed)
            db.session.commit()
            return saved.id


@pytest.fixture
def make(app):
    return Factory(app)


class AuthActions:
    def __init__(self, client, make):
        self._client = client
        self._make = make

    def login(self, email="patient@example.org", password="correct horse battery", role="patient", **profile):
        """Create the account if needed and log in as it; return the user id."""
        from registry.accounts import auth

        with self._make.app.app_context():
            existing = auth.find_user(email)
            user_id = existing.id if existing else None
        if user_id is None:
            user_id = self._make.user(email=email, password=password, role=role, **profile)
        response = self._client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, response.text
        return user_id

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client, make):
    return AuthActions(client, make)


PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What never goes into a build: a copy of the checkout without these builds the wheel from the sources alone.
_LOCAL_STATE = {
    ".git",
    ".venv",
    "venv",
    "build",
    "dist",
    "instance",
    "docs",
    "node_modules",
    ".pytest_cache",
    ".hypothesis",
}


def _not_sources(folder: str, names: list[str]) -> set[str]:
    top = os.path.abspath(folder) == PROJECT
    return {
        n
        for n in names
        if n == "__pycache__" or n.endswith(".egg-info") or (top and (n in _LOCAL_STATE or n.startswith("export")))
    }


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """The project's wheel, built as `pip wheel .` builds it, from a clean copy of the sources."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    source = tmp_path_factory.mktemp("source") / "registry"
    shutil.copytree(PROJECT, source, ignore=_not_sources)
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: setuptools is already installed (a runtime dependency), and no network is needed.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        check=True,
    )
    (built,) = Path(out).glob("treatment_registry-*.whl")
    return built


# --- mail: a real SMTP server on 127.0.0.1 ------------------------------------------------------


class Inbox:
    """What the test SMTP server received, parsed."""

    def __init__(self):
        self.messages = []
        self._lock = __import__("threading").Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        import email
        from email import policy

        with self._lock:
            self.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted for delivery"

    def wait(self, count: int = 1, timeout: float = 10.0) -> list:
        """The first count messages, waiting for them (mail goes out on a thread after the answer)."""
        import time

        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.messages) >= count, f"expected {count} mails, got {len(self.messages)}"
        return self.messages[:count]


@pytest.fixture
def smtp():
    """An SMTP server on a free port of 127.0.0.1; yields (port, inbox)."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


@pytest.fixture
def mail_app(app, smtp):
    """The test app's database, mailing through the SMTP server above; links from a public base URL."""
    port, _ = smtp
    mailing = create_app(
        {
            **_base_config(app.config["SQLALCHEMY_DATABASE_URI"]),
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
            "MAIL_SENDER": "registry@registry.example",
            "BASE_URL": "https://registry.example",
        }
    )
    yield mailing
    with mailing.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def inbox(smtp):
    return smtp[1]


@pytest.fixture
def redis_url() -> str:
    """The test Redis (database 15 on 127.0.0.1:6379); the test is skipped without it, and fails under CI."""
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at 127.0.0.1:6379 is required under CI: {error}")
        pytest.skip(f"Redis at 127.0.0.1:6379 is unreachable: {error}")
    return url
