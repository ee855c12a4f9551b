"""Charts of the dose and year sections, in the style of reports/charts.py (each with its table)."""

from __future__ import annotations

from reports import wording
from reports.charts import COLORS, Chart, Table, _figure, _range, _title, _vertical_chars, pct
from reports.dose import BETWEEN, BETWEEN_TICK, DoseReport
from reports.slices import Outcomes
from reports.trends import TrendReport
from scales.i18n import N_, format_number, language
from scales.i18n import gettext as _

HIDDEN = N_("Too few reports to show")  # translated where it is shown


def _tenths(x: float) -> str:
    """7.2: a mean to a tenth, as the reader's locale writes it."""
    return f"{x:.1f}" if language() == "en" else format_number(x, 1)


def _mean(mean: dict | None) -> str:
    return "" if not mean else _tenths(mean["mean"])


def _mean_interval(mean: dict | None) -> str:
    return "" if not mean else f"{_tenths(mean['low'])}-{_tenths(mean['high'])}"


def _rows(slices: list[Outcomes], first: str, severe: bool = True) -> dict:
    """A slice a row: its label, reports and outcomes (with severe side effects unless ``severe`` is false)."""
    rows = {
        first: [wording.shown(s.label) for s in slices],
        _("Reports"): [s.n if s.shown else _(HIDDEN) for s in slices],
        _("Improved"): [pct(s.improved["share"]) if s.improved else "" for s in slices],
        _("Improved, likely range"): [_range(s.improved) for s in slices],
    }
    if severe:
        rows[_("Severe side effects")] = [pct(s.severe["share"]) if s.severe else "" for s in slices]
        rows[_("Severe, likely range")] = [_range(s.severe) for s in slices]
    rows[_("Mean satisfaction (1-10)")] = [_mean(s.satisfaction) for s in slices]
    rows[_("Satisfaction, likely range")] = [_mean_interval(s.satisfaction) for s in slices]
    return rows


def _bars(slices: list[Outcomes], name: str, attribute: str, color: str) -> dict:
    shown = [s for s in slices if getattr(s, attribute)]
    values = [getattr(s, attribute) for s in shown]
    return {
        "type": "bar",
        "name": name,
        "x": [wording.shown(s.label) for s in shown],
        "y": [v["share"] for v in values],
        "marker": {"color": color},
        "error_y": {
            "type": "data",
            "symmetric": False,
            "array": [v["high"] - v["share"] for v in values],
            "arrayminus": [v["share"] - v["low"] for v in values],
            "color": "#444",
        },
        "customdata": [[pct(v["low"]), pct(v["high"])] for v in values],
        "hovertemplate": f"{name}: "
        + _("%(share)s (likely %(low)s-%(high)s)", share="%{y:.0%}", low="%{customdata[0]}", high="%{customdata[1]}")
        + "<extra></extra>",
    }


def _tick(band: Outcomes) -> str:
    """A band's axis label on up to three short lines (our own words and numbers only: layout text is not escaped)."""
    label = band.label
    if isinstance(label, wording.Phrase) and label.message == BETWEEN:  # "100 to<br>under 150"
        label = wording.Phrase(BETWEEN_TICK, **label.variables)
    return wording.shown(label) + f"<br>{wording.people(band.n)}"


def _dose_table(report: DoseReport) -> Table:
    measure = wording.shown(report.measure)
    data = _rows(report.bands, _("Dose (%(measure)s)", measure=measure))
    first, reports = list(data)[:2]
    for label, n in (
        (_("Without a dose"), report.without_dose),
        (_("In other units or schedules"), report.other_units),
    ):
        data[first].append(label)
        data[reports].append(n if n is not None else _(HIDDEN))
        for column in list(data)[2:]:
            data[column].append("")
    return Table(data)


