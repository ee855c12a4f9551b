"""Charts: report data in, plotly figures and their tables of numbers out.

Each chart carries the table it draws, so the page can show the numbers beside the chart
(also for screen readers) and offer them as CSV: one source for all three.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

import scales
from reports import wording
from reports.disclosure import Policy, share
from reports.outcomes import ConditionReport, UnitReport
from scales.i18n import N_, format_number, language, language_of, ngettext
from scales.i18n import gettext as _

COLORS = ["#0b5cad", "#c2571a", "#2e8540", "#7b3fa0"]
# Each question's chart title (English: translated where a chart is made) and its scale.
FIELD_TITLES = {
    "effectiveness": (N_("How well it worked"), scales.EFFECTIVENESS),
    "side_effect_severity": (N_("Side effects at their worst"), scales.SIDE_EFFECT_SEVERITY),
    "adherence": (N_("Taken as prescribed"), scales.ADHERENCE),
    "burden": (N_("How hard it was to take"), scales.BURDEN),
    "cost_per_month": (N_("Cost per month"), scales.COST_PER_MONTH),
    "insurance_coverage": (N_("Insurance coverage"), scales.INSURANCE_COVERAGE),
    "would_recommend": (N_("Would recommend it"), scales.WOULD_RECOMMEND),
    "stop_reasons": (N_("Why people stopped"), scales.STOP_REASON),
}


@dataclass
class Figure:
    """A plotly figure as the plain trace and layout dicts plotly.js reads.

    A plotly.graph_objects.Figure, even unvalidated, sets every property through plotly's machinery:
    its building was most of a treatment page's time (a dozen figures). Pages only serialise the
    dicts; tests validate every kind of figure through to_plotly().
    """

    data: list[dict]
    layout: dict

    def to_json(self) -> str:
        return json.dumps({"data": self.data, "layout": self.layout}, separators=(",", ":"), default=_json_value)

    def to_plotly(self) -> go.Figure:
        """The validated plotly figure (tests, notebooks); raises ValueError on what plotly would refuse."""
        return go.Figure({"data": self.data, "layout": self.layout})


def _json_value(value):
    """numpy numbers and arrays as JSON (some report numbers are numpy's)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON: {type(value).__name__}")


class Table:
    """A chart's numbers as columns and rows; a DataFrame only when asked (CSV, tests).

    Takes a dict of columns, or rows (tuples or dicts) with columns=. The page only prints the rows,
    and a DataFrame costs about 0.3 ms to build and as much to iterate, a dozen on a treatment page.

    The page prints the table in the reader's language; the CSV download is always English (headers,
    answers and numbers alike), so a script reading it works whatever language its downloader reads:
    Table.of() keeps the English twin in ``english`` when the page is in another language.
    """

    def __init__(self, data: dict[str, list] | list, columns: list[str] | None = None):
        if isinstance(data, dict):
            self.columns = list(data)
            self.rows = list(zip(*data.values()))
        else:
            self.columns = list(columns or [])
            self.rows = [tuple(r.get(c) for c in self.columns) if isinstance(r, dict) else tuple(r) for r in data]
        self.english: Table | None = None  # the same table in English, when the page reads another language

    @classmethod
    def of(cls, build: Callable[[], Table]) -> Table:
        """The table build() makes in the reader's language (the page's), with its English twin for the CSV."""
        table = build()
        if language() != "en":
            with language_of("en"):
                table.english = build()
        return table

    def _keep(self, keep: list[int]) -> Table:
        return Table([tuple(row[i] for i in keep) for row in self.rows], columns=[self.columns[i] for i in keep])

    def without(self, column: str) -> Table:
        """The table less one column, named by its English heading."""
        keep = [i for i, c in enumerate((self.english or self).columns) if c != column]
        table = self._keep(keep)
        table.english = self.english._keep(keep) if self.english else None
        return table

    def frame(self) -> pd.DataFrame:
        """The table in English (the CSV, tests)."""
        source = self.english or self
        return pd.DataFrame(source.rows, columns=source.columns)


@dataclass
class Chart:
    """A figure with its title, a one-line summary and the table of its numbers."""

    id: str
    title: str
    figure: Figure
    table: Table
    summary: str = ""

    def figure_json(self) -> str:
        return self.figure.to_json()


class Wrapped(str):
    """Text wrap() has made plain and broken into lines: plain() leaves it as it is (a trace's name may be one)."""


def plain(text):
    """Text plotly draws as text: it reads a subset of HTML (<a href>, <b>, <img>...) in every label."""
    if not isinstance(text, str) or isinstance(text, Wrapped):
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


def _figure(traces: list[dict], height: int = 320, xaxis=None, yaxis=None, **layout) -> Figure:
    """A figure from plain trace and layout dicts, not validated by plotly on every page view.

    Validation costs about a millisecond a figure and a treatment page draws dozens; the traces
    and layouts are this package's own, and tests/test_charts.py validates every kind of figure.
    Every trace's text goes through plain() here, so no name, term or label can become markup.
    """
    # "none": no 10 kB default template in every page; readable on a phone.
    return Figure(
        [_plain_trace(trace) for trace in traces],
        {
            "template": _NO_TEMPLATE,
            "height": height,
            "autosize": True,  # the page's width (registry/static/charts.js redraws on a resize)
            "margin": {"l": 10, "r": 10, "t": 10, "b": 40},
            "font": {"family": "system-ui, sans-serif", "size": 13},
            "showlegend": layout.pop("showlegend", False),
            **({} if language() == "en" else {"separators": _separators()}),
            "xaxis": {"automargin": True, **(xaxis or {})},
            "yaxis": {"automargin": True, **(yaxis or {})},
            **layout,
        },
    )


# Text budgets, drawn for a phone first: at 390 px a figure is 358 px wide, and Chromium draws the 13 px
# sans at about 8.5 px a character. A label left of horizontal bars gets 16 characters a line (136 px,
# leaving the bars some 200 px); an axis title, centred on the plot beside those labels, gets what is
# left (24). plotly neither wraps nor shortens text: what does not fit runs off the figure, cut.
CHAR_PX = 8.5
FIGURE_PX = 358
LABEL_CHARS = 16
TITLE_CHARS = int((FIGURE_PX - LABEL_CHARS * CHAR_PX) / CHAR_PX) - 2
LEGEND_CHARS = 32  # a legend entry: its line and marker take the rest of the width
LINE_PX = 17  # one line of 13 px text, as plotly spaces a label's lines


def lines(text, width: int) -> list[str]:
    """Greedy word wrap in lines of at most ``width`` characters.

    Breaks at spaces, else after a hyphen or slash ("Budesonide-" / "formoterol"); only a longer run
    is cut where the line ends. Pure: the figures' titles and labels, and the tests, use it.
    """
    pieces: list[tuple[str, str]] = []  # (what joins it to the piece before, the piece)
    for word in str(text).split():
        parts = re.findall(r"[^-/]*[-/]|[^-/]+", word)
        chunks = [part[i : i + width] for part in parts for i in range(0, len(part), width)]
        pieces += [(" " if j == 0 else "", chunk) for j, chunk in enumerate(chunks)]
    out: list[str] = []
    for joint, piece in pieces:
        if out and len(out[-1]) + len(joint) + len(piece) <= width:
            out[-1] += joint + piece
        else:
            out.append(piece)
    return out or [""]


def wrap(text, width: int = TITLE_CHARS) -> Wrapped:
    """``text`` as plotly draws it on lines of at most ``width`` characters (each line plain, joined by <br>)."""
    return Wrapped("<br>".join(plain(line) for line in lines(text, width)))


def _title(text: str, chars: int = TITLE_CHARS) -> dict:
    """An axis title wrapped to its budget (layout text is drawn as markup: only wrap() writes it)."""
    return {"title": {"text": wrap(text, chars)}}


def _separators() -> str:
    """plotly's decimal and thousands separators as the reader's locale writes them (",." in Spanish)."""
    text = format_number(12345.6, 1)  # "12,345.6", "12.345,6"
    return text[-2] + text[2]


def _vertical_chars(height: int) -> int:
    """The budget of a vertical axis title: about the plot's height (the figure's less its margins and ticks)."""
    return max(LABEL_CHARS, int((height - 120) / CHAR_PX))


def _labels(names: list) -> dict:
    """A category axis whose labels wrap: tick values as the traces carry them (plain), texts on lines."""
    return {
        "tickmode": "array",
        "tickvals": [plain(n) for n in names],
        "ticktext": [wrap(n, LABEL_CHARS) for n in names],
    }


def _row_px(names: list, bars: int = 1) -> int:
    """The height of one category of horizontal bars: its bars, and room for its label's lines."""
    most = max((len(lines(n, LABEL_CHARS)) for n in names), default=1)
    return max(30, most * LINE_PX + 8, 12 * bars + 14)


def pct(x: float | None) -> str:
    """62%: the one rounding rule of reports.wording (half up), as every page's words use."""
    return wording.percent(x)


def _range(share: dict | None) -> str:
    """ "55%-68%": a share's likely range in a table's cell."""
    return f"{pct(share['low'])}-{pct(share['high'])}" if share else ""


def _number(value):
    """A number in a table: as it is in English (and in the CSV), as the reader's locale writes it on a page."""
    if value is None or isinstance(value, str) or language() == "en":
        return value
    text = str(value)  # the digits English shows ("8.0", "7.25"), in the reader's locale ("8,0", "7,25")
    return format_number(value, len(text.split(".")[1]) if "." in text and "e" not in text else 0)


def _reports(n: int) -> str:
    """ "1 report", "12 reports"."""
    return ngettext("%(n)s report", "%(n)s reports", n, n=wording.count(n))


def _hover(template: str) -> str:
    """A hover template with plotly's own tag that drops the trace's name box."""
    return template + "<extra></extra>"


# --- condition page ----------------------------------------------------------------------


def ranking_chart(report: ConditionReport, limit: int = 20) -> Chart:
    """Treatments ranked by the lower bound of "improved", with 95% interval bars."""
    shown = report.shown[:limit]
    table = Table.of(
        lambda: Table(
            {
                _("Treatment"): [u.name for u in shown],
                _("Reports"): [u.n for u in shown],
                _("Improved"): [pct(u.improved["share"]) if u.improved else "" for u in shown],
                _("Likely range"): [_range(u.improved) for u in shown],
                _("Ranked by (low end)"): [pct(u.improved["low"]) if u.improved else "" for u in shown],
                _("Mean satisfaction (1-10)"): [_number(u.satisfaction_mean) for u in shown],
                _("Severe side effects"): [pct(u.severe["share"]) if u.severe else "" for u in shown],
                _("Not covered by insurance"): [pct(u.not_covered["share"]) if u.not_covered else "" for u in shown],
            }
        )
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
                "customdata": [[wording.people(u.n)] for u in shown][::-1],
                "hovertemplate": _hover(
                    "%{y}: " + _("%(share)s improved (%(people)s)", share="%{x:.0%}", people="%{customdata[0]}")
                ),
            }
        ],
        height=max(220, _row_px(names) * len(shown) + 80),
        xaxis={"tickformat": ".0%", "range": [0, 1], **_title(_("Improved (100% = all who could tell)"))},
        yaxis=_labels(names),
    )
    return Chart(
        "ranking",
        _("Share who improved (moderate or major), with its likely range"),
        fig,
        table,
        _(
            "Ranked by the low end of the interval (the left end of each line), so a few glowing reports do not "
            "outrank many good ones."
        ),
    )


