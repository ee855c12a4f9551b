"""What the demo's logins find: conditions they follow, the patient's own followed-up report, and a
moderation queue. Each runs once; a restarted demo keeps what people did since.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm.attributes import flag_modified

import scales
from registry.contributions import experiences, following, moderation, screening
from registry.models import Condition, Diagnosis, Experience, ExperienceUpdate, Flag, User
from registry.platform.extensions import db
from registry.reporting import release

FOLLOWED_CONDITIONS = 2
LAST_VISIT_BEFORE_LATEST = timedelta(days=60)


def seed_demo_follows(users: list[User]) -> int:
    """Let the demo logins follow the two most reported conditions, last visit two months before the
    latest report, so the home page and What's new have news; return the number of follows added.

    Through registry.contributions.following.follow (the published ranking kept as at the visit); a follow that
    exists is left alone, so a restarted demo keeps the visits made since.
    """

    top = db.session.scalars(
        select(Condition)
        .join(Experience, Experience.condition_id == Condition.id)
        .group_by(Condition.id)
        .order_by(func.count(Experience.id).desc(), Condition.id)
        .limit(FOLLOWED_CONDITIONS)
    ).all()
    latest = db.session.scalar(select(func.max(Experience.created_at)))
    added = 0
    for user in users:
        for condition in top:
            if following.follow_of(user, condition) is not None or not following.follow(user, condition):
                continue
            db.session.flush()
            row = following.follow_of(user, condition)
            row.created_at = row.seen_at = latest - LAST_VISIT_BEFORE_LATEST
            release.record_past_total(db.session, condition.id, row.seen_at)  # the total a release then published
            added += 1
    db.session.commit()
    return added


def seed_demo_own_history(patient: User) -> Experience | None:
    """Give the demo patient a report with a follow-up history, so "My experiences" shows one.

    A demo member's report of the most reported condition, still in use and followed up at least
    twice, from someone of the patient's sex and age band that year (the bands the form would have
    stored), moves to the patient with the member's diagnosis year; the aggregates hold no owner,
    so they stay exact. It takes the patient's report key for the pair, as its history points
    do (a key is fixed per participant and pair). Does nothing when the patient has reports already.
    """
    if db.session.scalar(select(func.count(Experience.id)).where(Experience.user_id == patient.id)):
        return None
    top = (
        select(Experience.condition_id)
        .group_by(Experience.condition_id)
        .order_by(func.count(Experience.id).desc(), Experience.condition_id)
        .limit(1)
        .scalar_subquery()
    )
    followed_up = (
        select(ExperienceUpdate.experience_id)
        .group_by(ExperienceUpdate.experience_id)
        .having(func.count(ExperienceUpdate.id) >= 3)
    )
    candidates = db.session.scalars(
        select(Experience)
        .where(
            Experience.condition_id == top,
            Experience.id.in_(followed_up),
            Experience.role == "patient",
            Experience.sex == patient.sex,
            Experience.stopped.is_(None),
        )
        .order_by(Experience.updated_at, Experience.id)
        .limit(500)
    )
    for experience in candidates:
        if experience.age_band == scales.age_band(patient.birth_year, experience.updated_at.year):
            break
    else:
        return None
    year = db.session.scalar(
        select(Diagnosis.diagnosed_year).where(
            Diagnosis.user_id == experience.user_id, Diagnosis.condition_id == experience.condition_id
        )
    )
    has_diagnosis = db.session.scalar(
        select(Diagnosis.user_id).where(
            Diagnosis.user_id == patient.id, Diagnosis.condition_id == experience.condition_id
        )
    )
    if year is not None and has_diagnosis is None:  # kept when the patient deleted a report and kept the diagnosis
        db.session.add(Diagnosis(user_id=patient.id, condition_id=experience.condition_id, diagnosed_year=year))
    experience.user_id = patient.id
    experience.report_key = experiences.fixed_key("e", patient.id, experience.condition_id, experience.treatment_id)
    # Kept as it was (else onupdate sets now): its latest point's date; marked before the points' query
    # below autoflushes the move.
    flag_modified(experience, "updated_at")
    for point in db.session.scalars(select(ExperienceUpdate).where(ExperienceUpdate.experience_id == experience.id)):
        point.report_key = experience.report_key
    db.session.commit()
    return experience


def seed_demo_moderation(reporter: User) -> int:
    """Give the demo's moderator something to do: flagged tips and one tip held for its link.

    Runs once (does nothing when any flag exists); returns the number of queue items added.
    """

    if db.session.scalar(select(func.count(Flag.id))):
        return 0
    rows = db.session.scalars(
        select(Experience)
        .where(Experience.tips.is_not(None), Experience.text_state == "public")
        .order_by(Experience.id)
        .limit(3)
    ).all()
    reasons = [("misinformation", "This contradicts what my neurologist told me."), ("spam", None)]
    for row, (reason, note) in zip(rows, reasons):
        moderation.raise_flag(reporter, "tip", row.id, reason, note)
    if len(rows) == 3:
        old = rows[2].tips
        rows[2].tips = old + " More at www.example-miracle-cure.biz"
        screening.screen_text(rows[2], old)
    db.session.commit()
    return len(rows)
