"""Error pages (registry.views.errors)."""

from registry.views import errors


def test_404_is_a_page_in_the_site_style(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "find that page." in response.text and "<nav" in response.text


def test_405_and_api_errors_are_json_under_api(client):
    assert client.post("/api/v1/conditions").get_json()["status"] == 405


def test_unexpected_errors_render_500_and_roll_back(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = client.get("/boom")
    assert response.status_code == 500 and "Something went wrong" in response.text
    assert "RuntimeError" not in response.text


def test_every_status_has_a_message():
    assert {400, 403, 404, 405, 413, 429, 500} <= set(errors.MESSAGES)