def popularity_chart(report: ConditionReport) -> Chart:
    """CureTogether's view: effectiveness against popularity."""
    shown = [u for u in report.shown if u.improved]
    table = Table.of(
        lambda: Table(
            {
                _("Treatment"): [u.name for u in shown],
                _("Reports"): [u.n for u in shown],
                _("Improved"): [pct(u.improved["share"]) for u in shown],
            }
        )
    )
    fig = _figure(
        [
            {
                "type": "scatter",
                "x": [u.n for u in shown],
                "y": [u.improved["share"] for u in shown],
                "mode": "markers+text",
                "text": [u.name for u in shown],
                # Drawn wrapped (plain lines joined by <br>: customdata is not escaped again), hovered whole;
                # then the number of reports in words.
                "customdata": [[wrap(u.name, LABEL_CHARS), _reports(u.n)] for u in shown],
                "texttemplate": "%{customdata[0]}",
                "textposition": _name_positions([u.n for u in shown], [u.improved["share"] for u in shown]),
                "cliponaxis": False,
                "marker": {"size": 10, "color": COLORS[1]},
                "hovertemplate": _hover(
                    "%{text}: " + _("%(share)s improved, %(reports)s", share="%{y:.0%}", reports="%{customdata[1]}")
                ),
            }
        ],
        height=380,
        xaxis={"type": "log", **_title(_("Number of reports (log scale)"), 32)},
        yaxis={"tickformat": ".0%", "range": [0, 1], **_title(_("Improved"))},
    )
    return Chart(
        "popularity",
        _("Effectiveness against popularity"),
        fig,
        table,
        _("The most popular treatments are not always the most effective."),
    )


