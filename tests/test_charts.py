"""Charts carry the table of their numbers (reports.charts)."""

import json

import pytest

from reports.charts import compare_charts, distribution_chart, multiple_chart, ranking_chart, treatment_charts
from reports.disclosure import Policy
from reports.outcomes import UnitReport

EXACT = Policy(mode="exact")
NOISY = Policy(key=b"k" * 32)


def unit(name, n, major):
    dists = {
        "effectiveness": {"worse": 0, "none": n - major, "slight": 0, "moderate": 0, "major": major, "cant_tell": 0},
        "side_effect_severity": {"none": n, "mild": 0, "moderate": 0, "severe": 0, "very_severe": 0},
        "adherence": {"always": n, "usually": 0, "sometimes": 0, "rarely": 0},
        "burden": {"not_at_all": n, "a_little": 0, "somewhat": 0, "very": 0},
        "cost_per_month": dict.fromkeys(["zero", "lt_25", "25_100", "100_500", "500_1000", "gt_1000", "unknown"], 0),
        "insurance_coverage": dict.fromkeys(
            ["covered", "partly", "not_covered", "denied", "no_insurance", "unknown"], 0
        ),
        "would_recommend": {"yes": major, "no": n - major},
        "satisfaction": {str(k): (n if k == 8 else 0) for k in range(1, 11)},
    }
    return UnitReport(
        name.lower(),
        name,
        n,
        False,
        dists,
        {"share": major / n, "low": 0.1, "high": 0.9},
        8.0,
        stop_reasons={"cost": 1},
        duration={"lt_1m": n},
    )


def test_distribution_chart_shows_shares_with_intervals_and_says_what_100_percent_is():
    chart = distribution_chart(
        "effectiveness", "How well it worked", {"none": 30, "major": 10}, {"none": "None", "major": "Major"}, EXACT
    )
    table = chart.table.frame().to_dict("list")
    assert table["Answer"] == ["None", "Major"] and table["People"] == [30, 10] and table["Share"] == ["75%", "25%"]
    assert table["Likely range"][1] == "14%-40%"  # Wilson, 10 of 40
    figure = json.loads(chart.figure_json())
    assert figure["data"][0]["x"] == [0.25, 0.75] and figure["data"][0]["y"] == ["Major", "None"]  # first answer on top
    assert figure["data"][0]["error_x"]["arrayminus"][0] > 0
    assert figure["layout"]["xaxis"]["range"] == [0, 1]
    assert figure["layout"]["xaxis"]["title"]["text"] == "Share of the 40 people<br>who answered"  # fits a phone
    assert "40 people who answered this question (100% = all of them)" in chart.summary  # the caption wraps itself
    assert len(json.dumps(figure["layout"]["template"])) < 1000  # not the 10 kB default template


def test_noise_widens_the_intervals_of_a_distribution():
    counts = {"none": 30, "major": 10}
    exact = distribution_chart("e", "E", counts, {}, EXACT).table.frame()["Likely range"][1]
    noisy = distribution_chart("e", "E", counts, {}, NOISY).table.frame()["Likely range"][1]
    width = lambda text: int(text.split("-")[1].rstrip("%")) - int(text.split("-")[0].rstrip("%"))  # noqa: E731
    assert width(noisy) > width(exact)


def test_reasons_are_shares_of_everyone_who_reported():
    chart = multiple_chart(
        "stop_reasons", "Why people stopped", {"cost": 5, "other": 0}, {"cost": "Cost"}, EXACT, base=50
    )
    assert chart.table.frame()["Share"].tolist() == ["10%", "0%"]
    assert "all 50 people who reported" in chart.summary and "more than 100%" in chart.summary


def test_ranking_states_its_order_and_shows_the_bound():
    from reports.filters import Filters
    from reports.outcomes import ConditionReport

    report = ConditionReport(1, Filters(), 5, 30, False, [unit("Alpha", 10, 6), unit("Beta", 20, 5)], [])
    chart = ranking_chart(report)
    assert chart.table.frame()["Ranked by (low end)"].tolist() == ["10%", "10%"]
    assert "low end of the interval" in chart.summary


def test_treatment_and_compare_charts_cover_every_scale():
    assert [c.id for c in treatment_charts(unit("Alpha", 10, 6), EXACT)] == [
        "effectiveness",
        "side_effect_severity",
        "side_effects",
        "stop_reasons",
        "adherence",
        "burden",
        "cost_per_month",
        "insurance_coverage",
        "would_recommend",
        "satisfaction",
        "duration",
    ]
    charts = compare_charts([unit("Alpha", 10, 6), unit("Beta", 20, 5)], EXACT)
    effectiveness = next(c for c in charts if c.id == "effectiveness")
    assert list(effectiveness.table.columns) == ["Answer", "Alpha (10 people)", "Beta (20 people)"]
    layout = json.loads(effectiveness.figure_json())["layout"]
    assert layout["xaxis"]["range"] == [0, 1]  # same axes for all
    assert layout["yaxis"]["autorange"] == "reversed"  # horizontal bars, the first answer on top


# Names, terms and labels as an attacker would enter them: plotly draws a subset of HTML in labels.
HOSTILE = [
    '<a href="https://evil.example/">Miracle</a>',
    '<a href="//evil.example/">free pills</a>',
    "<b>bold</b> claim",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    "Tom & Jerry's &lt;tonic&gt;",
]


