"""Charts of time on treatment: the share still on it by months (one or several curves on one axis)
and why people stopped early or late. Curves in, plotly figures and their tables out (reports.survival)."""

from __future__ import annotations

import scales
from reports import wording
from reports.charts import COLORS, LEGEND_CHARS, Chart, Table, _figure, _labels, _row_px, _title, pct, wrap
from reports.survival import EARLY_MONTHS, MILESTONES, Curve
from scales.i18n import N_, format_number, language, ngettext
from scales.i18n import gettext as _

FILLS = ["rgba(11,92,173,0.18)", "rgba(194,87,26,0.18)", "rgba(46,133,64,0.18)", "rgba(123,63,160,0.18)"]
UNFILTERED = N_("Everyone who gave a start month, whatever the filters above.")  # translated where it is shown
LEGEND_LINE_PX = 18  # a legend line of the 13 px font


def months(n: int) -> str:
    """ "1 month", "3 months": a number of months in words."""
    return ngettext("%(num)s month", "%(num)s months", n)


def median_words(curve: Curve) -> str:
    """ "Half had stopped by 6 months (likely between 3 and 12 months)", or that more than half were still on it at 24."""
    median = curve.median or {}
    last = next((p.months for p in reversed(curve.points) if p.share is not None), None)
    if last is None:
        return ""
    if median.get("months") is None:
        low = median.get("low")
        if low is None:
            return _("More than half were still on it at %(months)s.", months=months(last))
        if low == last:
            return _("More than half were still on it at %(months)s, though possibly only just.", months=months(last))
        return _(
            "More than half were still on it at %(months)s; half may have stopped as early as %(early)s.",
            months=months(last),
            early=months(low),
        )
    low, high = median.get("low"), median.get("high")
    half = months(median["months"])
    if low == high:
        return _("Half had stopped by %(months)s (likely at %(low)s).", months=half, low=months(low))
    if high is None:
        return _("Half had stopped by %(months)s (likely at %(low)s or later).", months=half, low=months(low))
    return _(
        "Half had stopped by %(months)s (likely between %(low)s and %(high)s).",
        months=half,
        low=low,
        high=months(high),
    )


def open_row(c: Curve) -> dict | None:
    """The table's row of people past the last milestone ("24 or more"): None when nobody is in it.

    The curve is read up to 24 months only, so the row says so in words instead of a blank share.
    An empty row is left out: every other band is listed, so its nobody is plain from them.
    """
    stopped, using = c.open_band.get("stopped") or 0, c.open_band.get("still_using") or 0
    if not stopped and not using:
        return None
    last = MILESTONES[-1]
    return {
        "Months": _("%(months)s or more", months=last),
        "Still on it": _("not read past %(months)s", months=months(last)),
        "Likely range": "",
        "At risk in the band before": "",
        "Stopped in that band": stopped,
        "Still using, reported in that band": using,
    }


# The table's columns: English keys of the rows (and the CSV's headers), translated as the page's headers.
SURVIVAL_COLUMNS = [
    N_("Treatment"),
    N_("Months"),
    N_("Still on it"),
    N_("Likely range"),
    N_("At risk in the band before"),
    N_("Stopped in that band"),
    N_("Still using, reported in that band"),
]


def _survival_table(shown: list[tuple[str, Curve]]) -> Table:
    rows = [row for name, c in shown for row in _curve_rows(name, c)]
    return Table([tuple(r.get(c) for c in SURVIVAL_COLUMNS) for r in rows], columns=[_(c) for c in SURVIVAL_COLUMNS])


def survival_chart(
    series: list[tuple[str, Curve]], chart_id: str = "staying", title: str | None = None, note: str | None = None
) -> Chart:
    """The share still on it after 1, 3, 6, 12 and 24 months, with 95% bands; several curves share one axis.

    ``note`` ends the summary (by default: everyone who gave a start month, whatever the filters).
    """
    shown = [(name, c) for name, c in series if not c.suppressed]
    traces = [trace for i, (name, c) in enumerate(shown) for trace in _curve_traces(i, name, c)]
    table = Table.of(lambda: _survival_table(shown))
    if len(shown) == 1:
        table = table.without("Treatment")
    several = len(shown) > 1
    # Several curves: the legend above the plot, the figure taller by its lines. Below, at a fixed height, a
    # legend of four or five conditions (one a row on a phone) ran over the axis title and out of the figure.
    legend_px = sum(LEGEND_LINE_PX * (t["name"].count("<br>") + 1) + 6 for t in traces if "name" in t)
    fig = _figure(
        traces,
        height=300 + (legend_px + 10 if several else 0),
        showlegend=several,
        xaxis={
            "tickvals": list(MILESTONES),
            "range": [0, 24.5],
            "fixedrange": True,
            **_title(_("Months since starting")),
        },
        yaxis={"tickformat": ".0%", "range": [0, 1.02], "fixedrange": True, **_title(_("Still on it"))},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        hovermode="closest",
    )
    summary = (
        _(
            "The share still taking it after each number of months since starting, with its likely range (shaded). "
            "People still taking it count until their report, not as stopped."
        )
        + " "
        + (_(UNFILTERED) if note is None else note)
    ).strip()
    return Chart(chart_id, title or _("Still on it, by months since starting"), fig, table, summary)


