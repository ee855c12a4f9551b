"""Doctor ratings, CAHPS-style: overall mean, top-box share, communication composite, access.

As in CG-CAHPS, "top box" is a 9 or 10 on the 0-10 overall rating, and the communication
composite is the share of "always" across the four communication items. Doctors rank by the
lower bound of the top-box Wilson interval, never by the raw mean. Every number is computed from
counts protected by reports.disclosure, one view per doctor and condition; a doctor's overall is
the sum of the rows its page shows (the conditions shown, and "other conditions": the pool of
those too small to show alone), so the numbers of one page agree.

Pure: the counts come from a ratings source (registry.reporting.report_sources.RatingSource) as frames.
"""

from __future__ import annotations

import math
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


@dataclass
class _Group:
    """A group of ratings as it may be published: protected n and histograms whose parts agree with it."""

    n: int
    dists: dict[str, dict[str, int]]
    draws: int = 1  # how many groups' protected counts were summed into each count


def _group(policy: Policy, row: dict) -> _Group | None:
    """One group's (a doctor and condition, or a pool of them) protected numbers; None when it may not appear."""
    view = policy.view(int(row["key_sum"] or 0), kind="r")
    true_n = int(row["n"])
    n = view.n(true_n)
    if not policy.shown(n, true_n):
        return None
    dists = {
        name: view.distribution(name, {code: int(row[f"{name}={code}"]) for code in codes}, n)
        for name, codes in HISTOGRAMS.items()
    }
    return _Group(n, dists)


def _summed(groups: list[_Group]) -> _Group:
    """The sum of groups' protected numbers (a doctor's overall): parts still add up, means stay between theirs."""
    dists = {
        name: {code: sum(g.dists[name][code] for g in groups) for code in codes} for name, codes in HISTOGRAMS.items()
    }
    return _Group(sum(g.n for g in groups), dists, len(groups))


def _score(policy: Policy, doctor_id: int, group: _Group | None, with_distributions: bool = False) -> DoctorScore:
    """A group's scores from its protected histograms, or only that it has too few ratings to show."""
    if group is None:
        return DoctorScore(doctor_id, 0, True)
    dists = group.dists
    communication = {
        f"{item}={code}": dists[item][code] for item in COMMUNICATION_ITEMS for code in scales.FREQUENCY.codes
    }
    sd = policy.noise_sd * math.sqrt(group.draws)  # a sum of g protected counts carries g times the variance
    return DoctorScore(
        doctor_id=doctor_id,
        n=group.n,
        suppressed=False,
        overall_mean=mean(dists["overall"]),
        top_box=share(policy, dists["overall"], TOP_BOX_CODES, noise_sd=sd),
        communication=share(
            policy, communication, tuple(f"{item}=always" for item in COMMUNICATION_ITEMS), noise_sd=sd
        ),
        access=share(policy, dists["got_appointment"], ("always",), noise_sd=sd),
        knowledge_mean=mean(dists["knowledge"]),
        distributions=dists if with_distributions else {},
    )


def _pooled(rows: list[dict]) -> dict:
    """Rows of several groups as one: counts and key sums added (the pool's set of ratings names its view)."""
    return {
        name: sum(int(row[name] or 0) for row in rows) for name in rows[0] if name not in ("doctor_id", "condition_id")
    }


@dataclass
class _Doctor:
    """A doctor's shown groups: per condition, and the pool of the conditions too small to show alone."""

    by_condition: dict[int, _Group]
    other: _Group | None

    @property
    def overall(self) -> _Group | None:
        """The sum of the rows shown (None when there is none): never a view of its own."""
        groups = [*self.by_condition.values(), *([self.other] if self.other else [])]
        return _summed(groups) if groups else None


def _doctor(policy: Policy, rows: list[dict]) -> _Doctor:
    """One doctor's groups from its per-condition rows.

    A condition whose group may not appear alone (true or protected n under min_n) goes into a
    pool, "other conditions", protected as one view of its own and shown when it may appear; the
    pool's members are never named, and a pool under min_n is left out of the overall, so the
    overall is always the sum of the rows listed.
    """
    shown, small = {}, []
    for row in rows:
        group = _group(policy, row)
        if group is None:
            small.append(row)
        else:
            shown[int(row["condition_id"])] = group
    return _Doctor(shown, _group(policy, _pooled(small)) if small else None)


def _by_doctor(frame) -> dict[int, list[dict]]:
    rows: dict[int, list[dict]] = {}
    for row in frame.to_dict("records"):
        rows.setdefault(int(row["doctor_id"]), []).append(row)
    return rows


def ranked_doctors(ratings, policy: Policy, condition_id: int | None = None, doctor_ids=None) -> list[DoctorScore]:
    """Doctors with ratings (for a condition), ranked by the lower bound of the top-box share.

    For a condition, each doctor's group for it, shown or hidden by its own counts only. Without,
    each doctor's overall as on the doctor's page: the sum of the groups shown there.
    """
    if condition_id is not None:
        frame = ratings.scores(condition_id=condition_id, doctor_ids=doctor_ids)
        scores = [_score(policy, int(row["doctor_id"]), _group(policy, row)) for row in frame.to_dict("records")]
    else:
        frame = ratings.scores(by_condition=True, doctor_ids=doctor_ids)
        scores = [
            _score(policy, doctor_id, _doctor(policy, rows).overall) for doctor_id, rows in _by_doctor(frame).items()
        ]
    scores.sort(key=lambda s: s.rank_key)
    return scores


@dataclass
class DoctorReport:
    doctor: object  # the catalog's doctor entry
    overall: DoctorScore
    by_condition: list[tuple[str, str, DoctorScore]]  # (slug, name, score)
    other: DoctorScore | None = None  # the pool of conditions too small to show alone, when it may be shown


def doctor_report(ratings, doctor, policy: Policy) -> DoctorReport:
    """One doctor per condition, with every distribution, and overall as the sum of the rows shown.

    Each condition's group is protected alone; those too small to show alone are pooled as "other
    conditions" (shown when the pool may appear), and hidden conditions are not named, so a list
    cannot tell one rating for a condition from none. The overall is the sum of the protected
    histograms of the rows shown: its counts add up to theirs, its mean lies between theirs, and
    its "would recommend" counts never exceed its ratings.
    """
    per = ratings.scores(by_condition=True, doctor_ids=[doctor.id])
    if per.empty:
        return DoctorReport(doctor, DoctorScore(doctor.id, 0, True), [])
    groups = _doctor(policy, per.to_dict("records"))
    names = ratings.condition_names()
    by_condition = [
        (*names[cid], _score(policy, doctor.id, group, with_distributions=True))
        for cid, group in groups.by_condition.items()
    ]
    by_condition.sort(key=lambda item: (-item[2].n, item[1]))
    other = _score(policy, doctor.id, groups.other, with_distributions=True) if groups.other else None
    overall = _score(policy, doctor.id, groups.overall, with_distributions=True)
    return DoctorReport(doctor, overall, by_condition, other)


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
