"""Outcomes by dose band for a drug: improved, severe side effects and satisfaction, per band.

Method (docs/privacy.md, "Dose bands"; the about page's "how to read"):

1. **Common units.** Each reported dose ("unit|amount|frequency", as report_slice keeps it) is put
   in a *measure*: mass units in mg (mcg / 1000, g x 1000), other units as they are (ml, units,
   puffs, drops, patches); a daily schedule becomes a daily dose (amount x 1, 2 or 3 for once,
   twice or three times a day: 50 mg twice a day = 100 mg a day), weekly and monthly schedules
   stay a dose a week or a month, and "as needed" is a dose each time. The unit "other", the
   schedule "other" and a dose without a schedule cannot be put on a scale.
2. **Strengths.** Reports of one measure and amount (50 mg twice a day and 100 mg once a day
   alike) form a strength; each strength's set of reports gets its protected count.
3. **The drug's common measure** is the measure whose strengths reaching min_n hold the most
   (protected) reports; reports in any other measure, or in none, are "in other units or
   schedules", counted apart, and reports without a dose are counted apart too.
4. **Band edges** are published, so they are only strengths that at least min_n people reported
   by true count (and whose protected count reaches min_n too): at most MAX_BANDS bands, each
   starting at such a strength (the lowest band also holds anything below it), the edges chosen
   so the largest band is as small as possible. A strength reported by fewer people never becomes
   an edge, whatever its noise; its reports fall in the band around it.
5. **Each band is its own view** (its set of reports, named by the sum of its buckets' key sums)
   with protected n, shares and means; a band under min_n (true or protected) says "too few
   reports to show", whatever it holds. The two counts apart are protected counts, hidden the
   same way.

Pure: slice frames and plain values in, dataclasses out (no Flask, no database).
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field, replace

from reports.disclosure import Policy
from reports.slices import Outcomes, add, by_bucket, outcomes
from reports.wording import Phrase
from scales.i18n import N_

MAX_BANDS = 4
TO_MG = {"mg": 1.0, "mcg": 0.001, "g": 1000.0}
PER_DAY = {"once_daily": 1, "twice_daily": 2, "three_times_daily": 3}
PERIOD = {
    **dict.fromkeys(PER_DAY, N_("a day")),
    "weekly": N_("a week"),
    "monthly": N_("a month"),
    "as_needed": N_("a dose (as needed)"),
}
COUNTABLE_UNITS = ("ml", "units", "puffs", "drops", "patches")
# The units that are words (mg and ml are the same in every language).
UNIT_WORDS = {"units": N_("units"), "puffs": N_("puffs"), "drops": N_("drops"), "patches": N_("patches")}


@dataclass(frozen=True, order=True)
class Measure:
    """A common unit: "mg" and "a day" read "mg a day"."""

    unit: str
    period: str

    @property
    def label(self) -> Phrase:
        """ "mg a day": English as a string (JSON, comparisons), shown in the reader's language (a Phrase)."""
        unit = Phrase(UNIT_WORDS[self.unit]) if self.unit in UNIT_WORDS else self.unit
        # A unit and how often: "mg a day", "puffs a dose (as needed)".
        return Phrase(N_("%(unit)s %(period)s"), unit=unit, period=Phrase(self.period))


def common_dose(bucket: str) -> tuple[Measure, float] | None:
    """(measure, amount in it) of a reported dose "unit|amount|frequency"; None when it has no common scale."""
    parts = bucket.split("|")
    if len(parts) != 3:
        return None
    unit, amount_text, frequency = parts
    try:
        amount = float(amount_text)
    except ValueError:
        return None
    if amount <= 0 or frequency not in PERIOD:
        return None
    if unit in TO_MG:
        amount, unit = amount * TO_MG[unit], "mg"
    elif unit not in COUNTABLE_UNITS:
        return None
    amount *= PER_DAY.get(frequency, 1)
    return Measure(unit, PERIOD[frequency]), round(amount, 6)


@dataclass
class DoseReport:
    """A drug's outcomes by dose band, with what was counted apart."""

    min_n: int
    suppressed: bool  # the treatment itself has too few reports to show
    measure: str | None = None  # "mg a day"; None when no strength is reported often enough
    edges: list[float] = field(default_factory=list)  # each band's lower edge (the first band also holds less)
    bands: list[Outcomes] = field(default_factory=list)
    without_dose: int | None = None  # protected counts, None when under min_n (or none)
    other_units: int | None = None

    @property
    def shown(self) -> list[Outcomes]:
        return [b for b in self.bands if b.shown]

    def as_json(self) -> dict:
        if self.suppressed:
            return {"suppressed": True}
        return {
            "suppressed": False,
            "measure": self.measure,
            "bands": [
                {
                    **band.as_json(),
                    "from": edge if i else None,
                    "below": self.edges[i + 1] if i + 1 < len(self.edges) else None,
                }
                for i, (edge, band) in enumerate(zip(self.edges, self.bands))
            ],
            "without_dose": self.without_dose,
            "other_units": self.other_units,
        }


