"""Glue between requests and reports/: the disclosure policy, cached reports and "people like me"."""

from __future__ import annotations

from datetime import date

from flask import current_app

from sqlalchemy import func, select

from registry import aggregates, scales
from registry.extensions import cache, db
from registry.models import Condition, Diagnosis, Experience, Treatment, User, report_version
from reports import aggregate
from reports.filters import Filters


def policy():
    """The disclosure-control policy every published number goes through (built by create_app)."""
    return current_app.extensions["disclosure"]


def _policy_id() -> tuple:
    """What of the policy a cached report depends on (never the secret key: cache keys are not secret)."""
    p = policy()
    return p.mode, p.min_n, p.sigma


def report_source():
    """Where the pages' counts come from: the maintained aggregates, or raw rows (benchmark baseline)."""
    from reports.sources import CellSource, RawSource

    kind = current_app.config.get("REPORT_SOURCE", "cells")
    return RawSource(db.session) if kind == "raw" else CellSource(db.session)


def cached_report(condition: Condition, kind: str, parts: tuple, compute):
    """A report computed once per condition data version (and source, filters, minimum size).

    Writes bump the version in their own transaction, so an entry is never read once stale;
    with REGISTRY_REDIS_URL every worker and server shares the entries.
    """
    key = "|".join(map(str, ("report", kind, condition.id, aggregates.version(db.session, condition.id),
                                current_app.config.get("REPORT_SOURCE", "cells"), *_policy_id(), *parts)))  # fmt: skip
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value)
    return value


def condition_report(condition: Condition, filters: Filters):
    """A condition's ranked treatments under the filters, protected and cached (page and API alike)."""
    listed = tuple(condition.treatments)  # hidden ones are named only if the catalog lists them anyway
    return cached_report(condition, "condition", (filters,), lambda: aggregate.condition_report(
        db.session, condition, filters, policy(), report_source(), listed))  # fmt: skip


def treatment_report(condition: Condition, treatment: Treatment, filters: Filters):
    """One treatment for a condition under the filters, protected and cached."""
    return cached_report(condition, "treatment", (treatment.id, filters), lambda: aggregate.treatment_report(
        db.session, condition, treatment, filters, policy(), report_source()))  # fmt: skip


def compare_report(condition: Condition, chosen: list[Treatment], filters: Filters):
    """Several treatments for a condition side by side, protected and cached."""
    ids = tuple(t.id for t in chosen)
    return cached_report(condition, "compare", (ids, filters), lambda: aggregate.treatments_report(
        db.session, condition, chosen, filters, policy(), report_source()))  # fmt: skip


def treatment_overview(treatment: Treatment):
    """A treatment across its conditions (the drug page and its JSON), protected and cached.

    It reads several conditions, so its entry is keyed by the sum of every condition's data
    version: any write anywhere moves it (versions only grow), so it is never read stale.
    """
    versions = db.session.scalar(select(func.coalesce(func.sum(report_version.c.version), 0)))
    key = "|".join(map(str, ("report", "overview", treatment.id, versions,
                                current_app.config.get("REPORT_SOURCE", "cells"), *_policy_id())))  # fmt: skip
    value = cache.get(key)
    if value is None:
        listed = tuple(treatment.conditions)  # hidden ones are named only if the catalog lists them anyway
        value = aggregate.treatment_overview(db.session, treatment, policy(), report_source(), listed)
        cache.set(key, value)
    return value


def condition_counts() -> dict[int, int]:
    """Per condition, its public number of reports (shown treatments' protected counts; absent: none shown)."""
    return aggregate.public_condition_counts(policy(), report_source())


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
    from reports import survival

    ids = tuple(sorted(t.id for t in treatments))

    def compute():
        frame = report_source().slices(("using", "stopped"), condition.id, ids)
        return survival.unit_curves(policy(), frame)

    curves = cached_report(condition, "time", (ids,), compute)
    return {tid: curves.get(tid) or survival.Curve(0, True) for tid in ids}


def treatment_time_curves(treatment: Treatment) -> dict:
    """Condition id -> the treatment's curve for it (the drug page), cached like treatment_overview."""
    from reports import survival

    versions = db.session.scalar(select(func.coalesce(func.sum(report_version.c.version), 0)))
    key = "|".join(map(str, ("report", "time-overview", treatment.id, versions,
                                current_app.config.get("REPORT_SOURCE", "cells"), *_policy_id())))  # fmt: skip
    value = cache.get(key)
    if value is None:
        frame = report_source().slices(("using", "stopped"), None, [treatment.id])
        value = survival.unit_curves(policy(), frame, by="condition_id")
        cache.set(key, value)
    return value


def drug_time(treatment: Treatment, overview) -> tuple[list, object]:
    """The drug page's (condition use, curve) of every shown condition with a curve, and their chart (or None)."""
    from reports import time_charts

    curves = treatment_time_curves(treatment)
    ids = {c.slug: c.id for c in db.session.scalars(select(Condition).where(Condition.slug.in_([u.slug for u in overview.shown])))}
    uses = [(use, curves[ids[use.slug]]) for use in overview.shown
            if ids[use.slug] in curves and not curves[ids[use.slug]].suppressed]  # fmt: skip
    if not uses:
        return [], None
    return uses, time_charts.survival_chart([(use.name, curve) for use, curve in uses],
                                            title="Still on it, by months since starting, for each condition",
                                            note="Everyone who gave a start month.")


# --- dose bands and years of report (issue 19): unfiltered slices, cached per condition data version ---


def slice_reports(condition: Condition, treatment: Treatment):
    """(outcomes by dose band, or None when not a drug; outcomes by year of report), protected and cached.

    One read of the treatment's dose and year slices for the condition (reports/dose.py, reports/trends.py).
    """
    from reports import dose, trends

    def compute():
        frame = report_source().slices(("dose", "year"), condition.id, [treatment.id])
        return (dose.dose_report(policy(), frame) if treatment.kind == "drug" else None,
                trends.trend_report(policy(), frame))  # fmt: skip

    return cached_report(condition, "slices", (treatment.id,), compute)


def dose_report(condition: Condition, treatment: Treatment):
    """A drug's outcomes by dose band for a condition; None when the treatment is not a drug."""
    return slice_reports(condition, treatment)[0]


def trend_report(condition: Condition, treatment: Treatment):
    """A treatment's outcomes by year of report for a condition."""
    return slice_reports(condition, treatment)[1]