def _curve_traces(i: int, name: str, c: Curve) -> list[dict]:
    """One curve's two traces: its band as one closed shape (along the upper edge, back along the lower), then
    the curve itself, with the likely range and the months in its hover."""
    points = [p for p in c.points if p.share is not None]
    x = [0, *(p.months for p in points)]
    label = f"{name} ({wording.people(c.n)})"
    band = {
        "type": "scatter",
        "x": x + x[::-1],
        "y": [1.0, *(p.high for p in points)] + [*(p.low for p in points[::-1]), 1.0],
        "mode": "lines",
        "line": {"width": 0},
        "fill": "toself",
        "fillcolor": FILLS[i % 4],
        "hoverinfo": "skip",
        "showlegend": False,
        "legendgroup": label,
    }
    curve = {
        "type": "scatter",
        "x": x,
        "y": [1.0, *(p.share for p in points)],
        "mode": "lines+markers",
        "name": wrap(label, LEGEND_CHARS),
        "legendgroup": label,
        "line": {"color": COLORS[i % 4], "width": 3},
        "marker": {"size": 8},
        "customdata": [
            [pct(1), pct(1), _("the start")],
            *([pct(p.low), pct(p.high), months(p.months)] for p in points),
        ],
        "hovertemplate": f"{name}: "
        + _(
            "%(share)s still on it at %(months)s (likely %(low)s-%(high)s)",
            share="%{y:.0%}",
            months="%{customdata[2]}",
            low="%{customdata[0]}",
            high="%{customdata[1]}",
        )
        + "<extra></extra>",
    }
    return [band, curve]


def _tenths(x: float) -> str:
    """1,234.5: a number to a tenth, as the reader's locale writes it."""
    return f"{x:,.1f}" if language() == "en" else format_number(x, 1)


def _curve_rows(name: str, c: Curve) -> list[dict]:
    """One curve's rows of the table beside the chart: a row per milestone, and the open band past the last."""
    rows = [
        {
            "Treatment": name,
            "Months": p.months,
            "Still on it": pct(p.share),
            "Likely range": f"{pct(p.low)}-{pct(p.high)}" if p.share is not None else "",
            "At risk in the band before": _tenths(p.at_risk),
            "Stopped in that band": p.stopped,
            "Still using, reported in that band": p.still_using,
        }
        for p in c.points
    ]
    row = open_row(c)
    return rows + ([{"Treatment": name, **row}] if row else [])


def stop_times_chart(curve: Curve) -> Chart | None:
    """Why people stopped: each reason's share of early stops (under 3 months) against late ones."""
    periods = [(k, v) for k, v in curve.reasons.items()]
    if curve.suppressed or not periods:
        return None
    codes = scales.STOP_REASON.codes
    zero = {"share": 0.0, "low": 0.0, "high": 0.0}
    blocks = [(period, block, [block["reasons"].get(c) or zero for c in codes]) for period, block in periods]

    def names() -> dict[str, str]:
        return {
            "early": ngettext("In the first %(num)s month", "In the first %(num)s months", EARLY_MONTHS),
            "late": ngettext("After %(num)s month or more", "After %(num)s months or more", EARLY_MONTHS),
        }

    def columns() -> Table:
        data = {_("Reason"): [scales.STOP_REASON.label(c) for c in codes]}
        for period, block, shares in blocks:
            label = f"{names()[period]} ({wording.people(block['stops'])})"
            data[label] = [f"{pct(s['share'])} ({pct(s['low'])}-{pct(s['high'])})" for s in shares]
        return Table(data)

    reasons = [scales.STOP_REASON.label(c) for c in codes]
    traces = []
    for i, (period, block, shares) in enumerate(blocks):
        label = f"{names()[period]} ({wording.people(block['stops'])})"
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": reasons,
                "x": [v["share"] for v in shares],
                "name": label,
                "marker": {"color": COLORS[i % 4]},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": [v["high"] - v["share"] for v in shares],
                    "arrayminus": [v["share"] - v["low"] for v in shares],
                    "color": "#444",
                },
                "hovertemplate": f"{names()[period]}: %{{y}} %{{x:.0%}}<extra></extra>",
            }
        )
    fig = _figure(
        traces,
        height=_row_px(reasons, len(traces)) * len(reasons) + 130,  # the legend above, the axis title below
        showlegend=True,
        barmode="group",
        xaxis={
            "tickformat": ".0%",
            "range": [0, 1],
            "fixedrange": True,
            **_title(_("Share of the people who stopped then")),
        },
        # The reasons top-down as on the form (the axis reversed), each wrapped to fit beside its bars on a phone.
        yaxis={"fixedrange": True, **_labels(reasons), "autorange": "reversed"},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    )
    return Chart(
        "stop_times",
        _("Why people stopped, early and late"),
        fig,
        Table.of(columns),
        ngettext(
            "Among those who stopped in the first %(num)s month, and those who stopped later: the share giving each "
            "reason (several may apply), with likely ranges.",
            "Among those who stopped in the first %(num)s months, and those who stopped later: the share giving each "
            "reason (several may apply), with likely ranges.",
            EARLY_MONTHS,
        )
        + " "
        + _(UNFILTERED),
    )


def time_charts(name: str, curve: Curve) -> list[Chart]:
    """The treatment page's charts of time on treatment."""
    if curve.suppressed:
        return []
    charts = [survival_chart([(name, curve)])]
    stops = stop_times_chart(curve)
    return charts + ([stops] if stops else [])


def compare_charts(series: list[tuple[str, Curve]]) -> list[Chart]:
    """The compare page's curves on one axis, with each one's median in words ([] when none is shown)."""
    shown = [(name, c) for name, c in series if not c.suppressed]
    if not shown:
        return []
    chart = survival_chart(shown)
    chart.summary += " " + " ".join(f"{name}: {median_words(c)}" for name, c in shown)
    hidden = [name for name, c in series if c.suppressed]
    if hidden:
        chart.summary += " " + _("Too few reports with a start month to draw: %(names)s.", names=", ".join(hidden))
    return [chart]
