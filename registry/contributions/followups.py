"""Follow-ups: a dated update of an experience ("still on it? how is it working now?") and its history.

An update changes the experience's current answers through the edit form's own write path
(registry.contributions.experiences.save: the maintained aggregates stay in step and a new report key is
drawn), and keeps every earlier answer as a dated row of experience_update. Reports count the
latest answers; "after N months on it" reads each experience's point nearest to that time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import and_, delete, exists, select

from registry.contributions import experiences
from registry.models import Condition, ConditionFollow, Experience, ExperienceUpdate, FollowupReminder, Treatment, User
from registry.platform.database import now_utc
from registry.platform.extensions import db
from registry.reporting import cached_reports
from registry.reporting.report_sources import CellSource
from reports import followup as followup_reports

# An experience still in use and not updated for this long is invited for an update.
DUE_AFTER = timedelta(days=91)  # three months
# The fields a follow-up asks again; the rest of the experience stays as it was.
FOLLOWUP_FIELDS = ("stopped", "effectiveness", "side_effect_severity", "satisfaction", "would_recommend")


def _point(experience: Experience, kind: str) -> ExperienceUpdate:
    """The experience's current answers as one history point, dated when they were saved."""
    return ExperienceUpdate(
        experience_id=experience.id,
        kind=kind,
        recorded_at=experience.updated_at,
        report_key=experience.report_key,
        stopped=experience.stopped,
        stop_reasons=" ".join(sorted(r.reason for r in experience.stop_reasons)) or None,
        effectiveness=experience.effectiveness,
        side_effect_severity=experience.side_effect_severity,
        satisfaction=experience.satisfaction,
        would_recommend=experience.would_recommend,
    )


def history(experience: Experience) -> list[ExperienceUpdate]:
    """The experience's kept history, oldest first (empty before its first follow-up)."""
    return list(
        db.session.scalars(
            select(ExperienceUpdate)
            .where(ExperienceUpdate.experience_id == experience.id)
            .order_by(ExperienceUpdate.recorded_at, ExperienceUpdate.id)
        )
    )


def _keep_current(experience: Experience) -> None:
    """Before an update: keep the current answers as a point unless the last point already holds them.

    The first update keeps the original answers; an edit made through the form since the last
    point is kept too, so the history is complete.
    """
    last = db.session.scalar(
        select(ExperienceUpdate)
        .where(ExperienceUpdate.experience_id == experience.id)
        .order_by(ExperienceUpdate.recorded_at.desc(), ExperienceUpdate.id.desc())
        .limit(1)
    )
    if last is None:
        db.session.add(_point(experience, "original"))
    elif last.recorded_at != experience.updated_at:  # saved through the form since the last point
        db.session.add(_point(experience, "edit"))


def add_update(user: User, experience: Experience, answers: dict) -> ExperienceUpdate:
    """Record a follow-up: the new answers become the experience's current ones; the old are kept.

    ``answers`` holds FOLLOWUP_FIELDS and stop_reasons (cleaned by forms.followup). The caller commits.
    """
    _keep_current(experience)
    values = {name: getattr(experience, name) for name in experiences.FORM_FIELDS}
    values["side_effects"] = [s.term for s in experience.side_effects]
    values.update({name: answers[name] for name in FOLLOWUP_FIELDS})
    values["stop_reasons"] = list(answers.get("stop_reasons") or []) if answers["stopped"] else []
    diagnosed = experiences.diagnosed_year(user, experience.condition)
    experiences.save(user, experience.condition, experience.treatment, values, diagnosed, experience)
    point = _point(experience, "update")
    db.session.add(point)
    db.session.flush()
    return point


def form_data(experience: Experience) -> dict:
    """The follow-up form's initial answers: the experience's current ones."""
    return {
        "still_using": "no" if experience.stopped else "yes",
        "stopped": experience.stopped,
        "stop_reasons": [r.reason for r in experience.stop_reasons],
        "effectiveness": experience.effectiveness,
        "side_effect_severity": experience.side_effect_severity,
        "satisfaction": str(experience.satisfaction) if experience.satisfaction else None,
        "would_recommend": experience.would_recommend,
    }


def _due_clause(now: datetime):
    return and_(Experience.stopped.is_(None), Experience.updated_at < now - DUE_AFTER)


def due_ids(user: User, now: datetime | None = None) -> set[int]:
    """Ids of the participant's experiences still in use and not updated for three months."""
    now = now or now_utc()
    return set(db.session.scalars(select(Experience.id).where(Experience.user_id == user.id, _due_clause(now))))


# --- "after N months on it" -------------------------------------------------------------------


def points_frame(condition: Condition, treatment: Treatment) -> pd.DataFrame:
    """The pair's follow-up points as the last release published them (reports.followup.POINT_COLUMNS)."""

    source = cached_reports.report_source()
    if not hasattr(source, "points"):  # the raw baseline reads what the live tables read
        source = CellSource(db.session)
    return source.points(condition.id, treatment.id)


