"""Accounts: registration, log-in, password change, profile and consent (registry.auth + views)."""

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import ConsentEvent, User

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
    from registry import auth

    make.user(email="known@example.org")
    checked = []
    real_check = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda *a: checked.append(1) or real_check(*a))
    client.post("/login", data={"email": "nobody@example.org", "password": "wrong password"})
    assert checked == [1]  # the unknown email costs a hash check, as a wrong password does


def test_login_starts_a_fresh_session_and_keeps_next(client, make):
    make.user(email="a@example.org")
    with client.session_transaction() as session:
        session["planted"] = "by another site"  # a session fixed before log-in
    response = client.post(
        "/login?next=/account", data={"email": "a@example.org", "password": "correct horse battery"}
    )
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
    other.post("/login", data={"email": "patient@example.org", "password": "correct horse battery"})
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
        "/account/password", data={"current": "wrong password", "password": "a new password", "confirm": "a new password"}
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
    client.post("/account", data={"birth_year": "1980", "sex": "female", "country": "DE"})  # unticked: withdraw
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
        ({"birth_year": "nineteen"}, "Not a valid integer value."),
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
