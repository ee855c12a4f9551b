"""The JSON API, version 1: the same vocabulary as the forms, reports and export."""

from __future__ import annotations

import re

from flask import Blueprint, abort, jsonify, request
from sqlalchemy import select

from registry.catalog import catalog
from registry.contributions import followups
from registry.models import Condition, Doctor, Treatment
from registry.platform.extensions import csrf, db, limit_setting, limiter
from registry.reporting import cached_reports
from registry.web import openapi
from registry.web.openapi import MAX_QUERY
from registry.web.views import condition_or_404, filters_arg, treatment_or_404
from reports.filters import Filters
from scales.i18n import gettext as _

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # read-only JSON; nothing here changes state
# One budget per address for the whole API, whichever endpoints it calls.
limiter.shared_limit(limit_setting("RATELIMIT_API"), scope="api")(bp)


def _q() -> str | None:
    q = request.args.get("q")
    if q is None:
        return None
    q = q.strip()
    if not q or len(q) > MAX_QUERY:
        abort(400, _("q must be between 1 and %(max)s characters.", max=MAX_QUERY))
    return q


def _limit() -> int:
    raw = request.args.get("limit", "20")
    if not re.fullmatch(r"[0-9]{1,3}", raw) or not 1 <= int(raw) <= 100:
        abort(400, _("limit must be a whole number from 1 to 100."))
    return int(raw)


def _count(n: int | None) -> dict:
    """A condition's public number of reports, or that it has too few to show (none and a few alike)."""
    return {"n": n or None, "suppressed": not n}


@bp.get("/conditions")
def conditions():
    """Conditions with their number of reports; with ?q=, matches including ICD-10-CM entries."""
    q = _q()
    counts = cached_reports.condition_counts()  # public totals: what each condition's page shows
    if q is not None:
        hits = catalog.search_conditions(q, limit=_limit())
        ids = dict(db.session.execute(select(Condition.slug, Condition.id)).all())
        return jsonify(
            q=q,
            conditions=[
                {
                    "slug": h.slug,
                    "name": h.name,
                    "icd10": h.icd10,
                    "matched": h.matched,
                    "in_catalog": h.in_catalog,
                    **_count(counts.get(ids.get(h.slug)) if h.slug else None),
                }
                for h in hits
            ],
        )
    rows = db.session.scalars(select(Condition).order_by(Condition.name))
    return jsonify(
        conditions=[{"slug": c.slug, "name": c.name, "icd10": c.icd10, **_count(counts.get(c.id))} for c in rows]
    )


@bp.get("/treatments")
def treatments():
    """Treatments matching ?q=; brand names resolve to the generic drug, in the catalog or not."""
    q = _q()
    if q is None:
        abort(400, _("Give a search text as ?q=."))
    hits = catalog.search_treatments(q, limit=_limit())
    return jsonify(
        q=q,
        treatments=[
            {"slug": h.slug, "name": h.name, "kind": h.kind, "matched": h.matched, "in_catalog": h.in_catalog}
            for h in hits
        ],
    )


@bp.get("/treatments/<treatment_slug>")
def treatment(treatment_slug: str):
    """One treatment for every condition it is shown for, and its side effects overall, as on its page."""
    entry = db.first_or_404(
        select(Treatment).where(Treatment.slug == treatment_slug),
        description=_("No treatment %(slug)s.", slug=repr(treatment_slug)),
    )
    overview = cached_reports.treatment_overview(entry)
    time_uses = {use.slug: curve for use, curve in cached_reports.drug_time(entry, overview)[0]}
    return jsonify(
        treatment={"slug": entry.slug, "name": entry.name, "kind": entry.kind},
        min_n=cached_reports.policy().min_n,
        disclosure=cached_reports.policy().mode,
        n=overview.n or None,
        suppressed=overview.suppressed,
        conditions=[use.as_json() for use in overview.uses],
        side_effects=overview.side_effects,
        time_on_treatment=[
            {"condition": {"slug": use.slug, "name": use.name}, **time_uses[use.slug].as_json()}
            for use in overview.shown
            if use.slug in time_uses
        ],
    )


def _head(condition: Condition, filters) -> dict:
    return {
        "condition": {"slug": condition.slug, "name": condition.name, "icd10": condition.icd10},
        "filters": filters.as_dict(),
        "min_n": cached_reports.policy().min_n,
        "disclosure": cached_reports.policy().mode,
    }


@bp.get("/conditions/<slug>/treatments")
def condition_treatments(slug: str):
    """A condition's treatments ranked by the lower bound of "improved", as on its page."""
    condition, filters = condition_or_404(slug, described=True), filters_arg()
    report = cached_reports.condition_report(condition, filters)
    return jsonify(
        **_head(condition, filters),
        n=None if report.suppressed else report.n,
        suppressed=report.suppressed,
        treatments=[unit.summary_json() for unit in report.treatments],
    )


