"""Charts: report data in, plotly figures and their tables of numbers out.

Each chart carries the table it draws, so the page can show the numbers beside the chart
(also for screen readers) and offer them as CSV: one source for all three.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from registry import scales
from reports.aggregate import ConditionReport, UnitReport

COLORS = ["#0b5cad", "#c2571a", "#2e8540", "#7b3fa0"]
FIELD_TITLES = {
    "effectiveness": ("How well it worked", scales.EFFECTIVENESS),
    "side_effect_severity": ("Side effects at their worst", scales.SIDE_EFFECT_SEVERITY),
    "adherence": ("Taken as prescribed", scales.ADHERENCE),
    "burden": ("How hard it was to take", scales.BURDEN),
    "cost_per_month": ("Cost per month", scales.COST_PER_MONTH),
    "insurance_coverage": ("Insurance coverage", scales.INSURANCE_COVERAGE),
    "would_recommend": ("Would recommend it", scales.WOULD_RECOMMEND),
    "stop_reasons": ("Why people stopped", scales.STOP_REASON),
}


@dataclass
class Chart:
    """A figure with its title, a one-line summary and the table of its numbers."""

    id: str
    title: str
    figure: go.Figure
    table: pd.DataFrame
    summary: str = ""

    def figure_json(self) -> str:
        return self.figure.to_json()


def plain(text):
    """Text plotly draws as text: it reads a subset of HTML (<a href>, <b>, <img>...) in every label."""
    if not isinstance(text, str):
        return text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Every key of a trace that plotly draws as text, and so the one place names, terms and labels pass.
_TEXT_KEYS = ("x", "y", "text", "name", "hovertext")


def _plain_trace(trace: dict) -> dict:
    out = dict(trace)
    for key in _TEXT_KEYS:
        if isinstance(out.get(key), list):
            out[key] = [plain(v) for v in out[key]]
        elif key in out:
            out[key] = plain(out[key])
    if "hovertemplate" in out:  # our own template's one tag survives; names inside it become text
        out["hovertemplate"] = plain(out["hovertemplate"]).replace("&lt;extra&gt;&lt;/extra&gt;", "<extra></extra>")
    return out


def _figure(traces: list[dict], height: int = 320, xaxis=None, yaxis=None, **layout) -> go.Figure:
    """A figure from plain trace and layout dicts (validated once, ten times faster than updates).

    Every trace's text goes through plain() here, so no name, term or label can become markup.
    """
    # "none": no 10 kB default template in every page; readable on a phone.
    return go.Figure(
        {
            "data": [_plain_trace(trace) for trace in traces],
            "layout": {
                "template": "none",
                "height": height,
                "margin": {"l": 10, "r": 10, "t": 10, "b": 40},
                "font": {"family": "system-ui, sans-serif", "size": 13},
                "showlegend": layout.pop("showlegend", False),
                "xaxis": {"automargin": True, **(xaxis or {})},
                "yaxis": {"automargin": True, **(yaxis or {})},
                **layout,
            },
        }
    )


def _title(text: str) -> dict:
    return {"title": {"text": text}}


def pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.0f}%"


# --- condition page ----------------------------------------------------------------------


def ranking_chart(report: ConditionReport, limit: int = 20) -> Chart:
    """Treatments ranked by the lower bound of "improved", with 95% interval bars."""
    shown = report.shown[:limit]
    table = pd.DataFrame(
        {
            "Treatment": [u.name for u in shown],
            "Reports": [u.n for u in shown],
            "Improved": [pct(u.improved["share"]) if u.improved else "" for u in shown],
            "95% interval": [f"{pct(u.improved['low'])}-{pct(u.improved['high'])}" if u.improved else "" for u in shown],
            "Mean satisfaction (1-10)": [u.satisfaction_mean for u in shown],
            "Severe side effects": [pct(u.severe["share"]) if u.severe else "" for u in shown],
            "Not covered by insurance": [pct(u.not_covered["share"]) if u.not_covered else "" for u in shown],
        }
    )
    names = [u.name for u in shown][::-1]
    share = [u.improved["share"] if u.improved else 0 for u in shown][::-1]
    low = [u.improved["low"] if u.improved else 0 for u in shown][::-1]
    high = [u.improved["high"] if u.improved else 0 for u in shown][::-1]
    fig = _figure(
        [{"type": "bar", "x": share, "y": names, "orientation": "h", "marker": {"color": COLORS[0]},
          "error_x": {"type": "data", "symmetric": False, "array": [h - s for h, s in zip(high, share)],
                      "arrayminus": [s - lo for s, lo in zip(share, low)]},
          "customdata": [[u.n] for u in shown][::-1],
          "hovertemplate": "%{y}: %{x:.0%} improved (n=%{customdata[0]})<extra></extra>"}],
        height=max(220, 28 * len(shown) + 60), xaxis={"tickformat": ".0%", "range": [0, 1]},
    )  # fmt: skip
    return Chart("ranking", "Share who improved (moderate or major), with 95% interval", fig, table,
                 "Ranked by the lower end of the interval, so a few glowing reports do not outrank many good ones.")  # fmt: skip


def popularity_chart(report: ConditionReport) -> Chart:
    """CureTogether's view: effectiveness against popularity."""
    shown = [u for u in report.shown if u.improved]
    table = pd.DataFrame(
        {"Treatment": [u.name for u in shown], "Reports": [u.n for u in shown],
         "Improved": [pct(u.improved["share"]) for u in shown]}
    )  # fmt: skip
    fig = _figure(
        [{"type": "scatter", "x": [u.n for u in shown], "y": [u.improved["share"] for u in shown],
          "mode": "markers+text", "text": [u.name for u in shown], "textposition": "top center",
          "marker": {"size": 10, "color": COLORS[1]},
          "hovertemplate": "%{text}: %{y:.0%} improved, %{x} reports<extra></extra>"}],
        height=380, xaxis={"type": "log", **_title("Number of reports (log scale)")},
        yaxis={"tickformat": ".0%", "range": [0, 1], **_title("Improved")},
    )  # fmt: skip
    return Chart("popularity", "Effectiveness against popularity", fig, table,
                 "The most popular treatments are not always the most effective.")  # fmt: skip


