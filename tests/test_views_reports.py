"""Report pages, their CSV downloads and the report API (registry.web.views.reports, registry.web.views.api)."""

import re

import plotly
import pytest

from registry.platform.extensions import db

DISCLAIMER = "not medical advice"


@pytest.fixture
def community(make):
    for name in ["Sumatriptan", "Topiramate", "Propranolol"]:
        make.treatment(name)
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate", "propranolol"])
    for i in range(12):
        make.experience(
            treatment="sumatriptan",
            effectiveness="major" if i < 9 else "none",
            satisfaction=8,
            sex="female" if i < 6 else "male",
            role="caregiver" if i < 6 else "patient",
            side_effects=["nausea"],
            tips=f"Tip number {i}" if i < 11 else '=HYPERLINK("http://x","y")',
        )
    for i in range(10):
        make.experience(
            treatment="topiramate",
            effectiveness="moderate" if i < 4 else "slight",
            satisfaction=5,
            sex="female" if i < 5 else "male",
            role="caregiver" if i < 5 else "patient",
        )
    for _ in range(2):
        make.experience(treatment="propranolol", effectiveness="major")
    for _ in range(3):
        make.experience(treatment="propranolol", effectiveness="none", sex="female")


PAGES = [
    "/conditions/migraine",
    "/conditions/migraine/treatments/sumatriptan",
    "/conditions/migraine/compare?t=sumatriptan&t=topiramate",
]


@pytest.mark.parametrize("url", PAGES)
def test_report_pages_show_charts_tables_csv_links_and_the_statement(client, community, url):
    page = client.get(url).text
    assert DISCLAIMER in page
    assert "data-figure=" in page and "<table" in page and "format=csv" in page
    assert f"/assets/plotly-{plotly.__version__}.min.js" in page and "/static/charts.js" in page
    assert "<script>" not in page  # figures travel in data attributes, not inline scripts


@pytest.mark.parametrize("url", PAGES)
def test_report_pages_load_nothing_from_other_hosts(client, community, url):
    page = client.get(url).text
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert urls and all(u.startswith(("/", "#", "?")) for u in urls), [u for u in urls if not u.startswith("/")]


def test_plotly_is_served_by_the_app_with_a_long_cache(client):
    with client.get(f"/assets/plotly-{plotly.__version__}.min.js") as response:
        assert response.status_code == 200 and "immutable" in response.headers["Cache-Control"]
        assert b"plotly" in response.data[:2000].lower()
    assert client.get("/assets/plotly-0.0.1.min.js").status_code == 404


def test_condition_page_and_api_give_identical_numbers(client, community):
    api = client.get("/api/v1/conditions/migraine/treatments").get_json()
    assert api["min_n"] == 5 and api["condition"] == {"slug": "migraine", "name": "Migraine", "icd10": "G43"}
    sumatriptan = api["treatments"][0]
    assert sumatriptan["slug"] == "sumatriptan" and sumatriptan["n"] == 12
    assert sumatriptan["improved"] == {"share": 0.75, "low": 0.4677, "high": 0.9111}
    assert sumatriptan["effectiveness"]["major"] == 9 and set(sumatriptan["effectiveness"]) == {
        "worse",
        "none",
        "slight",
        "moderate",
        "major",
        "cant_tell",
    }
    csv = client.get("/conditions/migraine?format=csv&chart=ranking").text
    assert "Sumatriptan,12,75%,47%-91%,47%,8.0" in csv  # the bound it is ranked by, beside the interval
    page = client.get("/conditions/migraine").text
    assert "75% (47-91%)" in page


def test_treatment_page_and_api_agree_under_filters(client, community):
    url = "/conditions/migraine/treatments/sumatriptan?sex=female&role=caregiver"
    api = client.get("/api/v1" + url).get_json()
    assert api["filters"]["role"] == ["caregiver"] and api["filters"]["sex"] == ["female"]
    unit = api["treatment"]
    assert unit["n"] == 6 and unit["suppressed"] is False
    csv = client.get(url + "&format=csv&chart=effectiveness").text
    assert "Major,6,100%" in csv
    assert sum(unit["side_effect_severity"].values()) == 6


