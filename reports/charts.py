"""Charts: report data in, plotly figures and their tables of numbers out.

Each chart carries the table it draws, so the page can show the numbers beside the chart
(also for screen readers) and offer them as CSV: one source for all three.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

import scales
from reports.disclosure import Policy, share
from reports.outcomes import ConditionReport, UnitReport

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
        # The figure's own trace and layout dicts, serialised as they are: Figure.to_json() deep-copies
        # them and walks every value looking for arrays to pack, five times the cost on a page of dozens.
        return pio.to_json({"data": self.figure._data, "layout": self.figure._layout}, validate=False)


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


# plotly's "none" template as plotly.js reads it (unvalidated figures keep a template's name as is).
_NO_TEMPLATE = go.Figure(layout={"template": "none"}).to_plotly_json()["layout"]["template"]


def _figure(traces: list[dict], height: int = 320, xaxis=None, yaxis=None, **layout) -> go.Figure:
    """A figure from plain trace and layout dicts, not validated by plotly on every page view.

    Validation costs about a millisecond a figure and a treatment page draws dozens; the traces
    and layouts are this package's own, and tests/test_charts.py validates every kind of figure.
    Every trace's text goes through plain() here, so no name, term or label can become markup.
    """
    # "none": no 10 kB default template in every page; readable on a phone.
    return go.Figure(
        {
            "data": [_plain_trace(trace) for trace in traces],
            "layout": {
                "template": _NO_TEMPLATE,
                "height": height,
                "margin": {"l": 10, "r": 10, "t": 10, "b": 40},
                "font": {"family": "system-ui, sans-serif", "size": 13},
                "showlegend": layout.pop("showlegend", False),
                "xaxis": {"automargin": True, **(xaxis or {})},
                "yaxis": {"automargin": True, **(yaxis or {})},
                **layout,
            },
        },
        _validate=False,
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
            "95% interval": [
                f"{pct(u.improved['low'])}-{pct(u.improved['high'])}" if u.improved else "" for u in shown
            ],
            "Ranked by (low end)": [pct(u.improved["low"]) if u.improved else "" for u in shown],
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
        [
            {
                "type": "bar",
                "x": share,
                "y": names,
                "orientation": "h",
                "marker": {"color": COLORS[0]},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": [h - s for h, s in zip(high, share)],
                    "arrayminus": [s - lo for s, lo in zip(share, low)],
                },
                "customdata": [[u.n] for u in shown][::-1],
                "hovertemplate": "%{y}: %{x:.0%} improved (n=%{customdata[0]})<extra></extra>",
            }
        ],
        height=max(220, 28 * len(shown) + 80),
        xaxis={"tickformat": ".0%", "range": [0, 1], **_title("Improved (100% = everyone who could tell)")},
    )
    return Chart(
        "ranking",
        "Share who improved (moderate or major), with 95% interval",
        fig,
        table,
        "Ranked by the low end of the interval (the left end of each line), so a few glowing reports do not "
        "outrank many good ones.",
    )


def popularity_chart(report: ConditionReport) -> Chart:
    """CureTogether's view: effectiveness against popularity."""
    shown = [u for u in report.shown if u.improved]
    table = pd.DataFrame(
        {
            "Treatment": [u.name for u in shown],
            "Reports": [u.n for u in shown],
            "Improved": [pct(u.improved["share"]) for u in shown],
        }
    )
    fig = _figure(
        [
            {
                "type": "scatter",
                "x": [u.n for u in shown],
                "y": [u.improved["share"] for u in shown],
                "mode": "markers+text",
                "text": [u.name for u in shown],
                "textposition": "top center",
                "marker": {"size": 10, "color": COLORS[1]},
                "hovertemplate": "%{text}: %{y:.0%} improved, %{x} reports<extra></extra>",
            }
        ],
        height=380,
        xaxis={"type": "log", **_title("Number of reports (log scale)")},
        yaxis={"tickformat": ".0%", "range": [0, 1], **_title("Improved")},
    )
    return Chart(
        "popularity",
        "Effectiveness against popularity",
        fig,
        table,
        "The most popular treatments are not always the most effective.",
    )


def _share_table(label: str, rows: list[tuple[str, int, dict | None]]) -> pd.DataFrame:
    """Answer, people, share and its 95% interval: what a chart draws, as a table and CSV."""
    return pd.DataFrame(
        {
            label: [r[0] for r in rows],
            "People": [r[1] for r in rows],
            "Share": [pct(r[2]["share"]) if r[2] else "" for r in rows],
            "95% interval": [f"{pct(r[2]['low'])}-{pct(r[2]['high'])}" if r[2] else "" for r in rows],
        }
    )