def _strings(value):
    """Every string anywhere in a figure's JSON."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


POLICY = Policy(mode="exact", min_n=5)


def _hostile_charts():
    import scales
    from reports.charts import popularity_chart, ranking_chart, terms_chart
    from reports.outcomes import ConditionReport

    units = [unit(name, 10 + i, 6) for i, name in enumerate(HOSTILE)]
    for u in units:
        u.severe = u.not_covered = {"share": 0.1, "low": 0.0, "high": 0.3}
        u.side_effects = [{"term": term, "n": 5, "share": 0.5} for term in HOSTILE]
    report = ConditionReport(
        condition_id=1,
        filters=None,
        min_n=5,
        n=100,
        suppressed=False,
        treatments=units,
        side_effects=units[0].side_effects,
    )
    labels = {code: HOSTILE[i % len(HOSTILE)] for i, code in enumerate(scales.EFFECTIVENESS.codes)}
    yield ranking_chart(report)
    yield popularity_chart(report)
    yield terms_chart("side_effects", "Side effects", report.side_effects, POLICY, 100)
    yield distribution_chart("effectiveness", "How well it worked", {c: 1 for c in labels}, labels, POLICY)
    yield from treatment_charts(units[0], POLICY)
    yield from compare_charts(units[:4], POLICY)


def test_no_name_term_or_label_reaches_plotly_as_markup():
    charts = list(_hostile_charts())
    assert len(charts) > 20
    for chart in charts:
        for text in _strings(json.loads(chart.figure_json())):
            # our hover templates' <extra></extra> and wrap()'s line breaks are the only tags; every other "<" is &lt;
            assert "<" not in text.replace("<extra></extra>", "").replace("<br>", ""), (chart.id, text)
    ranking = json.loads(charts[0].figure_json())["data"][0]
    assert '&lt;a href="https://evil.example/"&gt;Miracle&lt;/a&gt;' in ranking["y"]  # drawn as the text typed
    assert "Tom &amp; Jerry's &amp;lt;tonic&amp;gt;" in ranking["y"]  # an entity typed in stays as typed


def test_the_tables_keep_the_names_as_entered():
    """The table beside each chart is escaped by the template, so it holds the names unchanged."""
    ranking = next(_hostile_charts())
    assert sorted(ranking.table.frame()["Treatment"]) == sorted(HOSTILE)


def test_every_kind_of_figure_is_valid_plotly():
    """Figures are built without plotly's validation on page views; here each kind is validated."""
    import plotly.graph_objects as go
    import plotly.io as pio

    for chart in _hostile_charts():
        drawn = json.loads(chart.figure_json())
        validated = json.loads(go.Figure(drawn).to_json())  # raises ValueError on an unknown or ill-typed property
        assert validated == drawn, chart.id  # and plotly.js gets what validation would have given it
        plotlys = pio.to_json({"data": chart.figure.data, "layout": chart.figure.layout}, validate=False)
        assert json.loads(plotlys) == drawn, chart.id  # the fast serialisation is plotly's own
    broken = json.loads(next(_hostile_charts()).figure_json())
    broken["layout"]["xaxis"]["tickformatt"] = ".0%"
    with pytest.raises(ValueError):
        go.Figure(broken)


def test_lines_wrap_at_spaces_then_hyphens_and_cut_only_a_longer_run():
    from reports.charts import lines

    assert lines("Share of the 1,234 people who answered", 24) == ["Share of the 1,234", "people who answered"]
    assert lines("Not covered by insurance", 16) == ["Not covered by", "insurance"]
    assert lines("Budesonide-formoterol", 16) == ["Budesonide-", "formoterol"]
    assert lines("Hydrochlorothiazide/amiloride x", 16) == ["Hydrochlorothiaz", "ide/amiloride x"]
    assert lines("Short", 16) == ["Short"] and lines("", 16) == [""]
    for text in ("Improved (100% = all who could tell)", '<a href="https://evil.example/">Miracle</a>', "a " * 40):
        for width in (8, 16, 24):
            assert all(len(line) <= width for line in lines(text, width))
            assert "".join(lines(text, width)).replace(" ", "") == text.replace(" ", "")  # nothing lost


def test_wrap_escapes_each_line_and_joins_them_with_line_breaks():
    from reports.charts import plain, wrap

    wrapped = wrap("<b>bold</b> rash and more", 12)
    assert wrapped == "&lt;b&gt;bold&lt;/b&gt;<br>rash and<br>more"
    assert plain(wrapped) == wrapped  # a trace's name already wrapped is not escaped twice


def test_every_axis_title_and_label_fits_a_phone():
    """No line of a bar's label is longer than LABEL_CHARS, of an axis title beside them than TITLE_CHARS, nor of a
    legend's entry than LEGEND_CHARS."""
    from html import unescape

    from reports.charts import LABEL_CHARS, LEGEND_CHARS, TITLE_CHARS

    charts = [*_hostile_charts(), *compare_charts([unit("Alpha", 1234, 600), unit("Beta", 20, 5)], EXACT)]
    for chart in charts:
        layout = json.loads(chart.figure_json())["layout"]
        labels = layout["yaxis"].get("ticktext", [])
        for label in labels:
            assert all(len(unescape(line)) <= LABEL_CHARS for line in label.split("<br>")), (chart.id, label)
        title = layout["xaxis"].get("title", {}).get("text", "")
        budget = TITLE_CHARS if labels else 32  # beside the labels, or across the whole plot
        assert all(len(unescape(line)) <= budget for line in title.split("<br>")), (chart.id, title)
        for trace in json.loads(chart.figure_json())["data"]:
            if layout.get("showlegend") and trace.get("showlegend", True):
                name = trace["name"]
                assert all(len(unescape(line)) <= LEGEND_CHARS for line in name.split("<br>")), (chart.id, name)
    ranking = json.loads(charts[0].figure_json())["layout"]
    assert '&lt;a href="https:/<br>/evil.example/<br>"&gt;Miracle&lt;/a&gt;' in ranking["yaxis"]["ticktext"]
    assert ranking["height"] >= 3 * 17 * len(HOSTILE)  # rows tall enough for their labels' lines