def _name_positions(reports: list[int], shares: list[float]) -> list[str]:
    """Where each point's name goes: away from the edge it is near, so no name runs off a narrow chart."""
    low, high = math.log(min(reports, default=1)), math.log(max(reports, default=1))
    positions = []
    for n, s in zip(reports, shares):
        across = (math.log(n) - low) / (high - low) if high > low else 0.5
        side = "left" if across > 0.7 else "right" if across < 0.3 else "center"
        positions.append(f"{'bottom' if s > 0.9 else 'top'} {side}")
    return positions


def _share_table(label: str, rows: list[tuple[str, int, dict | None]]) -> Table:
    """Answer, people, share and its 95% interval: what a chart draws, as a table and CSV."""
    return Table(
        {
            label: [r[0] for r in rows],
            _("People"): [r[1] for r in rows],
            _("Share"): [pct(r[2]["share"]) if r[2] else "" for r in rows],
            _("Likely range"): [_range(r[2]) for r in rows],
        }
    )


def _share_bars(rows: list[tuple[str, int, dict | None]], axis_title: str, color: str) -> Figure:
    """Horizontal bars of shares with their 95% intervals, the first row on top, 0-100% axis."""
    rows = [r for r in rows if r[2]][::-1]
    s = [r[2]["share"] for r in rows]
    names = [r[0] for r in rows]
    hover = _(
        "%(share)s (likely %(low)s-%(high)s), %(people)s",
        share="%{x:.0%}",
        low="%{customdata[1]}",
        high="%{customdata[2]}",
        people="%{customdata[0]}",
    )
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
                "customdata": [[wording.people(r[1]), pct(r[2]["low"]), pct(r[2]["high"])] for r in rows],
                "hovertemplate": _hover("%{y}: " + hover),
            }
        ],
        height=max(180, _row_px(names) * len(rows) + 80),
        xaxis={"tickformat": ".0%", "range": [0, 1], **_title(axis_title)},
        yaxis=_labels(names),
    )


