"""The JSON API (registry.views.api)."""

import pytest


@pytest.fixture
def catalog_rows(make):
    make.treatment("Semaglutide", synonyms=["Ozempic"])
    make.condition("Type 2 diabetes", "E11", treatments=["semaglutide"])


def test_conditions_lists_slug_name_icd10_and_n(client, catalog_rows):
    body = client.get("/api/v1/conditions").get_json()
    assert body["conditions"] == [
        {"slug": "type-2-diabetes", "name": "Type 2 diabetes", "icd10": "E11", "n": None, "suppressed": True}
    ]


def test_condition_counts_under_the_minimum_are_suppressed(client, catalog_rows, make):
    # Two reports answer exactly as none (above): a condition never tells 0 from a few.
    for _ in range(2):
        make.experience("type-2-diabetes", "semaglutide")
    (row,) = client.get("/api/v1/conditions").get_json()["conditions"]
    assert row["n"] is None and row["suppressed"] is True
    assert client.get("/api/v1/conditions?q=diab").get_json()["conditions"][0]["n"] is None
    assert "too few to show" in client.get("/conditions").text
    assert "2 reports" not in client.get("/").text  # the home page ranks only conditions it may show
    for _ in range(5):
        make.experience("type-2-diabetes", "semaglutide")
    (row,) = client.get("/api/v1/conditions").get_json()["conditions"]
    assert row == {"slug": "type-2-diabetes", "name": "Type 2 diabetes", "icd10": "E11", "n": 7, "suppressed": False}


def test_conditions_search(client, catalog_rows):
    body = client.get("/api/v1/conditions?q=e11").get_json()
    assert body["conditions"][0]["slug"] == "type-2-diabetes"
    body = client.get("/api/v1/conditions?q=narcolepsy").get_json()
    assert body["conditions"][0]["slug"] is None and body["conditions"][0]["in_catalog"] is False


def test_treatments_ozempic_answers_semaglutide(client, catalog_rows):
    body = client.get("/api/v1/treatments?q=Ozempic").get_json()
    first = body["treatments"][0]
    assert first == {
        "slug": "semaglutide",
        "name": "Semaglutide",
        "kind": "drug",
        "matched": "Ozempic",
        "in_catalog": True,
    }


def test_treatments_offers_drugs_not_yet_in_the_catalog(client, catalog_rows):
    first = client.get("/api/v1/treatments?q=Lipitor").get_json()["treatments"][0]
    assert first == {"slug": None, "name": "Atorvastatin", "kind": "drug", "matched": "Lipitor", "in_catalog": False}


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/treatments",
        "/api/v1/treatments?q=",
        "/api/v1/treatments?q=" + "x" * 121,
        "/api/v1/treatments?q=a&limit=0",
        "/api/v1/conditions?q=a&limit=abc",
        "/api/v1/treatments?q=suma&limit=%C2%B2",
        "/api/v1/doctors?limit=%C2%B2",
        "/api/v1/treatments?q=a%00b",
    ],
)
def test_bad_parameters_get_a_4xx_json_message(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response.is_json and response.get_json()["error"]


def test_unknown_api_url_is_json_404(client):
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404 and response.get_json()["status"] == 404


@pytest.mark.parametrize("q", ["Glycerin", "glycerinum", "Ambien", "zolpi-lich", "E11", "1e308", "%_\\"])
def test_treatment_and_condition_search_never_fail(client, catalog_rows, q):
    for path in ("/api/v1/treatments", "/api/v1/conditions"):
        response = client.get(path, query_string={"q": q})
        assert response.status_code == 200, (path, q)
        body = response.get_json()
        assert all(hit["name"] for hit in body[path.rsplit("/", 1)[1]])
    assert client.get("/search", query_string={"q": q}).status_code == 200
