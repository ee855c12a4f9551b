"""The reader's language (registry/platform/i18n.py, scales/i18n.py): chosen by the account, the
switcher's cookie or Accept-Language; the switcher comes back to the page; URLs never change."""

from __future__ import annotations

import re

import scales
from registry.platform import i18n as platform_i18n
from scales import catalogs, i18n


def _lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True))[1]


def test_english_by_default_and_spanish_from_accept_language(client):
    assert _lang(client.get("/")) == "en"
    spanish = client.get("/", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert _lang(spanish) == "es"
    assert "Registro de Experiencias con Tratamientos" in spanish.get_data(as_text=True)
    assert _lang(client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})) == "en"  # not offered: English


def test_the_switcher_lists_every_catalog_in_its_own_language_and_comes_back(client):
    visit = client.get("/conditions?q=mig")
    page = visit.get_data(as_text=True)
    assert 'value="es"' in page and ">Español<" in page and ">English<" in page
    assert 'name="next" value="/conditions?q=mig"' in page
    # A visitor's switcher is a GET: public pages carry no CSRF token and start no session.
    assert 'method="get"' in page and "csrf_token" not in page and "Set-Cookie" not in visit.headers
    response = client.get("/language", query_string={"lang": "es", "next": "/conditions?q=mig"})
    assert response.status_code == 302 and response.headers["Location"] == "/conditions?q=mig"
    assert "lang=es" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
    assert _lang(client.get("/conditions?q=mig")) == "es"  # same URL, now in Spanish
    client.get("/language?lang=en&next=/")
    assert _lang(client.get("/", headers={"Accept-Language": "es"})) == "en"  # the choice beats the browser


def test_the_switcher_refuses_other_hosts_and_unknown_languages(client):
    assert client.get("/language?lang=es&next=//evil.example/").headers["Location"] == "/"
    assert client.get("/language?lang=es&next=https://evil.example/").headers["Location"] == "/"
    refused = client.get("/language?lang=xx&next=/")
    assert refused.status_code == 400 and "Set-Cookie" not in refused.headers


def test_the_account_remembers_the_language_on_every_browser(app, auth):
    from registry.models import User
    from registry.platform.extensions import db

    auth.login()
    assert 'method="post"' in auth._client.get("/").get_data(as_text=True)  # signed in: the account keeps it
    auth._client.post("/language", data={"lang": "es", "next": "/"})
    with app.app_context():
        assert db.session.scalar(db.select(User.locale)) == "es"
    other = app.test_client()  # another browser, no cookie, an English browser
    other.post("/login", data={"email": "patient@example.org", "password": "correct horse battery"})
    assert _lang(other.get("/", headers={"Accept-Language": "en"})) == "es"


def test_scale_labels_follow_the_reader_and_exports_stay_english(app):
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert scales.EFFECTIVENESS.label("major") != scales.EFFECTIVENESS.english("major")
        assert dict(scales.EFFECTIVENESS.choices)["major"] == scales.EFFECTIVENESS.label("major")
        with i18n.language_of("en"):
            assert scales.EFFECTIVENESS.label("major") == "Major"
    with app.app_context():
        assert scales.EFFECTIVENESS.label("major") == "Major"  # no request: English


def test_numbers_in_the_readers_locale(app):
    with app.app_context():
        assert i18n.format_percent(0.55) == "55%"
        assert i18n.format_number(12345) == "12,345"
        with i18n.language_of("es"):
            assert i18n.format_percent(0.55) == "55\xa0%"
            assert i18n.format_number(12345) == "12.345"


def test_translations_name_each_offered_language(app):
    with app.app_context():
        assert platform_i18n.other_languages() == ("es",)
        assert platform_i18n.translations("Conditions") == {"es": "Afecciones"}
        assert platform_i18n.translations("a sentence nobody translated") == {}


def test_a_catalog_is_compiled_when_its_source_is_newer(tmp_path):
    po = tmp_path / "es" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "Yes"\nmsgstr "Sí"\n')
    assert catalogs.compile_catalogs(tmp_path) == [po.with_suffix(".mo")]
    assert catalogs.compile_catalogs(tmp_path) == []  # up to date: nothing to do