def _namer(labels: Mapping[str, str] | Callable[[str], str]) -> Callable[[str], str]:
    """An answer's label by its code: labels is a dict (an unknown code is shown as it is), or a function
    called where the label is written (a scale's label(), in the reader's language or the CSV's English)."""
    return labels if callable(labels) else lambda code: labels.get(code, code)


def _one_of(policy: Policy, count: int, base: int) -> dict | None:
    """The share of a multiple-choice answer (or side effect) among all base reporters, with its interval."""
    return share(policy, {"yes": count, "no": max(base - count, 0)}, ("yes",))


def term_shares(terms: list[dict], policy: Policy, base: int) -> list[dict]:
    """Side-effect terms with their share of all base reporters and its 95% interval (the drug page's list)."""
    return [{**t, "interval": _one_of(policy, t["n"], base)} for t in terms]


def terms_chart(chart_id: str, title: str, terms: list[dict], policy: Policy, base: int) -> Chart:
    """Most reported side effects: share of all reporters, with 95% intervals."""
    rows = [(t["term"], t["n"], _one_of(policy, t["n"], base)) for t in terms]
    people = wording.count(base)
    axis = ngettext("Share of the %(n)s person who reported", "Share of the %(n)s people who reported", base, n=people)
    fig = _share_bars(rows, axis, COLORS[2])
    return Chart(
        chart_id,
        title,
        fig,
        Table.of(lambda: _share_table(_("Side effect"), rows)),
        ngettext(
            "Share of the %(n)s person who reported (100%% = all of them), with its likely range; only side effects "
            "reported at least %(min_n)s times are listed.",
            "Share of all %(n)s people who reported (100%% = all of them), with its likely range; only side effects "
            "reported at least %(min_n)s times are listed.",
            base,
            n=people,
            min_n=policy.min_n,
        ),
    )


