"""Every form works over HTTPS behind a proxy, as a browser sends it; a cross-site post is refused.

The app is configured as deployed: CSRF on, one trusted proxy (REGISTRY_PROXY_FIX=1) that says
`X-Forwarded-Proto: https`. Each page's forms are read from its HTML (the hidden token included)
and sent back with no Referer at all (a browser or extension that strips it), or with the Origin
and Referer a browser sends under `Referrer-Policy: same-origin`.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from registry.app import create_app
from registry.models import Experience, User
from registry.platform.extensions import db

HOST = "registry.example.org"
SITE = f"https://{HOST}"
PASSWORD = "correct horse battery"
REFUSED = "sent from another site"


class FormParser(HTMLParser):
    """The POST forms of a page: action and the values a browser would send untouched."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None
        self._first_option: bool = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self.forms.append({"action": a.get("action") or "", "data": []})
        if not self.forms or (tag == "form"):
            return
        data = self.forms[-1]["data"]
        if tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button", "file"):
                data.append((a["name"], a.get("value") or ("y" if kind == "checkbox" else "")))
        elif tag == "select" and a.get("name"):
            self._select, self._first_option = a["name"], "multiple" not in a
        elif tag == "option" and self._select and ("selected" in a or self._first_option):
            data.append((self._select, a.get("value", "")))
            self._first_option = False
        elif tag == "textarea" and a.get("name"):
            data.append((a["name"], ""))
        elif tag == "button" and a.get("name") and a.get("value"):
            # The first named submit button is the one a click on it sends (decide: keep/hide).
            if not any(k == "_button" for k, _ in data):
                data.extend([(a["name"], a["value"]), ("_button", "")])

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def post_forms(url_html: str) -> list[dict]:
    parser = FormParser()
    parser.feed(url_html)
    for form in parser.forms:
        form["data"] = [(k, v) for k, v in form["data"] if k != "_button"]
    return parser.forms


@pytest.fixture
def https_app(app):
    """The test database, configured as behind one TLS proxy, CSRF on, cookies HTTPS-only."""
    keys = ("SECRET_KEY", "EXPORT_KEY", "SQLALCHEMY_DATABASE_URI")
    https_app = create_app(
        {
            **{k: app.config[k] for k in keys},
            "TESTING": True,
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": True,
            "PROXY_FIX": 1,
            "SESSION_COOKIE_SECURE": True,
            "REMEMBER_COOKIE_SECURE": True,
        }
    )
    yield https_app
    with https_app.app_context():  # its own pool: let the app fixture empty the tables
        db.session.remove()
        db.engine.dispose()


class ProxiedClient(FlaskClient):
    """Requests as the TLS proxy forwards them: plain HTTP to the app, the site's Host, X-Forwarded-Proto."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("base_url", f"http://{HOST}")
        return super().open(*args, **kwargs)


def browser(app, variant: str):
    """A client whose requests arrive through the proxy as HTTPS; headers as the variant's browser sends."""
    app.test_client_class = ProxiedClient
    client = app.test_client()
    client.environ_base.update(HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="203.0.113.7")

    def send(form, page_url, extra=(), origin=None):
        headers = {}
        if variant == "origin":
            headers = {"Origin": origin or SITE, "Referer": SITE + page_url}
        elif origin:
            headers = {"Origin": origin}
        data = [(k, v) for k, v in form["data"] if k not in dict(extra)] + list(dict(extra).items())
        return client.post(form["action"] or page_url, data=MultiDict(data), headers=headers)

    return client, send