def test_small_units_are_suppressed_everywhere(client, community):
    api = client.get("/api/v1/conditions/migraine/treatments").get_json()
    propranolol = next(t for t in api["treatments"] if t["slug"] == "propranolol")
    assert propranolol["n"] == 5 and propranolol["suppressed"] is False
    women = client.get("/api/v1/conditions/migraine/treatments?sex=female").get_json()
    hidden = {t["slug"] for t in women["treatments"] if t["suppressed"]}
    assert "propranolol" in hidden  # 3 women: too few, whatever the other treatments hold
    assert all("n" not in t for t in women["treatments"] if t["suppressed"])
    page = client.get("/conditions/migraine/treatments/propranolol?sex=female").text
    assert "Too few reports to show" in page and "data-figure" not in page
    assert client.get("/api/v1/conditions/migraine/treatments/propranolol?sex=female").get_json()["treatment"] == {
        "slug": "propranolol",
        "name": "Propranolol",
        "suppressed": True,
    }
    csv = client.get("/conditions/migraine?sex=female&format=csv&chart=ranking")
    assert "Propranolol" not in csv.text


@pytest.fixture
def threshold(make, app):
    """Treatments with min_n - 1 reports (Quaxil), exactly min_n (Brevant) and none (Zoltrin)."""
    min_n = app.config["REPORT_MIN_N"]
    slugs = [make.treatment(name, kind="other") for name in ["Quaxil", "Brevant", "Zoltrin"]]
    assert slugs == ["quaxil", "brevant", "zoltrin"]
    make.condition("Threshold", "G43", treatments=["quaxil", "brevant", "zoltrin"])
    for slug, count in (("quaxil", min_n - 1), ("brevant", min_n)):
        for _ in range(count):
            make.experience("threshold", slug, side_effects=["nausea"])
    return min_n


def _as_zoltrin(text: str) -> str:
    """A page or answer about Quaxil, worded as if it were about Zoltrin."""
    return text.replace("Quaxil", "Zoltrin").replace("quaxil", "zoltrin")


CHARTS = ["effectiveness", "side_effect_severity", "side_effects", "satisfaction", "duration", "stop_reasons"]


def test_min_n_minus_one_is_hidden_everywhere_as_nothing_is_and_min_n_is_shown(client, threshold):
    min_n, base = threshold, "/conditions/threshold/treatments/"
    # min_n - 1 reports: the page, the API and every CSV are those of a treatment nobody reported on.
    assert _as_zoltrin(client.get(base + "quaxil").text) == client.get(base + "zoltrin").text
    assert "Too few reports to show" in client.get(base + "quaxil").text
    assert _as_zoltrin(client.get(f"/api/v1{base}quaxil").text) == client.get(f"/api/v1{base}zoltrin").text
    for chart in CHARTS:
        hidden = client.get(f"{base}quaxil?format=csv&chart={chart}")
        nothing = client.get(f"{base}zoltrin?format=csv&chart={chart}")
        assert hidden.status_code == nothing.status_code == 404, chart
    listing = {t["slug"]: t for t in client.get("/api/v1/conditions/threshold/treatments").get_json()["treatments"]}
    assert listing["quaxil"] == {"slug": "quaxil", "name": "Quaxil", "suppressed": True}
    assert listing["zoltrin"] == {"slug": "zoltrin", "name": "Zoltrin", "suppressed": True}
    ranking = client.get("/conditions/threshold?format=csv&chart=ranking").text
    assert "Quaxil" not in ranking and "Zoltrin" not in ranking
    page = client.get("/conditions/threshold").text
    for name in ("Quaxil", "Zoltrin"):
        row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*>{name}</a>(?:(?!</tr>).)*</tr>", page, re.S)
        assert row and "too few reports to show" in row.group(0), name
    # Exactly min_n: shown, with its count, everywhere.
    assert listing["brevant"]["suppressed"] is False and listing["brevant"]["n"] == min_n
    assert f"<strong>{min_n}</strong> people reported" in client.get(base + "brevant").text
    assert client.get(f"/api/v1{base}brevant").get_json()["treatment"]["n"] == min_n
    assert f"nausea,{min_n},100%" in client.get(f"{base}brevant?format=csv&chart=side_effects").text
    assert f"Brevant,{min_n}," in ranking


