"""Doctor ratings, CAHPS-style: overall mean, top-box share, communication composite, access.

As in CG-CAHPS, "top box" is a 9 or 10 on the 0-10 overall rating, and the communication
composite is the share of "always" across the four communication items. Doctors rank by the
lower bound of the top-box Wilson interval, never by the raw mean. Every number is computed from
counts protected by reports.disclosure, one view per doctor (and per doctor and condition).

Pure: the counts come from a ratings source (registry.report_sources.RatingSource) as frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import scales
from reports.disclosure import Policy, mean, share
from scales import COMMUNICATION_ITEMS


@dataclass
class DoctorScore:
    """One doctor (for one condition, or overall), every number protected."""

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


HISTOGRAMS = scales.RATING_COUNTED_CODES
TOP_BOX_CODES = tuple(str(n) for n in range(scales.TOP_BOX_MIN, scales.OVERALL_MAX + 1))


def _score(policy: Policy, row: dict, with_distributions: bool = False) -> DoctorScore:
    """A group's protected scores, or only that it has too few ratings to show."""
    view = policy.view(int(row["key_sum"] or 0), kind="r")
    n = view.n(int(row["n"]))
    if not policy.shown(n):
        return DoctorScore(int(row["doctor_id"]), 0, True)
    dists = {
        name: view.distribution(name, {code: int(row[f"{name}={code}"]) for code in codes})
        for name, codes in HISTOGRAMS.items()
    }
    communication = {
        f"{item}={code}": dists[item][code] for item in COMMUNICATION_ITEMS for code in scales.FREQUENCY.codes
    }
    return DoctorScore(
        doctor_id=int(row["doctor_id"]),
        n=n,
        suppressed=False,
        overall_mean=mean(dists["overall"]),
        top_box=share(policy, dists["overall"], TOP_BOX_CODES),
        communication=share(policy, communication, tuple(f"{item}=always" for item in COMMUNICATION_ITEMS)),
        access=share(policy, dists["got_appointment"], ("always",)),
        knowledge_mean=mean(dists["knowledge"]),
        distributions=dists if with_distributions else {},
    )


def ranked_doctors(ratings, policy: Policy, condition_id: int | None = None, doctor_ids=None) -> list[DoctorScore]:
    """Doctors with ratings (for a condition), ranked by the lower bound of the top-box share.

    Each doctor is shown or hidden by its own protected count only.
    """
    frame = ratings.scores(condition_id=condition_id, doctor_ids=doctor_ids)
    scores = [_score(policy, row) for row in frame.to_dict("records")]
    scores.sort(key=lambda s: s.rank_key)
    return scores


@dataclass
class DoctorReport:
    doctor: object  # the catalog's doctor entry
    overall: DoctorScore
    by_condition: list[tuple[str, str, DoctorScore]]  # (slug, name, score)


def doctor_report(ratings, doctor, policy: Policy) -> DoctorReport:
    """One doctor overall and per condition, with every distribution, each group protected alone.

    Hidden conditions are not listed, so a list cannot tell one rating for a condition from none.
    """
    overall_frame = ratings.scores(doctor_ids=[doctor.id])
    if overall_frame.empty:
        return DoctorReport(doctor, DoctorScore(doctor.id, 0, True), [])
    overall = _score(policy, overall_frame.to_dict("records")[0], with_distributions=True)
    per = ratings.scores(by_condition=True, doctor_ids=[doctor.id])
    names = ratings.condition_names()
    by_condition = []
    for row in per.to_dict("records"):
        score = _score(policy, row, with_distributions=True)
        if not score.suppressed:
            by_condition.append((*names[int(row["condition_id"])], score))
    by_condition.sort(key=lambda item: (-item[2].n, item[1]))
    return DoctorReport(doctor, overall, by_condition)


def find_doctors(ratings, doctors, policy: Policy, condition=None) -> list[tuple]:
    """Doctors found by a search: those whose scores may be shown first, by top-box lower bound.

    With a condition, only doctors shown for it. Without, every other match follows by name with
    no score, whether it has a few ratings or none (the two are never told apart).
    """
    found = {d.id: d for d in doctors}
    if not found:
        return []
    scores = ranked_doctors(ratings, policy, condition.id if condition is not None else None, found)
    ranked = [(found[s.doctor_id], s) for s in scores if not s.suppressed]
    if condition is not None:
        return ranked
    scored = {doctor.id for doctor, _ in ranked}
    return ranked + [(d, None) for d in sorted(found.values(), key=lambda d: d.name) if d.id not in scored]


def top_doctors(ratings, condition, policy: Policy, limit: int = 5) -> list[tuple]:
    """The best-ranked doctors for a condition whose scores may be shown."""
    scores = [s for s in ranked_doctors(ratings, policy, condition.id) if not s.suppressed][:limit]
    found = {d.id: d for d in ratings.doctors([s.doctor_id for s in scores])}
    return [(found[s.doctor_id], s) for s in scores]