@bp.get("/conditions/<slug>/treatments/<treatment_slug>")
def condition_treatment(slug: str, treatment_slug: str):
    """Every distribution of one treatment for one condition, as on its page."""
    condition, filters = condition_or_404(slug, described=True), filters_arg()
    treatment = treatment_or_404(treatment_slug, described=True)
    unit = cached_reports.treatment_report(condition, treatment, filters)
    staying = (
        None if unit.suppressed else cached_reports.time_curves(condition, [treatment])[treatment.id]
    )  # never filtered
    return jsonify(
        **_head(condition, filters),
        treatment=unit.detail_json(),
        time_on_treatment=staying.as_json() if staying else {"suppressed": True},
    )


def _slice_head(condition: Condition, treatment: Treatment) -> dict:
    return {
        "condition": {"slug": condition.slug, "name": condition.name, "icd10": condition.icd10},
        "treatment": {"slug": treatment.slug, "name": treatment.name, "kind": treatment.kind},
        "min_n": cached_reports.policy().min_n,
        "disclosure": cached_reports.policy().mode,
    }


@bp.get("/conditions/<slug>/treatments/<treatment_slug>/dose")
def condition_treatment_dose(slug: str, treatment_slug: str):
    """A drug's outcomes by dose band for a condition (every report, never filtered), as on its page."""
    condition = condition_or_404(slug, described=True)
    treatment = treatment_or_404(treatment_slug, described=True)
    report = cached_reports.dose_report(condition, treatment)
    if report is None:
        abort(404, _("Dose bands are reported for drugs only."))
    return jsonify(**_slice_head(condition, treatment), dose=report.as_json())


@bp.get("/conditions/<slug>/treatments/<treatment_slug>/years")
def condition_treatment_years(slug: str, treatment_slug: str):
    """A treatment's improved share and satisfaction by year of report (every report, never filtered)."""
    condition = condition_or_404(slug, described=True)
    treatment = treatment_or_404(treatment_slug, described=True)
    return jsonify(
        **_slice_head(condition, treatment), years=cached_reports.trend_report(condition, treatment).as_json()
    )


def _horizon(h) -> dict:
    """One "after N months" row as the page shows it: its protected n and shares, or only that it is hidden."""
    head = {"months": h.months, "tolerance": h.tolerance}
    if h.suppressed:
        return {**head, "suppressed": True}
    return {
        **head,
        "suppressed": False,
        "n": h.n,
        "improved": h.improved,
        "still_using": h.still_using_share,
        "severe_side_effects": h.severe,
        "satisfaction_mean": h.satisfaction_mean,
    }


@bp.get("/conditions/<slug>/treatments/<treatment_slug>/after-months")
def condition_treatment_after_months(slug: str, treatment_slug: str):
    """What followed-up experiences said about 3, 6 and 12 months after starting (never filtered), as on its page."""
    condition = condition_or_404(slug, described=True)
    treatment = treatment_or_404(treatment_slug, described=True)
    # The page shows the section only when the (unfiltered) unit itself is shown.
    if cached_reports.treatment_report(condition, treatment, Filters()).suppressed:
        after = {"suppressed": True}
    else:
        after = {"suppressed": False, "horizons": [_horizon(h) for h in followups.after_months(condition, treatment)]}
    return jsonify(**_slice_head(condition, treatment), after_months=after)


def _doctor_head(doctor: Doctor) -> dict:
    return {
        "id": doctor.id,
        "name": doctor.name,
        "specialty": doctor.specialty,
        "city": doctor.city,
        "country": doctor.country,
    }


@bp.get("/doctors")
def doctors():
    """Doctors filtered by condition, specialty and place, ranked by the top-box lower bound."""
    args = {
        name: (request.args.get(name) or "").strip()[:MAX_QUERY]
        for name in ("condition", "specialty", "city", "country", "q")
    }
    condition = condition_or_404(args["condition"], described=True) if args["condition"] else None
    found = catalog.search_doctors(args["q"], args["specialty"], args["city"], args["country"])
    ranked = cached_reports.find_doctors(found, condition)
    limit = _limit()
    return jsonify(
        filters=args,
        min_n=cached_reports.policy().min_n,
        disclosure=cached_reports.policy().mode,
        doctors=[
            {**_doctor_head(doctor), **(score.as_json() if score else {"suppressed": True})}
            for doctor, score in ranked[:limit]
        ],
    )


@bp.get("/doctors/<int:doctor_id>")
def doctor(doctor_id: int):
    """One doctor's scores overall and per condition, as on the doctor's page."""
    entry = db.get_or_404(Doctor, doctor_id, description=_("No doctor %(id)s.", id=doctor_id))
    report = cached_reports.doctor_report(entry)
    return jsonify(
        doctor=_doctor_head(entry),
        min_n=cached_reports.policy().min_n,
        disclosure=cached_reports.policy().mode,
        overall=report.overall.as_json(),
        conditions=[{"slug": slug, "name": name, **score.as_json()} for slug, name, score in report.by_condition],
        other_conditions=report.other.as_json() if report.other else None,
    )


@bp.get("/openapi.json")
def openapi_json():
    """This API's OpenAPI 3 description."""
    return jsonify(openapi.spec())