def choose_edges(strengths: list[tuple[float, int]], max_bands: int = MAX_BANDS) -> list[float]:
    """Band lower edges from (amount, protected n) of strengths reaching min_n, sorted by amount.

    Every strength's own band when there are at most max_bands; otherwise max_bands - 1 inner
    edges among them, the largest band as small as possible (ties: the first such choice).
    """
    amounts = [a for a, _ in strengths]
    if len(strengths) <= max_bands:
        return amounts
    weights = [n for _, n in strengths]
    best, best_cost = None, None
    for inner in itertools.combinations(range(1, len(strengths)), max_bands - 1):
        cuts = (0, *inner, len(strengths))
        cost = max(sum(weights[a:b]) for a, b in itertools.pairwise(cuts))
        if best_cost is None or cost < best_cost:
            best, best_cost = inner, cost
    return [amounts[0], *(amounts[i] for i in best)]


def shown_count(policy: Policy, sums: dict | None) -> int | None:
    """A set's protected number of reports when it may appear (true and protected counts reach min_n), else None."""
    return policy.shown_n(int(sums["key_sum"]), int(sums["n"])) if sums else None


def band_outcomes(policy: Policy, label: str, sums: dict) -> Outcomes:
    """A band's protected outcomes, hidden unless at least min_n reports are in it by true count too."""
    result = outcomes(policy, label, sums)
    return result if result.shown and int(sums["n"]) >= policy.min_n else Outcomes(label, None)


# A band between two edges, and the same on two lines under a chart's bar (<br>: a line break there).
BETWEEN = N_("%(low)s to under %(high)s")
BETWEEN_TICK = N_("%(low)s to<br>under %(high)s")


def band_label(edges: list[float], i: int, measure: Measure) -> Phrase:
    """ "under 100", "100 to under 150", "150 or more" (the measure is the axis title).

    English as a string (the JSON, the cache), in the reader's language on a page (a Phrase).
    """
    if len(edges) == 1:
        return Phrase(N_("any dose in %(measure)s"), measure=measure.label)
    if i == 0:
        return Phrase(N_("under %(amount)s"), amount=float(edges[1]))
    if i == len(edges) - 1:
        return Phrase(N_("%(amount)s or more"), amount=float(edges[i]))
    return Phrase(BETWEEN, low=float(edges[i]), high=float(edges[i + 1]))


def dose_report(policy: Policy, frame, max_bands: int = MAX_BANDS, *, n: int | None = None) -> DoseReport:
    """Outcomes by dose band from a drug's "dose" slices (one condition, or several summed; other axes ignored).

    The bands, "without a dose" and "in other units" are parts of the treatment's reports: their
    sizes are rescaled onto its protected n (Policy.parts), so those shown never add up to more.
    ``n`` is that n as the treatment's page shows it (by default the protected n of the slices' total).
    """
    buckets = by_bucket(frame, "dose")
    total = {}
    for sums in buckets.values():
        add(total, sums)
    total_n = shown_count(policy, total)
    if total_n is None:  # the same set and numbers as the treatment's own page
        return DoseReport(policy.min_n, True)
    without = buckets.pop("", None) or {}
    placed: dict[Measure, dict[float, dict]] = {}
    other: dict = {}
    for bucket, sums in buckets.items():
        dose = common_dose(bucket)
        if dose is None:
            add(other, sums)
        else:
            add(placed.setdefault(dose[0], {}).setdefault(dose[1], {}), sums)
    frequent: dict[Measure, list[tuple[float, int]]] = {}
    for measure, strengths in placed.items():
        for amount, sums in sorted(strengths.items()):
            count = shown_count(policy, sums)  # a strength fewer than min_n people reported is never an edge
            if count is not None:
                frequent.setdefault(measure, []).append((amount, count))
    report = DoseReport(policy.min_n, False)
    members: list[dict] = []
    if frequent:
        measure = min(frequent, key=lambda m: (-sum(count for _, count in frequent[m]), m))
        report.measure, report.edges = measure.label, choose_edges(frequent[measure], max_bands)
        members = [{} for _ in report.edges]
        for amount, sums in placed.pop(measure).items():
            add(members[max(0, bisect.bisect_right(report.edges, amount) - 1)], sums)
    for strengths in placed.values():  # every other measure (all of them when no strength is frequent)
        for sums in strengths.values():
            add(other, sums)
    parts = {("band", i): sums for i, sums in enumerate(members)} | {"without": without, "other": other}
    sizes = policy.parts(
        total_n if n is None else n,
        {part: (int(sums.get("n", 0)), int(sums.get("key_sum", 0))) for part, sums in parts.items()},
    )
    report.without_dose, report.other_units = sizes["without"], sizes["other"]
    for i, sums in enumerate(members):
        band = band_outcomes(policy, band_label(report.edges, i, measure), sums)
        size = sizes[("band", i)]
        report.bands.append(replace(band, n=size) if band.shown and size is not None else Outcomes(band.label, None))
    return report
