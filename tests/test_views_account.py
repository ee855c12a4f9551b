"""The data-rights pages (registry.web.views.account): download, withdraw consent, delete the account."""

import csv
import io
import zipfile

import pytest
from sqlalchemy import func, select

from registry.models import Experience, User
from registry.platform.extensions import db

PASSWORD = "correct horse battery"


@pytest.fixture
def catalog_rows(make):
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])


@pytest.fixture
def others(make, catalog_rows):
    """Five other participants, so that the condition's count is public."""
    return [make.experience(tips=f"a stranger's tip {i}") for i in range(5)]


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def give_consent(app, user_id):
    from registry.accounts import auth

    with app.app_context():
        auth.set_consent(db.session.get(User, user_id), True)
        db.session.commit()


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "/account/data"),
        ("post", "/account/data/download"),
        ("post", "/account/data/withdraw-consent"),
        ("get", "/account/delete"),
        ("post", "/account/delete"),
    ],
)
def test_every_page_needs_a_login(client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302 and "/login" in response.location


def test_profile_links_to_the_data_page(client, auth):
    auth.login()
    assert 'href="/account/data"' in client.get("/account").text
    page = client.get("/account/data").text
    assert "Download my data" in page and 'action="/account/data/download"' in page and "/account/delete" in page


def test_download_json_and_csv(client, auth, make, app, others):
    user_id = auth.login(birth_year=1975)
    make.experience(user_id=user_id, tips="my own tip", side_effects=["nausea"], effectiveness="major")
    response = client.post("/account/data/download", data={"format": "json"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    data = response.json
    assert data["account"]["email"] == "patient@example.org"
    (experience,) = data["experiences"]
    assert (experience["tips"], experience["side_effects"], experience["effectiveness"]) == (
        "my own tip",
        ["nausea"],
        "major",
    )
    assert "a stranger's tip" not in response.text
    with app.app_context():
        strangers = db.session.scalars(select(User.pseudonym).where(User.id != user_id)).all()
    assert len(strangers) == 5 and not any(f'"{name}"' in response.text for name in strangers)

    response = client.post("/account/data/download", data={"format": "csv"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert {"account.csv", "experiences.csv", "doctor_ratings.csv", "flags.csv"} <= set(archive.namelist())
    rows = list(csv.DictReader(io.StringIO(archive.read("experiences.csv").decode("utf-8-sig"))))
    assert [r["tips"] for r in rows] == ["my own tip"]

    assert client.post("/account/data/download", data={"format": "xml"}).status_code == 400


def exported_participants(runner, path):
    result = runner.invoke(args=["export", "--out", str(path)])
    assert result.exit_code == 0, result.output
    with open(path / "experiences.csv", encoding="utf-8") as handle:
        return {r["participant_id"] for r in csv.DictReader(handle)}


def test_withdraw_consent_in_one_click(client, auth, app, runner, tmp_path, others):
    from registry.interchange.export import Pseudonymizer

    user_id = auth.login()
    with app.app_context():
        everyone = db.session.scalars(select(User.id)).all()
    for member in everyone:
        give_consent(app, member)
    assert (
        client.post(
            "/experiences/new",
            data={
                "condition": "migraine",
                "treatment": "sumatriptan",
                "role": "patient",
                "started": "2024-01",
                "effectiveness": "moderate",
                "side_effect_severity": "none",
                "satisfaction": "7",
                "would_recommend": "yes",
            },
        ).status_code
        == 302
    )
    assert count(app, Experience, Experience.user_id == user_id) == 1
    mine = Pseudonymizer(app.config["EXPORT_KEY"])("participant", user_id)
    assert mine in exported_participants(runner, tmp_path / "before")
    page = client.get("/account/data").text
    assert "Withdraw my research consent" in page and "leaves your answers out" in page
    response = client.post("/account/data/withdraw-consent", follow_redirects=True)
    assert "later research exports leave your answers out" in response.text
    with app.app_context():
        assert not db.session.get(User, user_id).has_research_consent
    after = exported_participants(runner, tmp_path / "after")
    assert mine not in after and len(after) == 5  # the others stay
    assert "You have not consented" in client.get("/account/data").text


def test_wrong_password_deletes_nothing(client, auth, make, app, others):
    user_id = auth.login()
    make.experience(user_id=user_id)
    response = client.post("/account/delete", data={"password": "not my password", "confirm": "y"})
    assert response.status_code == 200
    assert 'id="password-error">This is not your password. Nothing was deleted.' in response.text
    response = client.post("/account/delete", data={"password": PASSWORD})  # not confirmed
    assert response.status_code == 200 and "Tick the box to confirm." in response.text
    assert count(app, User, User.id == user_id) == 1 and count(app, Experience, Experience.user_id == user_id) == 1
    assert client.get("/account").status_code == 200  # still logged in


def test_delete_account_removes_it_from_every_count_and_logs_out(client, auth, make, app, others):
    from registry.reporting import report_upkeep

    user_id = auth.login()
    make.experience(user_id=user_id)
    assert client.get("/api/v1/conditions").json["conditions"][0]["n"] == 6
    response = client.post("/account/delete", data={"password": PASSWORD, "confirm": "y"}, follow_redirects=True)
    assert response.request.path == "/" and "Your account is deleted, with 1 experiences" in response.text
    assert count(app, User, User.id == user_id) == 0 and count(app, Experience) == 5
    with app.app_context():
        assert report_upkeep.check(db.session) == []
    assert client.get("/api/v1/conditions").json["conditions"][0]["n"] == 5
    assert "/login" in client.get("/account").location  # logged out
    assert client.post("/login", data={"email": "patient@example.org", "password": PASSWORD}).status_code == 200


def test_nobody_can_delete_someone_elses_account(client, auth, make, app, others):
    victim = make.user(email="victim@example.org", password="victim's password!")
    make.experience(user_id=victim)
    auth.login(email="attacker@example.org")
    # The victim's password does not help: the page checks and deletes the signed-in account only.
    response = client.post(
        "/account/delete", data={"password": "victim's password!", "confirm": "y", "user_id": victim}
    )
    assert response.status_code == 200 and "This is not your password" in response.text
    assert count(app, User, User.email.in_(["victim@example.org", "attacker@example.org"])) == 2
    # Its own password deletes the attacker, never the victim named in the form.
    response = client.post("/account/delete", data={"password": PASSWORD, "confirm": "y", "user_id": victim})
    assert response.status_code == 302
    with app.app_context():
        assert [u.email for u in db.session.scalars(select(User).where(User.id == victim))] == ["victim@example.org"]
    assert count(app, Experience, Experience.user_id == victim) == 1


def test_a_cross_site_post_without_the_csrf_token_deletes_nothing(make, database_url, others):
    from registry.app import create_app

    user_id = make.user(email="someone@example.org")
    csrf_app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "EXPORT_KEY": "test-export-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
        }
    )
    try:
        with csrf_app.app_context():
            from registry.accounts import auth

            key = auth.start_session(db.session.get(User, user_id), "Firefox/130", remember=False)
            db.session.commit()
        client = csrf_app.test_client()
        with client.session_transaction() as session:  # signed in, as a victim's browser would be
            session["_user_id"], session["_fresh"] = key, True
        assert client.get("/account/data").status_code == 200
        for url in ("/account/delete", "/account/data/withdraw-consent", "/account/data/download"):
            response = client.post(url, data={"password": PASSWORD, "confirm": "y", "format": "json"})
            assert response.status_code == 400, url
        with csrf_app.app_context():
            assert db.session.get(User, user_id) is not None
    finally:
        with csrf_app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_download_lists_the_devices_logged_in(client, auth):
    import json

    auth.login()
    data = json.loads(client.post("/account/data/download", data={"format": "json"}).data)
    assert [d["device"] for d in data["devices"]] == ["Unknown browser"]  # the test client says only "Werkzeug/3"
    assert data["account"]["email_confirmed_at"] is None
    assert set(data["devices"][0]) == {"device", "kept_logged_in", "logged_in_at", "last_seen_at"}  # no address
