"""Catalog merges: a duplicate condition, treatment or doctor folds into the entry that stays.

Its reports move in bulk, their counts following through registry.reporting.report_upkeep.rewriting();
a participant's second report of the same pair is dropped (the newer stays); flags on the
duplicate close and the merge is on the audit trail.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import aliased

from forms.text import name_key, parse_id
from registry.accounts import audit
from registry.contributions import following
from registry.contributions.moderation import CATALOG_KINDS, close_flags, open_flags, resolve_flags
from registry.models import (
    ConditionSynonym,
    Diagnosis,
    Doctor,
    DoctorRating,
    Experience,
    TreatmentSynonym,
    User,
    condition_treatment,
)
from registry.platform.extensions import db
from registry.reporting import report_upkeep
from scales.i18n import gettext as _
from scales.i18n import ngettext


def _counted(what: str, n: int) -> str:
    """One of a merge's counts in words (what: a MergeResult key)."""
    if what == "experiences":
        return ngettext("%(num)s experience", "%(num)s experiences", n)
    if what == "ratings":
        return ngettext("%(num)s rating", "%(num)s ratings", n)
    if what == "duplicate experiences":
        return ngettext(
            "%(num)s duplicate experience (a participant's second report of the same pair) removed",
            "%(num)s duplicate experiences (a participant's second report of the same pair) removed",
            n,
        )
    return ngettext(
        "%(num)s duplicate rating (a participant's second report of the same pair) removed",
        "%(num)s duplicate ratings (a participant's second report of the same pair) removed",
        n,
    )


class MergeResult(dict):
    """What a merge did: "experiences"/"ratings" moved and "duplicate ..." (second reports of a pair) removed."""

    def summary(self, source_name: str, survivor_name: str) -> str:
        """The moderator's account of the merge, in the reader's language."""
        moved = ", ".join(_counted(what, n) for what, n in self.items() if not what.startswith("duplicate"))
        folded = "; ".join(_counted(what, n) for what, n in self.items() if what.startswith("duplicate") and n)
        names = {"source": source_name, "survivor": survivor_name, "moved": moved}
        if folded:
            return _("Merged %(source)s into %(survivor)s: moved %(moved)s; %(removed)s.", removed=folded, **names)
        return _("Merged %(source)s into %(survivor)s: moved %(moved)s.", **names)


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


def merge(moderator: User, kind: str, source, survivor) -> MergeResult:
    """Move every report of a duplicate catalog entry to the survivor, then remove the duplicate.

    Returns how many reports moved and how many were one participant's second report of a pair.

    A participant who reported both entries for the same pair made one report twice: the newer
    one is kept and the older removed, so nobody is counted twice. Each moved experience leaves
    the aggregates under its old key and enters them under the new one in this transaction.
    """
    if source.id == survivor.id:
        raise ValueError("An entry cannot be merged into itself.")
    result = MergeResult()
    if kind == "doctor":
        result["ratings"], result["duplicate ratings"] = _move_ratings("doctor_id", source.id, survivor.id)
    else:
        field = "treatment_id" if kind == "treatment" else "condition_id"
        result["experiences"], result["duplicate experiences"] = _move_experiences(field, source.id, survivor.id)
        if kind == "condition":
            result["ratings"], result["duplicate ratings"] = _move_ratings("condition_id", source.id, survivor.id)
            _move_diagnoses(source.id, survivor.id)
            following.move_follows(source.id, survivor.id)  # followers of the duplicate follow the survivor
        _move_links(kind, source.id, survivor.id)
        _move_synonyms(kind, source, survivor)
    resolve_flags(open_flags(kind, source.id), "merged", moderator)
    audit.record(
        "catalog.merge",
        kind,
        survivor.id,
        {"merged": source.id, "merged_name": source.name, "into": survivor.name, **result},
        actor=moderator,
    )
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
    drop = {
        twin_id if (updated, row_id) > (twin_updated, twin_id) else row_id
        for row_id, updated, twin_id, twin_updated in pairs
    }
    return drop, len(pairs)


def _move_experiences(field: str, source_id: int, survivor_id: int) -> tuple[int, int]:
    """Re-key a duplicate's experiences in bulk: out of the aggregates under the old key, in under the new.

    updated_at is kept: a merge is not the author's edit (and "duration as reported" reads it).
    """
    other = "condition_id" if field == "treatment_id" else "treatment_id"
    column = getattr(Experience, field)
    drop, n_pairs = _twins_to_drop(Experience, field, other, source_id, survivor_id)
    if drop:
        close_flags("tip", drop)
    source_ids = set(db.session.scalars(select(Experience.id).where(column == source_id)))
    with report_upkeep.rewriting(db.session, source_ids | drop):
        if drop:
            db.session.execute(delete(Experience).where(Experience.id.in_(sorted(drop))))
        db.session.execute(
            update(Experience)
            .where(column == source_id)
            .values({field: survivor_id, "updated_at": Experience.updated_at})
        )
    db.session.expire_all()  # the ORM's copies of moved and deleted rows are stale now
    return len(source_ids - drop), n_pairs


def _move_ratings(field: str, source_id: int, survivor_id: int) -> tuple[int, int]:
    """Re-key a duplicate's ratings in bulk (field: doctor_id or condition_id); updated_at is kept."""
    other = "doctor_id" if field == "condition_id" else "condition_id"
    drop, n_pairs = _twins_to_drop(DoctorRating, field, other, source_id, survivor_id)
    db.session.flush()
    if drop:
        close_flags("comment", drop)
        db.session.execute(delete(DoctorRating).where(DoctorRating.id.in_(sorted(drop))))
    moved = db.session.execute(
        update(DoctorRating)
        .where(getattr(DoctorRating, field) == source_id)
        .values({field: survivor_id, "updated_at": DoctorRating.updated_at})
    ).rowcount
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
    rows = (
        db.session.execute(select(table.c[theirs]).where(table.c[mine] == source_id, table.c[theirs].not_in(linked)))
        .scalars()
        .all()
    )
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
