"""Outside vocabularies: ICD-10-CM (simple-icd-10-cm) and drug names (drug-named-entity-recognition).

Both packages take about two seconds to import, so they are imported on first use only:
a page that does not search never pays for them.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass, field

from registry.text import fold, name_key

# Words patients add to a brand name that say how it is made, not what it is.
_FORMULATION_WORDS = {
    "cr", "er", "xr", "xl", "sr", "la", "dr", "ir", "odt", "hfa", "cd", "xt", "ec", "mr",
    "pen", "pens", "patch", "patches", "tablet", "tablets", "tab", "tabs", "capsule",
    "capsules", "cap", "caps", "injection", "injections", "inhaler", "diskus", "respimat",
    "ellipta", "autoinjector", "solution", "cream", "gel", "ointment", "spray", "nasal",
    "oral", "extended", "delayed", "release", "prefilled", "syringe", "vial", "generic",
}  # fmt: skip
_DOSE_TOKEN = re.compile(r"^\d+([.,]\d+)?(mg|mcg|g|ml|iu|units?|%)?$")

# Combination brands the drug vocabulary does not know, as a pharmacist would resolve them.
_EXTRA_BRANDS = {
    "vicodin": "Hydrocodone/acetaminophen",
    "norco": "Hydrocodone/acetaminophen",
    "lortab": "Hydrocodone/acetaminophen",
    "percocet": "Oxycodone/acetaminophen",
    "endocet": "Oxycodone/acetaminophen",
    "janumet": "Sitagliptin/metformin",
    "synjardy": "Empagliflozin/metformin",
    "xigduo": "Dapagliflozin/metformin",
    "tylenol 3": "Acetaminophen/codeine",
    "tylenol with codeine": "Acetaminophen/codeine",
}

MIN_FUZZY_SIMILARITY = 0.65


@dataclass(frozen=True)
class DrugMatch:
    """A drug the vocabulary resolved a typed name to."""

    name: str  # the generic (ingredient) name
    matched: str  # what the patient typed that matched
    drugbank_id: str | None = None
    mesh_id: str | None = None
    synonyms: tuple[str, ...] = field(default=(), compare=False)
    fuzzy: bool = False

    @property
    def keys(self) -> set[str]:
        """Every name key under which the catalog may already hold this drug."""
        return {name_key(self.name)} | {name_key(s) for s in self.synonyms}


@functools.cache
def _icd():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package imports the deprecated pkg_resources
        import simple_icd_10_cm

    return simple_icd_10_cm


@functools.cache
def _find_drugs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from drug_named_entity_recognition import find_drugs

    return find_drugs


def normalize_icd10(code: str | None) -> str | None:
    """The dotted, upper-case form of a valid ICD-10-CM code, or None when it is not one."""
    raw = (code or "").strip().upper().replace(" ", "")
    if not raw or not re.fullmatch(r"[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?", raw):
        return None
    icd = _icd()
    if not icd.is_valid_item(raw):
        return None
    if icd.is_chapter_or_block(raw):
        return None
    return icd.add_dot(raw)


def icd10_description(code: str) -> str:
    """The official ICD-10-CM description of a valid code."""
    return _icd().get_description(code)


@functools.cache
def _icd_index() -> list[tuple[str, str, str]]:
    """(code, description, folded description) for categories and subcategories."""
    icd = _icd()
    rows = []
    for code in icd.get_all_codes(True):
        if icd.is_category_or_subcategory(code):
            description = icd.get_description(code)
            rows.append((code, description, fold(description)))
    return rows


def search_icd10(text: str, limit: int = 10) -> list[tuple[str, str]]:
    """ICD-10-CM (code, description) pairs for a code or words of a description."""
    code = normalize_icd10(text)
    if code:
        return [(code, icd10_description(code))]
    words = fold(text).split()
    if not words or len(" ".join(words)) < 3:
        return []
    hits = [(c, d) for c, d, f in _icd_index() if all(w in f for w in words)]
    # Shorter codes are the broader, more useful entries for a patient.
    hits.sort(key=lambda hit: (len(hit[0]), hit[0]))
    return hits[:limit]


def _strip_formulation(text: str) -> list[str]:
    words = [w for w in re.split(r"[\s\-/+]+", text.strip()) if w]
    kept = [w for w in words if w.lower() not in _FORMULATION_WORDS and not _DOSE_TOKEN.match(w.lower())]
    return kept or words


def _call_finder(words: list[str], fuzzy: bool) -> list[dict]:
    try:
        return [hit for hit, _, _ in _find_drugs()(words, is_ignore_case=True, is_fuzzy_match=fuzzy)]
    except Exception:  # the package raises on some inputs (e.g. digits with fuzzy matching)
        return []


def resolve_drug(text: str) -> list[DrugMatch]:
    """Generic drugs a typed name (brand, synonym, misspelling, with formulation words) means."""
    text = " ".join((text or "").split())
    if len(text) < 3 or len(text) > 120:
        return []
    extra = _EXTRA_BRANDS.get(name_key(text)) or _EXTRA_BRANDS.get(
        name_key(" ".join(_strip_formulation(text)))
    )
    if extra:
        return [DrugMatch(name=extra, matched=text, synonyms=(text,))]
    words = _strip_formulation(text)
    hits = _call_finder(words, fuzzy=False)
    fuzzy = False
    if not hits:
        hits = [
            h for h in _call_finder(words, fuzzy=True) if h.get("match_similarity", 0) >= MIN_FUZZY_SIMILARITY
        ]
        fuzzy = True
    matches: dict[str, DrugMatch] = {}
    for hit in hits:
        key = name_key(hit["name"])
        if key in matches:
            continue
        matches[key] = DrugMatch(
            name=hit["name"],
            matched=hit.get("matching_string") or text,
            drugbank_id=hit.get("drugbank_id"),
            mesh_id=hit.get("mesh_id"),
            synonyms=tuple(hit.get("synonyms") or ()),
            fuzzy=fuzzy or hit.get("match_type") == "fuzzy",
        )
    return list(matches.values())
