"""Participants' data rights: download everything held about oneself, withdraw consent, delete the account.

A download holds what the participant entered and what the registry derived from it (the
"patients like me" bands, moderation states); nothing about anyone else, not even who moderated.
Deletion subtracts every experience from the report aggregates through experiences.delete, in
the same transaction that removes the rows, so counts, reports and exports lose them at once, and
is written to the erasure journal (registry.platform.erasures), so that restoring an older backup makes it again.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import zipfile
from datetime import datetime, timezone

from sqlalchemy import delete, select, update
from sqlalchemy.orm import selectinload

import scales
from registry.accounts import audit, auth
from registry.contributions import experiences, followups, ratings
from registry.models import (
    AuditEvent,
    Condition,
    Diagnosis,
    DoctorRating,
    Experience,
    Flag,
    OutboxMail,
    TipVote,
    User,
    UserSession,
)
from registry.platform import erasures
from registry.platform.extensions import db
from reports.csvout import neutralize

# field -> scale, for the label printed beside each stored code
EXPERIENCE_SCALES = {
    "role": scales.ROLE,
    "dose_unit": scales.DOSE_UNIT,
    "dose_frequency": scales.DOSE_FREQUENCY,
    "effectiveness": scales.EFFECTIVENESS,
    "side_effect_severity": scales.SIDE_EFFECT_SEVERITY,
    "adherence": scales.ADHERENCE,
    "burden": scales.BURDEN,
    "cost_per_month": scales.COST_PER_MONTH,
    "insurance_coverage": scales.INSURANCE_COVERAGE,
    "would_recommend": scales.WOULD_RECOMMEND,
    "age_band": scales.AGE_BAND,
    "sex": scales.SEX,
    "years_since_diagnosis": scales.YEARS_SINCE_DIAGNOSIS,
    "text_state": scales.TEXT_STATE,
}
RATING_SCALES = {
    "explained_clearly": scales.FREQUENCY,
    "listened_carefully": scales.FREQUENCY,
    "showed_respect": scales.FREQUENCY,
    "spent_enough_time": scales.FREQUENCY,
    "got_appointment": scales.FREQUENCY,
    "would_recommend": scales.DOCTOR_RECOMMEND,
    "text_state": scales.TEXT_STATE,
}
# The answers as the forms save them, then what the registry derived or decided about them.
EXPERIENCE_EXPORT_COLUMNS = (
    *experiences.FORM_FIELDS,
    "tips_show_answers",
    "text_state",
    "text_reason",
    "age_band",
    "sex",
    "years_since_diagnosis",
)
RATING_EXPORT_COLUMNS = (*ratings.FORM_FIELDS, "text_state", "text_reason")
# The CSV download: one file per table, in this order.
CSV_TABLES = (
    "account",
    "consent_history",
    "diagnoses",
    "experiences",
    "experience_side_effects",
    "experience_stop_reasons",
    "doctor_ratings",
    "flags",
    "devices",
    "tips_marked_helpful",
    "experience_updates",
    "followed_conditions",
    "reminder_mail",  # follow-ups (registry.contributions.followups)
)


def _when(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value is not None else None


def _coded(row: dict, obj, fields, scale_of: dict) -> dict:
    """Copy fields into row; a coded field gets its label beside it as <field>_label."""
    for name in fields:
        value = getattr(obj, name)
        row[name] = value
        if name in scale_of:
            row[f"{name}_label"] = scale_of[name].label(value) if value is not None else None
    return row


def collect(user: User) -> dict:
    """Everything the registry holds about the participant, as JSON-ready data."""
    return {
        "generated_at": _when(datetime.now(timezone.utc)),
        "account": _account(user),
        "consent_history": [{"action": e.action, "version": e.version, "at": _when(e.at)} for e in user.consent_events],
        "diagnoses": _diagnoses(user),
        "experiences": [_experience(e) for e in _own(Experience, user, _EXPERIENCE_PARTS)],
        "doctor_ratings": [_rating(r) for r in _own(DoctorRating, user, _RATING_PARTS)],
        # What they reported and how it was settled; not who settled it.
        "flags": [_flag(f) for f in _own(Flag, user)],
        # The log-ins the account has now: what the account page lists (no address is kept).
        "devices": [_device(d) for d in _own(UserSession, user)],
        # "This helped me": the tips (by their experience id) the participant marked, never shown to anyone else.
        "tips_marked_helpful": [
            {"experience_id": v.experience_id, "created_at": _when(v.created_at)}
            for v in _own(TipVote, user, order=TipVote.created_at)
        ],
        # Follow-ups: the kept history of their experiences, the conditions they follow, the reminder opt-in.
        **followups.rights_data(user),
    }


_EXPERIENCE_PARTS = ("side_effects", "stop_reasons", "condition", "treatment")
_RATING_PARTS = ("doctor", "condition")


def _own(model, user: User, parts: tuple[str, ...] = (), order=None) -> list:
    """The participant's rows of a model (by its user_id, or a flag's reporter_id), oldest first."""
    owner = model.reporter_id if model is Flag else model.user_id
    query = select(model).where(owner == user.id).order_by(order if order is not None else model.id)
    return db.session.scalars(query.options(*(selectinload(getattr(model, part)) for part in parts))).all()


def _account(user: User) -> dict:
    return {
        "email": user.email,
        "pseudonym": user.pseudonym,
        "account_role": user.account_role,
        "birth_year": user.birth_year,
        "sex": user.sex,
        "sex_label": scales.SEX.label(user.sex) if user.sex else None,
        "country": user.country,
        "created_at": _when(user.created_at),
        "research_consent": user.has_research_consent,
        "research_consent_version": user.research_consent_version,
        "research_consent_at": _when(user.research_consent_at),
        "email_confirmed_at": _when(user.email_confirmed_at),
        "pending_email": user.pending_email,
    }


def _diagnoses(user: User) -> list[dict]:
    return [
        {"condition": slug, "condition_name": name, "diagnosed_year": year}
        for slug, name, year in db.session.execute(
            select(Condition.slug, Condition.name, Diagnosis.diagnosed_year)
            .join(Condition, Condition.id == Diagnosis.condition_id)
            .where(Diagnosis.user_id == user.id)
            .order_by(Diagnosis.id)
        )
    ]


def _flag(f: Flag) -> dict:
    return {
        "id": f.id,
        "target_kind": f.target_kind,
        "target_id": f.target_id,
        "reason": f.reason,
        "reason_label": scales.FLAG_REASON.label(f.reason),
        "note": f.note,
        "created_at": _when(f.created_at),
        "resolved_at": _when(f.resolved_at),
        "resolution": f.resolution,
    }


def _device(d: UserSession) -> dict:
    return {
        "device": d.device,
        "kept_logged_in": d.remember,
        "logged_in_at": _when(d.created_at),
        "last_seen_at": _when(d.last_seen_at),
    }


def _experience(e: Experience) -> dict:
    row = {
        "id": e.id,
        "condition": e.condition.slug,
        "condition_name": e.condition.name,
        "treatment": e.treatment.slug,
        "treatment_name": e.treatment.name,
    }
    _coded(row, e, EXPERIENCE_EXPORT_COLUMNS, EXPERIENCE_SCALES)
    row["side_effects"] = [s.term for s in e.side_effects]
    row["stop_reasons"] = [{"code": r.reason, "label": scales.STOP_REASON.label(r.reason)} for r in e.stop_reasons]
    row.update(created_at=_when(e.created_at), updated_at=_when(e.updated_at))
    return row


def _rating(r: DoctorRating) -> dict:
    doctor = r.doctor
    row = {
        "id": r.id,
        "doctor_id": doctor.id,
        "doctor_name": doctor.name,
        "doctor_specialty": doctor.specialty,
        "doctor_city": doctor.city,
        "doctor_country": doctor.country,
        "condition": r.condition.slug,
        "condition_name": r.condition.name,
    }
    _coded(row, r, RATING_EXPORT_COLUMNS, RATING_SCALES)
    row.update(created_at=_when(r.created_at), updated_at=_when(r.updated_at))
    return row


def to_json(data: dict) -> bytes:
    """The download as one JSON document."""
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def tables(data: dict) -> dict[str, list[dict]]:
    """The download as flat tables: the lists inside each experience become long tables."""
    experience_rows, side_effects, stop_reasons = [], [], []
    for e in data["experiences"]:
        experience_rows.append({k: v for k, v in e.items() if k not in ("side_effects", "stop_reasons")})
        side_effects += [{"experience_id": e["id"], "term": term} for term in e["side_effects"]]
        stop_reasons += [
            {"experience_id": e["id"], "reason": r["code"], "reason_label": r["label"]} for r in e["stop_reasons"]
        ]
    return {
        "account": [data["account"]],
        "consent_history": data["consent_history"],
        "diagnoses": data["diagnoses"],
        "experiences": experience_rows,
        "experience_side_effects": side_effects,
        "experience_stop_reasons": stop_reasons,
        "doctor_ratings": data["doctor_ratings"],
        "flags": data["flags"],
        "devices": data["devices"],
        "tips_marked_helpful": data["tips_marked_helpful"],
        "experience_updates": data["experience_updates"],
        "followed_conditions": data["followed_conditions"],
        "reminder_mail": [data["reminder_mail"]],
    }


# Header rows of tables that may be empty, so every file says what it would hold.
_EMPTY_HEADERS = {
    "consent_history": ["action", "version", "at"],
    "diagnoses": ["condition", "condition_name", "diagnosed_year"],
    "experience_side_effects": ["experience_id", "term"],
    "experience_stop_reasons": ["experience_id", "reason", "reason_label"],
    "flags": [
        "id",
        "target_kind",
        "target_id",
        "reason",
        "reason_label",
        "note",
        "created_at",
        "resolved_at",
        "resolution",
    ],
    "devices": ["device", "kept_logged_in", "logged_in_at", "last_seen_at"],
    "tips_marked_helpful": ["experience_id", "created_at"],
    **followups.RIGHTS_HEADERS,
}


def _csv(rows: list[dict], header: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if row.get(name) is None else neutralize(row[name]) for name in header])
    return buffer.getvalue()


def to_csv_zip(data: dict) -> bytes:
    """The download as a zip of one spreadsheet-safe CSV per table."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in tables(data).items():
            header = list(rows[0]) if rows else _EMPTY_HEADERS.get(name, [])
            if name == "experiences" and not rows:
                header = [
                    "id",
                    "condition",
                    "condition_name",
                    "treatment",
                    "treatment_name",
                    *EXPERIENCE_EXPORT_COLUMNS,
                ]
            if name == "doctor_ratings" and not rows:
                header = ["id", "doctor_id", "doctor_name", "condition", *RATING_EXPORT_COLUMNS]
            # utf-8-sig: spreadsheets then read accents and non-Latin names right.
            archive.writestr(f"{name}.csv", _csv(rows, header).encode("utf-8-sig"))
    return buffer.getvalue()


