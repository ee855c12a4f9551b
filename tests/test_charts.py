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