# --- treatment page ----------------------------------------------------------------------


def distribution_chart(
    chart_id: str,
    title: str,
    counts: dict[str, int],
    labels: Mapping[str, str] | Callable[[str], str],
    policy: Policy,
) -> Chart:
    """One single-answer question: the share giving each answer among those who answered, with intervals.

    ``labels`` name the answers: a dict by code, or a function of the code (a scale's label()).
    """
    name = _namer(labels)
    answered = sum(counts.values())
    people = wording.count(answered)
    counted = [(c, n, share(policy, counts, (c,))) for c, n in counts.items()]
    axis = ngettext(
        "Share of the %(n)s person who answered", "Share of the %(n)s people who answered", answered, n=people
    )
    fig = _share_bars([(name(c), n, s) for c, n, s in counted], axis, COLORS[0])
    return Chart(
        chart_id,
        title,
        fig,
        Table.of(lambda: _share_table(_("Answer"), [(name(c), n, s) for c, n, s in counted])),
        ngettext(
            "Share of the %(n)s person who answered this question (100%% = all of them), with its likely range.",
            "Share of the %(n)s people who answered this question (100%% = all of them), with its likely range.",
            answered,
            n=people,
        ),
    )


def multiple_chart(
    chart_id: str,
    title: str,
    counts: dict[str, int],
    labels: Mapping[str, str] | Callable[[str], str],
    policy: Policy,
    base: int,
) -> Chart:
    """A question with several answers allowed: each answer's share of all reporters."""
    name = _namer(labels)
    people = wording.count(base)
    counted = [(c, n, _one_of(policy, n, base)) for c, n in counts.items()]
    axis = ngettext("Share of all %(n)s person who reported", "Share of all %(n)s people who reported", base, n=people)
    fig = _share_bars([(name(c), n, s) for c, n, s in counted], axis, COLORS[0])
    return Chart(
        chart_id,
        title,
        fig,
        Table.of(lambda: _share_table(_("Answer"), [(name(c), n, s) for c, n, s in counted])),
        ngettext(
            "Share of the %(n)s person who reported (100%% = all of them), with its likely range. One person can "
            "give several reasons, so the shares add up to more than 100%%; people still taking it give none.",
            "Share of all %(n)s people who reported (100%% = all of them), with its likely range. One person can "
            "give several reasons, so the shares add up to more than 100%%; people still taking it give none.",
            base,
            n=people,
        ),
    )


def _satisfaction_label(code: str) -> str:
    """ "8 of 10"."""
    return _("%(n)s of 10", n=code)


def treatment_charts(unit: UnitReport, policy: Policy) -> list[Chart]:
    """Every chart of the treatment page."""
    charts = []
    for name in ("effectiveness", "side_effect_severity"):
        title, scale = FIELD_TITLES[name]
        charts.append(distribution_chart(name, _(title), unit.distributions[name], scale.label, policy))
    charts.append(terms_chart("side_effects", _("Most reported side effects"), unit.side_effects, policy, unit.n))
    title, scale = FIELD_TITLES["stop_reasons"]
    charts.append(multiple_chart("stop_reasons", _(title), unit.stop_reasons, scale.label, policy, unit.n))
    for name in ("adherence", "burden", "cost_per_month", "insurance_coverage", "would_recommend"):
        title, scale = FIELD_TITLES[name]
        charts.append(distribution_chart(name, _(title), unit.distributions[name], scale.label, policy))
    charts.append(
        distribution_chart(
            "satisfaction",
            _("Satisfaction (1 = worst, 10 = best)"),
            unit.distributions["satisfaction"],
            _satisfaction_label,
            policy,
        )
    )
    charts.append(distribution_chart("duration", _("Time on treatment"), unit.duration, scales.DURATION.label, policy))
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
        title, scale = FIELD_TITLES.get(name, (N_("Satisfaction (1-10)"), None))
        labels = scale.label if scale else {}
        charts.append(
            _compare_distribution(name, _(title), [(u, u.distributions[name]) for u in shown], labels, policy)
        )
    return charts


