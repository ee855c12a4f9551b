"""The JSON API (registry.web.views.api)."""

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


# --- "after N months on it" (follow-ups, issue 19) ------------------------------------------------

AFTER = "/api/v1/conditions/migraine/treatments/sumatriptan/after-months"


@pytest.fixture
def pair(make):
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])


def _months_ago(n: int) -> str:
    from datetime import date

    index = date.today().year * 12 + date.today().month - 1 - n
    return f"{index // 12}-{index % 12 + 1:02d}"


def followed_up(app, make, count: int) -> None:
    """`count` people who started six months ago, reported then and sent one update now (a point at 6 months)."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import update

    from registry.contributions import followups
    from registry.models import Experience, User
    from registry.platform.extensions import db
    from registry.reporting import report_upkeep

    for _ in range(count):
        user_id = make.member()
        eid = make.experience(user_id=user_id, started=_months_ago(6), effectiveness="none")
        with app.app_context():
            with report_upkeep.rewriting(db.session, [eid]):  # its counts move with it
                then = datetime.now(timezone.utc) - timedelta(days=180)
                db.session.execute(update(Experience).where(Experience.id == eid).values(updated_at=then))
            answers = {"stopped": None, "stop_reasons": [], "effectiveness": "major"}
            answers |= {"side_effect_severity": "none", "satisfaction": 9, "would_recommend": "yes"}
            followups.add_update(db.session.get(User, user_id), db.session.get(Experience, eid), answers)
            db.session.commit()


def _page_row(client, months: int) -> str:
    page = client.get("/conditions/migraine/treatments/sumatriptan").text
    return page.split(f'id="after-{months}"')[1].split("</tr>")[0]


def test_after_months_json_gives_what_the_page_shows(client, app, make, pair):
    followed_up(app, make, 5)
    body = client.get(AFTER).get_json()
    assert body["treatment"]["slug"] == "sumatriptan" and body["min_n"] == 5 and body["disclosure"] == "exact"
    three, six, twelve = body["after_months"]["horizons"]
    assert three == {"months": 3, "tolerance": 1, "suppressed": True}
    assert twelve == {"months": 12, "tolerance": 3, "suppressed": True}
    assert (six["months"], six["tolerance"], six["suppressed"], six["n"]) == (6, 2, False, 5)
    assert six["improved"]["share"] == 1.0 and six["still_using"]["share"] == 1.0
    assert six["severe_side_effects"]["share"] == 0.0 and six["satisfaction_mean"] == 9.0
    row = _page_row(client, 6)
    assert ">5<" in row and "100%" in row and "9.0" in row
    for months in (3, 12):
        assert "too few answers to show" in _page_row(client, months)


def test_after_months_under_min_n_is_suppressed_as_on_the_page(client, app, make, pair):
    followed_up(app, make, 4)  # min_n - 1 answers at six months
    for _ in range(3):
        make.experience(user_id=make.member())  # the treatment itself is shown (7 reports)
    after = client.get(AFTER).get_json()["after_months"]
    assert after["suppressed"] is False
    assert after["horizons"][1] == {"months": 6, "tolerance": 2, "suppressed": True}
    assert "too few answers to show" in _page_row(client, 6)
    followed_up(app, make, 1)  # the fifth: shown at once (the cache follows writes)
    assert client.get(AFTER).get_json()["after_months"]["horizons"][1]["n"] == 5


def test_after_months_of_a_hidden_treatment_is_suppressed_whole(client, app, make, pair):
    followed_up(app, make, 2)
    assert client.get(AFTER).get_json()["after_months"] == {"suppressed": True}
    assert 'id="after-months"' not in client.get("/conditions/migraine/treatments/sumatriptan").text


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/api/v1/conditions/nothing/treatments/sumatriptan/after-months", "No condition 'nothing'"),
        ("/api/v1/conditions/migraine/treatments/nothing/after-months", "No treatment 'nothing'"),
    ],
)
def test_after_months_of_unknown_slugs_is_a_404_with_a_message(client, pair, url, words):
    response = client.get(url)
    assert response.status_code == 404 and words in response.get_json()["error"]
