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

from dataclasses import dataclass, field, replace

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


def _year(policy: Policy, year: str, sums: dict, size: int | None) -> Outcomes:
    """A year's protected outcomes with its size among the years (Policy.parts), or hidden.

    A year named on the page tells that someone reported in it, so it appears only by its true
    count (and its published size) reaching min_n.
    """
    result = outcomes(policy, year, sums)
    return replace(result, n=size) if result.shown and size is not None else Outcomes(year, None)


def trend_report(policy: Policy, frame, *, n: int | None = None) -> TrendReport:
    """Outcomes per year of report from a treatment's "year" slices (other axes ignored).

    The years are parts of the treatment's reports: their sizes are rescaled onto its protected n
    (``n`` as its page shows it; by default the protected n of the slices' total), so the years
    shown never add up to more.
    """
    buckets = {b: s for b, s in by_bucket(frame, "year").items() if b.isdigit()}
    total = {}
    for sums in buckets.values():
        add(total, sums)
    total_n = policy.shown_n(int(total["key_sum"]), int(total["n"])) if total else None
    if total_n is None:  # the same set and numbers as the treatment's own page
        return TrendReport(policy.min_n, True)
    sizes = policy.parts(total_n if n is None else n, {y: (int(s["n"]), int(s["key_sum"])) for y, s in buckets.items()})
    computed = {int(year): _year(policy, year, sums, sizes[year]) for year, sums in buckets.items()}
    shown = sorted(year for year, o in computed.items() if o.shown)
    report = TrendReport(policy.min_n, False)
    if not shown:
        return report
    report.years = [computed.get(year) or Outcomes(str(year), None) for year in range(shown[0], shown[-1] + 1)]
    report.improved = movement(report.shown, "improved", "low", "high")
    report.satisfaction = movement(report.shown, "satisfaction", "low", "high")
    return report
