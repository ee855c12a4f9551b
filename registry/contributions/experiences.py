"""Experience domain: save, find and delete a participant's treatment experiences."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified

import scales
from registry.accounts import audit
from registry.accounts.auth import owned_or_none
from registry.contributions import moderation, screening
from registry.models import (
    Condition,
    Diagnosis,
    Experience,
    ExperienceSideEffect,
    ExperienceStopReason,
    Treatment,
    User,
    condition_treatment,
)
from registry.platform import erasures
from registry.platform.database import now_utc, report_key
from registry.platform.extensions import cache, db

# The answers the experience form saves on an experience row, in form order.
FORM_FIELDS = (
    "role",
    "started",
    "stopped",
    "dose_amount",
    "dose_unit",
    "dose_frequency",
    "effectiveness",
    "side_effect_severity",
    "adherence",
    "burden",
    "cost_per_month",
    "insurance_coverage",
    "satisfaction",
    "would_recommend",
    "tips",
)


def _catalog_lists():
    """All conditions and treatments for the form's choices, cached until the catalog grows."""
    # max(created_at) too: SQLite reuses the highest id after a merge removed that entry.
    stamp = db.session.execute(
        select(func.count(Condition.id), func.max(Condition.id), func.max(Condition.created_at)).union_all(
            select(func.count(Treatment.id), func.max(Treatment.id), func.max(Treatment.created_at))
        )
    ).all()
    key = f"catalog-lists|{stamp}"
    lists = cache.get(key)
    if lists is None:
        conditions = [
            tuple(r) for r in db.session.execute(select(Condition.slug, Condition.name).order_by(Condition.name))
        ]
        treatments = [
            tuple(r)
            for r in db.session.execute(select(Treatment.slug, Treatment.name, Treatment.kind).order_by(Treatment.name))
        ]
        usual: dict[str, list[str]] = {}
        for condition_slug, treatment_slug in db.session.execute(
            select(Condition.slug, Treatment.slug)
            .join(condition_treatment, condition_treatment.c.condition_id == Condition.id)
            .join(Treatment, Treatment.id == condition_treatment.c.treatment_id)
            .order_by(Treatment.name)
        ):
            usual.setdefault(condition_slug, []).append(treatment_slug)
        lists = (conditions, treatments, usual)
        cache.set(key, lists)
    return lists


def usual_treatments() -> dict[str, list[str]]:
    """Each condition's usual treatments (the catalog's links), by slug: the form lists them first."""
    return _catalog_lists()[2]


def catalog_choices(condition: Condition | None = None):
    """(conditions, treatments, drug slugs) for the form; the condition's treatments come first."""
    conditions, rows, _ = _catalog_lists()
    common = {t.slug for t in condition.treatments} if condition is not None else set()
    treatments = sorted(((slug, name) for slug, name, _ in rows), key=lambda pair: (pair[0] not in common, pair[1]))
    drugs = frozenset(slug for slug, _, kind in rows if kind == "drug")
    return conditions, treatments, drugs


def by_slugs(condition_slug: str | None, treatment_slug: str | None):
    """The condition and treatment with these slugs (None for a missing one)."""
    condition = db.session.scalar(select(Condition).where(Condition.slug == condition_slug)) if condition_slug else None
    treatment = db.session.scalar(select(Treatment).where(Treatment.slug == treatment_slug)) if treatment_slug else None
    return condition, treatment


def find_own(user: User, condition: Condition, treatment: Treatment) -> Experience | None:
    """The participant's experience for this condition and treatment, if any."""
    return db.session.scalar(
        select(Experience).where(
            Experience.user_id == user.id,
            Experience.condition_id == condition.id,
            Experience.treatment_id == treatment.id,
        )
    )


def own_or_none(user: User, experience_id: int) -> Experience | None:
    """The experience if it belongs to user; None otherwise (others' look the same as missing)."""
    return owned_or_none(Experience, user, experience_id)