def download(user: User, fmt: str) -> tuple[bytes, str, str]:
    """(content, mimetype, file name) of the participant's data in fmt ("json" or "csv"); audited."""
    data = collect(user)
    audit.record("account.download", "user", user.id, {"format": fmt}, actor=user)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    if fmt == "json":
        return to_json(data), "application/json", f"my-registry-data-{stamp}.json"
    return to_csv_zip(data), "application/zip", f"my-registry-data-{stamp}.zip"


def withdraw_consent(user: User) -> bool:
    """Withdraw research consent (later exports leave the participant out); True when it changed."""
    changed = auth.set_consent(user, False)
    if changed:
        audit.record("consent.withdraw", "user", user.id, actor=user)
    return changed


def delete_account(user: User, by_operator: bool = False) -> dict[str, int]:
    """Remove the participant and everything they entered, and their answers from every count.

    The same path for a participant's own deletion and an operator's (`registry users delete`,
    by_operator: the trail names the operator). The caller commits: one transaction, so a failure
    leaves both the rows and the counts intact.
    """
    # Lock the account first (PostgreSQL: FOR UPDATE; SQLite: the token write takes the write lock),
    # so an experience saved concurrently either lands before the list below or fails afterwards,
    # and never vanishes by ON DELETE CASCADE without leaving the aggregates.
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    user.session_token = secrets.token_hex(16)  # also signs out the account's other sessions
    db.session.flush()
    own = db.session.scalars(
        select(Experience)
        .where(Experience.user_id == user.id)
        .options(selectinload(Experience.side_effects), selectinload(Experience.stop_reasons))
        .order_by(Experience.id)
    ).all()
    followups.forget(user)  # follow-up history, follows and reminder setting
    for experience in own:
        experiences.delete(experience)
    own_ratings = db.session.scalars(select(DoctorRating).where(DoctorRating.user_id == user.id)).all()
    for rating in own_ratings:  # as one by one: on the audit trail, flags on their comments closed
        ratings.delete(rating)
    n_ratings = len(own_ratings)
    db.session.execute(delete(Diagnosis).where(Diagnosis.user_id == user.id))
    db.session.execute(delete(TipVote).where(TipVote.user_id == user.id))  # not left to the foreign key alone
    db.session.execute(delete(OutboxMail).where(OutboxMail.recipient == user.email))  # unsent mail to them
    counts = {"experiences": len(own), "ratings": n_ratings}
    audit.record(
        "account.delete",
        "user",
        user.id,
        {**counts, "by_operator": True} if by_operator else counts,
        actor=None if by_operator else user,
    )
    db.session.flush()
    # The trail keeps what happened, not who it was: the pseudonym goes with the account.
    db.session.execute(update(AuditEvent).where(AuditEvent.actor_id == user.id).values(actor_label="deleted account"))
    erasures.record(db.session, "account", user.id, user.created_at)  # a restored backup must not bring it back
    db.session.delete(user)  # consent events go with it; flags and audit events keep a null account
    db.session.flush()
    return counts


def replay_erasures() -> dict[str, int]:
    """Delete again every journaled row that is back (after a restore); commits each; returns counts by kind."""
    models = {"account": User, "experience": Experience, "rating": DoctorRating}
    done = dict.fromkeys(erasures.KINDS, 0)
    token = erasures.replaying.set(True)
    try:
        for entry in erasures.entries(erasures.journal_path()):
            row = db.session.get(models[entry["kind"]], entry["id"])
            if row is None or erasures.stamp(row.created_at) != entry["created"]:
                continue  # gone already, or the id belongs to a newer row
            if entry["kind"] == "account":
                delete_account(row, by_operator=True)
            elif entry["kind"] == "experience":
                experiences.delete(row)
            else:
                ratings.delete(row)
            db.session.commit()
            done[entry["kind"]] += 1
    finally:
        erasures.replaying.reset(token)
    return done
