"""Moderation: flags, the moderators' queue, and their decisions (hide, keep, restore).

Only free text is moderated. A hidden or held tip is shown nowhere public and never exported,
but the structured answers of its experience still count: they are not free text. Text is
screened as it is saved by registry.contributions.screening; duplicate catalog entries are merged by
registry.catalog.merge.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import flag_modified

from registry.accounts import audit
from registry.models import Condition, Doctor, DoctorRating, Experience, Flag, Treatment, User
from registry.platform.database import now_utc
from registry.platform.extensions import db
from registry.platform.pagination import Window

# Which model and column hold each kind of moderated text.
TEXT_KINDS = {"tip": (Experience, "tips"), "comment": (DoctorRating, "comment")}
CATALOG_KINDS = {"condition": Condition, "treatment": Treatment, "doctor": Doctor}


def _in_state(model, state: str):
    """Rows whose text is held or hidden, worded so that the partial text_state index serves them."""
    return (model.text_state != "public") & (model.text_state == state)


# --- flags ----------------------------------------------------------------------------------------


def flag_target(kind: str, target_id: int):
    """The flaggable object, or None (text must be public: others cannot see held or hidden text)."""
    if kind in TEXT_KINDS:
        row = moderated_text(kind, target_id)
        return row if row is not None and row.text_state == "public" else None
    return _get(kind, target_id)


def raise_flag(reporter: User, kind: str, target_id: int, reason: str, note: str | None) -> Flag:
    """Record a participant's flag; a second flag by the same person on the same thing updates the first."""
    flag = db.session.scalar(
        select(Flag).where(
            Flag.reporter_id == reporter.id,
            Flag.target_kind == kind,
            Flag.target_id == target_id,
            Flag.resolved_at.is_(None),
        )
    )
    if flag is None:
        flag = Flag(reporter_id=reporter.id, target_kind=kind, target_id=target_id)
        db.session.add(flag)
    flag.reason, flag.note = reason, note or None
    db.session.flush()
    audit.record("flag.raise", kind, target_id, {"flag": flag.id, "reason": reason}, actor=reporter)
    return flag


def open_flag_count() -> int:
    held = sum(
        db.session.scalar(select(func.count()).select_from(model).where(_in_state(model, "held"))) or 0
        for model, _ in TEXT_KINDS.values()
    )
    flags = db.session.scalar(select(func.count(Flag.id)).where(Flag.resolved_at.is_(None))) or 0
    return held + flags


class QueueItem:
    """One thing awaiting a moderator: a flagged or held text, or a flagged catalog entry."""

    def __init__(self, kind: str, target, flags: list[Flag]):
        self.kind, self.target, self.flags = kind, target, flags

    @property
    def text(self) -> str | None:
        if self.kind in TEXT_KINDS:
            return getattr(self.target, TEXT_KINDS[self.kind][1])
        return None

    @property
    def held(self) -> bool:
        return self.kind in TEXT_KINDS and self.target.text_state == "held"


def queue(limit: int = 100) -> list[QueueItem]:
    """Held text and open flags, oldest first, grouped by the thing they are about."""
    items: dict[tuple[str, int], QueueItem] = {}
    for kind, (model, _) in TEXT_KINDS.items():
        held = db.session.scalars(
            select(model)
            .options(joinedload(model.user))
            .where(_in_state(model, "held"))
            .order_by(model.updated_at)
            .limit(limit)
        )
        for row in held:
            items[kind, row.id] = QueueItem(kind, row, [])
    flags = db.session.scalars(
        select(Flag)
        .options(joinedload(Flag.reporter))
        .where(Flag.resolved_at.is_(None))
        .order_by(Flag.created_at, Flag.id)
        .limit(limit * 5)
    )
    for flag in flags:
        key = (flag.target_kind, flag.target_id)
        if key not in items:
            kind, target_id = key
            target = moderated_text(kind, target_id) if kind in TEXT_KINDS else _get(kind, target_id)
            if target is None:
                continue  # gone since (writes close such flags; this covers rows removed outside the app)
            items[key] = QueueItem(flag.target_kind, target, [])
        items[key].flags.append(flag)
    return list(items.values())[:limit]