@pytest.mark.parametrize(
    "url",
    [
        "/conditions/migraine?sex=robot",
        "/conditions/migraine/treatments/sumatriptan?age_band=old",
        "/api/v1/conditions/migraine/treatments?role=doctor",
    ],
)
def test_bad_filter_codes_get_400_with_a_message(client, community, url):
    response = client.get(url)
    assert response.status_code == 400 and "must be one of" in response.text


@pytest.mark.parametrize(
    "url",
    ["/conditions/migraine?sex=male&sex=female", "/api/v1/conditions/migraine/treatments?role=patient&role=caregiver"],
)
def test_one_value_per_filter_dimension(client, community, url):
    response = client.get(url)
    assert response.status_code == 400 and "at a time" in response.text


def test_unknown_condition_or_treatment_is_404(client, community):
    assert client.get("/conditions/nope").status_code == 404
    assert client.get("/conditions/migraine/treatments/nope").status_code == 404
    assert client.get("/api/v1/conditions/nope/treatments").get_json()["status"] == 404
    assert client.get("/conditions/migraine?format=csv&chart=nope").status_code == 404


def test_csv_downloads_are_spreadsheet_safe(client, community, make):
    for _ in range(5):
        make.experience(treatment="sumatriptan", side_effects=["=cmd|' /c calc'!a0"])
    response = client.get("/conditions/migraine/treatments/sumatriptan?format=csv&chart=side_effects")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    lines = response.text.splitlines()
    assert lines[0] == "Side effect,People,Share,Likely range"
    assert any(line.startswith("'=cmd") for line in lines), lines


@pytest.mark.parametrize(
    "query, status, message",
    [
        ("", 200, "Choose two to four"),
        ("?t=sumatriptan", 400, "Choose two to four treatments"),
        ("?t=a&t=b&t=c&t=d&t=e", 400, "at most 4"),
        ("?t=sumatriptan&t=nope", 400, "not among this condition"),
    ],
)
def test_compare_validates_the_choice(client, community, query, status, message):
    response = client.get("/conditions/migraine/compare" + query)
    assert response.status_code == status and message in response.text


def test_compare_puts_treatments_on_the_same_scales(client, community):
    csv = client.get("/conditions/migraine/compare?t=sumatriptan&t=topiramate&format=csv&chart=effectiveness").text
    header = csv.splitlines()[0]
    assert header == "Answer,Sumatriptan (12 people),Topiramate (10 people)"
    assert "Major,75% (47%-91%); 9 people,0% (0%-28%); 0 people" in csv


def test_people_like_me_prefills_from_the_profile(client, auth, community, make):
    auth.login(birth_year=1980, sex="female")
    page = client.get("/conditions/migraine").text
    assert "People like me" in page and "sex=female" in page and "age_band=45_64" in page


def test_tips_are_newest_first_with_the_authors_pseudonym(client, community):
    page = client.get("/conditions/migraine/treatments/sumatriptan").text
    assert page.count("<blockquote>") == 10 and 'rel="next"' in page  # newest ten, then a next page
    assert "member" in page  # the author's pseudonym
    second = client.get("/conditions/migraine/treatments/sumatriptan?page=2").text
    assert "Tip number 0" in second


@pytest.mark.parametrize("filters", ["?sex=male", "?sex=female&role=caregiver"])
def test_tips_are_never_filtered(client, community, filters):
    # A filtered list would tell each author's sex or role: the same text is listed with its pseudonym.
    everyone = client.get("/conditions/migraine/treatments/sumatriptan").text
    page = client.get("/conditions/migraine/treatments/sumatriptan" + filters).text
    assert re.findall(r"<blockquote>(.*?)</blockquote>", page) == re.findall(
        r"<blockquote>(.*?)</blockquote>", everyone
    )
    assert "never filtered" in page


def test_raw_rows_baseline_gives_the_same_pages(client, app, community):
    urls = ["/api/v1/conditions/migraine/treatments", "/api/v1/conditions/migraine/treatments/sumatriptan?role=patient"]
    fast = [client.get(url).get_json() for url in urls]
    app.config["REPORT_SOURCE"] = "raw"
    assert [client.get(url).get_json() for url in urls] == fast


def test_cached_reports_change_with_every_write(client, community, make):
    before = client.get("/api/v1/conditions/migraine/treatments/sumatriptan").get_json()["treatment"]["n"]
    make.experience(treatment="sumatriptan")
    after = client.get("/api/v1/conditions/migraine/treatments/sumatriptan").get_json()["treatment"]["n"]
    assert after == before + 1