def dose_chart(report: DoseReport) -> Chart:
    """Improved and severe side effects per dose band, with 95% intervals; the table adds satisfaction."""
    measure = wording.shown(report.measure)
    shown = report.shown
    figure = _figure(
        [
            _bars(report.bands, _("Improved"), "improved", COLORS[0]),
            _bars(report.bands, _("Severe side effects"), "severe", COLORS[1]),
        ],
        height=360,
        showlegend=True,
        barmode="group",
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        xaxis={
            "tickmode": "array",
            "tickvals": [wording.shown(b.label) for b in shown],
            "ticktext": [_tick(b) for b in shown],
            "tickangle": 0,
            **_title(_("Dose, %(measure)s", measure=measure)),
        },
        yaxis={"tickformat": ".0%", "range": [0, 1], **_title(_("Share of the band's reports"), _vertical_chars(360))},
    )
    return Chart(
        "dose",
        _("By dose (%(measure)s)", measure=measure),
        figure,
        Table.of(lambda: _dose_table(report)),
        _(
            "Improved: share with a moderate or major improvement among those who could tell. Severe side "
            "effects: share with severe or very severe ones. Each with its likely range."
        ),
    )


def _by_year(report: TrendReport, name: str, attribute: str, centre: str, color: str, yaxis: dict) -> dict:
    values = [getattr(y, attribute) for y in report.years]
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": [y.label for y in report.years],
        "y": [v[centre] if v else None for v in values],
        "connectgaps": False,
        "marker": {"color": color, "size": 8},
        "line": {"color": color},
        "error_y": {
            "type": "data",
            "symmetric": False,
            "color": color,
            "array": [v["high"] - v[centre] if v else None for v in values],
            "arrayminus": [v[centre] - v["low"] if v else None for v in values],
        },
        "customdata": [[wording.people(y.n or 0)] for y in report.years],
        "hovertemplate": "%{x}: %{y" + yaxis["hover"] + "} (%{customdata[0]})<extra></extra>",
    }


def trend_charts(report: TrendReport) -> list[Chart]:
    """One chart of two panels: the improved share and mean satisfaction per year of report, with 95% intervals."""
    table = Table.of(lambda: Table(_rows(report.years, _("Year"), severe=False)))
    years = {"type": "category", "automargin": True}
    figure = _figure(
        [
            {
                **_by_year(report, _("Improved"), "improved", "share", COLORS[0], {"hover": ":.0%"}),
                "xaxis": "x",
                "yaxis": "y",
            },
            {
                **_by_year(report, _("Mean satisfaction"), "satisfaction", "mean", COLORS[2], {"hover": ":.1f"}),
                "xaxis": "x2",
                "yaxis": "y2",
            },
        ],
        height=480,
        xaxis={**years, "anchor": "y"},
        yaxis={"tickformat": ".0%", "range": [0, 1], "domain": [0.58, 1], **_title(_("Improved"))},
        xaxis2={**years, "anchor": "y2", "matches": "x", **_title(_("Year of the report"))},
        yaxis2={"range": [1, 10], "domain": [0, 0.42], "automargin": True, **_title(_("Satisfaction (1-10)"))},
    )
    if any(not y.shown for y in report.years):
        summary = _(
            "Top: share with a moderate or major improvement among those who could tell. Bottom: mean "
            "satisfaction (1 = worst, 10 = best). Each with its likely range; years with too few reports are "
            "left blank."
        )
    else:
        summary = _(
            "Top: share with a moderate or major improvement among those who could tell. Bottom: mean "
            "satisfaction (1 = worst, 10 = best). Each with its likely range."
        )
    return [Chart("years", _("Improved and satisfaction, by year of report"), figure, table, summary)]


def section_charts(dose: DoseReport | None, years: TrendReport | None) -> list[Chart]:
    """The charts of the dose and year sections that have something to draw."""
    charts = []
    if dose is not None and dose.shown:
        charts.append(dose_chart(dose))
    if years is not None and years.shown:
        charts += trend_charts(years)
    return charts
