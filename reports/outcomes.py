"""Treatment outcome reports: counts per treatment and code from a source, shaped and protected.

Pure: every function takes a source of counts (registry.reporting.report_sources reads them from the
report tables or the raw rows) and plain values, and returns dataclasses and plain data. A page's
cost grows with the number of treatments and codes shown, and every published number passes
through reports.disclosure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

import scales
from reports.disclosure import Policy, mean, share
from reports.filters import Filters

KNOWN_EFFECT_CODES = tuple(c for c in scales.EFFECTIVENESS.codes if c != scales.UNKNOWN_EFFECT_CODE)
SUMMARY_FIELDS = ("effectiveness", "side_effect_severity", "insurance_coverage", "satisfaction")
TOP_TERMS = 10


class Entry(Protocol):
    """A catalog entry as reports read it (a condition or treatment row, or any object alike)."""

    id: int
    slug: str
    name: str


# --- shaping -----------------------------------------------------------------------------


def index_counts(frame: pd.DataFrame) -> dict[tuple[int, str], dict[str, int]]:
    """(treatment_id, field) -> {code: n}, built once from a counts frame."""
    index: dict[tuple[int, str], dict[str, int]] = {}
    for treatment_id, name, code, n in frame.itertuples(index=False):
        index.setdefault((treatment_id, name), {})[code] = int(n)
    return index


def distribution(index: dict, treatment_id: int, name: str, codes=None) -> dict[str, int]:
    """Code -> count for one treatment and field, every code of the scale present."""
    codes = codes if codes is not None else scales.EXPERIENCE_CODES[name]
    found = index.get((treatment_id, name), {})
    return {code: found.get(code, 0) for code in codes}


@dataclass
class UnitReport:
    """One treatment for one condition under the filters: its numbers, or only that it is suppressed."""

    slug: str
    name: str
    n: int
    suppressed: bool
    distributions: dict[str, dict[str, int]] = field(default_factory=dict)
    improved: dict | None = None
    satisfaction_mean: float | None = None
    severe: dict | None = None
    not_covered: dict | None = None
    recommended: dict | None = None  # share answering yes; on full (treatment page) reports only
    side_effects: list[dict] = field(default_factory=list)
    stop_reasons: dict[str, int] = field(default_factory=dict)
    duration: dict[str, int] = field(default_factory=dict)

    @property
    def rank_key(self):
        if self.suppressed:  # by name only: an order by size would hint at the hidden counts
            return (True, 0.0, 0, self.name)
        low = self.improved["low"] if self.improved else -1.0
        return (False, -low, -self.n, self.name)

    def summary_json(self) -> dict:
        """The condition-list shape of the JSON API (docs/domain.md)."""
        if self.suppressed:
            return {"slug": self.slug, "name": self.name, "suppressed": True}
        return {
            "slug": self.slug,
            "name": self.name,
            "n": self.n,
            "suppressed": False,
            "effectiveness": self.distributions["effectiveness"],
            "improved": self.improved,
            "satisfaction_mean": self.satisfaction_mean,
            "side_effect_severity": self.distributions["side_effect_severity"],
            "insurance_coverage": self.distributions["insurance_coverage"],
            "severe_side_effects": self.severe,
            "not_covered": self.not_covered,
        }

    def detail_json(self) -> dict:
        """Every distribution of the treatment page."""
        if self.suppressed:
            return {"slug": self.slug, "name": self.name, "suppressed": True}
        return {
            **self.summary_json(),
            **{name: self.distributions[name] for name in scales.EXPERIENCE_CODES if name in self.distributions},
            "recommended": self.recommended,
            "side_effects": self.side_effects,
            "stop_reasons": self.stop_reasons,
            "duration": self.duration,
        }


def _unit(policy: Policy, treatment: Entry, n: int, frame, tid: int, names) -> UnitReport:
    """A shown unit's protected distributions and shares (n is already protected; every part agrees with it)."""
    view = policy.view(frame.keys[tid])
    dists = {name: view.distribution(name, distribution(frame.index, tid, name), n) for name in names}
    return UnitReport(
        slug=treatment.slug,
        name=treatment.name,
        n=n,
        suppressed=False,
        distributions=dists,
        improved=share(policy, dists["effectiveness"], scales.IMPROVED_CODES, KNOWN_EFFECT_CODES),
        satisfaction_mean=mean(dists["satisfaction"]),
        severe=share(policy, dists["side_effect_severity"], scales.SEVERE_CODES),
        not_covered=share(policy, dists["insurance_coverage"], scales.NOT_COVERED_CODES),
        recommended=share(policy, dists["would_recommend"], ("yes",)) if "would_recommend" in dists else None,
    )


def _hidden(treatment: Entry) -> UnitReport:
    return UnitReport(treatment.slug, treatment.name, 0, True)


