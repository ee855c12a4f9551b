"""Error pages (registry.web.views.errors)."""

from registry.web.views import errors


def test_404_is_a_page_in_the_site_style(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "find that page." in response.text and "<nav" in response.text


def test_405_and_api_errors_are_json_under_api(client):
    assert client.post("/api/v1/conditions").get_json()["status"] == 405


def test_unexpected_errors_render_500_and_roll_back(app, client, auth):
    """A request that wrote half its rows and then failed leaves none of them, signed in or not."""
    from sqlalchemy import func, select

    from registry.catalog import catalog
    from registry.models import Treatment
    from registry.platform.extensions import db

    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.post("/boom")
    def boom():
        catalog.add_treatment("Half written", "drug", ())
        db.session.flush()  # the row is in the transaction
        raise RuntimeError("boom")

    for signed_in in (False, True):
        if signed_in:
            auth.login()  # the page of a signed-in member reads (and may touch) their session rows
        response = client.post("/boom")
        assert response.status_code == 500 and "Something went wrong" in response.text
        assert "RuntimeError" not in response.text
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Treatment)) == 0


def test_every_status_has_a_message():
    assert {400, 403, 404, 405, 413, 429, 500} <= set(errors.MESSAGES)


def test_search_without_its_vocabulary_file_is_a_503_not_a_500(app, client, monkeypatch):
    """The shared vocabulary file gone (a cleared cache) and not buildable (a full disk): search answers 503."""
    import threading

    from registry.catalog import vocab

    def full_disk():
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vocab, "ensure_built", full_disk)
    monkeypatch.setattr(vocab, "_local", threading.local())  # no connection opened before
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/search?q=Camrese")
    assert response.status_code == 503 and "Search is briefly unavailable" in response.text
    assert response.headers["Retry-After"]
