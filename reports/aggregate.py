"""Aggregation: counts per treatment and code from the database, then pandas on the small frame.

Every function takes a session and returns frames or plain data; nothing here knows about
requests. The SQL only groups and counts, so a page's cost grows with the number of treatments
and codes shown, and every output passes through reports.suppression.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select

from registry import scales
from registry.models import COUNTED, Condition, Treatment
from reports.filters import Filters
from reports.sources import CellSource
from reports.stats import share_dict
from reports.suppression import suppressed_units

# Fields whose every code is counted, in scale order (the aggregates' own list).
SCALE_FIELDS = {f: codes for f, codes in COUNTED.items() if f not in ("duration", "stop_reasons")}
SUMMARY_FIELDS = ("effectiveness", "side_effect_severity", "insurance_coverage", "satisfaction")
TOP_TERMS = 10


def _source(session, source):
    return source if source is not None else CellSource(session)


def view_counts(source, condition_id: int, filters: Filters, treatment_ids=None):
    """(n under the filters, n in the whole unit, cross-table cells) per treatment.

    Under filters every treatment with reports in the unit is listed (with 0 when none match),
    so a list of suppressed names cannot reveal who is in a small filtered group.
    """
    n_all = source.totals(condition_id, treatment_ids=treatment_ids)
    if not filters:
        return n_all, n_all, {}
    n_view = {tid: 0 for tid in n_all} | source.totals(condition_id, filters, treatment_ids)
    return n_view, n_all, source.cells(condition_id, filters, treatment_ids)


def totals(session, condition_id: int, filters: Filters = Filters(), treatment_ids=None, source=None):
    """Number of experiences per treatment id under the filters."""
    return _source(session, source).totals(condition_id, filters, treatment_ids)


# --- shaping -----------------------------------------------------------------------------


def index_counts(frame: pd.DataFrame) -> dict[tuple[int, str], dict[str, int]]:
    """(treatment_id, field) -> {code: n}, built once from a counts frame."""
    index: dict[tuple[int, str], dict[str, int]] = {}
    for treatment_id, name, code, n in frame.itertuples(index=False):
        index.setdefault((treatment_id, name), {})[code] = int(n)
    return index


def distribution(index: dict, treatment_id: int, name: str, codes=None) -> dict[str, int]:
    """Code -> count for one treatment and field, every code of the scale present."""
    codes = codes if codes is not None else SCALE_FIELDS[name]
    found = index.get((treatment_id, name), {})
    return {code: found.get(code, 0) for code in codes}


def improved(effectiveness: dict[str, int]) -> tuple[int, int]:
    """(moderate or major, answers other than can't tell)."""
    known = sum(n for code, n in effectiveness.items() if code != scales.UNKNOWN_EFFECT_CODE)
    return sum(effectiveness[c] for c in scales.IMPROVED_CODES), known


def mean_of(histogram: dict[str, int]) -> float | None:
    total = sum(histogram.values())
    if not total:
        return None
    return round(sum(int(code) * n for code, n in histogram.items()) / total, 2)


def share_of(dist: dict[str, int], codes) -> dict | None:
    return share_dict(sum(dist[c] for c in codes), sum(dist.values()))


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
        """The condition-list shape of DOMAIN.md."""
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
            **{name: self.distributions[name] for name in SCALE_FIELDS if name in self.distributions},
            "side_effects": self.side_effects,
            "stop_reasons": self.stop_reasons,
            "duration": self.duration,
        }


def _unit(treatment: Treatment, n: int, hidden: bool, frame, tid: int, names) -> UnitReport:
    if hidden:
        return UnitReport(treatment.slug, treatment.name, n, True)
    dists = {name: distribution(frame, tid, name) for name in names}
    successes, known = improved(dists["effectiveness"])
    return UnitReport(
        slug=treatment.slug,
        name=treatment.name,
        n=n,
        suppressed=False,
        distributions=dists,
        improved=share_dict(successes, known),
        satisfaction_mean=mean_of(dists["satisfaction"]),
        severe=share_of(dists["side_effect_severity"], scales.SEVERE_CODES),
        not_covered=share_of(dists["insurance_coverage"], scales.NOT_COVERED_CODES),
    )


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


