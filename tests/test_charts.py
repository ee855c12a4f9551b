"""Charts carry the table of their numbers (reports.charts)."""

import json

from reports.aggregate import UnitReport
from reports.charts import compare_charts, distribution_chart, treatment_charts


def unit(name, n, major):
    dists = {
        "effectiveness": {"worse": 0, "none": n - major, "slight": 0, "moderate": 0, "major": major, "cant_tell": 0},
        "side_effect_severity": {"none": n, "mild": 0, "moderate": 0, "severe": 0, "very_severe": 0},
        "adherence": {"always": n, "usually": 0, "sometimes": 0, "rarely": 0},
        "burden": {"not_at_all": n, "a_little": 0, "somewhat": 0, "very": 0},
        "cost_per_month": dict.fromkeys(["zero", "lt_25", "25_100", "100_500", "500_1000", "gt_1000", "unknown"], 0),
        "insurance_coverage": dict.fromkeys(["covered", "partly", "not_covered", "denied", "no_insurance", "unknown"], 0),
        "would_recommend": {"yes": major, "no": n - major},
        "satisfaction": {str(k): (n if k == 8 else 0) for k in range(1, 11)},
    }
    return UnitReport(name.lower(), name, n, False, dists, {"share": major / n, "low": 0.1, "high": 0.9}, 8.0,
                      stop_reasons={"cost": 1}, duration={"lt_1m": n})  # fmt: skip


def test_distribution_chart_table_and_figure_agree():
    chart = distribution_chart("effectiveness", "How well it worked", {"none": 3, "major": 1}, {"none": "None", "major": "Major"})
    assert chart.table.to_dict("list") == {"Answer": ["None", "Major"], "Reports": [3, 1], "Share": ["75%", "25%"]}
    figure = json.loads(chart.figure_json())
    assert figure["data"][0]["y"] == [3, 1]
    assert len(json.dumps(figure["layout"]["template"])) < 1000  # not the 10 kB default template


def test_treatment_and_compare_charts_cover_every_scale():
    assert [c.id for c in treatment_charts(unit("Alpha", 10, 6))] == [
        "effectiveness", "side_effect_severity", "side_effects", "stop_reasons", "adherence", "burden",
        "cost_per_month", "insurance_coverage", "would_recommend", "satisfaction", "duration"]  # fmt: skip
    charts = compare_charts([unit("Alpha", 10, 6), unit("Beta", 20, 5)])
    effectiveness = next(c for c in charts if c.id == "effectiveness")
    assert list(effectiveness.table.columns) == ["Answer", "Alpha (n=10)", "Beta (n=20)"]
    assert json.loads(effectiveness.figure_json())["layout"]["yaxis"]["range"] == [0, 1]  # same axes for all


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


def _hostile_charts():
    from registry import scales
    from reports.aggregate import ConditionReport
    from reports.charts import popularity_chart, ranking_chart, terms_chart

    units = [unit(name, 10 + i, 6) for i, name in enumerate(HOSTILE)]
    for u in units:
        u.severe = u.not_covered = {"share": 0.1, "low": 0.0, "high": 0.3}
        u.side_effects = [{"term": term, "n": 5, "share": 0.5} for term in HOSTILE]
    report = ConditionReport(condition_id=1, filters=None, min_n=5, n=100, suppressed=False, treatments=units,
                             side_effects=units[0].side_effects)  # fmt: skip
    labels = {code: HOSTILE[i % len(HOSTILE)] for i, code in enumerate(scales.EFFECTIVENESS.codes)}
    yield ranking_chart(report)
    yield popularity_chart(report)
    yield terms_chart("side_effects", "Side effects", report.side_effects)
    yield distribution_chart("effectiveness", "How well it worked", {c: 1 for c in labels}, labels)
    yield from treatment_charts(units[0])
    yield from compare_charts(units[:4])


def test_no_name_term_or_label_reaches_plotly_as_markup():
    charts = list(_hostile_charts())
    assert len(charts) > 20
    for chart in charts:
        for text in _strings(json.loads(chart.figure_json())):
            # our hover templates' <extra></extra> is the only tag left; every other "<" arrives as &lt;
            assert "<" not in text.replace("<extra></extra>", ""), (chart.id, text)
    ranking = json.loads(charts[0].figure_json())["data"][0]
    assert '&lt;a href="https://evil.example/"&gt;Miracle&lt;/a&gt;' in ranking["y"]  # drawn as the text typed
    assert "Tom &amp; Jerry's &amp;lt;tonic&amp;gt;" in ranking["y"]  # an entity typed in stays as typed


def test_the_tables_keep_the_names_as_entered():
    """The table beside each chart is escaped by the template, so it holds the names unchanged."""
    ranking = next(_hostile_charts())
    assert sorted(ranking.table["Treatment"]) == sorted(HOSTILE)
