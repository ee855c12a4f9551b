"""Accounts: registration, log-in, password change, profile and consent (registry.accounts.auth + views)."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from registry.models import ConsentEvent, LoginFailure, User
from registry.platform.extensions import db

GOOD = {"email": "ana@example.org", "pseudonym": "ana-k", "password": "long enough pw", "confirm": "long enough pw"}


def count_users(app):
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def test_register_creates_a_hashed_account_and_logs_in(client, app):
    response = client.post("/register", data=GOOD)
    assert response.status_code == 302 and response.location.endswith("/account")
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.email == "ana@example.org" and user.pseudonym == "ana-k"
        assert user.account_role == "patient"
        assert "long enough pw" not in user.password_hash and user.check_password("long enough pw")
    page = client.get("/account")
    assert "ana-k" in page.text


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"password": "short", "confirm": "short"}, "password", "Use at least 10 characters"),
        ({"confirm": "something else"}, "confirm", "The passwords differ."),
        ({"email": "not-an-email"}, "email", "Invalid email address"),
        ({"pseudonym": "ana@example.org"}, "pseudonym", "letters, digits"),
        ({"pseudonym": ""}, "pseudonym", "This field is required."),
        ({"pseudonym": "___"}, "pseudonym", "at least 3 letters or digits"),
    ],
)
def test_register_rejects_bad_input_keeps_answers_and_saves_nothing(client, app, change, field, message):
    response = client.post("/register", data={**GOOD, **change})
    assert response.status_code == 200
    assert message in response.text
    assert f'id="{field}-error"' in response.text
    assert 'aria-invalid="true"' in response.text
    if field != "email":
        assert 'value="ana@example.org"' in response.text  # the other answers stay filled in
    assert count_users(app) == 0


def test_register_rejects_duplicate_email_and_pseudonym(client, app, make):
    make.user(email="Ana@Example.org", pseudonym="Ana K")
    response = client.post("/register", data={**GOOD, "pseudonym": "ana  k"})
    assert "already exists" in response.text
    assert "This public name is taken" in response.text
    assert count_users(app) == 1


def test_login_failure_does_not_reveal_whether_the_email_exists(client, make):
    make.user(email="known@example.org")
    wrong_password = client.post("/login", data={"email": "known@example.org", "password": "wrong password"})
    unknown_email = client.post("/login", data={"email": "nobody@example.org", "password": "wrong password"})
    assert wrong_password.status_code == unknown_email.status_code == 200
    assert "Email or password is not right." in wrong_password.text
    assert "Email or password is not right." in unknown_email.text


def test_login_checks_a_password_hash_whether_or_not_the_email_exists(client, make, monkeypatch):
    from registry.accounts import auth

    make.user(email="known@example.org")
    checked = []
    real_check = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda *a: checked.append(1) or real_check(*a))
    assert (
        client.post("/login", data={"email": "nobody@example.org", "password": "wrong password"}).status_code == 200
    )  # refused, the form again
    assert checked == [1]  # the unknown email costs a hash check, as a wrong password does


def test_login_starts_a_fresh_session_and_keeps_next(client, make):
    make.user(email="a@example.org")
    with client.session_transaction() as session:
        session["planted"] = "by another site"  # a session fixed before log-in
    response = client.post("/login?next=/account", data={"email": "a@example.org", "password": "correct horse battery"})
    assert response.location == "/account"
    with client.session_transaction() as session:
        assert "planted" not in session and session["_user_id"]
    assert "You are logged in." in client.get("/account").text


def test_login_and_logout(client, auth):
    auth.login()
    assert client.get("/account").status_code == 200
    assert client.get("/logout").status_code == 405  # log-out is a POST only
    auth.logout()
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.location


def test_login_ignores_an_offsite_next(client, make):
    make.user(email="a@example.org")
    response = client.post(
        "/login?next=https://evil.example/", data={"email": "a@example.org", "password": "correct horse battery"}
    )
    assert response.location == "/"


def test_change_password_signs_out_other_sessions(app, auth, client):
    auth.login()
    other = app.test_client()
    assert (
        other.post("/login", data={"email": "patient@example.org", "password": "correct horse battery"}).status_code
        == 302
    )
    assert other.get("/account").status_code == 200
    response = client.post(
        "/account/password",
        data={"current": "correct horse battery", "password": "a new password", "confirm": "a new password"},
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200  # this session stays
    assert other.get("/account").status_code == 302  # the other is signed out


def test_change_password_rejects_a_wrong_current_password(auth, client, app):
    auth.login()
    response = client.post(
        "/account/password",
        data={"current": "wrong password", "password": "a new password", "confirm": "a new password"},
    )
    assert "This is not your current password." in response.text
    with app.app_context():
        assert db.session.scalar(select(User)).check_password("correct horse battery")


def test_profile_saves_optional_fields_and_consent(auth, client, app):
    user_id = auth.login()
    response = client.post(
        "/account", data={"birth_year": "1980", "sex": "female", "country": "DE", "research_consent": "y"}
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, user_id)
        assert (user.birth_year, user.sex, user.country) == (1980, "female", "DE")
        assert user.has_research_consent and user.research_consent_version
        assert user.research_consent_at.tzinfo is not None
    assert (
        client.post("/account", data={"birth_year": "1980", "sex": "female", "country": "DE"}).status_code == 302
    )  # unticked: withdraw
    with app.app_context():
        user = db.session.get(User, user_id)
        assert not user.has_research_consent
        events = db.session.scalars(select(ConsentEvent.action).order_by(ConsentEvent.id)).all()
        assert events == ["given", "withdrawn"]


def test_consent_is_unticked_by_default(auth, client):
    auth.login()
    page = client.get("/account").text
    assert 'name="research_consent"' in page and "checked" not in page.split('name="research_consent"')[1][:40]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"birth_year": "1850"}, "Enter a year such as 1980."),
        ({"birth_year": "nineteen"}, "Enter a year such as 1980."),
        ({"birth_year": "1" * 400}, "Enter a year such as 1980."),
        ({"sex": "robot"}, "Not a valid choice."),
        ({"country": "XX"}, "Not a valid choice."),
    ],
)
def test_profile_rejects_bad_input(auth, client, app, data, message):
    user_id = auth.login()
    response = client.post("/account", data={"research_consent": "y", **data})
    assert response.status_code == 200 and message in response.text
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.birth_year is None and not user.has_research_consent


@pytest.mark.parametrize("url", ["/account", "/account/password", "/conditions/new", "/treatments/new", "/doctors/new"])
def test_signed_in_pages_require_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login?next=" in response.location


def test_forms_are_csrf_protected(app, make):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    response = client.post("/register", data=GOOD)
    assert response.status_code == 400 and "expired" in response.text
    assert count_users(app) == 0
    page = client.get("/register").text
    assert 'name="csrf_token"' in page


# --- sessions that end -------------------------------------------------------------------------

PASSWORD = "correct horse battery"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"


def login(client, email="patient@example.org", password=PASSWORD, **data):
    return client.post("/login", data={"email": email, "password": password, **data}, headers={"User-Agent": FIREFOX})


def copy_cookie(source, target, name):
    target.set_cookie(name, source.get_cookie(name).value)


def test_a_copied_session_cookie_is_dead_after_log_out(app, make):
    make.user(email="patient@example.org")
    browser, thief = app.test_client(), app.test_client()
    login(browser)
    copy_cookie(browser, thief, "session")
    assert thief.get("/account").status_code == 200  # a copy works while the log-in lasts...
    browser.post("/logout")
    assert thief.get("/account").status_code == 302  # ...and not after it ended
    assert browser.get("/account").status_code == 302


def test_the_remember_cookie_alone_is_rotated_on_use_and_dies_at_log_out(app, make):
    make.user(email="patient@example.org")
    browser = app.test_client()
    login(browser, remember="y")
    first = browser.get_cookie("remember_token").value
    restored = app.test_client()  # the browser restarted: only the remember cookie is left
    restored.set_cookie("remember_token", first)
    assert restored.get("/account").status_code == 200
    second = restored.get_cookie("remember_token").value
    assert second != first  # rotated on use
    stale = app.test_client()
    stale.set_cookie("remember_token", first)
    assert stale.get("/account").status_code == 302  # the used one is dead
    restored.post("/logout")
    after = app.test_client()
    after.set_cookie("remember_token", second)
    assert after.get("/account").status_code == 302  # and log-out kills the new one


def test_log_out_everywhere_ends_every_device(app, make):
    make.user(email="patient@example.org")
    phone, laptop = app.test_client(), app.test_client()
    login(phone)
    login(laptop, remember="y")
    response = phone.post("/account/sessions/end-all")
    assert response.status_code == 302 and "/login" in response.location
    assert phone.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 302
    alone = app.test_client()
    alone.set_cookie("remember_token", laptop.get_cookie("remember_token").value)
    assert alone.get("/account").status_code == 302


def test_the_account_page_lists_devices_without_addresses_and_ends_one(app, make):
    from registry.models import UserSession

    make.user(email="patient@example.org")
    phone, laptop = app.test_client(), app.test_client()
    assert (
        phone.post(
            "/login",
            data={"email": "patient@example.org", "password": PASSWORD},
            headers={
                "User-Agent": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36"
            },
        ).status_code
        == 302
    )
    login(laptop)
    page = laptop.get("/account").text
    assert "Firefox on Linux" in page and "Chrome on Android" in page and "this device" in page
    assert "127.0.0.1" not in page
    with app.app_context():
        phone_row = db.session.scalar(select(UserSession).where(UserSession.device == "Chrome on Android"))
        assert not hasattr(phone_row, "ip") and not hasattr(phone_row, "address")
    assert laptop.post(f"/account/sessions/{phone_row.id}/end").status_code == 302
    assert phone.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 200


def test_one_cannot_end_another_accounts_session(app, make):
    from registry.models import UserSession

    make.user(email="patient@example.org")
    make.user(email="other@example.org")
    mine, theirs = app.test_client(), app.test_client()
    login(mine)
    login(theirs, email="other@example.org")
    with app.app_context():
        their_row = db.session.scalar(select(UserSession).join(User).where(User.email == "other@example.org"))
    assert mine.post(f"/account/sessions/{their_row.id}/end").status_code == 302
    assert theirs.get("/account").status_code == 200


@pytest.mark.parametrize(
    "agent, family",
    [
        (FIREFOX, "Firefox on Linux"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36 Edg/130.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/537.36 Chrome/130.0 Safari/537.36",
            "Chrome on macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 SamsungBrowser/23.0 "
            "Chrome/115.0.0.0 Mobile Safari/537.36",
            "Samsung Internet on Android",
        ),
        ("python-requests/2.31", "a script"),
        (None, "Unknown browser"),
    ],
)
def test_device_family(agent, family):
    from registry.accounts.auth import device_family

    assert device_family(agent) == family


def test_a_disabled_account_cannot_log_in_and_is_logged_out(app, make, runner):
    make.user(email="patient@example.org")
    browser = app.test_client()
    login(browser)
    result = runner.invoke(args=["users", "disable", "patient@example.org"])
    assert result.exit_code == 0, result.output
    assert browser.get("/account").status_code == 302
    refused = login(app.test_client())
    assert refused.status_code == 200 and "This account is disabled" in refused.text
    runner.invoke(args=["users", "enable", "patient@example.org"])
    assert login(app.test_client()).status_code == 302


# --- limits ------------------------------------------------------------------------------------


def test_failed_log_ins_per_email_bring_a_growing_delay_not_a_lock_out(app, make):
    from registry.accounts import auth as account

    make.user(email="patient@example.org")
    owner = app.test_client()
    login(owner)  # the owner's browser has logged in here before
    owner.post("/logout")
    for n in range(account.FREE_FAILURES):  # guesses from ever new addresses: no per-address limit helps
        guess = app.test_client()
        response = guess.post(
            "/login",
            data={"email": "patient@example.org", "password": f"guess {n}"},
            environ_base={"REMOTE_ADDR": f"203.0.113.{n}"},
        )
        assert "Email or password is not right." in response.text
    attacker = app.test_client()
    waiting = login(attacker)  # even the right password is not checked while the email waits
    assert waiting.status_code == 429 and "Wait 1 second" in waiting.text
    assert attacker.get("/account").status_code == 302
    assert login(owner).status_code == 302  # the owner's own browser is not shut out
    with app.app_context():  # the owner's log-in cleared the counter
        assert account.login_wait("patient@example.org") == 0


def test_the_delay_grows_and_is_the_same_for_unknown_emails(app, make, monkeypatch):
    from registry.accounts import auth as account

    # A stopped clock: on a loaded machine a second could pass between the two refusals below.
    stopped = account.now_utc()
    monkeypatch.setattr(account, "now_utc", lambda: stopped)
    make.user(email="patient@example.org")
    assert [account.delay_for(n) for n in (0, 4, 5, 6, 10, 40)] == [0, 0, 1, 2, 32, account.MAX_DELAY]
    client = app.test_client()
    for n in range(account.FREE_FAILURES + 2):
        with app.app_context():  # as if each attempt came after the previous delay
            db.session.execute(sa.update(LoginFailure).values(last_failed_at=account.now_utc() - timedelta(hours=1)))
            db.session.commit()
        for email in ("patient@example.org", "nobody@example.org"):
            assert (
                client.post("/login", data={"email": email, "password": f"guess {n}"}).status_code == 200
            )  # refused, no delay yet
    known = login(client, "patient@example.org")
    unknown = login(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 429
    assert known.text.replace("patient@example.org", "X") == unknown.text.replace("nobody@example.org", "X")
    assert "Wait 4 seconds" in known.text


def test_password_change_is_limited_per_address_and_per_account(app, make):
    from registry.app import create_app

    keys = ("TESTING", "SECRET_KEY", "EXPORT_KEY", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED")
    limited = create_app(
        {**{k: app.config[k] for k in keys}, "RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "8 per minute"}
    )
    try:
        make.user(email="patient@example.org")
        client = limited.test_client()
        login(client)
        wrong = {"current": "wrong password", "password": "a new password", "confirm": "a new password"}
        answers = [client.post("/account/password", data=wrong).status_code for _ in range(8)]
        # five wrong answers, then the account's delay; then the address's limit (with a clear page)
        assert answers[:5] == [200] * 5 and 429 in answers[5:]
        blocked = client.post("/account/password", data=wrong)
        assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    finally:
        with limited.app_context():
            db.engine.dispose()


# --- no cache for private pages ------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/account", "/experiences", "/account/data", "/account/password", "/"])
def test_signed_in_pages_are_not_stored(client, auth, url):
    auth.login()
    response = client.get(url)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_a_private_download_is_not_stored(client, auth):
    auth.login()
    response = client.post("/account/data/download", data={"format": "json"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_public_pages_for_visitors_may_be_cached(client):
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")


def test_an_idle_log_in_expires_and_is_cleared_at_the_next_log_in(app, make):
    from registry.models import UserSession

    make.user(email="patient@example.org")
    idle, kept = app.test_client(), app.test_client()
    login(idle)
    login(kept, remember="y")
    with app.app_context():  # both unused for 13 hours: the plain one is over, the remembered one lasts 30 days
        for row in db.session.scalars(select(UserSession)):
            row.last_seen_at = row.last_seen_at - timedelta(hours=13)
        db.session.commit()
    assert idle.get("/account").status_code == 302
    assert kept.get("/account").status_code == 200
    login(app.test_client())
    with app.app_context():
        assert db.session.scalar(select(func.count(UserSession.id))) == 2  # the expired row is gone, a new one came