def _share_bars(rows: list[tuple[str, int, dict | None]], axis_title: str, color: str) -> go.Figure:
    """Horizontal bars of shares with their 95% intervals, the first row on top, 0-100% axis."""
    rows = [r for r in rows if r[2]][::-1]
    s = [r[2]["share"] for r in rows]
    return _figure(
        [
            {
                "type": "bar",
                "x": s,
                "y": [r[0] for r in rows],
                "orientation": "h",
                "marker": {"color": color},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": [r[2]["high"] - x for r, x in zip(rows, s)],
                    "arrayminus": [x - r[2]["low"] for r, x in zip(rows, s)],
                    "color": "#444",
                },
                "customdata": [[r[1], pct(r[2]["low"]), pct(r[2]["high"])] for r in rows],
                "hovertemplate": "%{y}: %{x:.0%} (likely %{customdata[1]}-%{customdata[2]}), %{customdata[0]} people<extra></extra>",
            }
        ],
        height=max(180, 30 * len(rows) + 80),
        xaxis={"tickformat": ".0%", "range": [0, 1], **_title(axis_title)},
    )


def _one_of(policy: Policy, count: int, base: int) -> dict | None:
    """The share of a multiple-choice answer (or side effect) among all base reporters, with its interval."""
    return share(policy, {"yes": count, "no": max(base - count, 0)}, ("yes",))


def term_shares(terms: list[dict], policy: Policy, base: int) -> list[dict]:
    """Side-effect terms with their share of all base reporters and its 95% interval (the drug page's list)."""
    return [{**t, "interval": _one_of(policy, t["n"], base)} for t in terms]


def terms_chart(chart_id: str, title: str, terms: list[dict], policy: Policy, base: int) -> Chart:
    """Most reported side effects: share of all reporters, with 95% intervals."""
    rows = [(t["term"], t["n"], _one_of(policy, t["n"], base)) for t in terms]
    fig = _share_bars(rows, f"Share of the {base:,} people who reported (100% = all of them)", COLORS[2])
    return Chart(
        chart_id,
        title,
        fig,
        _share_table("Side effect", rows),
        f"Share of all {base:,} people who reported, with 95% interval; only side effects reported at least "
        f"{policy.min_n} times are listed.",
    )


# --- treatment page ----------------------------------------------------------------------


def distribution_chart(
    chart_id: str, title: str, counts: dict[str, int], labels: dict[str, str], policy: Policy
) -> Chart:
    """One single-answer question: the share giving each answer among those who answered, with intervals."""
    answered = sum(counts.values())
    rows = [(labels.get(c, c), n, share(policy, counts, (c,))) for c, n in counts.items()]
    fig = _share_bars(rows, f"Share of the {answered:,} people who answered (100% = all of them)", COLORS[0])
    return Chart(
        chart_id,
        title,
        fig,
        _share_table("Answer", rows),
        f"Share of the {answered:,} people who answered this question, with 95% interval.",
    )


def multiple_chart(
    chart_id: str, title: str, counts: dict[str, int], labels: dict[str, str], policy: Policy, base: int
) -> Chart:
    """A question with several answers allowed: each answer's share of all reporters."""
    rows = [(labels.get(c, c), n, _one_of(policy, n, base)) for c, n in counts.items()]
    fig = _share_bars(rows, f"Share of all {base:,} people who reported (100% = all of them)", COLORS[0])
    return Chart(
        chart_id,
        title,
        fig,
        _share_table("Answer", rows),
        f"Share of all {base:,} people who reported, with 95% interval. One person can give several reasons, "
        "so the shares add up to more than 100%; people still taking it give none.",
    )


def treatment_charts(unit: UnitReport, policy: Policy) -> list[Chart]:
    """Every chart of the treatment page."""
    charts = []
    for name in ("effectiveness", "side_effect_severity"):
        title, scale = FIELD_TITLES[name]
        charts.append(distribution_chart(name, title, unit.distributions[name], dict(scale.options), policy))
    charts.append(terms_chart("side_effects", "Most reported side effects", unit.side_effects, policy, unit.n))
    title, scale = FIELD_TITLES["stop_reasons"]
    charts.append(multiple_chart("stop_reasons", title, unit.stop_reasons, dict(scale.options), policy, unit.n))
    for name in ("adherence", "burden", "cost_per_month", "insurance_coverage", "would_recommend"):
        title, scale = FIELD_TITLES[name]
        charts.append(distribution_chart(name, title, unit.distributions[name], dict(scale.options), policy))
    satisfaction = {c: f"{c} of 10" for c in unit.distributions["satisfaction"]}
    charts.append(
        distribution_chart(
            "satisfaction",
            "Satisfaction (1 = worst, 10 = best)",
            unit.distributions["satisfaction"],
            satisfaction,
            policy,
        )
    )
    charts.append(
        distribution_chart("duration", "Time on treatment", unit.duration, dict(scales.DURATION.options), policy)
    )
    return charts


