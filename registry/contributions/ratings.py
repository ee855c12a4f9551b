"""Doctor-rating domain: save, find and delete a participant's ratings."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from registry.accounts import audit
from registry.accounts.auth import owned_or_none
from registry.contributions import experiences, moderation, screening
from registry.models import Condition, Doctor, DoctorRating, User
from registry.platform import erasures
from registry.platform.extensions import db
from registry.platform.pagination import Window

# The answers the rating form saves on a rating row, in form order.
FORM_FIELDS = (
    "last_visit",
    "overall",
    "explained_clearly",
    "listened_carefully",
    "showed_respect",
    "spent_enough_time",
    "got_appointment",
    "knowledge",
    "would_recommend",
    "comment",
)


def find_own(user: User, doctor: Doctor, condition: Condition) -> DoctorRating | None:
    """The participant's rating of this doctor for this condition, if any."""
    return db.session.scalar(
        select(DoctorRating).where(
            DoctorRating.user_id == user.id,
            DoctorRating.doctor_id == doctor.id,
            DoctorRating.condition_id == condition.id,
        )
    )


def own_or_none(user: User, rating_id: int) -> DoctorRating | None:
    """The rating if it belongs to user; None otherwise (others' look the same as missing)."""
    return owned_or_none(DoctorRating, user, rating_id)


def list_own(user: User) -> list[DoctorRating]:
    """The participant's ratings, most recently updated first."""
    return db.session.scalars(
        select(DoctorRating)
        .where(DoctorRating.user_id == user.id)
        .order_by(DoctorRating.updated_at.desc(), DoctorRating.id.desc())
    ).all()


def save(user: User, doctor: Doctor, condition: Condition, values: dict, rating: DoctorRating | None = None):
    """Create or update a rating from cleaned form values (the caller commits)."""
    before = {}
    if rating is None:
        rating = DoctorRating(user_id=user.id, doctor_id=doctor.id, condition_id=condition.id)
        db.session.add(rating)
    else:
        before = _snapshot(rating)
        rating.doctor_id, rating.condition_id = doctor.id, condition.id
    for name in FORM_FIELDS:
        setattr(rating, name, values.get(name))
    rating.report_key = experiences.fixed_key("r", user.id, doctor.id, condition.id)  # see experiences.save
    screening.screen_text(rating, before.get("comment"))
    db.session.flush()
    if before:
        audit.record(
            "rating.update",
            "rating",
            rating.id,
            {"fields": audit.changed_fields(before, _snapshot(rating))},
            actor=user,
        )
    else:
        audit.record("rating.create", "rating", rating.id, {"text_state": rating.text_state}, actor=user)
    return rating


def create_once(user: User, doctor: Doctor, condition: Condition, values: dict):
    """One rating per participant, doctor and condition: (the new rating, True), committed, or, when the
    same pair was saved a moment ago (a double submission), (that one, False)."""
    try:
        rating = save(user, doctor, condition, values)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return find_own(user, doctor, condition), False
    return rating, True


def delete(rating: DoctorRating) -> None:
    """Remove a rating (the caller commits)."""
    audit.record("rating.delete", "rating", rating.id)
    moderation.close_flags("comment", [rating.id])
    erasures.record(db.session, "rating", rating.id, rating.created_at)  # a restore must not undo it
    db.session.delete(rating)


def _snapshot(rating: DoctorRating) -> dict:
    data = {name: getattr(rating, name) for name in FORM_FIELDS}
    data.update(doctor=rating.doctor_id, condition=rating.condition_id)
    return data


def form_data(rating: DoctorRating) -> dict:
    """The rating's answers as the form's initial data."""
    data = {name: getattr(rating, name) for name in FORM_FIELDS}
    data.update(
        doctor=str(rating.doctor_id),
        condition=rating.condition.slug,
        overall=str(rating.overall),
        knowledge=str(rating.knowledge),
    )
    return data


def recent_comments(doctor: Doctor, page: int, per_page: int = 10):
    """Public comments on a doctor, newest first, with the author's pseudonym (never filtered)."""

    query = (
        select(DoctorRating)
        .options(joinedload(DoctorRating.user), joinedload(DoctorRating.condition))
        .where(
            DoctorRating.doctor_id == doctor.id,
            DoctorRating.comment.is_not(None),
            DoctorRating.text_state == "public",
        )
        .order_by(DoctorRating.updated_at.desc(), DoctorRating.id.desc())
    )
    return Window(db.session, query, page, per_page)
