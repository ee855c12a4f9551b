"""Outside vocabularies: ICD-10-CM (simple-icd-10-cm) and drug names (drug-named-entity-recognition).

Loading both takes about five seconds, so a worker loads them in a background thread when it
starts (`start_preload`): the first search answers as fast as later ones. Whatever is not loaded
yet when it is needed loads there and then, once (a lock keeps two threads from loading twice).
"""

from __future__ import annotations

import functools
import os
import random
import re
import threading
import warnings
from dataclasses import dataclass, field

from registry.text import fold, name_key

# Words patients add to a brand name that say how it is made, not what it is.
_FORMULATION_WORDS = {
    "cr",
    "er",
    "xr",
    "xl",
    "sr",
    "la",
    "dr",
    "ir",
    "odt",
    "hfa",
    "cd",
    "xt",
    "ec",
    "mr",
    "pen",
    "pens",
    "patch",
    "patches",
    "tablet",
    "tablets",
    "tab",
    "tabs",
    "capsule",
    "capsules",
    "cap",
    "caps",
    "injection",
    "injections",
    "inhaler",
    "diskus",
    "respimat",
    "ellipta",
    "autoinjector",
    "solution",
    "cream",
    "gel",
    "ointment",
    "spray",
    "nasal",
    "oral",
    "extended",
    "delayed",
    "release",
    "prefilled",
    "syringe",
    "vial",
    "generic",
}
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


_LOAD_LOCK = threading.RLock()


def _loaded_once(load):
    """Cache a loader's result; concurrent first callers wait for one load instead of each loading."""
    cached = functools.cache(load)

    @functools.wraps(load)
    def wrapper():
        with _LOAD_LOCK:
            return cached()

    wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return wrapper


@_loaded_once
def _icd():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package imports the deprecated pkg_resources
        import simple_icd_10_cm

    return simple_icd_10_cm


@_loaded_once
def _drugs_finder():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from drug_named_entity_recognition import drugs_finder

    return drugs_finder


def _find_drugs():
    return _drugs_finder().find_drugs


def preload() -> None:
    """Load both vocabularies and the ICD-10-CM search index now."""
    _drugs_finder()
    _icd_index()


_preload_pid: int | None = None
_preload_thread: threading.Thread | None = None


def start_preload() -> None:
    """Load the vocabularies in a background thread of this process (once per process)."""
    global _preload_pid, _preload_thread
    if _preload_pid == os.getpid():
        return
    _preload_pid = os.getpid()
    _preload_thread = threading.Thread(target=preload, name="vocab-preload", daemon=True)
    _preload_thread.start()


def _finish_preload_before_fork() -> None:
    # A server that loads the app before forking workers (gunicorn --preload) hands each worker
    # the loaded vocabularies, never a half-imported module or a lock held by a thread that the
    # worker does not have.
    thread = _preload_thread
    if thread is not None and thread.is_alive() and thread is not threading.current_thread():
        thread.join()


def _reset_lock_after_fork() -> None:
    global _LOAD_LOCK
    _LOAD_LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_finish_preload_before_fork, after_in_child=_reset_lock_after_fork)


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


@_loaded_once
def _icd_index() -> list[tuple[str, str, str]]:
    """(code, description, " " + name key of the description) for categories and subcategories."""
    icd = _icd()
    rows = []
    for code in icd.get_all_codes(True):
        if icd.is_category_or_subcategory(code):
            description = icd.get_description(code)
            rows.append((code, description, " " + name_key(description)))
    return rows


def chapter_titles() -> list[str]:
    """The titles of the ICD-10-CM chapters ("Diseases of the circulatory system", ...)."""
    icd = _icd()
    return [icd.get_description(code) for code in icd.get_all_codes(False) if icd.is_chapter(code)]


def search_icd10(text: str, limit: int = 10) -> list[tuple[str, str]]:
    """ICD-10-CM (code, description) pairs for a code or the starts of words of a description.

    Each typed word must start a word of the description: "ambien" does not find "Gambiense"
    (inside a word), and a whole word still finds its plural ("diabete" -> "diabetes").
    """
    code = normalize_icd10(text)
    if code:
        return [(code, icd10_description(code))]
    words = name_key(text).split()
    if not words or len(" ".join(words)) < 3:
        return []
    starts = [" " + w for w in words]
    hits = [(c, d) for c, d, k in _icd_index() if all(s in k for s in starts)]
    # Shorter codes are the broader, more useful entries for a patient.
    hits.sort(key=lambda hit: (len(hit[0]), hit[0]))
    return hits[:limit]


def is_drug_name(text: str) -> bool:
    """Whether the text is exactly a name the drug vocabulary knows (generic, brand or synonym)."""
    key = fold(text)
    return bool(key) and key in _drugs_finder().drug_variant_to_canonical or name_key(text) in _EXTRA_BRANDS


def drug_names(sample: int | None = None, seed: int = 0) -> list[str]:
    """Every name the drug vocabulary knows, sorted; or a seeded random sample of them."""
    names = sorted(_drugs_finder().drug_variant_to_canonical)
    if sample is not None and sample < len(names):
        names = sorted(random.Random(seed).sample(names, sample))
    return names


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
    extra = _EXTRA_BRANDS.get(name_key(text)) or _EXTRA_BRANDS.get(name_key(" ".join(_strip_formulation(text))))
    if extra:
        return [DrugMatch(name=extra, matched=text, synonyms=(text,))]
    # A name the vocabulary knows as typed ("zolpidem tartrate", "zolpi-lich") is looked up whole.
    words = [text] if is_drug_name(text) else _strip_formulation(text)
    hits = _call_finder(words, fuzzy=False)
    fuzzy = False
    if not hits:
        hits = [h for h in _call_finder(words, fuzzy=True) if h.get("match_similarity", 0) >= MIN_FUZZY_SIMILARITY]
        fuzzy = True
    matches: dict[str, DrugMatch] = {}
    for hit in hits:
        if not hit.get("name"):  # some synonyms point at an entry without data ("glycerinum")
            continue
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
