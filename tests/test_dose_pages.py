"""The treatment page's "By dose" and "Over the years" sections, their CSV and JSON (issue 19)."""

from datetime import datetime, timezone

import pytest

THIS_YEAR = str(datetime.now(timezone.utc).year)


@pytest.fixture
def community(make):
    make.treatment("Sertraline", kind="drug")
    make.treatment("Talk therapy", kind="therapy")
    make.treatment("Fluoxetine", kind="drug")
    make.condition("Depression", "F32", treatments=["sertraline", "talk-therapy", "fluoxetine"])
    dose = {"dose_unit": "mg"}
    for i in range(6):  # 50 mg a day: 3 of 6 improved, satisfaction 4 or 8
        make.experience(
            "depression",
            "sertraline",
            effectiveness="major" if i < 3 else "none",
            satisfaction=8 if i < 3 else 4,
            sex="female",
            dose_amount=50,
            dose_frequency="once_daily",
            **dose,
        )
    for i in range(5):  # 50 mg twice a day = 100 mg a day: all improved, one severe side effect
        make.experience(
            "depression",
            "sertraline",
            effectiveness="moderate",
            satisfaction=7,
            sex="male",
            side_effect_severity="severe" if i == 0 else "mild",
            dose_amount=50,
            dose_frequency="twice_daily",
            **dose,
        )
    make.experience(
        "depression",
        "sertraline",
        effectiveness="major",
        satisfaction=9,
        sex="male",
        dose_amount=200,
        dose_frequency="once_daily",
        **dose,
    )  # a rare dose: no band edge of its own
    for _ in range(2):
        make.experience("depression", "sertraline", effectiveness="slight", satisfaction=5, sex="male")
    for _ in range(6):
        make.experience("depression", "talk-therapy", effectiveness="moderate")
    for _ in range(3):
        make.experience(
            "depression", "fluoxetine", effectiveness="moderate", dose_amount=20, dose_frequency="once_daily", **dose
        )


PAGE = "/conditions/depression/treatments/sertraline"
API = "/api/v1/conditions/depression/treatments/sertraline"


def test_the_page_shows_dose_bands_computed_by_hand(client, community):
    page = client.get(PAGE).text
    assert 'id="dose"' in page and "By dose" in page
    assert "Doses are put in mg a day" in page
    # under 100: six reports at 50 mg, 3 improved; 100 or more: five at 50 mg twice a day and the rare 200 mg one.
    assert "<strong>under 100 mg a day</strong>:\n            6 reports." in page
    assert "<strong>100 or more mg a day</strong>:\n            6 reports." in page
    # 3 of 6 improved, 50% (19-81%): too wide to put in words (reports.wording.MAX_SPAN), so the band says so
    assert "Too few answers to say how many improved." in page and "About 5 in 10 improved" not in page
    assert "200" not in page.split('id="dose"')[1].split("</details>")[0]
    assert "Without a dose: too few reports to show." in page  # two reports, said as for none
    assert "data-figure=" in page.split('id="dose"')[1]


def test_the_dose_json_and_csv_agree_with_the_page(client, community):
    data = client.get(API + "/dose").get_json()
    dose = data["dose"]
    assert data["treatment"]["kind"] == "drug" and data["disclosure"] == "exact"
    assert dose["measure"] == "mg a day"
    low, high = dose["bands"]
    assert (low["label"], low["n"], low["from"], low["below"]) == ("under 100", 6, None, 100)
    assert low["improved"]["share"] == 0.5 and low["satisfaction"]["mean"] == 6.0
    assert (high["label"], high["n"], high["from"], high["below"]) == ("100 or more", 6, 100, None)
    assert high["improved"]["share"] == 1.0 and high["severe_side_effects"]["share"] == pytest.approx(1 / 6, abs=1e-4)
    assert dose["without_dose"] is None and dose["other_units"] is None
    csv = client.get(PAGE + "?format=csv&chart=dose").text
    assert "under 100,6,50%" in csv and "Without a dose,Too few reports to show" in csv


def test_years_on_the_page_and_in_json(client, community):
    page = client.get(PAGE).text
    assert 'id="years"' in page and f"Only {THIS_YEAR} has enough reports to show so far." in page
    years = client.get(API + "/years").get_json()["years"]
    (year,) = years["years"]
    assert year["year"] == int(THIS_YEAR) and year["n"] == 14
    assert year["improved"]["share"] == pytest.approx(9 / 14, abs=1e-4)  # 3 + 5 + 1 improved of 14
    assert years["improved_moved"] is None
    csv = client.get(PAGE + "?format=csv&chart=years")
    assert "years.csv" in csv.headers["Content-Disposition"] and f"{THIS_YEAR},14,64%" in csv.text


def test_a_filtered_page_shows_the_unfiltered_sections_and_says_so(client, community):
    page = client.get(PAGE + "?sex=female").text
    section = page.split('id="dose"')[1].split("</details>")[0]
    assert "filters do not apply to this section" in section
    assert "<strong>under 100 mg a day</strong>:\n            6 reports." in section


def test_no_dose_section_for_a_therapy_or_a_small_drug(client, community):
    therapy = client.get("/conditions/depression/treatments/talk-therapy").text
    assert 'id="dose"' not in therapy and 'id="years"' in therapy
    response = client.get("/api/v1/conditions/depression/treatments/talk-therapy/dose")
    assert response.status_code == 404 and "drugs only" in response.get_json()["error"]
    small = client.get("/conditions/depression/treatments/fluoxetine").text  # three reports: nothing of them is shown
    assert 'id="dose"' not in small and 'id="years"' not in small
    assert client.get("/api/v1/conditions/depression/treatments/fluoxetine/dose").get_json()["dose"] == {
        "suppressed": True
    }
    assert client.get("/api/v1/conditions/depression/treatments/fluoxetine/years").get_json()["years"] == {
        "suppressed": True
    }
    assert client.get("/api/v1/conditions/depression/treatments/nothing/dose").status_code == 404


def test_a_new_report_moves_the_bands_at_once(client, community, make):
    before = client.get(API + "/dose").get_json()["dose"]["bands"][0]["n"]
    make.experience(
        "depression", "sertraline", effectiveness="none", dose_amount=25, dose_unit="mg", dose_frequency="once_daily"
    )
    assert client.get(API + "/dose").get_json()["dose"]["bands"][0]["n"] == before + 1  # the cache follows writes


def test_a_page_too_small_under_its_filters_shows_no_section(client, community):
    page = client.get(PAGE + "?sex=male&age_band=18_29").text  # no man of that age: the unit is hidden
    assert "Too few reports to show" in page and 'id="dose"' not in page and 'id="years"' not in page