def _compare_improved(units: list[UnitReport]) -> Chart:
    table = Table.of(
        lambda: Table(
            {
                _("Treatment"): [u.name for u in units],
                _("Reports"): [u.n for u in units],
                _("Improved"): [pct(u.improved["share"]) if u.improved else "" for u in units],
                _("Likely range"): [_range(u.improved) for u in units],
                _("Mean satisfaction (1-10)"): [_number(u.satisfaction_mean) for u in units],
            }
        )
    )
    drawn = [(i, u) for i, u in enumerate(units) if u.improved]
    names = [f"{u.name} ({wording.people(u.n)})" for __, u in drawn]
    share_ = [u.improved["share"] for __, u in drawn]
    fig = _figure(
        [  # horizontal bars, the first treatment on top: names get a phone's width, not a bar's
            {
                "type": "bar",
                "orientation": "h",
                "x": share_,
                "y": names,
                "marker": {"color": [COLORS[i % 4] for i, __ in drawn]},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": [u.improved["high"] - s for (__, u), s in zip(drawn, share_)],
                    "arrayminus": [s - u.improved["low"] for (__, u), s in zip(drawn, share_)],
                },
                "hovertemplate": _hover("%{y}: " + _("%(share)s improved", share="%{x:.0%}")),
            }
        ],
        height=max(180, _row_px(names) * len(names) + 100),
        xaxis={"tickformat": ".0%", "range": [0, 1], **_title(_("Improved (100% = all who could tell)"))},
        yaxis={**_labels(names), "autorange": "reversed"},
    )
    return Chart("improved", _("Share who improved, with its likely range"), fig, table)


def _compare_distribution(
    name: str, title: str, pairs, labels: Mapping[str, str] | Callable[[str], str], policy: Policy
) -> Chart:
    """Each treatment's share giving each answer among its own respondents, with 95% intervals."""
    label_of = _namer(labels)
    codes = list(pairs[0][1]) if pairs else []
    zero = {"share": 0.0, "low": 0.0, "high": 0.0}
    drawn = [(unit, counts, [share(policy, counts, (c,)) or zero for c in codes]) for unit, counts in pairs]

    def columns() -> Table:
        data = {_("Answer"): [label_of(c) for c in codes]}
        for unit, counts, shares in drawn:
            data[f"{unit.name} ({wording.people(sum(counts.values()))})"] = [
                f"{pct(s['share'])} ({pct(s['low'])}-{pct(s['high'])}); {wording.people(counts[c])}"
                for s, c in zip(shares, codes)
            ]
        return Table(data)

    answers = [label_of(c) for c in codes]
    traces = []
    for i, (unit, counts, shares) in enumerate(drawn):
        label = f"{unit.name} ({wording.people(sum(counts.values()))})"
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": answers,
                "x": [s["share"] for s in shares],
                "name": wrap(label, LEGEND_CHARS),
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": [s["high"] - s["share"] for s in shares],
                    "arrayminus": [s["share"] - s["low"] for s in shares],
                    "color": "#444",
                },
                "marker": {"color": COLORS[i % 4]},
                "hovertemplate": _hover(f"{unit.name}: %{{x:.0%}}"),
            }
        )
    # Horizontal bars, answers top-down as on the form (the axis reversed puts the first treatment on top of
    # each group too): the answers' names get a phone's width, and the legend sits above, a row per two names.
    fig = _figure(
        traces,
        height=_row_px(answers, len(pairs)) * len(answers) + 100 + 24 * math.ceil(len(pairs) / 2),
        showlegend=True,
        barmode="group",
        xaxis={"tickformat": ".0%", "range": [0, 1], **_title(_("Share of each treatment's answers"))},
        yaxis={**_labels(answers), "autorange": "reversed"},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    )
    return Chart(
        name,
        title,
        fig,
        Table.of(columns),
        _("For each treatment, 100% = the people who answered this question about it; with likely ranges."),
    )
