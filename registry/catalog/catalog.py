"""Catalog domain: search, duplicate-safe additions and the starter catalog."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import func, or_, select

from forms.text import clean, doctor_key, name_key, slugify
from registry import PACKAGE
from registry.catalog import vocab
from registry.models import (
    Condition,
    ConditionSynonym,
    Doctor,
    Experience,
    Treatment,
    TreatmentSynonym,
    condition_treatment,
)
from registry.platform.extensions import db
from registry.reporting import cached_reports
from reports.filters import Filters
from scales.i18n import gettext as _

STARTER_CATALOG = PACKAGE / "data" / "catalog.json"

# Entries the vocabularies know but the catalog lacks, offered after the catalog's own hits.
VOCABULARY_OFFERS = 3


@dataclass
class Hit:
    """One search result; slug is None for an entry the vocabulary knows but the catalog lacks."""

    slug: str | None
    name: str
    matched: str
    in_catalog: bool
    kind: str | None = None
    icd10: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _unique_slug(model, name: str) -> str:
    base = slugify(name)[:100]
    slug, n = base, 2
    while db.session.scalar(select(model.id).where(model.slug == slug)) is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _like(key: str) -> str:
    return "%" + key.replace("\\", "").replace("%", "").replace("_", "") + "%"


# --- conditions ----------------------------------------------------------------------------


def find_condition(name: str) -> Condition | None:
    """The condition a name or synonym means, ignoring case, spacing and accents.

    None for a broad word that means several of the catalog's conditions ("Depression"): see broad_conditions.
    """
    key = name_key(name)
    if not key or (key in broad_terms() and len(broad_conditions(name)) > 1):
        return None
    found = db.session.scalar(select(Condition).where(Condition.name_key == key))
    if found is None:
        found = db.session.scalar(select(Condition).join(ConditionSynonym).where(ConditionSynonym.key == key).limit(1))
    return found


@functools.cache
def _broad_terms(path: Path) -> dict[str, tuple[str, ...]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {name_key(item["name"]): tuple(item["conditions"]) for item in data.get("broad_conditions", ())}


def broad_terms() -> dict[str, tuple[str, ...]]:
    """name_key of a broad word -> the slugs of the diagnoses it can mean (the starter catalog's list)."""
    return _broad_terms(STARTER_CATALOG)


def broad_conditions(name: str) -> list[Condition]:
    """The catalog's conditions a broad word can mean, in the starter catalog's order ([] if it is not one)."""
    slugs = broad_terms().get(name_key(name), ())
    if not slugs:
        return []
    rows = {c.slug: c for c in db.session.scalars(select(Condition).where(Condition.slug.in_(slugs)))}
    return [rows[s] for s in slugs if s in rows]


# Names cut short by whoever exported them ("Bipolar Disorde", "ibromyalgia"): a name that lacks at
# most this many letters inside its last word (or its first) still means the one entry it begins (ends) with.
CUT_END_LETTERS = 3
CUT_START_LETTERS = 2
CUT_MIN_LENGTH = 6


def match_condition(name: str) -> list[Condition]:
    """The conditions a name as people write it can mean: [] none, [one], or several for a broad word.

    Tried in order: a broad word; the name or a synonym; "Diabetes, Type 2" read as "Type 2
    Diabetes"; a name cut off at its end or start by a few letters, when exactly one entry fits.
    """
    broad = broad_conditions(name)
    if len(broad) > 1:
        return broad
    found = find_condition(name)
    if found is None and name.count(",") == 1:
        head, tail = name.split(",")
        found = find_condition(f"{tail} {head}")
    if found is None:
        found = _cut_off(name_key(name))
    return [found] if found is not None else []


def _cut_off(key: str) -> Condition | None:
    """The one condition whose name or synonym a cut-off key is the start or end of (None if not exactly one)."""
    if len(key) < CUT_MIN_LENGTH or key in broad_terms():
        return None
    pattern = key.replace("%", "").replace("_", "")
    rows = db.session.execute(
        select(Condition.id, Condition.name_key, ConditionSynonym.key)
        .outerjoin(ConditionSynonym, ConditionSynonym.condition_id == Condition.id)
        .where(
            or_(
                Condition.name_key.like(pattern + "%"),
                Condition.name_key.like("%" + pattern),
                ConditionSynonym.key.like(pattern + "%"),
                ConditionSynonym.key.like("%" + pattern),
            )
        )
    ).all()
    ids = set()
    for condition_id, *names in rows:
        for full in names:
            if not full or full == key:
                continue
            if full.startswith(key):
                missing = full[len(key) :]
                if len(missing) <= CUT_END_LETTERS and missing.isalpha():
                    ids.add(condition_id)
            elif full.endswith(key):
                missing = full[: len(full) - len(key)]
                if len(missing) <= CUT_START_LETTERS and missing.isalpha():
                    ids.add(condition_id)
    return db.session.get(Condition, ids.pop()) if len(ids) == 1 else None


def search_conditions(q: str, limit: int = 20, vocabulary: bool = True) -> list[Hit]:
    """Conditions by name, synonym or ICD-10-CM code; then ICD-10-CM entries not yet in the catalog."""
    key = name_key(q)
    if not key:
        return []
    code = q.strip().upper()
    pattern = _like(key)
    rows = db.session.execute(
        select(Condition.slug, Condition.name, Condition.icd10, ConditionSynonym.name)
        .outerjoin(ConditionSynonym, ConditionSynonym.condition_id == Condition.id)
        .where(
            or_(
                Condition.name_key.like(pattern),
                ConditionSynonym.key.like(pattern),
                Condition.icd10.like(code.replace("%", "") + "%"),
            )
        )
        .order_by(Condition.name)
    ).all()
    hits: dict[str, Hit] = {}
    for slug, name, icd10, synonym in rows:
        matched = name if key in name_key(name) or synonym is None else synonym
        if slug not in hits or matched == name:
            hits[slug] = Hit(slug, name, matched, True, icd10=icd10)
    results = sorted(hits.values(), key=lambda h: (not name_key(h.name).startswith(key), h.name))[:limit]
    # A drug's name is not a condition: "Ambien" must not offer "... in ambient air" (a code still is).
    if vocabulary and (vocab.normalize_icd10(q) or not vocab.is_drug_name(q)):
        known = {h.icd10 for h in results} | set(
            db.session.scalars(select(Condition.icd10).where(Condition.icd10.is_not(None)))
        )
        offers = [
            Hit(None, description, icd_code, False, icd10=icd_code)
            for icd_code, description in vocab.search_icd10(q, limit=VOCABULARY_OFFERS + len(known))
            if icd_code not in known
        ]
        results += offers[:VOCABULARY_OFFERS]
    return results


def add_condition(name: str, icd10: str | None = None, synonyms=(), user=None) -> tuple[Condition, bool]:
    """Return the existing condition a name means, or add a new one; (condition, created).

    ValueError for a broad word that means several listed conditions: the caller asks which one.
    """
    broad = broad_conditions(name)
    if len(broad) > 1:
        raise ValueError(
            _(
                "%(name)s can mean %(meanings)s: choose the one meant",
                name=repr(clean(name)),
                meanings=", ".join(c.name for c in broad),
            )
        )
    existing = find_condition(name)
    if existing is not None:
        return existing, False
    code = None
    if icd10:
        code = vocab.normalize_icd10(icd10)
        if code is None:
            raise ValueError(_("%(code)s is not an ICD-10-CM code", code=repr(icd10)))
    condition = Condition(
        slug=_unique_slug(Condition, name),
        name=clean(name),
        name_key=name_key(name),
        icd10=code,
        created_by_id=user.id if user is not None else None,
    )
    _add_synonyms(condition, ConditionSynonym, synonyms)
    db.session.add(condition)
    db.session.flush()
    return condition, True


def _add_synonyms(entry, synonym_model, names) -> None:
    have = {name_key(entry.name)} | {s.key for s in entry.synonyms}
    for synonym in names:
        key = name_key(synonym)
        if key and key not in have:
            entry.synonyms.append(synonym_model(name=clean(synonym), key=key))
            have.add(key)


# --- treatments ----------------------------------------------------------------------------


def find_treatment(name: str, drug: vocab.DrugMatch | None = None) -> Treatment | None:
    """The treatment a name, brand or synonym means, ignoring case, spacing and accents."""
    keys = {name_key(name)} - {""}
    if drug is not None:
        keys |= drug.keys
        if drug.drugbank_id:
            found = db.session.scalar(select(Treatment).where(Treatment.drugbank_id == drug.drugbank_id))
            if found is not None:
                return found
    if not keys:
        return None
    found = db.session.scalar(select(Treatment).where(Treatment.name_key.in_(keys)).limit(1))
    if found is None:
        found = db.session.scalar(
            select(Treatment).join(TreatmentSynonym).where(TreatmentSynonym.key.in_(keys)).limit(1)
        )
    return found


def search_treatments(q: str, limit: int = 20, vocabulary: bool = True) -> list[Hit]:
    """Treatments by name or synonym; brand names and misspellings resolve to the generic drug."""
    key = name_key(q)
    if not key:
        return []
    pattern = _like(key)
    rows = db.session.execute(
        select(Treatment.slug, Treatment.name, Treatment.kind, TreatmentSynonym.name)
        .outerjoin(TreatmentSynonym, TreatmentSynonym.treatment_id == Treatment.id)
        .where(or_(Treatment.name_key.like(pattern), TreatmentSynonym.key.like(pattern)))
        .order_by(Treatment.name)
    ).all()
    hits: dict[str, Hit] = {}
    for slug, name, kind, synonym in rows:
        in_name = key in name_key(name)
        matched = name if in_name or synonym is None else synonym
        if slug not in hits or in_name:
            hits[slug] = Hit(slug, name, matched, True, kind=kind)
    results = sorted(hits.values(), key=lambda h: (not name_key(h.matched).startswith(key), h.name))
    offers: list[Hit] = []
    if vocabulary:
        resolved: list[Hit] = []
        for drug in vocab.resolve_drug(q):
            treatment = find_treatment(drug.name, drug)
            if treatment is None:
                offers.append(Hit(None, drug.name, drug.matched, False, kind="drug"))
            elif treatment.slug in hits:  # the drug the name means goes first
                resolved.append(hits[treatment.slug])
            else:
                resolved.append(Hit(treatment.slug, treatment.name, drug.matched, True, kind=treatment.kind))
        results = resolved + [h for h in results if h not in resolved]
    return results[:limit] + offers[:VOCABULARY_OFFERS]


# A query naming a treatment and a condition ("Metformin for Type 2 diabetes", "metformin diabetes"):
# at most this many words (each split of them is two searches), each part at least this long.
PAIR_MAX_WORDS = 8
PAIR_MIN_PART = 3


def _whole_words(part: str, name: str) -> bool:
    """Whether every word of part is a whole word of name ("diabetes" in "Type 2 diabetes", not "Prediabetes")."""
    return set(part.split()) <= set(name_key(name).split())


def search_pairs(q: str, limit: int = 3) -> list[tuple[Condition, Treatment]]:
    """Treatment-for-condition pairs a query names, best first: whole-word matches, then conditions with more reports.

    "X for Y" splits at "for"; otherwise every split of the words is tried, either way round. Only
    pairs the catalog links are offered: a shortcut to an unlisted pair would tell that someone
    reported it.
    """
    words = name_key(q).split()
    if not 2 <= len(words) <= PAIR_MAX_WORDS:
        return []
    if "for" in words[1:-1]:
        at = words.index("for", 1)
        splits = [(words[:at], words[at + 1 :], True)]
    else:
        splits = [(words[:i], words[i:], False) for i in range(1, len(words))]
        splits += [(words[i:], words[:i], False) for i in range(1, len(words))]
    candidates: dict[tuple[int, int], bool] = {}
    for treatment_words, condition_words, named in splits:
        treatment_part, condition_part = " ".join(treatment_words), " ".join(condition_words)
        if len(treatment_part) < PAIR_MIN_PART or len(condition_part) < PAIR_MIN_PART:
            continue
        # The vocabulary (brand names) only for "X for Y": it is slow, and a split's halves are guesses.
        treatments = [h for h in search_treatments(treatment_part, limit=5, vocabulary=named) if h.in_catalog]
        conditions = search_conditions(condition_part, limit=5, vocabulary=False)
        for t in treatments:
            for c in conditions:
                whole = _whole_words(condition_part, c.matched) and (named or _whole_words(treatment_part, t.matched))
                candidates[(c.slug, t.slug)] = candidates.get((c.slug, t.slug), False) or whole
    if not candidates:
        return []
    condition_slugs = {c for c, _ in candidates}
    treatment_slugs = {t for _, t in candidates}
    rows = db.session.execute(
        select(Condition, Treatment)
        .join(condition_treatment, condition_treatment.c.condition_id == Condition.id)
        .join(Treatment, Treatment.id == condition_treatment.c.treatment_id)
        .where(Condition.slug.in_(condition_slugs), Treatment.slug.in_(treatment_slugs))
    ).all()
    counts = cached_reports.condition_counts()
    linked = [(c, t) for c, t in rows if (c.slug, t.slug) in candidates]
    linked.sort(
        key=lambda pair: (not candidates[(pair[0].slug, pair[1].slug)], -counts.get(pair[0].id, 0), pair[0].name)
    )
    return linked[:limit]


def add_treatment(name: str, kind: str, synonyms=(), user=None) -> tuple[Treatment, bool]:
    """Return the existing treatment a name means, or add it (a drug under its generic name)."""
    drug = None
    if kind == "drug":
        matches = vocab.resolve_drug(name)
        drug = matches[0] if len(matches) == 1 else None
    existing = find_treatment(name, drug)
    if existing is not None:
        _add_synonyms(existing, TreatmentSynonym, [name, *synonyms])
        return existing, False
    canonical = drug.name if drug is not None else clean(name)
    treatment = Treatment(
        slug=_unique_slug(Treatment, canonical),
        name=canonical[:1].upper() + canonical[1:],
        name_key=name_key(canonical),
        kind=kind,
        drugbank_id=drug.drugbank_id if drug else None,
        mesh_id=drug.mesh_id if drug else None,
        created_by_id=user.id if user is not None else None,
    )
    _add_synonyms(treatment, TreatmentSynonym, [name, *synonyms])
    db.session.add(treatment)
    db.session.flush()
    return treatment, True


# --- doctors -------------------------------------------------------------------------------


def find_doctor(name: str, city: str, country: str) -> Doctor | None:
    """The doctor with this name in this city, ignoring case, spacing, accents and titles."""
    return db.session.scalar(
        select(Doctor).where(
            Doctor.name_key == doctor_key(name),
            Doctor.city_key == name_key(city),
            Doctor.country == country.upper(),
        )
    )


def add_doctor(name: str, specialty: str, city: str, country: str, user=None) -> tuple[Doctor, bool]:
    """Return the matching doctor or add a new one; (doctor, created)."""
    existing = find_doctor(name, city, country)
    if existing is not None:
        return existing, False
    doctor = Doctor(
        name=clean(name),
        name_key=doctor_key(name),
        specialty=clean(specialty),
        city=clean(city),
        city_key=name_key(city),
        country=country.upper(),
        created_by_id=user.id if user is not None else None,
    )
    db.session.add(doctor)
    db.session.flush()
    return doctor, True


def search_doctors(q: str = "", specialty: str = "", city: str = "", country: str = ""):
    """A select of doctors whose name, specialty, city and country match the given filters."""
    query = select(Doctor).order_by(Doctor.name)
    if name_key(q):
        query = query.where(Doctor.name_key.like(_like(doctor_key(q))))
    if clean(specialty):
        query = query.where(Doctor.specialty.ilike(_like(clean(specialty))))
    if name_key(city):
        query = query.where(Doctor.city_key.like(_like(name_key(city))))
    if country:
        query = query.where(Doctor.country == country.upper())
    return query


# --- the starter catalog -------------------------------------------------------------------


def load_starter_catalog(path: Path = STARTER_CATALOG) -> dict[str, int]:
    """Add what is missing from the starter catalog; return counts of what was added."""
    data = json.loads(path.read_text(encoding="utf-8"))
    added = {"conditions": 0, "treatments": 0, "links": 0}
    treatments: dict[str, Treatment] = {t.slug: t for t in db.session.scalars(select(Treatment))}
    for item in data["treatments"]:
        treatment = treatments.get(item["slug"]) or find_treatment(item["name"])
        if treatment is None:
            treatment = Treatment(
                slug=item["slug"],
                name=item["name"],
                name_key=name_key(item["name"]),
                kind=item["kind"],
                drugbank_id=item.get("drugbank_id"),
                mesh_id=item.get("mesh_id"),
            )
            db.session.add(treatment)
            added["treatments"] += 1
        _add_synonyms(treatment, TreatmentSynonym, item.get("synonyms", ()))
        treatments[item["slug"]] = treatment
    conditions = {c.slug: c for c in db.session.scalars(select(Condition))}
    for item in data["conditions"]:
        condition = conditions.get(item["slug"]) or find_condition(item["name"])
        if condition is None:
            condition = Condition(
                slug=item["slug"],
                name=item["name"],
                name_key=name_key(item["name"]),
                icd10=item.get("icd10"),
            )
            db.session.add(condition)
            added["conditions"] += 1
        _add_synonyms(condition, ConditionSynonym, item.get("synonyms", ()))
        for synonym in [s for s in condition.synonyms if s.key in broad_terms()]:
            condition.synonyms.remove(synonym)  # an older catalog gave a broad word to one diagnosis
        linked = {t.slug for t in condition.treatments}
        for slug in item.get("treatments", ()):
            if slug not in linked:
                condition.treatments.append(treatments[slug])
                added["links"] += 1
    db.session.commit()
    return added


def report_total() -> int:
    """Number of experiences in the registry."""
    return db.session.scalar(select(func.count(Experience.id))) or 0


def popular_conditions(limit: int = 12) -> list[tuple[Condition, int]]:
    """The most reported conditions with their counts (conditions without reports last)."""
    counts = cached_reports.condition_counts()
    conditions = db.session.scalars(select(Condition).order_by(Condition.name)).all()
    ranked = sorted(conditions, key=lambda c: -counts.get(c.id, 0))
    return [(c, counts.get(c.id, 0)) for c in ranked[:limit]]


def condition_choices() -> list[tuple[str, str]]:
    """(slug, name) of every condition, by name: the choices of a condition field."""
    return [tuple(row) for row in db.session.execute(select(Condition.slug, Condition.name).order_by(Condition.name))]


def treatments_for(condition: Condition, shown_slugs=()) -> list[Treatment]:
    """The condition's treatments listed in the catalog, plus those its report shows, by name.

    Treatments reported too few times to show are not added: listing them would tell that
    someone reported them.
    """
    treatments = {t.id: t for t in condition.treatments}
    missing = set(shown_slugs) - {t.slug for t in treatments.values()}
    if missing:
        treatments.update({t.id: t for t in db.session.scalars(select(Treatment).where(Treatment.slug.in_(missing)))})
    return sorted(treatments.values(), key=lambda t: t.name)


MAX_COMPARE = 4


def compare_choice(condition: Condition, wanted: list[str]) -> tuple[list[Treatment], list[Treatment], str | None]:
    """The compare page's offer and choice: (options, chosen in the order asked, the problem or None).

    Offered: the catalog's treatments for the condition and those shown unfiltered (offering every
    reported one would tell that a treatment has a report or two). Chosen only when 2 to MAX_COMPARE
    offered ones are asked for.
    """
    options = treatments_for(condition, [u.slug for u in cached_reports.condition_report(condition, Filters()).shown])
    chosen = sorted((t for t in options if t.slug in wanted), key=lambda t: wanted.index(t.slug))
    problem = None
    if len(wanted) > MAX_COMPARE:
        problem = _("Choose at most %(n)s treatments.", n=MAX_COMPARE)
    elif len(chosen) < len(wanted):
        problem = _("Some of the chosen treatments are not among this condition's treatments.")
    elif len(chosen) < 2:
        problem = _("Choose two to four treatments to compare.") if wanted else None
    return options, (chosen if problem is None and len(chosen) >= 2 else []), problem