def after_months(condition: Condition, treatment: Treatment):
    """The treatment page's "after N months on it" rows, protected and cached with the page's reports."""

    return cached_reports.cached_report(
        condition,
        "after-months",
        (treatment.id,),
        lambda: followup_reports.horizons_report(points_frame(condition, treatment), cached_reports.policy()),
    )


# --- reminder mail settings -------------------------------------------------------------------


def reminder_enabled(user: User) -> bool:
    """Whether the participant asked for reminder mails."""
    row = db.session.get(FollowupReminder, user.id)
    return bool(row and row.enabled)


def set_reminder(user: User, enabled: bool) -> None:
    """Opt in to or out of reminder mails (the caller commits)."""
    row = db.session.get(FollowupReminder, user.id)
    if row is None:
        row = FollowupReminder(user_id=user.id, enabled=enabled)
        db.session.add(row)
    row.enabled, row.changed_at = enabled, now_utc()


def reminder_recipients(now: datetime | None = None) -> list[tuple[User, list[Experience]]]:
    """Who gets a reminder now, with their experiences due for an update.

    Opted in, active, not imported, address confirmed, not mailed in the last three months, and
    at least one experience still in use that was not updated for three months.
    """
    now = now or now_utc()
    due = exists().where(Experience.user_id == User.id, _due_clause(now))
    users = db.session.scalars(
        select(User)
        .join(FollowupReminder, FollowupReminder.user_id == User.id)
        .where(
            FollowupReminder.enabled,
            User.disabled_at.is_(None),
            User.imported_from.is_(None),
            User.email_confirmed_at.is_not(None),
            (FollowupReminder.last_sent_at.is_(None)) | (FollowupReminder.last_sent_at < now - DUE_AFTER),
            due,
        )
        .order_by(User.id)
    ).all()
    result = []
    for user in users:
        rows = db.session.scalars(
            select(Experience).where(Experience.user_id == user.id, _due_clause(now)).order_by(Experience.updated_at)
        ).all()
        result.append((user, rows))
    return result


def mark_reminded(user: User, now: datetime | None = None) -> None:
    """Record that a reminder went out (the caller commits)."""
    db.session.get(FollowupReminder, user.id).last_sent_at = now or now_utc()


# --- research export: the history as its own long table -------------------------------------


# --- data rights: what a participant downloads about follow-ups, and what goes with the account ------


def rights_data(user: User) -> dict:
    """The participant's follow-up history, followed conditions and reminder setting (their data download)."""

    def when(value):
        return value.isoformat(timespec="seconds") if value else None

    points = db.session.scalars(
        select(ExperienceUpdate)
        .join(Experience, Experience.id == ExperienceUpdate.experience_id)
        .where(Experience.user_id == user.id)
        .order_by(ExperienceUpdate.experience_id, ExperienceUpdate.recorded_at)
    ).all()
    follows = db.session.execute(
        select(Condition.slug, Condition.name, ConditionFollow.created_at, ConditionFollow.seen_at)
        .join(Condition, Condition.id == ConditionFollow.condition_id)
        .where(ConditionFollow.user_id == user.id)
        .order_by(Condition.name)
    ).all()
    reminder = db.session.get(FollowupReminder, user.id)
    return {
        "experience_updates": [
            {
                "experience_id": p.experience_id,
                "kind": p.kind,
                "recorded_at": when(p.recorded_at),
                "stopped": p.stopped,
                "stop_reasons": " ".join(p.stop_reason_codes) or None,
                "effectiveness": p.effectiveness,
                "side_effect_severity": p.side_effect_severity,
                "satisfaction": p.satisfaction,
                "would_recommend": p.would_recommend,
            }
            for p in points
        ],
        "followed_conditions": [
            {"condition": slug, "condition_name": name, "followed_at": when(created), "last_visit": when(seen)}
            for slug, name, created, seen in follows
        ],
        "reminder_mail": {
            "opted_in": bool(reminder and reminder.enabled),
            "last_sent_at": when(reminder.last_sent_at) if reminder else None,
        },
    }


RIGHTS_HEADERS = {
    "experience_updates": [
        "experience_id",
        "kind",
        "recorded_at",
        "stopped",
        "stop_reasons",
        "effectiveness",
        "side_effect_severity",
        "satisfaction",
        "would_recommend",
    ],
    "followed_conditions": ["condition", "condition_name", "followed_at", "last_visit"],
}


def forget(user: User) -> None:
    """Delete the participant's follow-up history, follows and reminder setting (account deletion; caller commits).

    Not left to the foreign keys alone, as tip votes are not.
    """

    own = select(Experience.id).where(Experience.user_id == user.id)
    db.session.execute(delete(ExperienceUpdate).where(ExperienceUpdate.experience_id.in_(own)))
    db.session.execute(delete(ConditionFollow).where(ConditionFollow.user_id == user.id))
    db.session.execute(delete(FollowupReminder).where(FollowupReminder.user_id == user.id))