def condition_report(session, condition: Condition, filters: Filters, min_n: int, source=None) -> ConditionReport:
    """Treatments of a condition ranked by the lower Wilson bound of "improved", with suppression."""
    source = _source(session, source)
    n_filtered, n_all, unit_cells = view_counts(source, condition.id, filters)
    ids = list(n_filtered)
    frame = index_counts(source.counts(condition.id, filters, SUMMARY_FIELDS)) if ids else {}
    treatments = {t.id: t for t in session.scalars(select(Treatment).where(Treatment.id.in_(ids)))}
    hidden = suppressed_units(n_filtered, n_all, min_n, bool(filters), unit_cells)
    units = [_unit(treatments[tid], n, tid in hidden, frame, tid, SUMMARY_FIELDS) for tid, n in n_filtered.items()]
    units.sort(key=lambda u: u.rank_key)
    # The page's totals count shown treatments only, so no hidden count can be had by subtraction.
    shown = [tid for tid in n_filtered if tid not in hidden]
    total = sum(n_filtered[tid] for tid in shown)
    side_effects = condition_side_effects(source, condition.id, filters, total, shown, min_n) if shown else []
    return ConditionReport(condition.id, filters, min_n, total, not shown, units, side_effects)


def condition_side_effects(source, condition_id: int, filters: Filters, total: int, treatment_ids, min_n: int) -> list[dict]:
    """The most reported side effects among the shown treatments: term, count, share of reporters.

    A term reported fewer than min_n times is left out: free-text terms can identify.
    """
    frame = source.terms(condition_id, filters, treatment_ids)
    counts = frame.groupby("code")["n"].sum() if not frame.empty else pd.Series(dtype=int)
    counts = counts[counts >= min_n]
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_TERMS]
    return [{"term": term, "n": int(n), "share": round(n / total, 4)} for term, n in ranked]


def treatment_report(
    session, condition: Condition, treatment: Treatment, filters: Filters, min_n: int, source=None
) -> UnitReport:
    """Every distribution of one treatment for one condition, or its suppression."""
    return treatments_report(session, condition, [treatment], filters, min_n, source)[0]


def treatments_report(
    session, condition: Condition, chosen: list[Treatment], filters: Filters, min_n: int, source=None
) -> list[UnitReport]:
    """Full reports for several treatments of a condition (the compare page), same scales."""
    source = _source(session, source)
    ids = [t.id for t in chosen]
    # Suppression is decided over all the condition's treatments, as on the condition page.
    n_filtered, n_all, unit_cells = view_counts(source, condition.id, filters)
    hidden = suppressed_units(n_filtered, n_all, min_n, bool(filters), unit_cells) | (set(ids) - set(n_filtered))
    names = tuple(SCALE_FIELDS)
    visible = [tid for tid in ids if tid not in hidden]
    fields = (*names, "stop_reasons", "duration")
    frame = index_counts(source.counts(condition.id, filters, fields, visible)) if visible else {}
    side = source.terms(condition.id, filters, visible) if visible else _empty()
    reports = []
    for treatment in chosen:
        n = n_filtered.get(treatment.id, 0)
        unit = _unit(treatment, n, treatment.id in hidden, frame, treatment.id, names)
        if not unit.suppressed:
            terms = side[(side["treatment_id"] == treatment.id) & (side["n"] >= min_n)]  # as on the condition page
            terms = terms.sort_values(["n", "code"], ascending=[False, True])
            unit.side_effects = [
                {"term": term, "n": int(count), "share": round(count / n, 4)}
                for term, count in zip(terms["code"][:TOP_TERMS], terms["n"][:TOP_TERMS])
            ]
            unit.stop_reasons = distribution(frame, treatment.id, "stop_reasons", scales.STOP_REASON.codes)
            unit.duration = distribution(frame, treatment.id, "duration", scales.DURATION.codes)
        reports.append(unit)
    return reports


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["treatment_id", "field", "code", "n"])