@dataclass
class _Frame:
    """Counts of the shown units, indexed, with each unit's key sum (its view's name)."""

    index: dict
    keys: dict[int, int]


def _shown_sizes(policy: Policy, source, condition_id: int, filters: Filters, treatment_ids=None):
    """(protected n, key sum) per treatment that may be shown under the filters (true and protected n reach min_n).

    People matching filters are some of everyone: a filtered view's n is capped at the unfiltered
    view's protected n, so "people like me" are never more than everyone.
    """
    sizes = source.sizes(condition_id, filters, treatment_ids)
    protected = {tid: policy.view(key).n(n) for tid, (n, key) in sizes.items()}
    if filters.active() and sizes:
        everyone = source.sizes(condition_id, Filters(), list(sizes))
        protected = {
            tid: min(n, policy.view(everyone[tid][1]).n(everyone[tid][0])) if tid in everyone else 0
            for tid, n in protected.items()
        }
    return {tid: (n, sizes[tid][1]) for tid, n in protected.items() if policy.shown(n, sizes[tid][0])}


@dataclass
class ConditionReport:
    condition_id: int
    filters: Filters
    min_n: int
    n: int
    suppressed: bool
    treatments: list[UnitReport]
    side_effects: list[dict]

    @property
    def shown(self) -> list[UnitReport]:
        return [t for t in self.treatments if not t.suppressed]


def condition_report(source, condition: Entry, filters: Filters, policy: Policy, listed=()) -> ConditionReport:
    """Treatments of a condition ranked by the lower bound of "improved", every number protected.

    A treatment is shown when its own true and protected counts reach min_n (never hidden because
    of another). Hidden treatments are listed only when they are in ``listed`` (the catalog's
    treatments for the condition), so whether an unlisted treatment has one report or none
    is never told; the total counts shown treatments only.
    """
    sizes = _shown_sizes(policy, source, condition.id, filters)
    shown = list(sizes)
    frame = _Frame(
        index_counts(source.counts(condition.id, filters, SUMMARY_FIELDS, shown)) if shown else {},
        {tid: sizes[tid][1] for tid in shown},
    )
    treatments = source.treatments(shown)
    units = [_unit(policy, treatments[tid], sizes[tid][0], frame, tid, SUMMARY_FIELDS) for tid in shown]
    units += [_hidden(t) for t in listed if t.id not in treatments]
    units.sort(key=lambda u: u.rank_key)
    total = sum(sizes[tid][0] for tid in shown)
    side_effects = condition_side_effects(policy, source, condition.id, filters, total, frame, sizes) if shown else []
    return ConditionReport(condition.id, filters, policy.min_n, total, not shown, units, side_effects)


Terms = dict[str, tuple[int, int]]  # term -> (true count, protected count): the true one decides, never shown


def _unit_terms(policy: Policy, side: pd.DataFrame, frame: _Frame, sizes: dict) -> dict[int, Terms]:
    """Per shown treatment, every side-effect term's true and protected count (at most the unit's n)."""
    result: dict[int, Terms] = {}
    for tid, code, n in side.itertuples(index=False):
        if tid in frame.keys:
            protected = policy.view(frame.keys[tid]).term("side_effects", code, n, sizes[tid][0])
            result.setdefault(tid, {})[code] = (int(n), protected)
    return result


def _add_terms(summed: Terms, counts: Terms) -> None:
    for term, (true, protected) in counts.items():
        old = summed.get(term, (0, 0))
        summed[term] = (old[0] + true, old[1] + protected)


def _top_terms(policy: Policy, counts: Terms, base: int) -> list[dict]:
    """The most reported terms that may appear: at least min_n reporters by true count (Policy.shown), shares of base."""
    kept = [(term, protected) for term, (true, protected) in counts.items() if policy.shown(protected, true)]
    ranked = sorted(kept, key=lambda item: (-item[1], item[0]))[:TOP_TERMS]
    return [{"term": term, "n": n, "share": round(n / base, 4)} for term, n in ranked]


def condition_side_effects(
    policy: Policy, source, condition_id: int, filters: Filters, total: int, frame: _Frame, sizes: dict
) -> list[dict]:
    """The most reported side effects among the shown treatments: term, count, share of reporters.

    Sums of each shown treatment's protected term counts (each at most its unit's n, so a sum
    is at most the total); a term is listed only when its true count over the shown treatments
    reaches min_n, and its protected sum too (free-text terms can identify).
    """
    per_unit = _unit_terms(policy, source.terms(condition_id, filters, list(frame.keys)), frame, sizes)
    summed: Terms = {}
    for counts in per_unit.values():
        _add_terms(summed, counts)
    return _top_terms(policy, summed, total)


