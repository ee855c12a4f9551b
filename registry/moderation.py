"""Moderation: flags, holding text with contact details, hiding and restoring, catalog merges.

Only free text is moderated. A hidden or held tip is shown nowhere public and never exported,
but the structured answers of its experience still count: they are not free text.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import flag_modified

from registry import aggregates, audit
from registry.database import now_utc, parse_id
from registry.extensions import db
from registry.models import (
    Condition,
    ConditionSynonym,
    Diagnosis,
    Doctor,
    DoctorRating,
    Experience,
    Flag,
    Treatment,
    TreatmentSynonym,
    User,
    condition_treatment,
)
from registry.pagination import Window
from registry.text import contact_details, name_key

# Which model and column hold each kind of moderated text.
TEXT_KINDS = {"tip": (Experience, "tips"), "comment": (DoctorRating, "comment")}
TEXT_KIND_OF = {column: kind for kind, (_, column) in TEXT_KINDS.items()}
CATALOG_KINDS = {"condition": Condition, "treatment": Treatment, "doctor": Doctor}


def _in_state(model, state: str):
    """Rows whose text is held or hidden, worded so that the partial text_state index serves them."""
    return (model.text_state != "public") & (model.text_state == state)


def screen_text(row, old_text: str | None) -> None:
    """Set a tip's or comment's state after its author saved it.

    New text with contact details is held for review, and so is any new text of a participant
    one of whose texts a moderator hid. Unchanged text keeps its state; a hidden text stays
    hidden while it is empty, so that emptying it and typing it again does not make it public.
    """
    column = "tips" if isinstance(row, Experience) else "comment"
    text = getattr(row, column)
    if not text:
        if row.text_state != "hidden":
            row.text_state, row.text_reason = "public", None
        if row.id is not None:  # the flagged words are gone
            close_flags(TEXT_KIND_OF[column], [row.id], "gone")
        return
    if text == old_text and row.text_state is not None:
        return
    found = contact_details(text)
    author = row.user if row.user is not None else db.session.get(User, row.user_id)
    if found:
        row.text_state = "held"
        row.text_reason = f"Held for review because it seems to contain {' and '.join(found)}."
    elif row.text_state == "hidden":
        row.text_state = "held"
        row.text_reason = "Edited after a moderator hid it; waiting for review."
    elif author is not None and author.text_on_review:
        row.text_state = "held"
        row.text_reason = "Waiting for review: a moderator hid an earlier text of yours."
    else:
        row.text_state, row.text_reason = "public", None


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
            select(model).options(joinedload(model.user)).where(_in_state(model, "held"))
            .order_by(model.updated_at).limit(limit)
        )  # fmt: skip
        for row in held:
            items[kind, row.id] = QueueItem(kind, row, [])
    flags = db.session.scalars(
        select(Flag).options(joinedload(Flag.reporter)).where(Flag.resolved_at.is_(None))
        .order_by(Flag.created_at, Flag.id).limit(limit * 5)
    )  # fmt: skip
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
        select(DoctorRating).options(joinedload(DoctorRating.user)).where(_in_state(DoctorRating, "hidden"))
        .order_by(DoctorRating.updated_at.desc()).limit(limit)
    ).all()  # fmt: skip


def _get(kind: str, target_id: int):
    """The row a flag of this kind points at, or None."""
    model = TEXT_KINDS[kind][0] if kind in TEXT_KINDS else CATALOG_KINDS.get(kind)
    return db.session.get(model, target_id) if model is not None else None


def _open_flags(kind: str, target_id: int) -> list[Flag]:
    return db.session.scalars(
        select(Flag).where(Flag.target_kind == kind, Flag.target_id == target_id, Flag.resolved_at.is_(None))
    ).all()


def close_flags(kind: str, target_ids, resolution: str = "gone") -> None:
    """Close the open flags on things that are deleted or lost their text (the caller commits)."""
    ids = list(target_ids)
    for start in range(0, len(ids), 500):
        db.session.execute(
            update(Flag)
            .where(Flag.target_kind == kind, Flag.target_id.in_(ids[start:start + 500]), Flag.resolved_at.is_(None))
            .values(resolved_at=now_utc(), resolution=resolution)
        )


def _resolve(flags, resolution: str, moderator: User | None = None) -> None:
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
    if state == "hidden":
        row.user.text_on_review = True  # their next texts wait for a moderator too
    resolution = {"hidden": "hidden", "public": "kept" if old != "hidden" else "restored"}[state]
    _resolve(_open_flags(kind, row.id), resolution, moderator)
    audit.record(f"moderation.{resolution}", kind, row.id, {"from": old, "to": state, "reason": reason},
                 actor=moderator)  # fmt: skip


def dismiss_flags(moderator: User, kind: str, target_id: int, reason: str | None) -> int:
    """Close the open flags on a catalog entry (or text) without changing it."""
    if _get(kind, target_id) is None:
        raise LookupError(f"no {kind} {target_id}")
    flags = _open_flags(kind, target_id)
    _resolve(flags, "kept", moderator)
    audit.record("moderation.kept", kind, target_id, {"flags": len(flags), "reason": reason}, actor=moderator)
    return len(flags)


# --- catalog merges -------------------------------------------------------------------------------


def find_entry(kind: str, text: str):
    """The catalog entry a moderator named: a slug or a name (any case or accents), a doctor by number."""
    model = CATALOG_KINDS[kind]
    text = text.strip()
    if model is Doctor:
        doctor_id = parse_id(text)
        return db.session.get(Doctor, doctor_id) if doctor_id is not None else None
    return db.session.scalar(select(model).where((model.slug == text) | (model.name_key == name_key(text))))


def merge_preview(kind: str, source, survivor) -> dict[str, int]:
    """How many reports would move to the survivor."""
    if kind == "doctor":
        return {"ratings": _count(DoctorRating, DoctorRating.doctor_id == source.id)}
    column = Experience.treatment_id if kind == "treatment" else Experience.condition_id
    counts = {"experiences": _count(Experience, column == source.id)}
    if kind == "condition":
        counts["ratings"] = _count(DoctorRating, DoctorRating.condition_id == source.id)
    return counts


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def merge(moderator: User, kind: str, source, survivor) -> dict[str, int]:
    """Move every report of a duplicate catalog entry to the survivor, then remove the duplicate.

    Returns how many reports moved and how many were one participant's second report of a pair.

    A participant who reported both entries for the same pair made one report twice: the newer
    one is kept and the older removed, so nobody is counted twice. Each moved experience leaves
    the aggregates under its old key and enters them under the new one in this transaction.
    """
    if source.id == survivor.id:
        raise ValueError("An entry cannot be merged into itself.")
    result = {}
    if kind == "doctor":
        result["ratings"], result["duplicate ratings"] = _move_ratings("doctor_id", source.id, survivor.id)
    else:
        field = "treatment_id" if kind == "treatment" else "condition_id"
        result["experiences"], result["duplicate experiences"] = _move_experiences(field, source.id, survivor.id)
        if kind == "condition":
            result["ratings"], result["duplicate ratings"] = _move_ratings("condition_id", source.id, survivor.id)
            _move_diagnoses(source.id, survivor.id)
            from registry import following  # followers of the duplicate follow the survivor

            following.move_follows(source.id, survivor.id)
        _move_links(kind, source.id, survivor.id)
        _move_synonyms(kind, source, survivor)
    _resolve(_open_flags(kind, source.id), "merged", moderator)
    audit.record("catalog.merge", kind, survivor.id,
                 {"merged": source.id, "merged_name": source.name, "into": survivor.name, **result},
                 actor=moderator)  # fmt: skip
    db.session.delete(source)
    db.session.flush()
    return result


def _twins_to_drop(model, field: str, other: str, source_id: int, survivor_id: int) -> tuple[set[int], int]:
    """Rows that are one participant's second report of the same pair after the merge, and the pair count.

    Of a participant's report under the duplicate and their report under the survivor, the newer stays.
    """
    twin = aliased(model)
    pairs = db.session.execute(
        select(model.id, model.updated_at, twin.id, twin.updated_at)
        .join(twin, (twin.user_id == model.user_id) & (getattr(twin, other) == getattr(model, other)))
        .where(getattr(model, field) == source_id, getattr(twin, field) == survivor_id)
    ).all()
    drop = {twin_id if (updated, row_id) > (twin_updated, twin_id) else row_id
            for row_id, updated, twin_id, twin_updated in pairs}  # fmt: skip
    return drop, len(pairs)


def _move_experiences(field: str, source_id: int, survivor_id: int) -> tuple[int, int]:
    """Re-key a duplicate's experiences in bulk: out of the aggregates under the old key, in under the new.

    updated_at is kept: a merge is not the author's edit (and "duration as reported" reads it).
    """
    other = "condition_id" if field == "treatment_id" else "treatment_id"
    column = getattr(Experience, field)
    drop, n_pairs = _twins_to_drop(Experience, field, other, source_id, survivor_id)
    rows, side_effects, stop_reasons = aggregates.rows_where(db.session, column == source_id)
    connection = db.session.connection()
    aggregates.record(connection, rows, side_effects, stop_reasons, sign=-1)
    source_ids = {r["id"] for r in rows}
    dropped_twins = sorted(drop - source_ids)
    if dropped_twins:
        aggregates.record(connection, *aggregates.rows_where(db.session, Experience.id.in_(dropped_twins)), sign=-1)
    db.session.flush()
    if drop:
        close_flags("tip", drop)
        db.session.execute(delete(Experience).where(Experience.id.in_(sorted(drop))))
    db.session.execute(
        update(Experience).where(column == source_id)
        .values({field: survivor_id, "updated_at": Experience.updated_at})
    )  # fmt: skip
    moved = [{**row, field: survivor_id} for row in rows if row["id"] not in drop]
    kept_ids = {row["id"] for row in moved}
    aggregates.record(connection, moved, [r for r in side_effects if r["experience_id"] in kept_ids],
                      [r for r in stop_reasons if r["experience_id"] in kept_ids], sign=1)  # fmt: skip
    db.session.expire_all()  # the ORM's copies of moved and deleted rows are stale now
    return len(moved), n_pairs


def _move_ratings(field: str, source_id: int, survivor_id: int) -> tuple[int, int]:
    """Re-key a duplicate's ratings in bulk (field: doctor_id or condition_id); updated_at is kept."""
    other = "doctor_id" if field == "condition_id" else "condition_id"
    drop, n_pairs = _twins_to_drop(DoctorRating, field, other, source_id, survivor_id)
    db.session.flush()
    if drop:
        close_flags("comment", drop)
        db.session.execute(delete(DoctorRating).where(DoctorRating.id.in_(sorted(drop))))
    moved = db.session.execute(
        update(DoctorRating).where(getattr(DoctorRating, field) == source_id)
        .values({field: survivor_id, "updated_at": DoctorRating.updated_at})
    ).rowcount  # fmt: skip
    db.session.expire_all()
    return moved, n_pairs


