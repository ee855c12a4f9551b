"""Rate limits (registry.platform.extensions.limiter): on log-in, registration, submissions and the API."""

from contextlib import contextmanager

import pytest

from registry.app import create_app
from registry.platform.extensions import db


@contextmanager
def limits_on(app, **limits):
    """The test app's settings with the rate limits on, and these (created after `app`, so it holds the limiter)."""
    keys = ("TESTING", "SECRET_KEY", "EXPORT_KEY", "DISCLOSURE_KEY", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED")
    limited = create_app({**{key: app.config[key] for key in keys}, "RATELIMIT_ENABLED": True, **limits})
    try:
        yield limited
    finally:
        with limited.app_context():
            db.engine.dispose()


@pytest.fixture
def limited(app):
    """The rate limits on and small."""
    with limits_on(
        app,
        RATELIMIT_LOGIN="3 per minute",
        RATELIMIT_REGISTER="2 per hour",
        RATELIMIT_SUBMIT="2 per minute",
        RATELIMIT_API="4 per minute",
    ) as limited:
        yield limited


def test_login_is_limited_with_a_clear_page_and_retry_after(limited, make):
    make.user(email="known@example.org")
    client = limited.test_client()
    assert client.post("/login", data={"email": "known@example.org", "password": "wrong password"}).status_code == 200
    for _ in range(2):  # every POST counts, valid or not
        assert client.post("/login", data={}).status_code == 200
    blocked = client.post("/login", data={"email": "known@example.org", "password": "correct horse battery"})
    assert blocked.status_code == 429
    assert "Too many requests. Please wait" in blocked.text and "try again" in blocked.text and "<nav" in blocked.text
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert client.get("/login").status_code == 200  # reading the form is not limited


def test_registration_is_limited(limited):
    client = limited.test_client()
    for n in range(2):
        assert (
            client.post(
                "/register",
                data={
                    "email": f"x{n}@example.org",
                    "pseudonym": f"member {n}",
                    "password": "long enough pw",
                    "confirm": "long enough pw",
                },
            ).status_code
            == 302
        )
        client.post("/logout")
    assert client.post("/register", data={"email": "late@example.org"}).status_code == 429


def test_experience_and_rating_posts_share_one_budget(limited, make):
    make.user(email="a@example.org")
    client = limited.test_client()
    assert (
        client.post("/login", data={"email": "a@example.org", "password": "correct horse battery"}).status_code == 302
    )
    assert client.post("/experiences/new", data={}).status_code != 429
    assert client.post("/ratings/new?doctor=1", data={}).status_code != 429
    assert client.post("/experiences/new", data={}).status_code == 429
    assert client.get("/experiences/new").status_code == 200  # the forms themselves still open


def test_deletes_count_under_the_addresss_submission_budget(limited, make):
    make.user(email="a@example.org")
    client = limited.test_client()
    client.post("/login", data={"email": "a@example.org", "password": "correct horse battery"})
    assert client.post("/experiences/1/delete").status_code == 404  # none of one's own, but a POST all the same
    assert client.post("/ratings/new?doctor=1", data={}).status_code != 429
    assert client.post("/ratings/1/delete").status_code == 429


@pytest.mark.parametrize("name", ["RATELIMIT_SUBMIT_PAIR", "RATELIMIT_SUBMIT_ACCOUNT", "RATELIMIT_LOGIN"])
def test_a_mistyped_limit_stops_the_start_instead_of_switching_the_limit_off(name):
    with pytest.raises(ValueError, match=name):
        create_app({"TESTING": True, "SECRET_KEY": "k", name: "3 per dya"})


def test_the_api_answers_429_in_json(limited):
    client = limited.test_client()
    for url in ("/api/v1/conditions", "/api/v1/doctors", "/api/v1/doctors/1", "/api/v1/conditions"):
        assert client.get(url).status_code != 429
    blocked = client.get("/api/v1/doctors")
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert "wait" in blocked.get_json()["error"]


def test_limits_are_off_when_the_setting_says_so(client):
    for _ in range(12):  # more than the default 10 per minute
        assert client.post("/login", data={}).status_code == 200


def test_limits_are_shared_through_redis_when_configured(app, redis_url):
    """Two workers on one Redis count one budget, and the count lives in Redis (gone from there, gone)."""
    import uuid

    import redis

    url = redis_url
    store = redis.Redis.from_url(url, socket_connect_timeout=1)
    prefix = f"test-limits-{uuid.uuid4().hex}"  # other test runs may share this Redis
    # The limiter is one object per process and keeps the first app's key prefix, so this run's
    # counts are found by a client address of their own.
    address = "10." + ".".join(str(b) for b in uuid.uuid4().bytes[:3])
    env = {"REMOTE_ADDR": address}
    keys = ("TESTING", "SECRET_KEY", "EXPORT_KEY", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED")
    config = {
        **{key: app.config[key] for key in keys},
        "REDIS_URL": url,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_LOGIN": "3 per minute",
        "RATELIMIT_KEY_PREFIX": prefix,
    }
    first, second = create_app(config), create_app(config)  # two workers
    assert second.config["RATELIMIT_STORAGE_URI"] == url
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    try:
        for worker in (first, first, second):
            assert worker.test_client().post("/login", data={}, environ_base=env).status_code == 200
        assert second.test_client().post("/login", data={}, environ_base=env).status_code == 429  # the fourth
        stored = store.keys(f"*/{address}/*")
        assert stored  # the count is in Redis...
        store.delete(*stored)
        assert first.test_client().post("/login", data={}, environ_base=env).status_code == 200  # ...read from there
    finally:
        store.delete(*store.keys(f"*/{address}/*") or [prefix])
        for worker in (first, second):
            with worker.app_context():
                db.engine.dispose()
