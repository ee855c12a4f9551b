"""Dose bands: common units, edges from often-reported strengths only, every number protected."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from reports.disclosure import Policy
from reports.dose import Measure, choose_edges, common_dose, dose_report
from reports.slices import SUMMED, mean_interval

EXACT = Policy(mode="exact", min_n=5)


def slice_frame(reports, axis: str | None = None) -> pd.DataFrame:
    """A slice frame from reports (bucket, effectiveness, side-effect severity, satisfaction, key).

    The axis is "year" for four-digit buckets, else "dose"; each report also counts once in the
    other axis (bucket "other-axis"), as report_slice counts every experience on every axis.
    """
    frames = []
    for name in ("dose", "year"):
        mine = [r for r in reports if (axis or ("year" if r[0].isdigit() else "dose")) == name]
        others = [("other-axis", *r[1:]) for r in reports if r not in mine]
        frames.append(_axis_frame(name, mine + others))
    return pd.concat(frames, ignore_index=True) if any(len(f) for f in frames) else frames[0]


def _axis_frame(axis: str, reports) -> pd.DataFrame:
    rows: dict[str, dict] = {}
    for bucket, effect, severity, satisfaction, key in reports:
        row = rows.setdefault(bucket, dict.fromkeys(SUMMED, 0))
        row["n"] += 1
        row["key_sum"] += key
        row[f"effectiveness__{effect}"] += 1
        row[f"side_effect_severity__{severity}"] += 1
        row[f"satisfaction__{satisfaction}"] += 1
    return pd.DataFrame(
        [{"axis": axis, "bucket": b, **r} for b, r in rows.items()], columns=["axis", "bucket", *SUMMED]
    )


def many(bucket, answers, start_key=1):
    """Reports at one dose: answers are (effectiveness, severity, satisfaction) triples."""
    return [(bucket, e, s, sat, start_key + i) for i, (e, s, sat) in enumerate(answers)]


def test_common_units_and_daily_doses():
    assert common_dose("mg|50|twice_daily") == (Measure("mg", "a day"), 100)
    assert common_dose("mcg|500|once_daily") == (Measure("mg", "a day"), 0.5)
    assert common_dose("g|1|three_times_daily") == (Measure("mg", "a day"), 3000)
    assert common_dose("mg|2.5|weekly") == (Measure("mg", "a week"), 2.5)
    assert common_dose("puffs|2|as_needed") == (Measure("puffs", "a dose (as needed)"), 2)
    assert common_dose("units|20|once_daily")[0].label == "units a day"
    for apart in ("other|5|once_daily", "mg|40|other", "mg|40|", "", "mg|x|once_daily"):
        assert common_dose(apart) is None


def test_bands_by_hand():
    # Sertraline-like: 50 mg a day (6 reports, 2 improved), 100 mg a day as 100 once or 50 twice (7 reports,
    # 5 improved), 150 mg a day (5 reports, 4 improved, 2 severe); one rare 75 mg report falls in the 50 band
    # without becoming an edge; 3 in ml are "other units", 4 without a dose.
    reports = (
        many(
            "mg|50|once_daily",
            [
                ("major", "none", 8),
                ("moderate", "mild", 7),
                ("slight", "none", 5),
                ("none", "mild", 3),
                ("none", "none", 4),
                ("cant_tell", "none", 5),
            ],
            1,
        )
        + many("mg|75|once_daily", [("major", "none", 9)], 100)
        + many(
            "mg|100|once_daily",
            [("major", "mild", 9), ("major", "none", 8), ("moderate", "none", 7), ("slight", "mild", 5)],
            200,
        )
        + many("mg|50|twice_daily", [("moderate", "mild", 7), ("moderate", "none", 6), ("none", "severe", 2)], 300)
        + many(
            "mg|150|once_daily",
            [
                ("major", "severe", 6),
                ("major", "very_severe", 5),
                ("moderate", "mild", 8),
                ("major", "none", 9),
                ("worse", "moderate", 1),
            ],
            400,
        )
        + many("ml|5|once_daily", [("major", "none", 9)] * 3, 500)
        + many("", [("slight", "none", 5)] * 4, 600)
    )
    report = dose_report(EXACT, slice_frame(reports))
    assert not report.suppressed
    assert report.measure == "mg a day"
    assert report.edges == [50, 100, 150]
    assert [b.label for b in report.bands] == ["under 100", "100 to under 150", "150 or more"]
    low, middle, high = report.bands
    # under 100: the six 50 mg reports and the rare 75 mg one; 5 of 6 could tell, 3 improved.
    assert low.n == 7
    assert low.improved["share"] == pytest.approx(3 / 6, abs=1e-4)
    assert low.severe["share"] == 0
    assert low.satisfaction["mean"] == pytest.approx(41 / 7, abs=0.01)
    assert middle.n == 7 and middle.improved["share"] == pytest.approx(5 / 7, abs=1e-4)
    assert middle.severe["share"] == pytest.approx(1 / 7, abs=1e-4)
    assert high.n == 5 and high.improved["share"] == pytest.approx(4 / 5, abs=1e-4)
    assert high.severe["share"] == pytest.approx(2 / 5, abs=1e-4)
    assert high.improved["low"] < 0.8 < high.improved["high"]
    # 3 in ml and 4 without a dose: both under min_n, hidden alike.
    assert report.other_units is None and report.without_dose is None


def test_a_rare_strength_never_becomes_an_edge_and_a_small_band_is_hidden():
    reports = (
        many("mg|10|once_daily", [("major", "none", 8)] * 6, 1)
        + many("mg|20|once_daily", [("moderate", "none", 7)] * 5, 100)
        + many("mg|40|once_daily", [("none", "severe", 2)] * 4, 200)  # rare: no edge of its own
        + many("", [("slight", "none", 5)] * 6, 300)
    )
    report = dose_report(EXACT, slice_frame(reports))
    assert report.edges == [10, 20]
    assert [b.n for b in report.bands] == [6, 9]  # the 40 mg reports are in "20 or more"
    assert report.without_dose == 6

    only_small = many("mg|10|once_daily", [("major", "none", 8)] * 5, 1) + many(
        "mg|20|once_daily", [("none", "none", 5)] * 5, 50
    )
    split = dose_report(Policy(mode="exact", min_n=5), slice_frame(only_small))
    assert [b.n for b in split.bands] == [5, 5]
    # A band whose protected n is under min_n shows nothing, like every view.
    stricter = dose_report(
        Policy(mode="exact", min_n=6), slice_frame(only_small + many("mg|10|once_daily", [("major", "none", 8)], 99))
    )
    assert stricter.edges == [10] and stricter.bands[0].n == 11 and stricter.bands[0].label == "any dose in mg a day"


def test_a_strength_fewer_than_min_n_people_reported_is_never_an_edge_whatever_its_noise():
    reports = (
        many("mg|10|once_daily", [("major", "none", 8)] * 30, 1)
        + many("mg|35|once_daily", [("none", "severe", 2)], 100)  # one person's dose
        + many("mg|60|once_daily", [("none", "severe", 2)] * 4, 200)  # four people's
        + many("mg|80|once_daily", [("moderate", "none", 7)] * 30, 300)
        + many("ml|5|once_daily", [("moderate", "none", 7)] * 3, 400)  # three apart, in other units
    )
    frame = slice_frame(reports)
    for key in range(400):
        policy = Policy(mode="perturb", min_n=5, sigma=2.5, key=f"dose edges {key}".encode())
        report = dose_report(policy, frame)
        assert set(report.edges) <= {10, 80}, (key, report.edges)
        assert report.other_units is None  # three reports never show a count, however noised
        for band in report.shown:
            assert band.n >= 5


def test_a_treatment_with_too_few_reports_shows_no_band():
    report = dose_report(EXACT, slice_frame(many("mg|10|once_daily", [("major", "none", 8)] * 4)))
    assert report.suppressed and report.as_json() == {"suppressed": True}
    assert dose_report(EXACT, slice_frame([])).suppressed


def test_no_frequent_strength_means_no_bands_and_everything_counted_apart():
    reports = many("mg|10|once_daily", [("major", "none", 8)] * 3, 1) + many(
        "mg|20|once_daily", [("major", "none", 8)] * 3, 10
    )
    report = dose_report(EXACT, slice_frame(reports))
    assert not report.suppressed and report.bands == [] and report.measure is None
    assert report.other_units == 6


def test_the_most_reported_measure_is_the_common_one():
    reports = (
        many("mg|1|weekly", [("major", "none", 8)] * 5, 1)
        + many("mg|2|weekly", [("major", "none", 8)] * 5, 20)
        + many("mg|7|once_daily", [("major", "none", 8)] * 6, 40)
    )
    report = dose_report(EXACT, slice_frame(reports))
    assert report.measure == "mg a week" and report.edges == [1, 2]
    assert report.other_units == 6


def test_at_most_four_bands_balanced():
    assert choose_edges([(a, 10) for a in (1, 2, 3)]) == [1, 2, 3]
    strengths = [(1, 100), (2, 5), (3, 5), (4, 100), (5, 5), (6, 100), (7, 100)]
    edges = choose_edges(strengths)
    assert len(edges) == 4 and edges[0] == 1
    assert set(edges) <= {a for a, _ in strengths}
    # By hand: 1-2 | 3-4 | 5-6 | 7 holds 105, 105, 105, 100; any other split has a band of at least 110.
    assert edges == [1, 3, 5, 7]


def test_bands_go_through_the_noise_and_agree_with_the_treatment_view():
    policy = Policy(mode="perturb", min_n=5, sigma=2.5, key=b"k" * 32)
    reports = many("mg|10|once_daily", [("major", "none", 8), ("none", "mild", 4)] * 20, 1)
    report = dose_report(policy, slice_frame(reports))
    (band,) = report.bands
    # One band holding every report is the treatment's own set: the same protected n as its page.
    assert band.n == policy.view(sum(k for *_, k in reports)).n(len(reports))
    assert 0 <= band.improved["low"] <= band.improved["share"] <= band.improved["high"] <= 1
    again = dose_report(policy, slice_frame(reports))
    assert again.as_json() == report.as_json()


def test_mean_interval_by_hand():
    hist = {str(c): 0 for c in range(1, 11)}
    hist.update({"4": 2, "6": 2})
    result = mean_interval(EXACT, hist)
    # mean 5, sample sd sqrt(4/3), se = sqrt(4/3/4) = 0.577; 1.96 * 0.577 = 1.13
    assert (
        result["mean"] == 5
        and result["low"] == pytest.approx(3.87, abs=0.01)
        and result["high"] == pytest.approx(6.13, abs=0.01)
    )
    noisy = mean_interval(Policy(mode="perturb", min_n=5, sigma=2.5, key=b"k"), hist)
    assert noisy["low"] < result["low"] and noisy["high"] > result["high"]
    assert mean_interval(EXACT, dict.fromkeys(hist, 0)) is None


def test_the_computation_modules_stay_pure():
    """reports/dose.py, trends.py and slices.py import no web framework, database layer or models."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "reports"
    for name in ("dose.py", "trends.py", "slices.py"):
        tree = ast.parse((root / name).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m and m.split(".")[0] in ("flask", "sqlalchemy")}, name
        assert not {m for m in imported if m and m.startswith("registry.models")}, name


