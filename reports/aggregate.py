"""Aggregation: counts per treatment and code from the database, then pandas on the small frame.

Every function takes a session and returns frames or plain data; nothing here knows about
requests. The SQL only groups and counts, so a page's cost grows with the number of treatments
and codes shown, and every output passes through reports.suppression.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Integer, String, case, cast, func, literal, select, union_all

from registry import scales
from registry.models import Condition, Experience, ExperienceSideEffect, ExperienceStopReason, Treatment
from reports.filters import Filters
from reports.stats import share_dict
from reports.suppression import suppressed_units

# Fields whose every code is counted, in scale order.
SCALE_FIELDS: dict[str, tuple[str, ...]] = {
    "effectiveness": scales.EFFECTIVENESS.codes,
    "side_effect_severity": scales.SIDE_EFFECT_SEVERITY.codes,
    "adherence": scales.ADHERENCE.codes,
    "burden": scales.BURDEN.codes,
    "cost_per_month": scales.COST_PER_MONTH.codes,
    "insurance_coverage": scales.INSURANCE_COVERAGE.codes,
    "would_recommend": scales.WOULD_RECOMMEND.codes,
    "satisfaction": tuple(str(n) for n in range(scales.SATISFACTION_MIN, scales.SATISFACTION_MAX + 1)),
}
SUMMARY_FIELDS = ("effectiveness", "side_effect_severity", "insurance_coverage", "satisfaction")

DURATION_BANDS = (
    ("lt_1m", "Less than a month"),
    ("1_6m", "1-6 months"),
    ("6_12m", "6-12 months"),
    ("1_2y", "1-2 years"),
    ("2_5y", "2-5 years"),
    ("5y_plus", "5 years or more"),
)
TOP_TERMS = 10


def _filter_clauses(condition_id: int, filters: Filters, treatment_ids=None) -> list:
    clauses = [Experience.condition_id == condition_id]
    if treatment_ids is not None:
        clauses.append(Experience.treatment_id.in_(list(treatment_ids)))
    for name, codes in filters.active().items():
        clauses.append(getattr(Experience, name).in_(codes))
    return clauses


def totals(session, condition_id: int, filters: Filters = Filters(), treatment_ids=None) -> dict[int, int]:
    """Number of experiences per treatment id under the filters."""
    rows = session.execute(
        select(Experience.treatment_id, func.count())
        .where(*_filter_clauses(condition_id, filters, treatment_ids))
        .group_by(Experience.treatment_id)
    )
    return dict(rows.all())


def cells(session, condition_id: int, filters: Filters, treatment_ids=None) -> dict[int, list[int]]:
    """Per treatment, the counts of its cross-table over the filtered dimensions (unfiltered)."""
    dims = [getattr(Experience, name) for name in filters.active()]
    if not dims:
        return {}
    rows = session.execute(
        select(Experience.treatment_id, func.count())
        .where(*_filter_clauses(condition_id, Filters(), treatment_ids))
        .group_by(Experience.treatment_id, *dims)
    ).all()
    result: dict[int, list[int]] = {}
    for treatment_id, n in rows:
        result.setdefault(treatment_id, []).append(n)
    return result


def view_counts(session, condition_id: int, filters: Filters, treatment_ids=None):
    """(n under the filters, n in the whole unit, cross-table cells) per treatment.

    Under filters every treatment with reports in the unit is listed (with 0 when none match),
    so a list of suppressed names cannot reveal who is in a small filtered group.
    """
    n_all = totals(session, condition_id, treatment_ids=treatment_ids)
    if not filters:
        return n_all, n_all, {}
    n_view = {tid: 0 for tid in n_all} | totals(session, condition_id, filters, treatment_ids)
    return n_view, n_all, cells(session, condition_id, filters, treatment_ids)


def distributions(session, condition_id: int, filters: Filters, names, treatment_ids=None) -> pd.DataFrame:
    """Counts per (treatment_id, field, code) for the given scale fields, in one query."""
    where = _filter_clauses(condition_id, filters, treatment_ids)
    parts = []
    for name in names:
        column = getattr(Experience, name)
        parts.append(
            select(
                Experience.treatment_id.label("treatment_id"),
                literal(name).label("field"),
                cast(column, String).label("code"),
                func.count().label("n"),
            )
            .where(*where, column.is_not(None))
            .group_by(Experience.treatment_id, column)
        )
    rows = session.execute(union_all(*parts)).all()
    return pd.DataFrame(rows, columns=["treatment_id", "field", "code", "n"])


def _months(column):
    year = cast(func.substr(column, 1, 4), Integer)
    month = cast(func.substr(column, 6, 2), Integer)
    return year * 12 + month


def durations(session, condition_id: int, filters: Filters, now_month: int, treatment_ids=None) -> pd.DataFrame:
    """Counts per (treatment_id, duration band); still-using reports count up to now_month."""
    end = case((Experience.stopped.is_(None), literal(now_month)), else_=_months(Experience.stopped))
    months = end - _months(Experience.started)
    band = case(
        (months < 1, "lt_1m"),
        (months < 6, "1_6m"),
        (months < 12, "6_12m"),
        (months < 24, "1_2y"),
        (months < 60, "2_5y"),
        else_="5y_plus",
    )
    rows = session.execute(
        select(Experience.treatment_id, band.label("code"), func.count())
        .where(*_filter_clauses(condition_id, filters, treatment_ids))
        .group_by(Experience.treatment_id, band)
    ).all()
    return pd.DataFrame(rows, columns=["treatment_id", "code", "n"])


def term_counts(session, model, column, condition_id: int, filters: Filters, treatment_ids=None) -> pd.DataFrame:
    """Counts per (treatment_id, term) of a multi-valued field (side effects, stop reasons)."""
    rows = session.execute(
        select(Experience.treatment_id, column, func.count())
        .join(model, model.experience_id == Experience.id)
        .where(*_filter_clauses(condition_id, filters, treatment_ids))
        .group_by(Experience.treatment_id, column)
    ).all()
    return pd.DataFrame(rows, columns=["treatment_id", "code", "n"])


# --- shaping -----------------------------------------------------------------------------


def distribution(frame: pd.DataFrame, treatment_id: int, name: str, codes=None) -> dict[str, int]:
    """Code -> count for one treatment and field, every code of the scale present."""
    codes = codes if codes is not None else SCALE_FIELDS[name]
    rows = frame[(frame["treatment_id"] == treatment_id) & (frame["field"] == name)] if "field" in frame else (
        frame[frame["treatment_id"] == treatment_id]
    )  # fmt: skip
    found = dict(zip(rows["code"], rows["n"].astype(int)))
    return {code: int(found.get(code, 0)) for code in codes}


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
    condition: Condition
    filters: Filters
    min_n: int
    n: int
    suppressed: bool
    treatments: list[UnitReport]
    side_effects: list[dict]

    @property
    def shown(self) -> list[UnitReport]:
        return [t for t in self.treatments if not t.suppressed]


def condition_report(session, condition: Condition, filters: Filters, min_n: int) -> ConditionReport:
    """Treatments of a condition ranked by the lower Wilson bound of "improved", with suppression."""
    n_filtered, n_all, unit_cells = view_counts(session, condition.id, filters)
    ids = list(n_filtered)
    frame = distributions(session, condition.id, filters, SUMMARY_FIELDS) if ids else _empty()
    treatments = {t.id: t for t in session.scalars(select(Treatment).where(Treatment.id.in_(ids)))}
    hidden = suppressed_units(n_filtered, n_all, min_n, bool(filters), unit_cells)
    units = [_unit(treatments[tid], n, tid in hidden, frame, tid, SUMMARY_FIELDS) for tid, n in n_filtered.items()]
    units.sort(key=lambda u: u.rank_key)
    # The page's totals count shown treatments only, so no hidden count can be had by subtraction.
    shown = [tid for tid in n_filtered if tid not in hidden]
    total = sum(n_filtered[tid] for tid in shown)
    side_effects = condition_side_effects(session, condition.id, filters, total, shown, min_n) if shown else []
    return ConditionReport(condition, filters, min_n, total, not shown, units, side_effects)


def condition_side_effects(
    session, condition_id: int, filters: Filters, total: int, treatment_ids, min_n: int
) -> list[dict]:
    """The most reported side effects among the shown treatments: term, count, share of reporters.

    A term reported fewer than min_n times is left out: free-text terms can identify.
    """
    rows = session.execute(
        select(ExperienceSideEffect.term, func.count())
        .join(Experience, ExperienceSideEffect.experience_id == Experience.id)
        .where(*_filter_clauses(condition_id, filters, treatment_ids))
        .group_by(ExperienceSideEffect.term)
        .having(func.count() >= min_n)
        .order_by(func.count().desc(), ExperienceSideEffect.term)
        .limit(TOP_TERMS)
    ).all()
    return [{"term": term, "n": int(n), "share": round(n / total, 4)} for term, n in rows]


def treatment_report(
    session, condition: Condition, treatment: Treatment, filters: Filters, min_n: int, now_month: int
) -> UnitReport:
    """Every distribution of one treatment for one condition, or its suppression."""
    return treatments_report(session, condition, [treatment], filters, min_n, now_month)[0]


def treatments_report(
    session, condition: Condition, chosen: list[Treatment], filters: Filters, min_n: int, now_month: int
) -> list[UnitReport]:
    """Full reports for several treatments of a condition (the compare page), same scales."""
    ids = [t.id for t in chosen]
    # Suppression is decided over all the condition's treatments, as on the condition page.
    n_filtered, n_all, unit_cells = view_counts(session, condition.id, filters)
    hidden = suppressed_units(n_filtered, n_all, min_n, bool(filters), unit_cells) | (set(ids) - set(n_filtered))
    names = tuple(SCALE_FIELDS)
    frame = distributions(session, condition.id, filters, names, ids) if set(ids) - hidden else _empty()
    side = term_counts(session, ExperienceSideEffect, ExperienceSideEffect.term, condition.id, filters, ids)
    stops = term_counts(session, ExperienceStopReason, ExperienceStopReason.reason, condition.id, filters, ids)
    spans = durations(session, condition.id, filters, now_month, ids)
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
            unit.stop_reasons = distribution(stops, treatment.id, "stop_reasons", scales.STOP_REASON.codes)
            unit.duration = distribution(spans, treatment.id, "duration", [code for code, _ in DURATION_BANDS])
        reports.append(unit)
    return reports


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["treatment_id", "field", "code", "n"])