def test_reports_are_shared_through_redis_when_configured(community, app, database_url, redis_url):

    import redis

    from registry.app import create_app

    config = {
        "TESTING": True,
        "SECRET_KEY": "x",
        "EXPORT_KEY": "x",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
    }
    first, second = create_app(config), create_app(config)  # two workers
    assert first.config["CACHE_TYPE"] == "registry.platform.cache.FailOpenRedisCache"  # Redis, failing open
    with first.app_context():
        from registry.platform.extensions import cache

        cache.clear()
    body = first.test_client().get("/api/v1/conditions/migraine/treatments").get_json()
    with second.app_context():
        keys = redis.Redis.from_url(redis_url).keys("*report|condition*")
        assert keys  # the entry the first worker computed is there for the second
    assert second.test_client().get("/api/v1/conditions/migraine/treatments").get_json() == body
    for extra in (first, second):  # close their pools (PostgreSQL connections must not be left open)
        with extra.app_context():
            db.engine.dispose()


# --- perturbed pages: the numbers on one page agree ------------------------------------------------


@pytest.fixture
def perturbed(app, base_config):
    """A second app on the same database publishing protected numbers, as a deployment does."""
    from registry.app import create_app

    second = create_app({**base_config, "DISCLOSURE": "perturb"})
    yield second.test_client()
    with second.app_context():  # close its pool: PostgreSQL connections must not be left open
        db.engine.dispose()


ANSWERED = re.compile(r"Share of the ([\d,]+) people who answered")
REPORTED = re.compile(r"<strong>([\d,]+)</strong> (?:people|person) reported")


@pytest.mark.parametrize("query", ["", "?sex=female", "?sex=male", "?role=patient", "?role=caregiver"])
def test_no_perturbed_page_says_more_people_answered_than_reported(perturbed, community, query):
    for treatment in ("sumatriptan", "topiramate"):
        page = perturbed.get(f"/conditions/migraine/treatments/{treatment}{query}").text
        reported = REPORTED.search(page)
        if reported is None:  # hidden under these filters
            continue
        n = int(reported.group(1).replace(",", ""))
        answered = [int(x.replace(",", "")) for x in ANSWERED.findall(page)]
        assert answered and max(answered) <= n, (treatment, query, n, answered)
        for chart in ("effectiveness", "satisfaction", "side_effect_severity", "would_recommend", "side_effects"):
            csv = perturbed.get(f"/conditions/migraine/treatments/{treatment}{query or '?'}&format=csv&chart={chart}")
            people = [int(line.split(",")[1]) for line in csv.text.strip().splitlines()[1:]]
            assert all(p <= n for p in people) and (chart == "side_effects" or sum(people) in answered), chart


# --- issue 25: numbers in words a patient trusts ---------------------------------------------------


