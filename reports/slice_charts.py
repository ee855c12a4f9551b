"""Charts of the dose and year sections, in the style of reports/charts.py (each with its table)."""

from __future__ import annotations

from reports import wording
from reports.charts import COLORS, Chart, Table, _figure, _title, _vertical_chars, pct
from reports.dose import DoseReport
from reports.slices import Outcomes
from reports.trends import TrendReport

HIDDEN = "Too few reports to show"


def _interval(share: dict | None) -> str:
    return f"{pct(share['low'])}-{pct(share['high'])}" if share else ""


def _mean(mean: dict | None) -> str:
    return "" if not mean else f"{mean['mean']:.1f}"


def _mean_interval(mean: dict | None) -> str:
    return "" if not mean else f"{mean['low']:.1f}-{mean['high']:.1f}"


def _rows(slices: list[Outcomes], first: str) -> dict:
    return {
        first: [s.label for s in slices],
        "Reports": [s.n if s.shown else HIDDEN for s in slices],
        "Improved": [pct(s.improved["share"]) if s.improved else "" for s in slices],
        "Improved, likely range": [_interval(s.improved) for s in slices],
        "Severe side effects": [pct(s.severe["share"]) if s.severe else "" for s in slices],
        "Severe, likely range": [_interval(s.severe) for s in slices],
        "Mean satisfaction (1-10)": [_mean(s.satisfaction) for s in slices],
        "Satisfaction, likely range": [_mean_interval(s.satisfaction) for s in slices],
    }


def _bars(slices: list[Outcomes], name: str, attribute: str, color: str) -> dict:
    shown = [s for s in slices if getattr(s, attribute)]
    values = [getattr(s, attribute) for s in shown]
    return {
        "type": "bar",
        "name": name,
        "x": [s.label for s in shown],
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
        "hovertemplate": f"{name}: %{{y:.0%}} (likely %{{customdata[0]}}-%{{customdata[1]}})<extra></extra>",
    }


def _tick(band: Outcomes) -> str:
    """A band's axis label on up to three short lines (our own words and numbers only: layout text is not escaped)."""
    return band.label.replace(" to under ", " to<br>under ") + f"<br>{wording.people(band.n)}"


def dose_chart(report: DoseReport) -> Chart:
    """Improved and severe side effects per dose band, with 95% intervals; the table adds satisfaction."""
    data = _rows(report.bands, f"Dose ({report.measure})")
    for label, n in (("Without a dose", report.without_dose), ("In other units or schedules", report.other_units)):
        data[next(iter(data))].append(label)
        data["Reports"].append(n if n is not None else HIDDEN)
        for column in list(data)[2:]:
            data[column].append("")
    shown = report.shown
    figure = _figure(
        [
            _bars(report.bands, "Improved", "improved", COLORS[0]),
            _bars(report.bands, "Severe side effects", "severe", COLORS[1]),
        ],
        height=360,
        showlegend=True,
        barmode="group",
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        xaxis={
            "tickmode": "array",
            "tickvals": [b.label for b in shown],
            "ticktext": [_tick(b) for b in shown],
            "tickangle": 0,
            **_title(f"Dose, {report.measure}"),
        },
        yaxis={"tickformat": ".0%", "range": [0, 1], **_title("Share of the band's reports", _vertical_chars(360))},
    )
    return Chart(
        "dose",
        f"By dose ({report.measure})",
        figure,
        Table(data),
        "Improved: share with a moderate or major improvement among those who could tell. Severe side "
        "effects: share with severe or very severe ones. Each with its likely range.",
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
        "customdata": [[y.n or 0] for y in report.years],
        "hovertemplate": "%{x}: %{y" + yaxis["hover"] + "} (%{customdata[0]} people)<extra></extra>",
    }


def trend_charts(report: TrendReport) -> list[Chart]:
    """One chart of two panels: the improved share and mean satisfaction per year of report, with 95% intervals."""
    rows = _rows(report.years, "Year")
    table = Table({k: v for k, v in rows.items() if not k.startswith("Severe")})
    years = {"type": "category", "automargin": True}
    figure = _figure(
        [
            {
                **_by_year(report, "Improved", "improved", "share", COLORS[0], {"hover": ":.0%"}),
                "xaxis": "x",
                "yaxis": "y",
            },
            {
                **_by_year(report, "Mean satisfaction", "satisfaction", "mean", COLORS[2], {"hover": ":.1f"}),
                "xaxis": "x2",
                "yaxis": "y2",
            },
        ],
        height=480,
        xaxis={**years, "anchor": "y"},
        yaxis={"tickformat": ".0%", "range": [0, 1], "domain": [0.58, 1], **_title("Improved")},
        xaxis2={**years, "anchor": "y2", "matches": "x", **_title("Year of the report")},
        yaxis2={"range": [1, 10], "domain": [0, 0.42], "automargin": True, **_title("Satisfaction (1-10)")},
    )
    hidden = "; years with too few reports are left blank." if any(not y.shown for y in report.years) else "."
    return [
        Chart(
            "years",
            "Improved and satisfaction, by year of report",
            figure,
            table,
            "Top: share with a moderate or major improvement among those who could tell. Bottom: mean "
            f"satisfaction (1 = worst, 10 = best). Each with its likely range{hidden}",
        )
    ]


def section_charts(dose: DoseReport | None, years: TrendReport | None) -> list[Chart]:
    """The charts of the dose and year sections that have something to draw."""
    charts = []
    if dose is not None and dose.shown:
        charts.append(dose_chart(dose))
    if years is not None and years.shown:
        charts += trend_charts(years)
    return charts
