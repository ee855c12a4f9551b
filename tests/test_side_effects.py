"""Side effects across a condition's treatments (reports.side_effects, registry.web.views.side_effects)."""

import re

import pytest

from registry.models import Condition, Treatment
from registry.platform.extensions import db
from registry.reporting import cached_reports
from reports.filters import Filters

PAGE = "/conditions/migraine/side-effects"


@pytest.fixture
def migraine(make):
    """Drowsiness: amitriptyline 6 of 30, sumatriptan 10 of 20, topiramate 2 of 20 (few), rizatriptan 3 of 3 (hidden)."""
    for name in ["Sumatriptan", "Topiramate", "Amitriptyline", "Rizatriptan"]:
        make.treatment(name)
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate", "amitriptyline", "rizatriptan"])
    make.condition("Cluster headache", "G44.0", treatments=["sumatriptan"])
    for i in range(20):
        effects = ["drowsiness"] * (i < 10) + ["tingling"] * (i < 5) + ["jaw pain"] * (i < 2)
        make.experience("migraine", "sumatriptan", side_effects=effects)
        make.experience("migraine", "topiramate", side_effects=["drowsiness"] * (i < 2) + ["brain fog"] * (i < 8))
    for i in range(30):
        make.experience("migraine", "amitriptyline", side_effects=["drowsiness"] * (i < 6))
    for _ in range(3):
        make.experience("migraine", "rizatriptan", side_effects=["drowsiness"])


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def _rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [_text(row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_treatments_ranked_by_the_share_reporting_a_side_effect(client, migraine):
    response = client.get(PAGE + "?term=Drowsiness")
    assert response.status_code == 200
    page = response.text
    # 6 of 30 = 20% (10-37%) is credibly lower than 10 of 20 = 50% (30-70%): lowest high end first
    assert _rows(page) == ["Amitriptyline 20% (10-37%) 6 30", "Sumatriptan 50% (30-70%) 10 20"]
    assert "Least drowsiness among the treatments with a number: Amitriptyline, about 2 in 10 had it;" in _text(page)
    few = _text(page.split("Few or none reported drowsiness", 1)[1])
    assert few.startswith("Too few people reported drowsiness") and "Topiramate (20 people reported)" in few
    assert "Rizatriptan" not in page  # too few reports of it to show: never named
    assert 'class="list cards' in page and 'data-label="People who reported"' in page and 'class="num key"' in page


@pytest.mark.parametrize("perturb", [False, True])
def test_the_numbers_are_the_treatment_pages_own(app, client, migraine, perturb):
    if perturb:
        from reports.disclosure import Policy

        app.extensions["disclosure"] = Policy(key=b"side effects test key" * 3)
    page = client.get(PAGE + "?term=drowsiness").text
    with app.test_request_context():
        migraine_row = db.session.scalar(db.select(Condition).where(Condition.slug == "migraine"))
        for slug in ("sumatriptan", "amitriptyline"):
            treatment = db.session.scalar(db.select(Treatment).where(Treatment.slug == slug))
            unit = cached_reports.treatment_report(migraine_row, treatment, Filters())
            (term,) = [t for t in unit.side_effects if t["term"] == "drowsiness"]
            row = next(r for r in _rows(page) if r.startswith(treatment.name))
            assert row.endswith(f" {term['n']} {unit.n}")  # the same protected count and n as its own page


def test_choosing_a_side_effect_lists_only_terms_that_may_appear(client, migraine):
    page = client.get(PAGE).text
    terms = re.findall(r'<option value="([^"]+)"', page)
    assert terms[0] == "drowsiness" and set(terms) == {"drowsiness", "brain fog", "tingling"}
    assert "jaw pain" not in page  # two people wrote it: it never appears
    assert client.get("/conditions/migraine").text.count(f'href="{PAGE}"') == 1  # linked from the condition page


@pytest.mark.parametrize(
    "term, status, words",
    [
        ("jaw pain", 404, 'No side effect called "jaw pain" is shown for Migraine'),  # written by 2: as if by none
        ("no such thing", 404, 'No side effect called "no such thing" is shown for Migraine'),
        ("hair loss", 200, "Too few people reported hair loss with any treatment for Migraine"),  # on the form
        ("<script>x</script>" * 20, 404, "&lt;script&gt;"),
    ],
)
def test_a_side_effect_not_shown_gets_a_clear_answer(client, migraine, term, status, words):
    response = client.get(PAGE, query_string={"term": term})
    assert response.status_code == status and words in _text(response.text) and "<script>x" not in response.text
    assert "<tbody>" not in response.text


def test_empty_and_unknown_conditions(client, make):
    make.condition("Gout", "M10")
    page = client.get("/conditions/gout/side-effects?term=drowsiness")
    assert page.status_code == 200 and "Too few reports to show yet for Gout" in page.text
    assert client.get("/conditions/nope/side-effects").status_code == 404