def _move_diagnoses(source_id: int, survivor_id: int) -> None:
    """A participant keeps the survivor's diagnosis year when they gave one for both."""
    have = select(Diagnosis.user_id).where(Diagnosis.condition_id == survivor_id)
    db.session.execute(delete(Diagnosis).where(Diagnosis.condition_id == source_id, Diagnosis.user_id.in_(have)))
    db.session.execute(update(Diagnosis).where(Diagnosis.condition_id == source_id).values(condition_id=survivor_id))


def _move_links(kind: str, source_id: int, survivor_id: int) -> None:
    mine, theirs = ("treatment_id", "condition_id") if kind == "treatment" else ("condition_id", "treatment_id")
    table = condition_treatment
    linked = select(table.c[theirs]).where(table.c[mine] == survivor_id)
    rows = db.session.execute(
        select(table.c[theirs]).where(table.c[mine] == source_id, table.c[theirs].not_in(linked))
    ).scalars().all()
    if rows:
        db.session.execute(table.insert(), [{mine: survivor_id, theirs: other} for other in rows])
    db.session.execute(delete(table).where(table.c[mine] == source_id))


def _move_synonyms(kind: str, source, survivor) -> None:
    """The duplicate's name and synonyms now find the survivor."""
    model, owner = (TreatmentSynonym, "treatment_id") if kind == "treatment" else (ConditionSynonym, "condition_id")
    known = set(db.session.scalars(select(model.key).where(getattr(model, owner) == survivor.id)))
    for synonym in db.session.scalars(select(model).where(getattr(model, owner) == source.id)).all():
        if synonym.key in known:
            db.session.delete(synonym)
        else:
            setattr(synonym, owner, survivor.id)
            known.add(synonym.key)
    key = name_key(source.name)
    if key not in known and key != survivor.name_key:
        db.session.add(model(**{owner: survivor.id}, name=source.name, key=key))
    db.session.flush()