def login(client, send, email):
    page = client.get("/login")
    response = send(post_forms(page.text)[-1], "/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.text


@pytest.fixture
def world(make, app):
    """A condition and treatment, a doctor, accounts of every role, an experience with a held tip."""
    make.treatment("Sumatriptan")
    make.treatment("Rizatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "rizatriptan"])
    make.condition("Migraine headache", "G43.9")
    ids = {
        role: make.user(email=f"{role}@example.org", password=PASSWORD, role=role)
        for role in ("patient", "researcher", "moderator")
    }
    ids["experience"] = make.experience(user_id=ids["patient"], tips="Call me on +44 20 7946 0000 for tips.")
    ids["public_tip"] = make.experience(treatment="rizatriptan", tips="Take it early in the attack.")
    with app.app_context():
        from registry.catalog import catalog
        from registry.contributions import ratings
        from registry.models import Condition

        doctor, _ = catalog.add_doctor("Dr. Ada Byron", "Neurology", "Leeds", "GB")
        db.session.flush()
        condition = db.session.scalar(sa.select(Condition).where(Condition.slug == "migraine"))
        user = db.session.get(User, ids["patient"])
        answers = {
            "last_visit": "2025-06",
            "overall": 9,
            "explained_clearly": "always",
            "listened_carefully": "usually",
            "showed_respect": "always",
            "spent_enough_time": "sometimes",
            "got_appointment": "usually",
            "knowledge": 4,
            "would_recommend": "probably_yes",
            "comment": None,
        }
        ids["rating"] = ratings.save(user, doctor, condition, answers).id
        ids["doctor"] = doctor.id
        ids["merge_source"] = db.session.scalar(sa.select(Condition.id).where(Condition.slug == "migraine-headache"))
        db.session.commit()
    return ids


# (who is signed in, the page, fields to fill so the form's own validation passes)
PAGES = [
    (None, "/login", {"email": "patient@example.org", "password": PASSWORD}),
    (
        None,
        "/register",
        {
            "email": "new@example.org",
            "pseudonym": "newcomer",
            "password": "long enough pw",
            "confirm": "long enough pw",
        },
    ),
    ("patient", "/account", {}),
    ("patient", "/account/password", {}),
    ("patient", "/conditions/new", {"name": "Cluster headache", "icd10": "G44.0"}),
    ("patient", "/treatments/new", {"name": "Oxygen therapy"}),
    ("patient", "/doctors/new", {"name": "Dr. New", "specialty": "Neurology", "city": "York", "country": "GB"}),
    (
        "patient",
        "/experiences/new",
        {
            "condition": "migraine",
            "treatment": "rizatriptan",
            "role": "patient",
            "started": "2024-01",
            "effectiveness": "moderate",
            "side_effect_severity": "none",
            "satisfaction": "7",
            "would_recommend": "yes",
        },
    ),
    ("patient", "/experiences/{experience}/edit", {}),
    ("patient", "/experiences/{experience}/delete", {}),
    ("patient", "/ratings/new?doctor={doctor}", {}),
    ("patient", "/ratings/{rating}/edit", {}),
    ("patient", "/ratings/{rating}/delete", {}),
    ("patient", "/account/data", {}),
    ("patient", "/account/delete", {"password": PASSWORD}),
    ("patient", "/flag/tip/{public_tip}", {"reason": "spam"}),
    ("patient", "/", {}),  # the log-out button in the header
    ("researcher", "/research", {}),
    ("moderator", "/moderation", {}),
    ("moderator", "/moderation/merge/condition/{merge_source}", {"target": "migraine"}),
]


@pytest.mark.parametrize("variant", ["no-referer", "origin"])
@pytest.mark.parametrize(("role", "url", "fill"), PAGES, ids=[p[1] for p in PAGES])
def test_every_form_works_over_https(https_app, world, variant, role, url, fill):
    client, send = browser(https_app, variant)
    url = url.format(**world)
    if role:
        login(client, send, f"{role}@example.org")
    page = client.get(url)
    assert page.status_code == 200 and "Strict-Transport-Security" in page.headers  # seen as HTTPS
    assert page.headers["Referrer-Policy"] == "same-origin"
    forms = post_forms(page.text)
    assert forms, f"no POST form on {url}"
    for form in forms:
        # A forged post from another site, with the victim's cookies and even a valid token: refused.
        forged = send(form, url, fill, origin="https://evil.example")
        assert forged.status_code == 400 and REFUSED in forged.text
    form = forms[-1] if url in ("/login", "/register") else forms[0]
    response = send(form, url, fill)
    assert REFUSED not in response.text, (form["action"], response.text)
    assert response.status_code in (200, 302), (form["action"], response.status_code, response.text[:500])
    if fill:  # a complete form: saved and redirected (the export streams its zip)
        assert response.status_code == 302 or response.mimetype == "application/zip", response.text[:2000]


def test_cross_site_post_changes_nothing(https_app, world, app):
    client, send = browser(https_app, "no-referer")
    login(client, send, "patient@example.org")
    page = client.get(f"/experiences/{world['experience']}/delete")
    form = post_forms(page.text)[0]
    for origin in ("https://evil.example", "null", f"http://{HOST}", f"{SITE}:8443"):
        response = send(form, "/", origin=origin)
        assert response.status_code == 400 and REFUSED in response.text, origin
    response = client.post(
        form["action"], data=MultiDict(form["data"]), headers={"Referer": "https://evil.example/page"}
    )
    assert response.status_code == 400 and REFUSED in response.text
    with app.app_context():
        assert db.session.get(Experience, world["experience"]) is not None


def test_token_still_required_without_origin_or_referer(https_app, world):
    client, send = browser(https_app, "no-referer")
    page = client.get("/login")
    form = post_forms(page.text)[-1]
    data = [(k, v) for k, v in form["data"] if k != "csrf_token"]
    response = client.post("/login", data=MultiDict(data + [("email", "patient@example.org"), ("password", PASSWORD)]))
    assert response.status_code == 400 and REFUSED in response.text
    response = send(form, "/login", {"email": "patient@example.org", "password": PASSWORD})
    assert response.status_code == 302
