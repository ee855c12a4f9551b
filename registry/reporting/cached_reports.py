"""The cached report service: the disclosure policy, protected reports cached per data version, "people like me".

The views ask here for every published report; the pure computations are in reports/, the
reading of tables in registry.reporting.report_sources.
"""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import select

import scales
from registry.models import Condition, Diagnosis, Doctor, Experience, Treatment, User
from registry.platform import counters
from registry.platform.extensions import cache, db
from registry.reporting import release, report_upkeep
from registry.reporting.report_sources import (
    CellSource,
    PublishedRatingSource,
    PublishedSource,
    RatingSource,
    RawSource,
)
from reports import doctors, dose, outcomes, survival, time_charts, trends
from reports.filters import Filters
from scales.i18n import gettext as _


def policy():
    """The disclosure-control policy every published number goes through (built by create_app)."""
    return current_app.extensions["disclosure"]


def _policy_id() -> tuple:
    """What of the policy a cached report depends on (never the secret key: cache keys are not secret)."""
    p = policy()
    return p.mode, p.min_n, p.sigma


def _source_kind() -> str:
    return current_app.config.get("REPORT_SOURCE", "published")


def report_source():
    """Where the pages' counts come from: the published numbers (registry/reporting/release.py); the live report
    tables ("cells") or raw rows ("raw") only for the benchmarks' baselines."""
    kind = _source_kind()
    if kind == "published":
        return PublishedSource(db.session)
    return RawSource(db.session) if kind == "raw" else CellSource(db.session)


def rating_source():
    """Where doctor scores come from: the published rows, or the live ratings (benchmarks)."""
    return PublishedRatingSource(db.session) if _source_kind() == "published" else RatingSource(db.session)


def _cached(kind: str, scope: tuple, parts: tuple, compute):
    """compute() once per key: the kind, its data version scope, the source, the policy and the parts."""
    key = "|".join(map(str, ("report", kind, *scope, _source_kind(), *_policy_id(), *parts)))
    value = cache.get(key)
    counters.cache_lookup(hit=value is not None)
    if value is None:
        value = compute()
        cache.set(key, value)
    return value


def cached_report(condition: Condition, kind: str, parts: tuple, compute):
    """A report computed once per condition published version (and source, filters, minimum size).

    A release bumps the version in its own transaction when it changes the condition's numbers, so an
    entry is never read once stale, and writes between releases leave every entry warm; with
    REGISTRY_REDIS_URL every worker and server shares the entries.
    """
    scope = (condition.id, release.version(db.session, condition.id))
    if _source_kind() != "published":  # the live baselines move with every write
        scope = (condition.id, "live", report_upkeep.version(db.session, condition.id))
    return _cached(kind, scope, parts, compute)


def cached_across_conditions(treatment: Treatment, kind: str, parts: tuple, compute):
    """A treatment's report over several conditions, computed once per sum of every condition's published
    version: any release that changes numbers anywhere moves it (versions only grow), so it is never read stale."""
    return _cached(kind, (treatment.id, _source_kind(), release.versions(db.session)), parts, compute)


def condition_report(condition: Condition, filters: Filters):
    """A condition's ranked treatments under the filters, protected and cached (page and API alike)."""
    listed = tuple(condition.treatments)  # hidden ones are named only if the catalog lists them anyway

    def compute():
        return outcomes.condition_report(report_source(), condition, filters, policy(), listed)

    return cached_report(condition, "condition", (filters,), compute)


def treatment_report(condition: Condition, treatment: Treatment, filters: Filters):
    """One treatment for a condition under the filters, protected and cached."""

    def compute():
        return outcomes.treatment_report(report_source(), condition, treatment, filters, policy())

    return cached_report(condition, "treatment", (treatment.id, filters), compute)


def compare_report(condition: Condition, chosen: list[Treatment], filters: Filters):
    """Several treatments for a condition side by side, protected and cached."""

    def compute():
        return outcomes.treatments_report(report_source(), condition, chosen, filters, policy())

    return cached_report(condition, "compare", (tuple(t.id for t in chosen), filters), compute)


def treatment_overview(treatment: Treatment):
    """A treatment across its conditions (the drug page and its JSON), protected and cached."""
    listed = tuple(treatment.conditions)  # hidden ones are named only if the catalog lists them anyway

    def compute():
        return outcomes.treatment_overview(report_source(), treatment, policy(), listed)

    return cached_across_conditions(treatment, "overview", (), compute)