def terms_chart(chart_id: str, title: str, terms: list[dict]) -> Chart:
    """Most reported side effects (share of reporters)."""
    table = pd.DataFrame(
        {"Side effect": [t["term"] for t in terms], "Reports": [t["n"] for t in terms],
         "Share of reporters": [pct(t["share"]) for t in terms]}
    )  # fmt: skip
    fig = _figure(
        [{"type": "bar", "x": [t["share"] for t in terms][::-1], "y": [t["term"] for t in terms][::-1],
          "orientation": "h", "marker": {"color": COLORS[2]}, "hovertemplate": "%{y}: %{x:.0%}<extra></extra>"}],
        height=max(200, 26 * len(terms) + 60), xaxis={"tickformat": ".0%"},
    )  # fmt: skip
    return Chart(chart_id, title, fig, table)


# --- treatment page ----------------------------------------------------------------------


def distribution_chart(chart_id: str, title: str, counts: dict[str, int], labels: dict[str, str]) -> Chart:
    """One distribution as bars of counts, every code present."""
    total = sum(counts.values()) or 1
    table = pd.DataFrame(
        {"Answer": [labels.get(c, c) for c in counts], "Reports": list(counts.values()),
         "Share": [pct(n / total) for n in counts.values()]}
    )  # fmt: skip
    fig = _figure(
        [{"type": "bar", "x": [labels.get(c, c) for c in counts], "y": list(counts.values()),
          "marker": {"color": COLORS[0]}, "hovertemplate": "%{x}: %{y} reports<extra></extra>"}],
        height=280, yaxis=_title("Reports"),
    )  # fmt: skip
    return Chart(chart_id, title, fig, table)


