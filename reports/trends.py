"""Opinion over the years: per treatment, the improved share and satisfaction by year of report.

Each year's reports (by the year of the report's last update, as report_slice keeps it) are one
view: protected n, the improved share with its widened Wilson interval, and mean satisfaction
with its interval (reports.slices.mean_interval). A year under min_n (by its true count, and its
protected one) says "too few reports to show", whether it holds a few reports or none. Years run from the first to the last shown year,
so a hidden year before or after them is never named (it would tell that it holds a report).

Whether opinion moved is told only when the intervals of the first and last shown years do not
overlap; otherwise the page says there is no clear change.

Pure: slice frames and plain values in, dataclasses out (no Flask, no database).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reports.disclosure import Policy
from reports.slices import Outcomes, add, by_bucket, outcomes


@dataclass
class Movement:
    """How a measure moved between the first and last shown years: "up", "down" or "steady"."""

    first: str
    last: str
    direction: str

    def as_json(self) -> dict:
        return {"from": self.first, "to": self.last, "direction": self.direction}


@dataclass
class TrendReport:
    min_n: int
    suppressed: bool
    years: list[Outcomes] = field(default_factory=list)  # every year from the first to the last shown one
    improved: Movement | None = None
    satisfaction: Movement | None = None

    @property
    def shown(self) -> list[Outcomes]:
        return [y for y in self.years if y.shown]

    def as_json(self) -> dict:
        if self.suppressed:
            return {"suppressed": True}
        return {
            "suppressed": False,
            "years": [{**y.as_json(), "year": int(y.label)} for y in self.years],
            "improved_moved": self.improved.as_json() if self.improved else None,
            "satisfaction_moved": self.satisfaction.as_json() if self.satisfaction else None,
        }


def movement(years: list[Outcomes], name: str, low: str, high: str) -> Movement | None:
    """Up or down when the first and last years' intervals do not overlap, else steady; None under two years."""
    known = [y for y in years if getattr(y, name)]
    if len(known) < 2:
        return None
    first, last = getattr(known[0], name), getattr(known[-1], name)
    if last[low] > first[high]:
        direction = "up"
    elif last[high] < first[low]:
        direction = "down"
    else:
        direction = "steady"
    return Movement(known[0].label, known[-1].label, direction)


def _year(policy: Policy, year: str, sums: dict) -> Outcomes:
    """A year's protected outcomes, hidden unless at least min_n reports are in it by true count too.

    A year named on the page tells that someone reported in it, so it appears by its true count.
    """
    result = outcomes(policy, year, sums)
    return result if result.shown and int(sums["n"]) >= policy.min_n else Outcomes(year, None)


def trend_report(policy: Policy, frame) -> TrendReport:
    """Outcomes per year of report from a treatment's "year" slices (other axes ignored)."""
    buckets = {b: s for b, s in by_bucket(frame, "year").items() if b.isdigit()}
    total = {}
    for sums in buckets.values():
        add(total, sums)
    if not total or policy.shown_n(int(total["key_sum"]), int(total["n"])) is None:  # as the treatment's own page
        return TrendReport(policy.min_n, True)
    computed = {int(year): _year(policy, year, sums) for year, sums in buckets.items()}
    shown = sorted(year for year, o in computed.items() if o.shown)
    report = TrendReport(policy.min_n, False)
    if not shown:
        return report
    report.years = [computed.get(year) or Outcomes(str(year), None) for year in range(shown[0], shown[-1] + 1)]
    report.improved = movement(report.shown, "improved", "low", "high")
    report.satisfaction = movement(report.shown, "satisfaction", "low", "high")
    return report
