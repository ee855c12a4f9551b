"""Time on treatment on the pages, their CSV and the JSON API (reports/survival.py through registry/reporting/cached_reports.py)."""

import json

import pytest
import schemathesis
from schemathesis import checks

# (started, stopped) per report; the registry's clock puts a still-using report's end at its last update.
STOPS = [
    ("2024-01", "2024-01"),
    ("2024-01", "2024-01"),
    ("2024-01", "2024-02"),
    ("2024-01", "2024-02"),
    ("2024-01", "2024-03"),
    ("2024-01", "2024-05"),
    ("2024-01", "2024-08"),
    ("2024-01", "2024-12"),
    ("2023-01", "2024-06"),
    ("2021-01", "2024-01"),
]
USING = ["2024-01", "2023-01", "2022-01", "2021-01", "2020-01", "2019-01"]


@pytest.fixture
def community(make):
    for name in ["Sumatriptan", "Topiramate", "Propranolol"]:
        make.treatment(name)
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate", "propranolol"])
    make.condition("Cluster headache", "G44", treatments=["sumatriptan"])
    for started, stopped in STOPS:
        make.experience(
            treatment="sumatriptan",
            started=started,
            stopped=stopped,
            stop_reasons=["side_effects"] if stopped < "2024-04" and started == "2024-01" else ["cost"],
        )
    for started in USING:
        make.experience(treatment="sumatriptan", started=started)
    for i in range(12):
        make.experience(
            treatment="topiramate",
            started="2024-01",
            stopped=None if i % 3 else "2024-02",
            stop_reasons=[] if i % 3 else ["side_effects"],
        )
    for i in range(4):
        make.experience(treatment="propranolol", started="2024-01")
    for i in range(11):
        make.experience(
            condition="cluster-headache",
            treatment="sumatriptan",
            started="2024-01",
            stopped="2024-07" if i < 6 else None,
            stop_reasons=["not_effective"] if i < 6 else [],
        )


def test_the_treatment_page_shows_who_is_still_on_it_and_why_people_stopped(client, community):
    page = client.get("/conditions/migraine/treatments/sumatriptan").text
    assert "Staying on it" in page and 'id="chart-staying-title"' in page and 'id="chart-stop_times-title"' in page
    assert "After 1 month:" in page and "After 24 months:" in page
    assert "Half had stopped by" in page
    # 16 people: 2 stop in their first month (none of the still-using reports falls in it), 3 more by 3 months.
    assert "After 1 month: <strong>88%</strong>" in page and "After 3 months: <strong>69%</strong>" in page


def test_the_curve_is_not_filtered_and_its_csv_is_served(client, community):
    plain = client.get("/conditions/migraine/treatments/sumatriptan?format=csv&chart=staying")
    assert plain.status_code == 200 and plain.mimetype == "text/csv"
    assert "Still on it" in plain.text and "88%" in plain.text
    filtered = client.get("/conditions/migraine/treatments/sumatriptan?format=csv&chart=staying&role=patient")
    assert filtered.text == plain.text  # the same people: everyone who gave a start month
    reasons = client.get("/conditions/migraine/treatments/sumatriptan?format=csv&chart=stop_times").text
    assert "Side effects" in reasons and "In the first 3 months" in reasons


def test_a_unit_too_small_for_a_curve_shows_none(client, community):
    page = client.get("/conditions/migraine/treatments/propranolol").text
    assert "Staying on it" not in page and 'id="chart-staying-title"' not in page


def test_compare_draws_the_curves_on_one_axis(client, community):
    page = client.get("/conditions/migraine/compare?t=sumatriptan&t=topiramate").text
    assert 'id="chart-staying-title"' in page
    figure = json.loads(
        page.split('id="chart-staying-title"')[1]
        .split('data-figure="')[1]
        .split('"')[0]
        .replace("&#34;", '"')
        .replace("&quot;", '"')
        .replace("&amp;", "&")
        .replace("&#39;", "'")
    )
    names = [t["name"] for t in figure["data"] if t.get("name")]
    assert names == ["Sumatriptan (16 people)", "Topiramate (12 people)"]
    csv = client.get("/conditions/migraine/compare?t=sumatriptan&t=topiramate&format=csv&chart=staying").text
    assert "Sumatriptan" in csv and "Topiramate" in csv


def test_the_drug_page_shows_a_curve_per_condition(client, community):
    page = client.get("/treatments/sumatriptan").text
    assert "Staying on it, for each condition" in page and "Cluster headache" in page
    csv = client.get("/treatments/sumatriptan?format=csv&chart=staying")
    assert csv.status_code == 200 and "Cluster headache" in csv.text and "Migraine" in csv.text
    assert client.get("/treatments/sumatriptan?format=csv&chart=nope").status_code == 404
    assert client.get("/treatments/propranolol").status_code == 200


def test_the_api_gives_the_curve_as_on_the_pages(client, community):
    body = client.get("/api/v1/conditions/migraine/treatments/sumatriptan").get_json()
    time = body["time_on_treatment"]
    assert time["suppressed"] is False and time["n"] == 16
    assert [b["months"] for b in time["bands"]] == [1, 3, 6, 12, 24]
    assert time["bands"][0]["share"] == 0.875 and time["bands"][0]["stopped"] == 2
    assert time["stop_reasons"]["early"]["reasons"]["side_effects"]["share"] == 1.0  # early: side effects
    assert time["stop_reasons"]["late"]["reasons"]["cost"]["share"] == 1.0  # late: cost
    small = client.get("/api/v1/conditions/migraine/treatments/propranolol").get_json()
    assert small["time_on_treatment"] == {"suppressed": True}
    drug = client.get("/api/v1/treatments/sumatriptan").get_json()
    assert {t["condition"]["slug"] for t in drug["time_on_treatment"]} == {"migraine", "cluster-headache"}
    by_slug = {t["condition"]["slug"]: t for t in drug["time_on_treatment"]}
    assert by_slug["migraine"]["bands"] == time["bands"]  # the drug page's curve is the treatment page's


def test_the_answers_conform_to_the_openapi_description(app, community):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = {op.path: op for op in (r.ok() for r in schema.get_all_operations())}
    for path, params in [
        ("/conditions/{slug}/treatments/{treatment_slug}", {"slug": "migraine", "treatment_slug": "sumatriptan"}),
        ("/conditions/{slug}/treatments/{treatment_slug}", {"slug": "migraine", "treatment_slug": "propranolol"}),
        ("/treatments/{treatment_slug}", {"treatment_slug": "sumatriptan"}),
    ]:
        case = operations[path].Case(path_parameters=params)
        case.call_and_validate(
            checks=[checks.response_schema_conformance, checks.not_a_server_error],
            headers={"Accept-Encoding": "identity"},
        )


def test_the_table_says_what_24_months_or_more_holds_and_leaves_out_an_empty_band(client, community, make):
    words = client.get("/conditions/migraine/treatments/sumatriptan?format=csv&chart=staying").text
    assert "24 or more,not read past 24 months" in words  # people past the last point: said in words
    make.treatment("Rizatriptan")
    make.condition("Tension headache", "G44.2", treatments=["rizatriptan"])
    for month in range(2, 12):  # everyone stopped within a year: nobody at 24 months or more
        make.experience(condition="tension-headache", treatment="rizatriptan", stopped=f"2024-{month:02d}")
    csv = client.get("/conditions/tension-headache/treatments/rizatriptan?format=csv&chart=staying").text
    assert "Still on it" in csv and "24 or more" not in csv