def treatment_report(source, condition: Entry, treatment: Entry, filters: Filters, policy: Policy) -> UnitReport:
    """Every distribution of one treatment for one condition, or that it has too few reports to show."""
    return treatments_report(source, condition, [treatment], filters, policy)[0]


def treatments_report(source, condition: Entry, chosen: list, filters: Filters, policy: Policy) -> list[UnitReport]:
    """Full reports for several treatments of a condition (the compare page), same scales."""
    return full_reports(source, condition, chosen, filters, policy)[0]


def full_reports(source, condition, chosen, filters, policy) -> tuple[list[UnitReport], dict[int, Terms]]:
    """Full reports, and per shown treatment every side-effect term's true and protected count (before min_n)."""
    ids = [t.id for t in chosen]
    sizes = _shown_sizes(policy, source, condition.id, filters, ids)
    visible = [tid for tid in ids if tid in sizes]
    names = tuple(scales.EXPERIENCE_CODES)
    fields = (*names, "stop_reasons", "duration")
    frame = _Frame(
        index_counts(source.counts(condition.id, filters, fields, visible)) if visible else {},
        {tid: sizes[tid][1] for tid in visible},
    )
    terms = _unit_terms(policy, source.terms(condition.id, filters, visible), frame, sizes) if visible else {}
    reports = []
    for treatment in chosen:
        if treatment.id not in frame.keys:
            reports.append(_hidden(treatment))
            continue
        n = sizes[treatment.id][0]
        unit = _unit(policy, treatment, n, frame, treatment.id, names)
        view = policy.view(frame.keys[treatment.id])
        unit.side_effects = _top_terms(policy, terms.get(treatment.id, {}), n)
        # Several reasons per report: each at most n, never made to add up to it.
        unit.stop_reasons = view.multiple(
            "stop_reasons", distribution(frame.index, treatment.id, "stop_reasons", scales.STOP_REASON.codes), n
        )
        unit.duration = view.distribution(
            "duration", distribution(frame.index, treatment.id, "duration", scales.DURATION.codes), n
        )
        reports.append(unit)
    return reports, terms


@dataclass
class ConditionUse:
    """One condition a treatment is used for, with the treatment's report for it (or that it is hidden)."""

    slug: str
    name: str
    unit: UnitReport

    def as_json(self) -> dict:
        return {"condition": {"slug": self.slug, "name": self.name}, "treatment": self.unit.detail_json()}


@dataclass
class TreatmentOverview:
    """A treatment across every condition it is shown for: the drug page."""

    treatment_id: int
    min_n: int
    n: int
    uses: list[ConditionUse]
    side_effects: list[dict]

    @property
    def shown(self) -> list[ConditionUse]:
        return [use for use in self.uses if not use.unit.suppressed]

    @property
    def suppressed(self) -> bool:
        return not self.shown


def treatment_overview(source, treatment: Entry, policy: Policy, listed=()) -> TreatmentOverview:
    """One treatment for every condition, each exactly as its own (unfiltered) treatment page reports it.

    Conditions are shown by the treatment's own true and protected counts for them, most reported
    first; hidden ones are named only when in ``listed`` (the catalog's conditions for the treatment),
    so a condition with one report and one with none are never told apart. The side effects are
    sums of each shown unit's protected term counts, kept when the true sum reaches min_n (and the
    protected one).
    """
    sizes = {cid: policy.shown_n(key, n) for cid, (n, key) in source.treatment_sizes(treatment.id).items()}
    shown_ids = [cid for cid, n in sizes.items() if n is not None]
    conditions = source.conditions(shown_ids)
    uses, summed = [], {}
    for cid in sorted(shown_ids, key=lambda cid: (-sizes[cid], conditions[cid].name)):
        (unit,), terms = full_reports(source, conditions[cid], [treatment], Filters(), policy)
        if unit.suppressed:  # cannot happen (same protected n), but never publish a hidden unit's terms
            continue
        uses.append(ConditionUse(conditions[cid].slug, conditions[cid].name, unit))
        _add_terms(summed, terms.get(treatment.id, {}))
    named = {use.slug for use in uses}
    uses += [
        ConditionUse(c.slug, c.name, _hidden(treatment))
        for c in sorted(listed, key=lambda c: c.name)
        if c.slug not in named
    ]
    total = sum(use.unit.n for use in uses if not use.unit.suppressed)
    side_effects = _top_terms(policy, summed, total) if total else []
    return TreatmentOverview(treatment.id, policy.min_n, total, uses, side_effects)


def public_condition_counts(policy: Policy, source) -> dict[int, int]:
    """Per condition, the sum of its shown treatments' protected counts (its report page's total)."""
    result: dict[int, int] = {}
    for (cid, _tid), (n, key) in source.unit_sizes().items():
        protected = policy.shown_n(key, n)
        if protected is not None:
            result[cid] = result.get(cid, 0) + protected
    return result