def hidden_text(page: int, per_page: int = 25) -> Window:
    """Hidden tips, newest first, so that a moderator can restore one."""
    query = (
        select(Experience)
        .options(joinedload(Experience.user))
        .where(_in_state(Experience, "hidden"))
        .order_by(Experience.updated_at.desc(), Experience.id.desc())
    )
    return Window(db.session, query, page, per_page)


def hidden_comments(limit: int = 50) -> list[DoctorRating]:
    return db.session.scalars(
        select(DoctorRating)
        .options(joinedload(DoctorRating.user))
        .where(_in_state(DoctorRating, "hidden"))
        .order_by(DoctorRating.updated_at.desc())
        .limit(limit)
    ).all()


def _get(kind: str, target_id: int):
    """The row a flag of this kind points at, or None."""
    model = TEXT_KINDS[kind][0] if kind in TEXT_KINDS else CATALOG_KINDS.get(kind)
    return db.session.get(model, target_id) if model is not None else None


def open_flags(kind: str, target_id: int) -> list[Flag]:
    return db.session.scalars(
        select(Flag).where(Flag.target_kind == kind, Flag.target_id == target_id, Flag.resolved_at.is_(None))
    ).all()


def close_flags(kind: str, target_ids, resolution: str = "gone") -> None:
    """Close the open flags on things that are deleted or lost their text (the caller commits)."""
    ids = list(target_ids)
    for start in range(0, len(ids), 500):
        db.session.execute(
            update(Flag)
            .where(Flag.target_kind == kind, Flag.target_id.in_(ids[start : start + 500]), Flag.resolved_at.is_(None))
            .values(resolved_at=now_utc(), resolution=resolution)
        )


def resolve_flags(flags, resolution: str, moderator: User | None = None) -> None:
    for flag in flags:
        flag.resolved_at, flag.resolution = now_utc(), resolution
        flag.resolved_by_id = moderator.id if moderator is not None else None


# --- decisions ------------------------------------------------------------------------------------


def moderated_text(kind: str, target_id: int):
    """The tip's experience or the comment's rating, when it has text to moderate."""
    if kind not in TEXT_KINDS:
        return None
    row = _get(kind, target_id)
    return row if row is not None and getattr(row, TEXT_KINDS[kind][1]) else None


def set_text_state(moderator: User, kind: str, row, state: str, reason: str | None) -> None:
    """Hide, keep or restore a text; resolves its open flags and records the decision."""
    old = row.text_state
    # The author sees the reason for a hidden text; a kept or restored one needs none.
    row.text_state, row.text_reason = state, (reason if state == "hidden" else None)
    # Not the author's edit: updated_at stays (the aggregates' duration bands and the tips' order read
    # it). Setting it explicitly keeps the column's onupdate from stamping "now".
    flag_modified(row, "updated_at")
    if old == "held" and state == "public" and isinstance(row, Experience):
        row.tips_published_at = now_utc()  # first shown now: news to those who follow the condition
    if state == "hidden":
        row.user.text_on_review = True  # their next texts wait for a moderator too
    resolution = {"hidden": "hidden", "public": "kept" if old != "hidden" else "restored"}[state]
    resolve_flags(open_flags(kind, row.id), resolution, moderator)
    audit.record(
        f"moderation.{resolution}", kind, row.id, {"from": old, "to": state, "reason": reason}, actor=moderator
    )


def dismiss_flags(moderator: User, kind: str, target_id: int, reason: str | None) -> int:
    """Close the open flags on a catalog entry (or text) without changing it."""
    if _get(kind, target_id) is None:
        raise LookupError(f"no {kind} {target_id}")
    flags = open_flags(kind, target_id)
    resolve_flags(flags, "kept", moderator)
    audit.record("moderation.kept", kind, target_id, {"flags": len(flags), "reason": reason}, actor=moderator)
    return len(flags)
