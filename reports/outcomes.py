"""Treatment outcome reports: counts per treatment and code from a source, shaped and protected.

Pure: every function takes a source of counts (registry.report_sources reads them from the
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
    """A shown unit's protected distributions and shares (n is already protected)."""
    view = policy.view(frame.keys[tid])
    dists = {name: view.distribution(name, distribution(frame.index, tid, name)) for name in names}
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


def _protected_sizes(policy: Policy, source, condition_id: int, filters: Filters, treatment_ids=None):
    """(protected n, key sum) per treatment with reports under the filters."""
    sizes = source.sizes(condition_id, filters, treatment_ids)
    return {tid: (policy.view(key).n(n), key) for tid, (n, key) in sizes.items()}


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

    A treatment is shown when its own protected count reaches min_n (never hidden because of
    another). Hidden treatments are listed only when they are in ``listed`` (the catalog's
    treatments for the condition), so whether an unlisted treatment has one report or none
    is never told; the total counts shown treatments only.
    """
    sizes = _protected_sizes(policy, source, condition.id, filters)
    shown = [tid for tid, (n, _) in sizes.items() if policy.shown(n)]
    frame = _Frame(
        index_counts(source.counts(condition.id, filters, SUMMARY_FIELDS, shown)) if shown else {},
        {tid: sizes[tid][1] for tid in shown},
    )
    treatments = source.treatments(shown)
    units = [_unit(policy, treatments[tid], sizes[tid][0], frame, tid, SUMMARY_FIELDS) for tid in shown]
    units += [_hidden(t) for t in listed if t.id not in treatments]
    units.sort(key=lambda u: u.rank_key)
    total = sum(sizes[tid][0] for tid in shown)
    side_effects = condition_side_effects(policy, source, condition.id, filters, total, frame) if shown else []
    return ConditionReport(condition.id, filters, policy.min_n, total, not shown, units, side_effects)


def _unit_terms(policy: Policy, side: pd.DataFrame, frame: _Frame) -> dict[int, dict[str, int]]:
    """Per shown treatment, every side-effect term's protected count (thresholded later)."""
    result: dict[int, dict[str, int]] = {}
    for tid, code, n in side.itertuples(index=False):
        if tid in frame.keys:
            result.setdefault(tid, {})[code] = policy.view(frame.keys[tid]).count(f"side_effects~{code}", n)
    return result


def _top_terms(counts: dict[str, int], base: int, min_n: int) -> list[dict]:
    kept = [(term, n) for term, n in counts.items() if n >= min_n]
    ranked = sorted(kept, key=lambda item: (-item[1], item[0]))[:TOP_TERMS]
    return [{"term": term, "n": n, "share": round(n / base, 4)} for term, n in ranked]


def condition_side_effects(
    policy: Policy, source, condition_id: int, filters: Filters, total: int, frame: _Frame
) -> list[dict]:
    """The most reported side effects among the shown treatments: term, count, share of reporters.

    Sums of each shown treatment's protected term counts; a term under min_n is left out
    (free-text terms can identify).
    """
    per_unit = _unit_terms(policy, source.terms(condition_id, filters, list(frame.keys)), frame)
    summed: dict[str, int] = {}
    for counts in per_unit.values():
        for term, n in counts.items():
            summed[term] = summed.get(term, 0) + n
    return _top_terms(summed, total, policy.min_n)


def treatment_report(source, condition: Entry, treatment: Entry, filters: Filters, policy: Policy) -> UnitReport:
    """Every distribution of one treatment for one condition, or that it has too few reports to show."""
    return treatments_report(source, condition, [treatment], filters, policy)[0]


def treatments_report(source, condition: Entry, chosen: list, filters: Filters, policy: Policy) -> list[UnitReport]:
    """Full reports for several treatments of a condition (the compare page), same scales."""
    return _full_reports(source, condition, chosen, filters, policy)[0]


def _full_reports(source, condition, chosen, filters, policy) -> tuple[list[UnitReport], dict]:
    """Full reports, and per shown treatment every side-effect term's protected count (before min_n)."""
    ids = [t.id for t in chosen]
    sizes = _protected_sizes(policy, source, condition.id, filters, ids)
    visible = [tid for tid in ids if tid in sizes and policy.shown(sizes[tid][0])]
    names = tuple(scales.EXPERIENCE_CODES)
    fields = (*names, "stop_reasons", "duration")
    frame = _Frame(
        index_counts(source.counts(condition.id, filters, fields, visible)) if visible else {},
        {tid: sizes[tid][1] for tid in visible},
    )
    terms = _unit_terms(policy, source.terms(condition.id, filters, visible), frame) if visible else {}
    reports = []
    for treatment in chosen:
        if treatment.id not in frame.keys:
            reports.append(_hidden(treatment))
            continue
        n = sizes[treatment.id][0]
        unit = _unit(policy, treatment, n, frame, treatment.id, names)
        view = policy.view(frame.keys[treatment.id])
        unit.side_effects = _top_terms(terms.get(treatment.id, {}), n, policy.min_n)
        unit.stop_reasons = view.distribution(
            "stop_reasons", distribution(frame.index, treatment.id, "stop_reasons", scales.STOP_REASON.codes)
        )
        unit.duration = view.distribution(
            "duration", distribution(frame.index, treatment.id, "duration", scales.DURATION.codes)
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

    Conditions are shown by the treatment's own protected count for them, most reported first;
    hidden ones are named only when in ``listed`` (the catalog's conditions for the treatment),
    so a condition with one report and one with none are never told apart. The side effects are
    sums of each shown unit's protected term counts, kept when the sum reaches min_n.
    """
    sizes = {cid: policy.view(key).n(n) for cid, (n, key) in source.treatment_sizes(treatment.id).items()}
    shown_ids = [cid for cid, n in sizes.items() if policy.shown(n)]
    conditions = source.conditions(shown_ids)
    uses, summed = [], {}
    for cid in sorted(shown_ids, key=lambda cid: (-sizes[cid], conditions[cid].name)):
        (unit,), terms = _full_reports(source, conditions[cid], [treatment], Filters(), policy)
        if unit.suppressed:  # cannot happen (same protected n), but never publish a hidden unit's terms
            continue
        uses.append(ConditionUse(conditions[cid].slug, conditions[cid].name, unit))
        for term, n in terms.get(treatment.id, {}).items():
            summed[term] = summed.get(term, 0) + n
    named = {use.slug for use in uses}
    uses += [
        ConditionUse(c.slug, c.name, _hidden(treatment))
        for c in sorted(listed, key=lambda c: c.name)
        if c.slug not in named
    ]
    total = sum(use.unit.n for use in uses if not use.unit.suppressed)
    side_effects = _top_terms(summed, total, policy.min_n) if total else []
    return TreatmentOverview(treatment.id, policy.min_n, total, uses, side_effects)


def public_condition_counts(policy: Policy, source) -> dict[int, int]:
    """Per condition, the sum of its shown treatments' protected counts (its report page's total)."""
    result: dict[int, int] = {}
    for (cid, _tid), (n, key) in source.unit_sizes().items():
        protected = policy.view(key).n(n)
        if policy.shown(protected):
            result[cid] = result.get(cid, 0) + protected
    return result