def treatment_charts(unit: UnitReport) -> list[Chart]:
    """Every chart of the treatment page."""
    charts = []
    for name in ("effectiveness", "side_effect_severity"):
        title, scale = FIELD_TITLES[name]
        charts.append(distribution_chart(name, title, unit.distributions[name], dict(scale.options)))
    charts.append(terms_chart("side_effects", "Most reported side effects", unit.side_effects))
    title, scale = FIELD_TITLES["stop_reasons"]
    charts.append(distribution_chart("stop_reasons", title, unit.stop_reasons, dict(scale.options)))
    for name in ("adherence", "burden", "cost_per_month", "insurance_coverage", "would_recommend"):
        title, scale = FIELD_TITLES[name]
        charts.append(distribution_chart(name, title, unit.distributions[name], dict(scale.options)))
    charts.append(distribution_chart("satisfaction", "Satisfaction (1-10)", unit.distributions["satisfaction"], {}))
    charts.append(distribution_chart("duration", "Time on treatment", unit.duration, dict(scales.DURATION.options)))
    return charts


# --- compare page ------------------------------------------------------------------------


def compare_charts(units: list[UnitReport]) -> list[Chart]:
    """Two to four treatments side by side: same scales, same axes (shares), with n and intervals."""
    shown = [u for u in units if not u.suppressed]
    charts = [_compare_improved(shown)]
    for name in ("effectiveness", "side_effect_severity", "adherence", "burden", "cost_per_month",
                 "insurance_coverage", "would_recommend", "satisfaction"):  # fmt: skip
        title, scale = FIELD_TITLES.get(name, ("Satisfaction (1-10)", None))
        labels = dict(scale.options) if scale else {}
        charts.append(_compare_distribution(name, title, [(u, u.distributions[name]) for u in shown], labels))
    return charts


def _compare_improved(units: list[UnitReport]) -> Chart:
    table = pd.DataFrame(
        {"Treatment": [u.name for u in units], "Reports": [u.n for u in units],
         "Improved": [pct(u.improved["share"]) if u.improved else "" for u in units],
         "95% interval": [f"{pct(u.improved['low'])}-{pct(u.improved['high'])}" if u.improved else "" for u in units],
         "Mean satisfaction (1-10)": [u.satisfaction_mean for u in units]}
    )  # fmt: skip
    traces = []
    for i, u in enumerate(units):
        if not u.improved:
            continue
        s, lo, hi = u.improved["share"], u.improved["low"], u.improved["high"]
        traces.append(
            {"type": "bar", "x": [f"{u.name} (n={u.n})"], "y": [s], "marker": {"color": COLORS[i % 4]}, "name": u.name,
             "error_y": {"type": "data", "symmetric": False, "array": [hi - s], "arrayminus": [s - lo]},
             "hovertemplate": f"{u.name}: %{{y:.0%}} improved<extra></extra>"}
        )  # fmt: skip
    fig = _figure(traces, height=300, yaxis={"tickformat": ".0%", "range": [0, 1]})
    return Chart("improved", "Share who improved, with 95% interval", fig, table)


def _compare_distribution(name: str, title: str, pairs, labels: dict[str, str]) -> Chart:
    codes = list(pairs[0][1]) if pairs else []
    data = {"Answer": [labels.get(c, c) for c in codes]}
    traces = []
    for i, (unit, counts) in enumerate(pairs):
        total = sum(counts.values()) or 1
        shares = [counts[c] / total for c in codes]
        data[f"{unit.name} (n={unit.n})"] = [f"{pct(s)} ({counts[c]})" for s, c in zip(shares, codes)]
        traces.append(
            {"type": "bar", "x": [labels.get(c, c) for c in codes], "y": shares, "name": f"{unit.name} (n={unit.n})",
             "marker": {"color": COLORS[i % 4]}, "hovertemplate": f"{unit.name}: %{{y:.0%}}<extra></extra>"}
        )  # fmt: skip
    fig = _figure(traces, height=300, showlegend=True, barmode="group", yaxis={"tickformat": ".0%", "range": [0, 1]},
                  legend={"orientation": "h", "y": -0.25})  # fmt: skip
    return Chart(name, title, fig, pd.DataFrame(data))