# --- compare page ------------------------------------------------------------------------


def compare_charts(units: list[UnitReport], policy: Policy) -> list[Chart]:
    """Two to four treatments side by side: same scales, same axes (shares), with n and intervals."""
    shown = [u for u in units if not u.suppressed]
    charts = [_compare_improved(shown)]
    for name in (
        "effectiveness",
        "side_effect_severity",
        "adherence",
        "burden",
        "cost_per_month",
        "insurance_coverage",
        "would_recommend",
        "satisfaction",
    ):
        title, scale = FIELD_TITLES.get(name, ("Satisfaction (1-10)", None))
        labels = dict(scale.options) if scale else {}
        charts.append(_compare_distribution(name, title, [(u, u.distributions[name]) for u in shown], labels, policy))
    return charts


def _compare_improved(units: list[UnitReport]) -> Chart:
    table = pd.DataFrame(
        {
            "Treatment": [u.name for u in units],
            "Reports": [u.n for u in units],
            "Improved": [pct(u.improved["share"]) if u.improved else "" for u in units],
            "95% interval": [
                f"{pct(u.improved['low'])}-{pct(u.improved['high'])}" if u.improved else "" for u in units
            ],
            "Mean satisfaction (1-10)": [u.satisfaction_mean for u in units],
        }
    )
    traces = []
    for i, u in enumerate(units):
        if not u.improved:
            continue
        s, lo, hi = u.improved["share"], u.improved["low"], u.improved["high"]
        traces.append(
            {
                "type": "bar",
                "x": [f"{u.name} (n={u.n})"],
                "y": [s],
                "marker": {"color": COLORS[i % 4]},
                "name": u.name,
                "error_y": {"type": "data", "symmetric": False, "array": [hi - s], "arrayminus": [s - lo]},
                "hovertemplate": f"{u.name}: %{{y:.0%}} improved<extra></extra>",
            }
        )
    fig = _figure(
        traces,
        height=300,
        yaxis={"tickformat": ".0%", "range": [0, 1], **_title("Improved (100% = all who could tell)")},
    )
    return Chart("improved", "Share who improved, with 95% interval", fig, table)


def _compare_distribution(name: str, title: str, pairs, labels: dict[str, str], policy: Policy) -> Chart:
    """Each treatment's share giving each answer among its own respondents, with 95% intervals."""
    codes = list(pairs[0][1]) if pairs else []
    data = {"Answer": [labels.get(c, c) for c in codes]}
    traces = []
    for i, (unit, counts) in enumerate(pairs):
        shares = [share(policy, counts, (c,)) or {"share": 0.0, "low": 0.0, "high": 0.0} for c in codes]
        answered = sum(counts.values())
        label = f"{unit.name} (n={answered:,})"
        data[label] = [
            f"{pct(s['share'])} ({pct(s['low'])}-{pct(s['high'])}); {counts[c]} people" for s, c in zip(shares, codes)
        ]
        traces.append(
            {
                "type": "bar",
                "x": [labels.get(c, c) for c in codes],
                "y": [s["share"] for s in shares],
                "name": label,
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [s["high"] - s["share"] for s in shares],
                    "arrayminus": [s["share"] - s["low"] for s in shares],
                    "color": "#444",
                },
                "marker": {"color": COLORS[i % 4]},
                "hovertemplate": f"{unit.name}: %{{y:.0%}}<extra></extra>",
            }
        )
    fig = _figure(
        traces,
        height=320,
        showlegend=True,
        barmode="group",
        yaxis={"tickformat": ".0%", "range": [0, 1], **_title("Share of each treatment's respondents")},
        legend={"orientation": "h", "y": -0.3},
    )
    return Chart(
        name,
        title,
        fig,
        pd.DataFrame(data),
        "For each treatment, 100% = the people who answered this question about it; with 95% intervals.",
    )