def condition_counts() -> dict[int, int]:
    """Per condition, its public number of reports (shown treatments' protected counts; absent: none shown)."""
    return outcomes.public_condition_counts(policy(), report_source())


def doctor_report(doctor: Doctor):
    """One doctor overall and per condition, protected."""
    return doctors.doctor_report(rating_source(), doctor, policy())


def find_doctors(query, condition: Condition | None = None):
    """The doctors a catalog search selects, those that may be scored first (see reports.doctors)."""
    ratings = rating_source()
    return doctors.find_doctors(ratings, ratings.doctors(query), policy(), condition)


def top_doctors(condition: Condition, limit: int = 5):
    """The best-ranked doctors for a condition whose scores may be shown."""
    return doctors.top_doctors(rating_source(), condition, policy(), limit)


def like_me(user: User, condition: Condition) -> Filters:
    """Filters describing the participant (or the person they care for) for this condition."""
    year = date.today().year
    role = db.session.scalar(
        select(Experience.role)
        .where(Experience.user_id == user.id, Experience.condition_id == condition.id)
        .order_by(Experience.updated_at.desc())
        .limit(1)
    )
    diagnosed = db.session.scalar(
        select(Diagnosis.diagnosed_year).where(Diagnosis.user_id == user.id, Diagnosis.condition_id == condition.id)
    )
    band = scales.age_band(user.birth_year, year)
    since = scales.years_since_diagnosis(diagnosed, year)
    return Filters(
        role=(role,) if role else (),
        age_band=(band,) if band else (),
        sex=(user.sex,) if user.sex and user.sex != "undisclosed" else (),
        years_since_diagnosis=(since,) if since else (),
    )


# --- time on treatment (reports/survival.py): never filtered, one protected view per unit ---------------


def time_curves(condition: Condition, treatments) -> dict:
    """Treatment id -> its time-on-treatment curve for the condition (suppressed when too few), cached."""

    ids = tuple(sorted(t.id for t in treatments))

    def compute():
        frame = report_source().slices(("using", "stopped"), condition.id, ids)
        return survival.unit_curves(policy(), frame)

    curves = cached_report(condition, "time", (ids,), compute)
    return {tid: curves.get(tid) or survival.Curve(0, True) for tid in ids}


def treatment_time_curves(treatment: Treatment) -> dict:
    """Condition id -> the treatment's curve for it (the drug page), cached like treatment_overview."""

    def compute():
        frame = report_source().slices(("using", "stopped"), None, [treatment.id])
        return survival.unit_curves(policy(), frame, by="condition_id")

    return cached_across_conditions(treatment, "time-overview", (), compute)


def drug_time(treatment: Treatment, overview) -> tuple[list, object]:
    """The drug page's (condition use, curve) of every shown condition with a curve, and their chart (or None)."""

    curves = treatment_time_curves(treatment)
    ids = {
        c.slug: c.id
        for c in db.session.scalars(select(Condition).where(Condition.slug.in_([u.slug for u in overview.shown])))
    }
    uses = [
        (use, curves[ids[use.slug]])
        for use in overview.shown
        if ids[use.slug] in curves and not curves[ids[use.slug]].suppressed
    ]
    if not uses:
        return [], None
    return uses, time_charts.survival_chart(
        [(use.name, curve) for use, curve in uses],
        title=_("Still on it, by months since starting, for each condition"),
        note=_("Everyone who gave a start month."),
    )


# --- dose bands and years of report (issue 19): unfiltered slices, cached per condition data version ---


def slice_reports(condition: Condition, treatment: Treatment):
    """(outcomes by dose band, or None when not a drug; outcomes by year of report), protected and cached.

    One read of the treatment's dose and year slices for the condition (reports/dose.py, reports/trends.py).
    """

    def compute():
        frame = report_source().slices(("dose", "year"), condition.id, [treatment.id])
        return (
            dose.dose_report(policy(), frame) if treatment.kind == "drug" else None,
            trends.trend_report(policy(), frame),
        )

    return cached_report(condition, "slices", (treatment.id,), compute)


def dose_report(condition: Condition, treatment: Treatment):
    """A drug's outcomes by dose band for a condition; None when the treatment is not a drug."""
    return slice_reports(condition, treatment)[0]


def trend_report(condition: Condition, treatment: Treatment):
    """A treatment's outcomes by year of report for a condition."""
    return slice_reports(condition, treatment)[1]
