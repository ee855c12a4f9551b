"""Opinion over the years: one view per year, hidden years said so, movement only when clear."""

from __future__ import annotations

import pytest

from reports.disclosure import Policy
from reports.trends import trend_report
from tests.test_dose import many, slice_frame

EXACT = Policy(mode="exact", min_n=5)


def test_years_by_hand():
    reports = (
        many("2021", [("none", "none", 3)] * 7 + [("moderate", "none", 6)], 1)  # 1 of 8 improved, mean 27/8
        + many("2022", [("major", "none", 9)] * 2, 100)  # too few
        + many("2024", [("major", "none", 9)] * 5 + [("cant_tell", "mild", 4)], 200)  # 5 of 5 who could tell
        + many("2019", [("major", "none", 9)] * 3, 300)  # before the first shown year: never named
    )
    report = trend_report(EXACT, slice_frame(reports))
    assert [y.label for y in report.years] == ["2021", "2022", "2023", "2024"]
    first, hidden, empty, last = report.years
    assert first.n == 8 and first.improved["share"] == pytest.approx(1 / 8, abs=1e-4)
    assert first.satisfaction["mean"] == pytest.approx(27 / 8, abs=0.01)
    assert not hidden.shown and not empty.shown  # 2 reports and none read the same
    assert hidden.as_json() == {"label": "2022", "suppressed": True}
    assert last.n == 6 and last.improved["share"] == 1.0
    assert last.satisfaction["mean"] == pytest.approx(49 / 6, abs=0.01)
    # Wilson: 1 of 8 is at most 47%, 5 of 5 at least 57%: the intervals do not overlap.
    assert first.improved["high"] < last.improved["low"]
    assert report.improved.direction == "up" and (report.improved.first, report.improved.last) == ("2021", "2024")
    assert report.satisfaction.direction == "up"
    assert report.as_json()["years"][0]["year"] == 2021


def test_overlapping_intervals_say_steady():
    reports = many("2022", [("major", "none", 8), ("none", "none", 4)] * 4, 1) + many(
        "2023", [("major", "none", 8)] * 5 + [("none", "none", 4)] * 3, 100
    )
    report = trend_report(EXACT, slice_frame(reports))
    assert report.improved.direction == "steady"
    assert report.satisfaction.direction == "steady"


def test_one_shown_year_has_no_movement_and_a_small_treatment_nothing():
    report = trend_report(EXACT, slice_frame(many("2024", [("major", "none", 8)] * 7)))
    assert len(report.shown) == 1 and report.improved is None
    assert trend_report(EXACT, slice_frame(many("2024", [("major", "none", 8)] * 4))).suppressed
    # Several small years, each hidden, under a shown treatment: no year is named.
    spread = trend_report(
        EXACT, slice_frame(many("2023", [("major", "none", 8)] * 4, 1) + many("2024", [("major", "none", 8)] * 4, 50))
    )
    assert not spread.suppressed and spread.years == []


def test_years_are_protected_views():
    policy = Policy(mode="perturb", min_n=5, sigma=2.5, key=b"k" * 32)
    reports = many("2023", [("major", "none", 8), ("none", "mild", 4)] * 30, 1)
    report = trend_report(policy, slice_frame(reports))
    (year,) = report.years
    assert year.n == policy.view(sum(k for *_, k in reports)).n(len(reports))
    assert year.satisfaction["low"] < year.satisfaction["mean"] < year.satisfaction["high"]


def test_a_year_fewer_than_min_n_people_reported_in_is_never_named_whatever_its_noise():
    reports = (
        many("2019", [("major", "none", 9)] * 4, 1)  # before the shown years: never named
        + many("2021", [("none", "none", 3)] * 30, 100)
        + many("2022", [("major", "none", 9)] * 2, 200)  # between them: only ever "too few"
        + many("2024", [("moderate", "none", 6)] * 30, 300)
        + many("2025", [("major", "none", 9)], 400)  # one person's year, after them: never named
    )
    frame = slice_frame(reports)
    for key in range(400):
        policy = Policy(mode="perturb", min_n=5, sigma=2.5, key=f"years {key}".encode())
        report = trend_report(policy, frame)
        assert [y.label for y in report.years] == ["2021", "2022", "2023", "2024"], key
        assert [y.label for y in report.shown] == ["2021", "2024"]


def test_the_years_shown_never_add_up_to_more_than_the_treatments_n():
    reports = [
        r for i, year in enumerate(range(2018, 2025)) for r in many(str(year), [("major", "none", 8)] * 6, i * 50)
    ]
    frame = slice_frame(reports)
    for key in range(300):
        policy = Policy(mode="perturb", min_n=5, sigma=2.5, key=f"year parts {key}".encode())
        for n in (None, 40):
            report = trend_report(policy, frame, n=n)
            if report.suppressed:
                continue
            bound = n or policy.view(sum(k for *_, k in reports)).n(len(reports))
            assert sum(y.n for y in report.shown) <= bound and all(y.n >= 5 for y in report.shown), key