def list_own(user: User, page: int = 1, per_page: int = 25):
    """The participant's experiences, most recently updated first, paginated."""
    query = (
        select(Experience)
        .where(Experience.user_id == user.id)
        .order_by(Experience.updated_at.desc(), Experience.id.desc())
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def diagnosed_year(user: User, condition: Condition) -> int | None:
    return db.session.scalar(
        select(Diagnosis.diagnosed_year).where(Diagnosis.user_id == user.id, Diagnosis.condition_id == condition.id)
    )


def save(
    user: User,
    condition: Condition,
    treatment: Treatment,
    values: dict,
    diagnosed: int | None = None,
    experience: Experience | None = None,
    imported: dict | None = None,
) -> Experience:
    """Create or update an experience from cleaned form values (the caller commits).

    The report tables change in the same transaction, old answers out and new in, by the flush
    (registry.reporting.report_upkeep).
    `imported` (registry.interchange.importer) carries what an imported report already fixed: its "patients
    like me" bands (age_band, sex, years_since_diagnosis) and its created_at/updated_at.
    """
    with db.session.no_autoflush:  # one flush below: the report tables see the finished row only
        before = {}
        if experience is not None:
            before = _snapshot(experience)
        if experience is None:
            experience = Experience(user_id=user.id, condition_id=condition.id, treatment_id=treatment.id)
            db.session.add(experience)
        else:
            experience.condition_id, experience.treatment_id = condition.id, treatment.id
        for name in FORM_FIELDS:
            setattr(experience, name, values.get(name))
        # Only the form asks this: a follow-up or an import keeps the author's choice (new reports: off).
        if "tips_show_answers" in values or experience.tips_show_answers is None:
            experience.tips_show_answers = bool(values.get("tips_show_answers"))
        _set_diagnosis(user, condition, diagnosed)
        if imported is None:
            report_year = date.today().year
            experience.age_band = scales.age_band(user.birth_year, report_year)
            experience.sex = user.sex
            experience.years_since_diagnosis = scales.years_since_diagnosis(diagnosed, report_year)
        else:
            for name in ("age_band", "sex", "years_since_diagnosis"):
                setattr(experience, name, imported.get(name))
        experience.side_effects = [ExperienceSideEffect(term=t) for t in dict.fromkeys(values.get("side_effects", []))]
        experience.stop_reasons = [
            ExperienceStopReason(reason=r) for r in dict.fromkeys(values.get("stop_reasons", []))
        ]
        experience.updated_at = now_utc()  # set here, not at flush: the aggregates read it
        # Fixed per participant and pair (registry.platform.database.report_key): re-saving draws no new noise.
        experience.report_key = fixed_key("e", user.id, condition.id, treatment.id)
        if imported is not None:
            experience.updated_at = imported["updated_at"]
            experience.created_at = imported.get("created_at") or experience.created_at or imported["updated_at"]
            flag_modified(experience, "updated_at")  # written as given even when unchanged (else onupdate sets now)
        screening.screen_text(experience, before.get("tips"))
    db.session.flush()
    after = _snapshot(experience)
    if before:
        audit.record(
            "experience.update",
            "experience",
            experience.id,
            {"fields": audit.changed_fields(before, after)},
            actor=user,
        )
    else:
        audit.record(
            "experience.create", "experience", experience.id, {"text_state": experience.text_state}, actor=user
        )
    return experience


def fixed_key(kind: str, user_id: int, *pair: int) -> int:
    """The report key of a participant's report on a pair, keyed by this deployment's disclosure key."""
    return report_key(current_app.extensions["disclosure"].key, kind, user_id, *pair)


def create_once(user: User, condition: Condition, treatment: Treatment, values: dict, diagnosed: int | None = None):
    """One report per participant and pair: (the new experience, True), committed, or, when the same
    pair was saved a moment ago (a double submission), (that one, False)."""
    try:
        experience = save(user, condition, treatment, values, diagnosed)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return find_own(user, condition, treatment), False
    return experience, True


def _snapshot(experience: Experience) -> dict:
    """The answers as compared for the audit trail (which fields changed, never their values)."""
    data = {name: getattr(experience, name) for name in FORM_FIELDS}
    data.update(
        condition=experience.condition_id,
        treatment=experience.treatment_id,
        side_effects=sorted(s.term for s in experience.side_effects),
        stop_reasons=sorted(r.reason for r in experience.stop_reasons),
    )
    return data


def _set_diagnosis(user: User, condition: Condition, year: int | None) -> None:
    row = db.session.scalar(
        select(Diagnosis).where(Diagnosis.user_id == user.id, Diagnosis.condition_id == condition.id)
    )
    if year is None:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(Diagnosis(user_id=user.id, condition_id=condition.id, diagnosed_year=year))
    else:
        row.diagnosed_year = year


def delete(experience: Experience) -> None:
    """Remove an experience with its side effects and stop reasons from the registry and every count."""
    moderation.close_flags("tip", [experience.id])
    audit.record("experience.delete", "experience", experience.id)
    erasures.record(db.session, "experience", experience.id, experience.created_at)  # a restore must not undo it
    db.session.delete(experience)


def form_data(experience: Experience) -> dict:
    """The experience's answers as the form's initial data."""
    data = {name: getattr(experience, name) for name in FORM_FIELDS}
    data["condition"] = experience.condition.slug
    data["treatment"] = experience.treatment.slug
    data["satisfaction"] = str(experience.satisfaction)
    data["side_effects"] = [s.term for s in experience.side_effects]
    data["stop_reasons"] = [r.reason for r in experience.stop_reasons]
    data["tips_show_answers"] = experience.tips_show_answers
    return data
