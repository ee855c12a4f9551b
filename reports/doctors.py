"""Doctor ratings, CAHPS-style: overall mean, top-box share, communication composite, access.

As in CG-CAHPS, "top box" is a 9 or 10 on the 0-10 overall rating, and the communication
composite is the share of "always" across the four communication items. Doctors rank by the
lower bound of the top-box Wilson interval, never by the raw mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import case, func, select

from registry import scales
from registry.models import COMMUNICATION_ITEMS, Doctor, DoctorRating
from reports.stats import share_dict
from reports.suppression import suppressed_units

RATING_FIELDS = {
    "got_appointment": scales.FREQUENCY.codes,
    "would_recommend": scales.DOCTOR_RECOMMEND.codes,
    "knowledge": tuple(str(n) for n in range(scales.KNOWLEDGE_MIN, scales.KNOWLEDGE_MAX + 1)),
    "overall": tuple(str(n) for n in range(scales.OVERALL_MIN, scales.OVERALL_MAX + 1)),
}


@dataclass
class DoctorScore:
    """One doctor (for one condition, or overall) under suppression."""

    doctor_id: int
    n: int
    suppressed: bool
    overall_mean: float | None = None
    top_box: dict | None = None
    communication: dict | None = None
    access: dict | None = None
    knowledge_mean: float | None = None
    distributions: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def rank_key(self):
        if self.suppressed:  # no order by size among the hidden
            return (True, 0.0, 0, self.doctor_id)
        return (False, -(self.top_box["low"] if self.top_box else -1.0), -self.n, self.doctor_id)

    def as_json(self) -> dict:
        if self.suppressed:
            return {"suppressed": True}
        return {
            "n": self.n,
            "suppressed": False,
            "overall_mean": self.overall_mean,
            "top_box": self.top_box,
            "communication": self.communication,
            "access": self.access,
            "knowledge_mean": self.knowledge_mean,
            **self.distributions,
        }


def _always(column):
    return func.sum(case((column == "always", 1), else_=0))


def _answered(column):
    return func.sum(case((column.is_not(None), 1), else_=0))


def score_frame(session, group_by, where=()) -> pd.DataFrame:
    """Sums per group: n, overall, top box, "always" and answered counts per CAHPS item."""
    columns = [
        func.count().label("n"),
        func.sum(DoctorRating.overall).label("overall_sum"),
        func.sum(case((DoctorRating.overall >= scales.TOP_BOX_MIN, 1), else_=0)).label("top_box"),
        func.sum(DoctorRating.knowledge).label("knowledge_sum"),
        sum((_always(getattr(DoctorRating, item)) for item in COMMUNICATION_ITEMS), start=0).label("comm_always"),
        sum((_answered(getattr(DoctorRating, item)) for item in COMMUNICATION_ITEMS), start=0).label("comm_answered"),
        _always(DoctorRating.got_appointment).label("access_always"),
        _answered(DoctorRating.got_appointment).label("access_answered"),
    ]
    rows = session.execute(select(*group_by, *columns).where(*where).group_by(*group_by)).all()
    names = [c.key for c in group_by] + [c.key for c in columns]
    return pd.DataFrame(rows, columns=names)


def _score(row, hidden: bool) -> DoctorScore:
    n = int(row.n)
    if hidden:
        return DoctorScore(int(row.doctor_id), n, True)
    return DoctorScore(
        doctor_id=int(row.doctor_id),
        n=n,
        suppressed=False,
        overall_mean=round(row.overall_sum / n, 2),
        top_box=share_dict(int(row.top_box), n),
        communication=share_dict(int(row.comm_always), int(row.comm_answered)),
        access=share_dict(int(row.access_always), int(row.access_answered)),
        knowledge_mean=round(row.knowledge_sum / n, 2),
    )


def ranked_doctors(session, min_n: int, condition_id: int | None = None, doctor_ids=None) -> list[DoctorScore]:
    """Doctors with ratings (for a condition), ranked by the lower bound of the top-box share."""
    where = []
    if condition_id is not None:
        where.append(DoctorRating.condition_id == condition_id)
    if doctor_ids is not None:
        where.append(DoctorRating.doctor_id.in_(list(doctor_ids)))
    frame = score_frame(session, [DoctorRating.doctor_id], where)
    hidden = hidden_pairs(session, frame["doctor_id"].tolist(), min_n) if condition_id is not None else set()
    scores = [
        _score(row, int(row.n) < min_n or (int(row.doctor_id), condition_id) in hidden)
        for row in frame.itertuples(index=False)
    ]
    scores.sort(key=lambda s: s.rank_key)
    return scores


def hidden_pairs(session, doctor_ids, min_n: int) -> set[tuple[int, int]]:
    """(doctor, condition) groups hidden on the doctors' pages, decided as doctor_report decides."""
    rows = session.execute(
        select(DoctorRating.doctor_id, DoctorRating.condition_id, func.count())
        .where(DoctorRating.doctor_id.in_(list(doctor_ids)))
        .group_by(DoctorRating.doctor_id, DoctorRating.condition_id)
    ).all()
    per_doctor: dict[int, dict[int, int]] = {}
    for doctor_id, condition_id, n in rows:
        per_doctor.setdefault(doctor_id, {})[condition_id] = n
    hidden = set()
    for doctor_id, counts in per_doctor.items():
        small_doctor = sum(counts.values()) < min_n
        for condition_id in counts if small_doctor else suppressed_units(counts, counts, min_n, False):
            hidden.add((doctor_id, condition_id))
    return hidden