def test_the_charts_are_valid_plotly_figures_with_their_tables():
    """The dose and year figures skip plotly's validation when built: validate them here, and their text."""
    import plotly.graph_objects as go

    from reports import slice_charts
    from reports.trends import trend_report

    reports = (
        many("mg|10|once_daily", [("major", "none", 8)] * 6, 1)
        + many("mg|20|once_daily", [("none", "severe", 3)] * 6, 50)
        + many("mg|30|once_daily", [("none", "severe", 3)] * 2, 90)
    )
    dose = dose_report(EXACT, slice_frame(reports))
    years = trend_report(
        EXACT, slice_frame([("2024", *r[1:]) for r in reports] + many("2022", [("major", "none", 9)] * 5, 200))
    )
    charts = slice_charts.section_charts(dose, years)
    assert [c.id for c in charts] == ["dose", "years"]
    for chart in charts:
        drawn = json.loads(chart.figure_json())
        assert json.loads(go.Figure(drawn).to_json()) == drawn  # raises on anything plotly would refuse
    dose_table, years_table = charts[0].table.frame(), charts[1].table.frame()
    assert dose_table.iloc[:, 0].tolist() == ["under 20", "20 or more", "Without a dose", "In other units or schedules"]
    assert dose_table["Reports"].tolist() == [6, 8, "Too few reports to show", "Too few reports to show"]
    assert years_table["Year"].tolist() == ["2022", "2023", "2024"]
    assert years_table["Reports"].tolist()[1] == "Too few reports to show"
    assert None in charts[1].figure.data[0]["y"]  # the hidden year is a gap in the line


def test_the_bands_and_counts_apart_never_add_up_to_more_than_the_treatments_n():
    reports = (
        many("mg|10|once_daily", [("major", "none", 8)] * 7, 1)
        + many("mg|20|once_daily", [("moderate", "none", 7)] * 6, 100)
        + many("mg|40|once_daily", [("none", "severe", 2)] * 5, 200)
        + many("mg|80|once_daily", [("none", "severe", 2)] * 6, 300)
        + many("", [("slight", "none", 5)] * 6, 400)
        + many("ml|5|once_daily", [("slight", "none", 5)] * 5, 500)
    )
    frame = slice_frame(reports)
    for key in range(300):
        policy = Policy(mode="perturb", min_n=5, sigma=2.5, key=f"dose parts {key}".encode())
        for n in (None, 25):  # the slices' own total, or the page's n when the caller has it
            report = dose_report(policy, frame, n=n)
            if report.suppressed:
                continue
            bound = n or policy.view(sum(k for *_, k in reports)).n(len(reports))
            parts = [b.n for b in report.shown] + [report.without_dose or 0, report.other_units or 0]
            assert sum(parts) <= bound and all(b.n >= 5 for b in report.shown), (key, n, parts, bound)