def _text(html: str) -> str:
    """The words of a page, without the charts' data, scripts or markup."""
    html = re.sub(r'data-figure="[^"]*"|<script.*?</script>', "", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _patient_facing(html: str) -> str:
    """A page's words, charts included, outside "how to read" (where the statistical terms are defined)."""
    for block in (r'<section id="how-to-read".*?</section>', r'<details class="explain" id="cahps">.*?</details>'):
        html = re.sub(block, "", html, flags=re.S)
    return _text(html)


@pytest.fixture
def early(make, community):
    """Naratriptan: 5 of 6 improved, 83% (44-97%), ranked below Sumatriptan's 75% (47-91%) by the low end."""
    make.treatment("Naratriptan")
    with make.app.app_context():
        from registry.catalog import catalog
        from registry.models import Condition, Treatment

        condition = db.session.scalar(db.select(Condition).where(Condition.slug == "migraine"))
        condition.treatments.append(db.session.scalar(db.select(Treatment).where(Treatment.slug == "naratriptan")))
        db.session.commit()
        del catalog
    for i in range(6):
        make.experience(treatment="naratriptan", effectiveness="major" if i < 5 else "none")


def test_a_higher_share_ranked_lower_says_why_in_words(client, early):
    text = _text(client.get("/conditions/migraine").text)
    table = text[text.index("Treatments ranked Ordered by") :]
    assert table.index("Sumatriptan 12 75% (47-91%)") < table.index("Naratriptan")
    assert "83% improved, from 6 reports: promising, but too few reports to rank higher yet" in text


def test_the_condition_page_splits_enough_to_rank_from_early_reports(client, community):
    text = _text(client.get("/conditions/migraine").text)
    summary = text[: text.index("All treatments ranked")]
    assert "Best first, among those with enough reports to rank" in summary
    assert "Sumatriptan : about 8 in 10 improved; likely between 5 and 9 in 10" in summary
    assert "Early reports, too few to rank yet: Topiramate (10 people), Propranolol (5 people)." in summary


@pytest.mark.parametrize("url, key", [("/conditions/migraine", "Improved (likely range)"), ("/doctors", "Rated 9-10")])
def test_ranked_tables_are_cards_on_a_phone(client, community, make, app, url, key):
    """The shared CSS contract: class "list cards", a row header, a data-label on every cell, the score as key."""
    rated_doctor(make, app)
    page = client.get(url).text
    table = re.search(r'<table class="list cards[^"]*">.*?</table>', page, flags=re.S).group(0)
    assert 'class="table-scroll"' not in page.split(table)[0][-300:]  # no sideways-scroll wrapper
    body = table.split("<tbody>")[1]
    assert '<th scope="row">' in body
    cells = re.findall(r"<td\b[^>]*>", body)
    assert cells and all("data-label=" in td for td in cells)
    assert re.search(r'<td class="[^"]*\bkey\b[^"]*" data-label="' + re.escape(key), body)


def rated_doctor(make, app, ratings=6):
    """Dr A, rated by `ratings` people for migraine (test_doctors.rate)."""
    from registry.models import Doctor
    from tests.test_doctors import rate

    with app.app_context():
        db.session.add(
            Doctor(name="Dr A", name_key="dr a", specialty="Neurology", city="Oslo", city_key="oslo", country="NO")
        )
        db.session.commit()
    for _ in range(ratings):
        rate(make, app, 1)


def test_a_small_group_reads_as_small(client, community):
    """Propranolol, 5 people: 40% improved with an interval of 12-77% is no figure in words."""
    summary = _text(client.get("/conditions/migraine/treatments/propranolol").text.split('id="summary-title"')[1])
    summary = summary[: summary.index("not medical advice")]
    assert "5 people reported" in summary
    assert "Too few answers yet to say about whether it helped." in summary
    assert "improved" not in summary.replace("whether it helped", "") and "12-77%" not in summary


def test_the_compare_page_opens_with_a_summary_in_words(client, early):
    page = client.get("/conditions/migraine/compare?t=sumatriptan&t=topiramate&t=naratriptan").text
    text = _text(page)
    opening = text[text.index("Compare treatments for Migraine", text.index("<body") if "<body" in text else 0) :]
    opening = opening[: opening.index("Choose two to four treatments")]
    assert "Too few reports to say which did better" in opening or "did better" in opening
    assert "Sumatriptan : 12 people reported; about 8 in 10 improved" in opening
    assert "Topiramate : 10 people reported; too few to say yet how well it worked" in opening


def test_the_noise_note_is_short_below_the_summary_and_in_people(perturbed, community):
    page = perturbed.get("/conditions/migraine/treatments/sumatriptan").text
    text = _text(page)
    note = "To protect each person, numbers may be off by one or two people (never more than 5)."
    assert note in text
    assert "random noise added" not in text and "the same each time you look" not in text
    assert text.index("people reported") < text.index(note) < text.index("not medical advice")


@pytest.mark.parametrize(
    "url",
    [
        "/conditions/migraine",
        "/conditions/migraine/treatments/sumatriptan",
        "/conditions/migraine/treatments/propranolol",
        "/conditions/migraine/compare?t=sumatriptan&t=topiramate",
        "/treatments/sumatriptan",
        "/doctors",
        "/doctors/1",
    ],
)
def test_patient_facing_words_are_plain(client, community, make, app, url):
    """Issue 25 point 7: the statistical terms only in "how to read"."""
    rated_doctor(make, app)
    text = _patient_facing(client.get(url).text)
    for term in ("95% interval", "n=", "top box", "Top box", "(1-5, mean)", "protected count", "standard error", "±"):
        assert term not in text, term