@dataclass
class DoctorReport:
    doctor: Doctor
    overall: DoctorScore
    by_condition: list[tuple[str, str, DoctorScore]]  # (slug, name, score)


def doctor_report(session, doctor: Doctor, min_n: int) -> DoctorReport:
    """One doctor overall and per condition, with every distribution, suppressed where small."""
    from registry.models import Condition

    where = [DoctorRating.doctor_id == doctor.id]
    overall_frame = score_frame(session, [DoctorRating.doctor_id], where)
    if overall_frame.empty:
        return DoctorReport(doctor, DoctorScore(doctor.id, 0, True), [])
    row = next(overall_frame.itertuples(index=False))
    overall = _score(row, int(row.n) < min_n)
    if not overall.suppressed:
        overall.distributions = _distributions(session, where)
    per = score_frame(session, [DoctorRating.doctor_id, DoctorRating.condition_id], where)
    counts = {int(r.condition_id): int(r.n) for r in per.itertuples(index=False)}
    # The overall n is public, so hidden conditions must not be learnable by subtraction.
    hidden = suppressed_units(counts, counts, min_n, False) if not overall.suppressed else set(counts)
    names = dict(session.execute(select(Condition.id, Condition.slug)).all())
    labels = dict(session.execute(select(Condition.id, Condition.name)).all())
    by_condition = []
    for r in per.itertuples(index=False):
        score = _score(r, int(r.condition_id) in hidden)
        if not score.suppressed:
            score.distributions = _distributions(session, [*where, DoctorRating.condition_id == r.condition_id])
        by_condition.append((names[int(r.condition_id)], labels[int(r.condition_id)], score))
    by_condition.sort(key=lambda item: (item[2].suppressed, -item[2].n if not item[2].suppressed else 0, item[1]))
    return DoctorReport(doctor, overall, by_condition)


def _distributions(session, where) -> dict[str, dict[str, int]]:
    result = {}
    for name, codes in RATING_FIELDS.items():
        column = getattr(DoctorRating, name)
        found = dict(session.execute(select(column, func.count()).where(*where, column.is_not(None)).group_by(column)).all())
        found = {str(k): int(v) for k, v in found.items()}
        result[name] = {code: found.get(code, 0) for code in codes}
    for item in COMMUNICATION_ITEMS:
        column = getattr(DoctorRating, item)
        found = dict(session.execute(select(column, func.count()).where(*where).group_by(column)).all())
        result[item] = {code: int(found.get(code, 0)) for code in scales.FREQUENCY.codes}
    return result


def find_doctors(session, doctor_query, min_n: int, condition=None) -> list[tuple[Doctor, DoctorScore | None]]:
    """Doctors matching a select, rated ones first by top-box lower bound, then by name.

    With a condition, only doctors rated for it, scored on that condition's ratings.
    """
    found = {d.id: d for d in session.scalars(doctor_query)}
    if not found:
        return []
    scores = ranked_doctors(session, min_n, condition.id if condition is not None else None, found)
    ranked = [(found[s.doctor_id], s) for s in scores]
    if condition is not None:
        return ranked
    rated = {s.doctor_id for s in scores}
    return ranked + [(d, None) for d in sorted(found.values(), key=lambda d: d.name) if d.id not in rated]


def top_doctors(session, condition, min_n: int, limit: int = 5) -> list[tuple[Doctor, DoctorScore]]:
    """The best-ranked doctors for a condition whose scores may be shown."""
    scores = [s for s in ranked_doctors(session, min_n, condition.id) if not s.suppressed][:limit]
    found = {d.id: d for d in session.scalars(select(Doctor).where(Doctor.id.in_([s.doctor_id for s in scores])))}
    return [(found[s.doctor_id], s) for s in scores]
