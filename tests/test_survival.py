"""Time on treatment (reports.survival): the life table against hand-computed fixtures and lifelines' own
estimate on one row per person, censoring, the noise band and the disclosure of band counts."""

import math

import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from reports import survival
from reports.disclosure import Policy
from reports.survival import BANDS, Bands, TrueBands

EXACT = Policy(mode="exact", min_n=5)
NOISY = Policy(mode="perturb", min_n=5, sigma=2.5, key=b"survival-test-key")


def _bands(stopped, using, reasons=None):
    return Bands(sum(stopped) + sum(using), tuple(stopped), tuple(using), reasons or {"early": {}, "late": {}})


def _people(stopped, using):
    """One row per person, durations by the life-table convention: stops at the band's end, half the still-using
    at its middle and half at its end (even counts only), the open band after every milestone."""
    rows = []
    for (start, end), d, c in zip(BANDS, stopped, using):
        end = survival.OPEN_END if end is None else end
        rows += [(end, 1)] * d
        middle = end if end == survival.OPEN_END else (start + end) / 2
        rows += [(middle, 0)] * (c // 2) + [(end, 0)] * (c - c // 2)
    return pd.DataFrame(rows, columns=["t", "e"])


def test_the_curve_matches_a_hand_computed_life_table_with_censoring():
    # 10 people: 2 stop in the first month, 2 still using reported then (at risk for half of it), ...
    curve = survival.curve(EXACT, _bands((2, 1, 0, 1, 0, 0), (2, 0, 2, 0, 0, 2)))
    s1 = 1 - 2 / (10 - 2 / 2)  # 7/9: the 2 still using count as half at risk in their band
    s3 = s1 * (1 - 1 / 6)
    s12 = s3 * (1 - 1 / 3)  # 2 still using between 3 and 6 months left before anyone stopped
    assert [p.share for p in curve.points] == [round(x, 4) for x in (s1, s3, s3, s12, s12)]
    assert [p.at_risk for p in curve.points] == [9.0, 6.0, 4.0, 3.0, 2.0]
    # Greenwood's variance on the exponential (log-log) scale, as lifelines draws it.
    var = 2 / (9 * 7)
    h = 1.959963984540054 * math.sqrt(var) / abs(math.log(s1))
    assert curve.points[0].low == pytest.approx(s1 ** math.exp(h), abs=1e-4)
    assert curve.points[0].high == pytest.approx(s1 ** math.exp(-h), abs=1e-4)
    assert curve.median["months"] == 12  # 43% still on it at 12 months, 65% at 6
    assert survival.life_table_log((2, 1, 0, 1, 0, 0), (2, 0, 2, 0, 0, 2))[3] == pytest.approx(math.log(s12))


def test_people_still_using_it_are_censored_not_counted_as_stopped():
    still = survival.curve(EXACT, _bands((0, 0, 0, 0, 0, 0), (4, 4, 4, 4, 4, 4)))
    assert [p.share for p in still.points] == [1.0] * 5
    assert still.median == {"months": None, "low": None, "high": None}  # more than half still on it at 24 months
    assert still.points[0].low < 1.0  # no stop seen among a few people is not certainty
    # Had the same people been counted as stopped, the curve would fall; censored, it stays where the stops put it.
    half = survival.curve(EXACT, _bands((5, 0, 0, 0, 0, 0), (5, 0, 0, 0, 0, 10)))
    assert half.points[0].share == round(1 - 5 / 17.5, 4)


@pytest.mark.parametrize(
    "stopped,using",
    [
        ((2, 1, 0, 1, 0, 0), (2, 0, 2, 0, 0, 2)),
        ((30, 22, 18, 9, 6, 3), (12, 10, 8, 20, 14, 40)),
        ((0, 5, 0, 7, 0, 1), (0, 0, 6, 0, 8, 0)),
        ((40, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0)),
    ],
)
def test_the_curve_equals_lifelines_on_one_row_per_person(stopped, using):
    curve = survival.curve(EXACT, _bands(stopped, using))
    people = _people(stopped, using)
    fit = KaplanMeierFitter().fit(people["t"], people["e"])
    for point in curve.points:
        if point.share is None:
            continue
        assert point.share == pytest.approx(float(fit.survival_function_at_times(point.months).iloc[0]), abs=1e-4)
        ci = fit.confidence_interval_survival_function_
        row = ci.loc[ci.index <= point.months].iloc[-1]
        if 0 < point.share < 1:
            assert (point.low, point.high) == pytest.approx((row.iloc[0], row.iloc[1]), abs=1e-4)
    expected = fit.median_survival_time_
    assert curve.median["months"] == (None if math.isinf(expected) or expected > 24 else expected)


def test_nobody_left_at_risk_leaves_the_rest_of_the_curve_unknown():
    curve = survival.curve(EXACT, _bands((10, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0)))
    assert curve.points[0].share == 0.0
    assert [p.share for p in curve.points[1:]] == [None] * 4
    assert curve.median["months"] == 1


def test_small_units_get_no_curve_and_noise_widens_the_band():
    assert survival.curve(EXACT, _bands((3, 1, 0, 0, 0, 0), (2, 0, 1, 0, 0, 2))).suppressed  # 9 < 2 * min_n
    big = _bands((30, 22, 18, 9, 6, 3), (12, 10, 8, 20, 14, 40))
    plain, noisy = survival.curve(EXACT, big), survival.curve(NOISY, big)
    assert [p.share for p in plain.points] == [p.share for p in noisy.points]
    for a, b in zip(plain.points, noisy.points):
        assert b.low < a.low and b.high > a.high


def _true(stopped, using, key_sum, reasons=None):
    return TrueBands(sum(stopped) + sum(using), key_sum, tuple(stopped), tuple(using), reasons or {"cost": (1, 4)})


def test_one_more_person_does_not_show_up_as_a_step_of_one_person():
    stopped, using = [9, 7, 6, 5, 4, 3], [4, 3, 6, 8, 9, 12]
    steps = 0
    for trial in range(40):
        key = 10_000 + 7919 * trial
        before = survival.protect(NOISY, _true(stopped, using, key))
        more = list(stopped)
        more[1] += 1  # one person who stopped between 1 and 3 months reports; their key joins the view's name
        after = survival.protect(NOISY, _true(more, using, key + 123_456_789 + trial))
        diff = [a - b for a, b in zip(after.stopped + after.using, before.stopped + before.using)]
        steps += diff == [0, 1, 0, 0, 0, 0] + [0] * 6
        assert sum(1 for d in diff if d) >= 3  # every band moves, not only the new person's
    assert steps == 0
    # In exact mode the same change is the one-person step the noise hides.
    exact = [
        a - b
        for a, b in zip(
            survival.protect(EXACT, _true(more, using, 1)).stopped,
            survival.protect(EXACT, _true(stopped, using, 1)).stopped,
        )
    ]
    assert exact == [0, 1, 0, 0, 0, 0]


def test_band_counts_come_from_one_view_the_same_each_time():
    true = _true([9, 7, 6, 5, 4, 3], [4, 3, 6, 8, 9, 12], 987654321)
    assert survival.protect(NOISY, true) == survival.protect(NOISY, true)
    # The "t" view is not the unit's "e" view: its n is drawn apart.
    ns = {(NOISY.view(k, "t").n(100), NOISY.view(k).n(100)) for k in range(30)}
    assert any(a != b for a, b in ns)


def test_true_bands_group_report_slice_rows_by_band_and_stop_reasons_by_period():
    frame = pd.DataFrame(
        [
            (1, 7, "stopped", "0", 2, 10, 2, 0),
            (1, 7, "stopped", "2", 1, 20, 0, 1),
            (1, 7, "stopped", "40", 3, 30, 0, 3),
            (1, 7, "using", "0", 4, 40, 0, 0),
            (1, 7, "using", "60", 5, 50, 0, 0),
            (1, 7, "dose", "mg|5|daily", 9, 99, 0, 0),
        ],
        columns=[
            "condition_id",
            "treatment_id",
            "axis",
            "bucket",
            "n",
            "key_sum",
            "stop_reasons__side_effects",
            "stop_reasons__cost",
        ],
    )
    true = survival.true_bands(frame)[7]
    assert true.stopped == (2, 1, 0, 0, 0, 3) and true.using == (4, 0, 0, 0, 0, 5)
    assert true.n == 15 and true.key_sum == 150  # the dose row is another axis: not in the view
    assert true.reasons == {"side_effects": (2, 0), "cost": (1, 3)}


def test_stop_reasons_by_period_need_min_n_stops():
    reasons = {"early": {"side_effects": 8, "cost": 1}, "late": {"side_effects": 1, "cost": 2}}
    curve = survival.curve(EXACT, Bands(20, (6, 4, 1, 1, 1, 0), (2, 2, 2, 1, 0, 0), reasons))
    assert curve.reasons["early"]["stops"] == 10
    assert curve.reasons["early"]["reasons"]["side_effects"]["share"] == 0.8
    assert "late" not in curve.reasons  # 3 late stops: fewer than min_n, not shown


def test_every_time_chart_is_valid_plotly_and_serialised_as_plotly_would():
    """The page draws figures unvalidated (reports.charts._figure); here each kind of time chart is validated."""
    import json

    import plotly.graph_objects as go
    import plotly.io as pio

    from reports import time_charts

    reasons = {"early": {"side_effects": 8, "cost": 1}, "late": {"side_effects": 1, "cost": 6}}
    curve = survival.curve(EXACT, Bands(40, (6, 4, 3, 2, 1, 0), (4, 4, 4, 4, 4, 4), reasons))
    charts = [
        *time_charts.time_charts("Drug <b>A</b>", curve),
        *time_charts.compare_charts([("A", curve), ("B", curve)]),
    ]
    assert len(charts) >= 3
    for chart in charts:
        drawn = json.loads(chart.figure_json())
        assert json.loads(go.Figure(drawn).to_json()) == drawn, chart.id  # raises on anything plotly would refuse
        plotlys = pio.to_json({"data": chart.figure.data, "layout": chart.figure.layout}, validate=False)
        assert json.loads(plotlys) == drawn, chart.id


def _curve(shares, median):
    points = [
        survival.Point(m, s, s and s - 0.1, s and s + 0.1, 20.0, 1, 0) for m, s in zip(survival.MILESTONES, shares)
    ]
    return survival.Curve(20, False, points, median, open_band={"stopped": 0, "still_using": 0})


def test_months_are_said_in_the_singular_for_one():
    from reports.time_charts import median_words, months

    assert months(1) == "1 month" and months(3) == "3 months"
    half = _curve([0.4, 0.3, 0.2, 0.1, 0.1], {"months": 1, "low": 1, "high": None})
    assert median_words(half) == "Half had stopped by 1 month (likely at 1 month or later)."
    between = _curve([0.4, 0.3, 0.2, 0.1, 0.1], {"months": 1, "low": 1, "high": 3})
    assert median_words(between) == "Half had stopped by 1 month (likely between 1 and 3 months)."
    short = _curve([0.8, None, None, None, None], {"months": None, "low": None, "high": None})
    assert median_words(short) == "More than half were still on it at 1 month."
    early = _curve([0.9, 0.8, 0.7, 0.6, 0.55], {"months": None, "low": 1, "high": None})
    assert median_words(early).endswith("half may have stopped as early as 1 month.")


def test_the_time_table_leaves_out_an_empty_open_band_and_says_what_a_full_one_is():
    import json

    from reports.time_charts import survival_chart

    curve = _curve([0.9, 0.8, 0.7, 0.6, 0.55], {"months": None, "low": None, "high": None})
    table = survival_chart([("A", curve)]).table.frame()
    assert table["Months"].tolist() == [1, 3, 6, 12, 24]  # nobody at 24 months or more: no empty row
    curve.open_band = {"stopped": 2, "still_using": 5}
    chart = survival_chart([("A", curve)])
    last = chart.table.frame().iloc[-1].to_dict()
    assert last["Months"] == "24 or more" and last["Still on it"] == "not read past 24 months"
    assert last["Stopped in that band"] == 2 and last["Still using, reported in that band"] == 5
    drawn = json.loads(chart.figure_json())["data"][1]
    assert drawn["customdata"][1][2] == "1 month" and "%{customdata[2]}" in drawn["hovertemplate"]  # not "1 months"


@pytest.mark.parametrize(
    "stopped,using",
    [
        ((2, 1, 0, 1, 0, 0), (2, 0, 2, 0, 0, 2)),
        ((30, 22, 18, 9, 6, 3), (12, 10, 8, 20, 14, 40)),
        ((0, 5, 0, 7, 0, 1), (0, 0, 6, 0, 8, 0)),
        ((7, 3, 0, 0, 0, 0), (2, 0, 0, 0, 0, 0)),
        ((3, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0)),
    ],
)
def test_the_weighted_kaplan_meier_equals_lifelines_weighted_fit(stopped, using):
    """The curve is computed without lifelines (a worker's memory); on the weighted life table both agree.

    (Where half a band's still-using make the number at risk fractional, lifelines' weighted
    Greenwood sum truncates it to a whole number; kaplan_meier keeps it whole, as in the hand-computed
    fixture above. These cases keep it whole.)"""
    import warnings

    from lifelines.exceptions import StatisticalWarning

    rows = survival._weights(_bands(stopped, using))
    frame = pd.DataFrame(rows, columns=["duration", "event", "weight"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        fit = KaplanMeierFitter().fit(frame["duration"], frame["event"], weights=frame["weight"])
    times = [float(m) for m in survival.MILESTONES]
    ours = survival.kaplan_meier(rows, times)
    expected = fit.survival_function_at_times(times).to_list()
    for (s, variance), theirs, t in zip(ours, expected, times):
        assert s == pytest.approx(theirs, abs=1e-9)
        ci = fit.confidence_interval_survival_function_
        low, high = ci.loc[ci.index <= t].iloc[-1]
        if 0 < s < 1:
            h = 1.959963984540054 * math.sqrt(variance) / abs(math.log(s))
            assert sorted([s ** math.exp(h), s ** math.exp(-h)]) == pytest.approx(sorted([low, high]), abs=1e-9)
