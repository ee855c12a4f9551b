"""A condition's treatments ranked by the share reporting one side effect ("which cause the least drowsiness").

Pure, and protected like the treatment pages, from the same code (reports.outcomes): each shown
treatment's protected n, and each side-effect term's protected count in that treatment's view (at
most n). A term appears for a treatment only where its true count reaches min_n, and its protected
count too (Policy.shown, the appearance rule of issue 24); elsewhere the treatment is listed as
"few or none", never with a number. A share is of everyone who reported the treatment, with its
95% interval widened for the noise (reports.disclosure.share), exactly as on the treatment page.

The order: lowest first by the high end of the interval (what the treatment likely causes at
most), so a treatment with a few reports cannot come first by luck, as the condition page ranks
"improved" by the low end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reports.disclosure import Policy, share
from reports.filters import Filters

# The treatment pages' own computation (its side-effect counts before the top-10 cut), so a share here
# is the share on the treatment page.
from reports.outcomes import Entry, full_reports


@dataclass(frozen=True)
class Row:
    """One shown treatment for one term: its people, and the term's protected count and share (None: few or none)."""

    slug: str
    name: str
    n: int
    count: int | None = None
    share: dict | None = None


@dataclass
class Ranking:
    """One term across a condition's shown treatments: ranked rows with a number, then the "few or none"."""

    term: str
    ranked: list[Row]
    few: list[Row]


@dataclass
class SideEffectTable:
    """Every shown treatment of a condition with every term that appears for at least one of them."""

    min_n: int
    treatments: list[Row] = field(default_factory=list)  # every shown treatment (count None)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # term -> treatment slug -> protected count

    @property
    def suppressed(self) -> bool:
        return not self.treatments

    @property
    def terms(self) -> list[str]:
        """The terms one may choose: most reported first (summed protected counts), then by name."""
        return sorted(self.counts, key=lambda term: (-sum(self.counts[term].values()), term))

    def ranking(self, policy: Policy, term: str) -> Ranking | None:
        """The treatments for a term, or None when it appears for none of them."""
        counts = self.counts.get(term)
        if not counts:
            return None
        ranked, few = [], []
        for row in self.treatments:
            count = counts.get(row.slug)
            if count is None:
                few.append(row)
            else:
                interval = share(policy, {"yes": count, "no": max(row.n - count, 0)}, ("yes",))
                ranked.append(Row(row.slug, row.name, row.n, count, interval))
        ranked.sort(key=lambda r: (r.share["high"], r.share["share"], -r.n, r.name))
        few.sort(key=lambda r: (-r.n, r.name))  # more people make "few or none" mean more
        return Ranking(term, ranked, few)


def side_effect_table(source, condition: Entry, policy: Policy) -> SideEffectTable:
    """The condition's shown treatments (unfiltered) and, per term that may appear, their protected counts."""
    candidates = source.treatments(source.sizes(condition.id, Filters()))
    units, terms = full_reports(source, condition, list(candidates.values()), Filters(), policy)
    table = SideEffectTable(policy.min_n)
    for treatment, unit in zip(candidates.values(), units):
        if unit.suppressed:  # never named: listing it would tell it has a report or two
            continue
        table.treatments.append(Row(unit.slug, unit.name, unit.n))
        for term, (true, protected) in terms.get(treatment.id, {}).items():
            if policy.shown(protected, true):
                table.counts.setdefault(term, {})[unit.slug] = protected
    table.treatments.sort(key=lambda r: r.name)
    return table
