"""Outside vocabularies: ICD-10-CM (simple-icd-10-cm) and drug names (drug-named-entity-recognition,
plus the brands of registry/data/drug_brands.tsv).

Both packages load their whole vocabulary into the importing process's heap (about 550 MB). A
server runs several workers, so the vocabularies live instead in one read-only SQLite file,
built once from the packages by a separate process (`python -m registry.catalog.vocab build`, run on
first use, or ahead of time by `registry init`) and shared by every worker through the
operating system's page cache. A worker holds only an open connection and SQLite's small page
cache, and its first search is as fast as later ones.

The file is named by a digest of what it is built from (package versions, the brand list and this
module's source), so an upgrade builds a new one beside the old (servers of the previous release keep
reading theirs). It lives in
REGISTRY_VOCABULARY_DIR, or the user's cache directory, or the temporary directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from rapidfuzz.distance import OSA, Indel

from forms.text import name_key
from registry import PACKAGE

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
    "fe",  # "Junel Fe": iron tablets in the placebo week
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
    "vaginal",
    "topical",
    "transdermal",
    "system",
    "lotion",
    "foam",
    "drops",
    "suspension",
    "powder",
    "liquid",
    "film",
    "lozenge",
    "chewable",
    "sublingual",
    "ophthalmic",
    "suppository",
    # strengths in words: "Tylenol ES", "Tylenol 8 HR", "Vicodin ES", "Bactrim DS" (a brand's other
    # strength, not another product: "Tylenol ES" was a misspelling of Tylenol 3, with codeine)
    "es",
    "ds",
    "extra",
    "strength",
    "maximum",
    "hr",
    "hour",
    "hours",
}
_DOSE_TOKEN = re.compile(r"^(\d+([.,]\d+)?)?(mg|mcg|g|ml|iu|units?|%)?$")  # "50mg", "50" and "mg" of "50 mg"
# "1 / 20", "1/35", "0.15/30", "7/7/7", "1+35": strengths of a contraceptive brand, not two drugs.
_DOSE_RATIO = re.compile(r"(?<![a-z])\d+(?:[.,]\d+)?(?:\s*[/+]\s*\d+(?:[.,]\d+)?)+(?![a-z])", re.IGNORECASE)
# How people join the ingredients of a combination ("A / B", "A + B", "A and B", "A with B", "A, B").
_COMBINATION_JOIN = re.compile(r"\s*(?:\bw/|/|\+|&|,|\band\b|\bwith\b)\s*", re.IGNORECASE)  # "w/": with
_MAX_INGREDIENTS = 5
# Salts people (and Drugs.com) add to an ingredient's name: "levomefolate calcium", "sertraline hcl".
_SALT_WORDS = {
    "hydrochloride",
    "hcl",
    "sodium",
    "calcium",
    "potassium",
    "magnesium",
    "acetate",
    "maleate",
    "succinate",
    "tartrate",
    "fumarate",
    "besylate",
    "mesylate",
    "citrate",
    "sulfate",
    "phosphate",
    "bromide",
    "hyclate",
    "monohydrate",
    "dihydrate",
    "disodium",
}

BRANDS_FILE = PACKAGE / "data" / "drug_brands.tsv"
SCHEMA_VERSION = 1

# A misspelling resolves when it is this many edits (insertions, deletions, substitutions, swaps of
# two neighbours) from a known name, by the name's length: "Zolof" (1), "metforminn" (1).
MAX_EDITS = ((4, 0), (5, 1), (9, 2), (10**6, 3))


@dataclass(frozen=True)
class DrugMatch:
    """A drug (or a combination of drugs) the vocabulary resolved a typed name to."""

    name: str  # the generic (ingredient) name; a combination's ingredients joined by "/"
    matched: str  # what the patient typed that matched
    drugbank_id: str | None = None
    mesh_id: str | None = None
    synonyms: tuple[str, ...] = field(default=(), compare=False)
    fuzzy: bool = False
    ingredients: tuple[str, ...] = field(default=(), compare=False)  # a combination's, each with its synonyms

    @property
    def keys(self) -> set[str]:
        """Every name key under which the catalog may already hold this drug.

        A combination's keys are its ingredients in every order ("norgestimate ethinyl estradiol"
        and "ethinyl estradiol norgestimate"), joined by a space or by "and".
        """
        keys = {name_key(self.name)} | {name_key(s) for s in self.synonyms}
        if 1 < len(self.ingredients) <= 4:
            names = [name_key(i) for i in self.ingredients]
            for order in itertools.permutations(names):
                keys.add(" ".join(order))
                keys.add(" and ".join(order))
        return keys - {""}


# --- where the file is ---------------------------------------------------------------------------


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def digest() -> str:
    """What the vocabulary file is built from, as a short digest: a change means a new file."""
    h = hashlib.sha256()
    h.update(f"schema {SCHEMA_VERSION}\n".encode())
    h.update(f"simple-icd-10-cm {_version('simple-icd-10-cm')}\n".encode())
    h.update(f"drug-named-entity-recognition {_version('drug-named-entity-recognition')}\n".encode())
    h.update(BRANDS_FILE.read_bytes())
    h.update(Path(__file__).read_bytes())  # how it is built (a changed build never reuses an older file)
    return h.hexdigest()[:12]


def _directory() -> Path:
    configured = os.environ.get("REGISTRY_VOCABULARY_DIR")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidate = Path(cache) / "treatment-registry"
    try:
        candidate.mkdir(parents=True, exist_ok=True)
        if os.access(candidate, os.W_OK):
            return candidate
    except OSError:
        pass
    return Path(tempfile.gettempdir()) / f"treatment-registry-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


def vocabulary_path() -> Path:
    """The vocabulary file of this code and these packages (it may not be built yet)."""
    return _directory() / f"vocabulary-{digest()}.sqlite"


_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE icd (
    code TEXT PRIMARY KEY,              -- without the dot, upper case; chapters "1".."22", blocks "A00-A09"
    dotted TEXT NOT NULL,
    description TEXT NOT NULL,
    chapter INTEGER NOT NULL,
    chapter_or_block INTEGER NOT NULL,
    category_or_subcategory INTEGER NOT NULL,
    position INTEGER NOT NULL           -- the package's order
);
CREATE VIRTUAL TABLE icd_words USING fts5(words, tokenize = 'unicode61');
CREATE TABLE drug (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    drugbank_id TEXT,
    mesh_id TEXT,
    synonyms TEXT NOT NULL              -- JSON list
);
CREATE TABLE variant (variant TEXT NOT NULL, key TEXT NOT NULL, drug_id INTEGER NOT NULL REFERENCES drug(id));
CREATE INDEX variant_key ON variant (key);
CREATE TABLE brand (key TEXT PRIMARY KEY, brand TEXT NOT NULL, ingredients TEXT NOT NULL);  -- JSON list
CREATE TABLE name (key TEXT PRIMARY KEY, length INTEGER NOT NULL);  -- every variant and brand key, for misspellings
CREATE VIRTUAL TABLE name_grams USING fts5(key, tokenize = 'trigram', content = 'name', content_rowid = 'rowid');
"""


def read_brands(path: Path | None = None) -> list[tuple[str, list[str]]]:
    """(brand, [ingredient, ...]) rows of the brand list; '#' starts a comment line."""
    rows = []
    for line in (path or BRANDS_FILE).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        brand, ingredients = line.split("\t")[:2]
        rows.append((brand.strip(), [i.strip() for i in ingredients.split(" / ") if i.strip()]))
    return rows


def build(path: Path) -> None:
    """Build the vocabulary file at path from the two packages and the brand list (about 15 s, 600 MB)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    con = sqlite3.connect(partial)
    try:
        con.executescript(_SCHEMA)
        _build_icd(con)
        _build_drugs(con)
        con.execute("INSERT INTO meta VALUES ('digest', ?)", (digest(),))
        con.commit()
        con.execute("VACUUM")
    finally:
        con.close()
    os.replace(partial, path)


def _build_icd(con: sqlite3.Connection) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package imports the deprecated pkg_resources
        # Imported here because only the vocabulary build reads it: 1.6 s and 180 MB at import.
        import simple_icd_10_cm as icd

    seen = set()
    for position, code in enumerate(icd.get_all_codes(True)):
        plain = code.replace(".", "").upper()
        if plain in seen:  # a code that is both a block and a category is listed twice
            continue
        seen.add(plain)
        description = icd.get_description(code)
        category = icd.is_category_or_subcategory(code)
        cur = con.execute(
            "INSERT INTO icd VALUES (?, ?, ?, ?, ?, ?, ?)",
            (plain, code, description, icd.is_chapter(code), icd.is_chapter_or_block(code), category, position),
        )
        if category:
            con.execute("INSERT INTO icd_words (rowid, words) VALUES (?, ?)", (cur.lastrowid, name_key(description)))


def _build_drugs(con: sqlite3.Connection) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Imported here because only the vocabulary build reads it: 1.7 s and 350 MB at import.
        from drug_named_entity_recognition import drugs_finder

    ids = {}
    for canonical, data in drugs_finder.drug_canonical_to_data.items():
        if not data.get("name"):
            continue
        cur = con.execute(
            "INSERT INTO drug (name, drugbank_id, mesh_id, synonyms) VALUES (?, ?, ?, ?)",
            (data["name"], data.get("drugbank_id"), data.get("mesh_id"), json.dumps(data.get("synonyms") or [])),
        )
        ids[canonical] = cur.lastrowid
    names = set()
    # The package leaves some entries' own names out of its variants ("estradiol", "caffeine").
    for canonical, drug_id in ids.items():
        for variant in dict.fromkeys([canonical, drugs_finder.drug_canonical_to_data[canonical]["name"].lower()]):
            if variant not in drugs_finder.drug_variant_to_canonical:
                con.execute("INSERT INTO variant VALUES (?, ?, ?)", (variant, name_key(variant), drug_id))
                names.add(name_key(variant))
    for variant, canonicals in drugs_finder.drug_variant_to_canonical.items():
        key = name_key(variant)
        for canonical in canonicals:
            if canonical in ids and key:  # some synonyms point at an entry without data ("glycerinum")
                con.execute("INSERT INTO variant VALUES (?, ?, ?)", (variant, key, ids[canonical]))
                names.add(key)
    brands = read_brands()
    for brand, ingredients in brands:
        key = name_key(brand)
        con.execute("INSERT OR REPLACE INTO brand VALUES (?, ?, ?)", (key, brand, json.dumps(ingredients)))
        names.add(key)
    # "Generess Fe" is also "Generess": a misspelling of either is a few edits from one of them. Not
    # where the shorter name is another drug's, or two brands' with different ingredients.
    aliases: dict[str, set] = {}
    for brand, ingredients in brands:
        words = name_key(brand).split()
        key = " ".join(w for w in words if w not in _FORMULATION_WORDS)
        if key and key != " ".join(words):
            aliases.setdefault(key, set()).add((brand, json.dumps(ingredients)))
    for key, entries in aliases.items():
        taken = con.execute("SELECT 1 FROM variant WHERE key = ? UNION SELECT 1 FROM brand WHERE key = ?", (key, key))
        if len({ingredients for _, ingredients in entries}) == 1 and taken.fetchone() is None:
            brand, ingredients = min(entries)
            con.execute("INSERT INTO brand VALUES (?, ?, ?)", (key, brand, ingredients))
            names.add(key)
    con.executemany("INSERT INTO name (key, length) VALUES (?, ?)", ((k, len(k)) for k in sorted(names)))
    con.execute("INSERT INTO name_grams (name_grams) VALUES ('rebuild')")


# --- opening it ----------------------------------------------------------------------------------

_BUILD_LOCK = threading.Lock()
_local = threading.local()


class Unavailable(RuntimeError):
    """The vocabulary file is missing and cannot be built now (a full disk, a cache folder not writable):
    the page answers 503, as when the database is down, instead of a 500."""


def ensure_built() -> Path:
    """The vocabulary file, built first (by a separate process, one at a time) when it is missing."""
    path = vocabulary_path()
    if path.exists():
        return path
    with _BUILD_LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "w") as lock:
            _flock(lock)
            if not path.exists():  # another process may have built it while this one waited
                # A process of its own: the packages' 600 MB are given back when it ends, instead
                # of staying in this worker's heap.
                subprocess.run([sys.executable, "-m", "registry.catalog.vocab", "build", str(path)], check=True)
    return path


def _flock(handle) -> None:
    try:
        # Imported here: fcntl is POSIX only (the except below covers the rest).
        import fcntl
    except ImportError:  # not on POSIX: the in-process lock alone
        return
    fcntl.flock(handle, fcntl.LOCK_EX)


def _db() -> sqlite3.Connection:
    """This thread's read-only connection to the vocabulary file."""
    con = getattr(_local, "con", None)
    if con is None or _local.pid != os.getpid():
        try:
            path = ensure_built()
            # immutable: the file never changes once built, so SQLite takes no locks to read it. No
            # mmap: pages read go to the shared page cache, not into the worker's resident memory.
            con = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        except (OSError, sqlite3.Error, subprocess.CalledProcessError) as error:
            raise Unavailable(
                f"the search vocabularies could not be built or opened ({type(error).__name__})"
            ) from error
        _local.con, _local.pid = con, os.getpid()
    return con


def preload() -> None:
    """Build the vocabulary file if needed, open it and read its indexes once (a fuzzy lookup included)."""
    resolve_drug("Zolof")  # opens the file, reads the name indexes and imports rapidfuzz
    search_icd10("diabetes")


_preload_pid: int | None = None
_preload_thread: threading.Thread | None = None


def start_preload() -> None:
    """Make the vocabulary file ready in a background thread of this process (once per process)."""
    global _preload_pid, _preload_thread
    if _preload_pid == os.getpid():
        return
    _preload_pid = os.getpid()
    _preload_thread = threading.Thread(target=preload, name="vocab-preload", daemon=True)
    _preload_thread.start()


def _finish_preload_before_fork() -> None:
    # A server that loads the app before forking workers (gunicorn --preload) forks only once the
    # file is ready, never while a thread the worker will not have holds the build lock.
    thread = _preload_thread
    if thread is not None and thread.is_alive() and thread is not threading.current_thread():
        thread.join()


def _reset_after_fork() -> None:
    global _BUILD_LOCK
    _BUILD_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_finish_preload_before_fork, after_in_child=_reset_after_fork)


# --- ICD-10-CM -----------------------------------------------------------------------------------


def _icd_row(code: str):
    return _db().execute("SELECT dotted, description, chapter_or_block FROM icd WHERE code = ?", (code,)).fetchone()


def normalize_icd10(code: str | None) -> str | None:
    """The dotted, upper-case form of a valid ICD-10-CM code, or None when it is not one."""
    raw = (code or "").strip().upper().replace(" ", "")
    if not raw or not re.fullmatch(r"[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?", raw):
        return None
    row = _icd_row(raw.replace(".", ""))
    if row is None or row[2]:
        return None
    return row[0]


def icd10_description(code: str) -> str:
    """The official ICD-10-CM description of a valid code."""
    row = _icd_row(code.strip().upper().replace(".", ""))
    if row is None:
        raise ValueError(f"{code!r} is not an ICD-10-CM code")
    return row[1]


def chapter_titles() -> list[str]:
    """The titles of the ICD-10-CM chapters ("Diseases of the circulatory system", ...)."""
    return [d for (d,) in _db().execute("SELECT description FROM icd WHERE chapter ORDER BY position")]


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
    query = " AND ".join(f'"{w}"*' for w in words)
    # Shorter codes are the broader, more useful entries for a patient.
    rows = _db().execute(
        "SELECT icd.dotted, icd.description FROM icd_words JOIN icd ON icd.rowid = icd_words.rowid"
        " WHERE icd_words MATCH ? ORDER BY length(icd.code), icd.code LIMIT ?",
        (query, limit),
    )
    return [tuple(row) for row in rows]


# --- drug names ----------------------------------------------------------------------------------


def is_drug_name(text: str) -> bool:
    """Whether the text is exactly a name the drug vocabulary knows (generic, brand or synonym)."""
    key = name_key(text)
    if not key:
        return False
    con = _db()
    return (
        con.execute("SELECT 1 FROM variant WHERE key = ? LIMIT 1", (key,)).fetchone() is not None
        or con.execute("SELECT 1 FROM brand WHERE key = ?", (key,)).fetchone() is not None
    )


def drug_names(sample: int | None = None, seed: int = 0) -> list[str]:
    """Every name the drug vocabulary knows, sorted; or a seeded random sample of them."""
    names = [v for (v,) in _db().execute("SELECT DISTINCT variant FROM variant ORDER BY variant")]
    if sample is not None and sample < len(names):
        names = sorted(random.Random(seed).sample(names, sample))
    return names


def _drugs_by_key(key: str, matched: str, fuzzy: bool = False) -> list[DrugMatch]:
    rows = (
        _db()
        .execute(
            "SELECT DISTINCT drug.id, drug.name, drug.drugbank_id, drug.mesh_id, drug.synonyms"
            " FROM variant JOIN drug ON drug.id = variant.drug_id WHERE variant.key = ? ORDER BY drug.id",
            (key,),
        )
        .fetchall()
    )
    return [
        DrugMatch(
            name=_combination_name(parts) if len(parts) > 1 else name,
            matched=matched,
            drugbank_id=drugbank_id,
            mesh_id=mesh_id,
            synonyms=(name, *json.loads(synonyms)) if len(parts) > 1 else tuple(json.loads(synonyms)),
            fuzzy=fuzzy,
            ingredients=tuple(parts) if len(parts) > 1 else (),
        )
        for _, name, drugbank_id, mesh_id, synonyms in rows
        for parts in [_ingredient_names(name)]
    ]


def _ingredient_names(name: str) -> list[str]:
    """A combination entry's ingredients ("Abacavir, Dolutegravir, and Lamivudine"), sorted; [] for one drug."""
    parts = [p.strip() for p in _COMBINATION_JOIN.split(name) if p and p.strip()]
    if not 2 <= len(parts) <= _MAX_INGREDIENTS:
        return []
    con = _db()
    known = all(con.execute("SELECT 1 FROM variant WHERE key = ? LIMIT 1", (name_key(p),)).fetchone() for p in parts)
    return sorted(parts, key=name_key) if known else []  # "Messenger/RNA" is one thing


def _combination_name(ingredients) -> str:
    """Ingredients joined by "/" in alphabetical order, the first capitalised: "Ethinyl estradiol/norgestimate"."""
    ordered = sorted(ingredients, key=name_key)
    return "/".join(n.lower() if i else n[:1].upper() + n[1:].lower() for i, n in enumerate(ordered))


def _brand(key: str, matched: str, fuzzy: bool = False) -> DrugMatch | None:
    row = _db().execute("SELECT brand, ingredients FROM brand WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    brand, ingredients = row[0], json.loads(row[1])
    parts = [_ingredient(i, matched) for i in ingredients]
    match = _combine(parts, matched, fuzzy) if len(parts) > 1 else parts[0]
    return DrugMatch(
        name=match.name,
        matched=matched,
        drugbank_id=match.drugbank_id,
        mesh_id=match.mesh_id,
        synonyms=(*match.synonyms, brand),
        fuzzy=fuzzy,
        ingredients=match.ingredients,
    )


def _ingredient(name: str, matched: str) -> DrugMatch:
    """An ingredient named in the brand list: the vocabulary's entry, or the name as written."""
    found = _drugs_by_key(name_key(name), matched)
    return found[0] if found else DrugMatch(name=name[:1].upper() + name[1:], matched=matched, synonyms=(name,))


def _combine(parts: list[DrugMatch], matched: str, fuzzy: bool) -> DrugMatch:
    """One match for a combination: its ingredients by name, each named as the vocabulary names it (a part
    that is a combination itself gives its ingredients: "Tylenol 3 + codeine" is acetaminophen/codeine)."""
    unique = {name_key(name): name for p in parts for name in (p.ingredients or (p.name,))}
    if len(unique) == 1:
        return parts[0]
    ingredients = tuple(sorted(unique.values(), key=name_key))
    return DrugMatch(
        name=_combination_name(ingredients),
        matched=matched,
        fuzzy=fuzzy or any(p.fuzzy for p in parts),
        ingredients=ingredients,
    )


def _strip_formulation(text: str) -> list[str]:
    words = [w for w in re.split(r"[\s\-/+]+", _DOSE_RATIO.sub(" ", text).strip()) if w]
    kept = [w for w in words if w.lower() not in _FORMULATION_WORDS and not _DOSE_TOKEN.match(w.lower())]
    return kept or words


def _exact(text: str) -> list[DrugMatch]:
    """A brand of the list, or a name the vocabulary knows, as typed, without formulation words or
    without the salt ("levomefolate calcium" -> levomefolate)."""
    stripped = name_key(" ".join(_strip_formulation(text)))
    words = stripped.split()
    unsalted = " ".join(w for w in words if w not in _SALT_WORDS) if len(words) > 1 else ""
    # "Vicks Sinex Nasal Spray (old formulation)": what is in brackets says which product, not what is in it.
    unbracketed = name_key(" ".join(_strip_formulation(re.sub(r"\([^)]*\)", " ", text))))
    for key in dict.fromkeys([name_key(text), stripped, unsalted, unbracketed]):
        if not key:
            continue
        brand = _brand(key, text)
        if brand is not None:
            return [brand]
        found = _drugs_by_key(key, text)
        if found:
            return found
    return []


def _max_edits(length: int) -> int:
    return next(edits for longest, edits in MAX_EDITS if length <= longest)


def _closest_names(key: str) -> list[str]:
    """The known names fewest edits from key, within MAX_EDITS for its length (several on a tie)."""

    edits = _max_edits(len(key))
    if not edits:
        return []

    grams = {key[i : i + 3] for i in range(len(key) - 2)}
    shortest, longest = len(key) - edits, len(key) + edits
    con = _db()
    # Names sharing a run of three letters, and names starting with the same two letters: a swap
    # in a short name ("Zytrec" for "Zyrtec") leaves no three letters in common.
    query = " OR ".join('"' + g.replace('"', '""') + '"' for g in sorted(grams))
    candidates = {
        k
        for (k,) in con.execute(
            "SELECT name.key FROM name_grams JOIN name ON name.rowid = name_grams.rowid"
            " WHERE name_grams MATCH ? AND name.length BETWEEN ? AND ?",
            (query, shortest, longest),
        )
    }
    prefix = key[:2]
    candidates |= {
        k
        for (k,) in con.execute(
            "SELECT key FROM name WHERE key >= ? AND key < ? AND length BETWEEN ? AND ?",
            (prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1), shortest, longest),
        )
    }
    scored = []
    for candidate in candidates:
        distance = OSA.distance(key, candidate, score_cutoff=edits)
        if distance <= edits:
            common = len(os.path.commonprefix([key, candidate]))
            scored.append(((distance, Indel.distance(key, candidate), -common, candidate), candidate))
    if not scored:
        return []
    scored.sort()
    best = scored[0][0][:3]
    return [candidate for rank, candidate in scored if rank[:3] == best]


def _fuzzy(text: str) -> list[DrugMatch]:
    """Drugs whose name is a few edits from the text (without formulation words)."""
    key = name_key(" ".join(_strip_formulation(text)))
    matches: list[DrugMatch] = []
    for name in _closest_names(key):
        brand = _brand(name, text, fuzzy=True)
        matches += [brand] if brand is not None else _drugs_by_key(name, text, fuzzy=True)
    return matches


def _single(text: str, fuzzy: bool) -> DrugMatch | None:
    """The one drug a part of a combination names, or None when it names none or several."""
    found = _exact(text) or (_fuzzy(text) if fuzzy else [])
    unique = {m.name: m for m in found}
    return next(iter(unique.values())) if len(unique) == 1 else None


def _combination(text: str) -> DrugMatch | None:
    """A combination typed as its ingredients, in any order: "A / B", "A + B", "A and B", "A-B"."""
    cleaned = _DOSE_RATIO.sub(" ", text)
    for pattern, fuzzy in ((_COMBINATION_JOIN, True), (re.compile(r"\s*-\s*"), False)):
        parts = [p for p in pattern.split(cleaned) if p and p.strip()]
        if not 2 <= len(parts) <= _MAX_INGREDIENTS:
            continue
        found = [_single(p, fuzzy) for p in parts]
        if all(found):
            return _combine(found, text, fuzzy=False)
    return None


def _words(text: str) -> list[DrugMatch]:
    """Drugs named by a pair of neighbouring words or by one word of a longer text."""
    words = _strip_formulation(text)
    if len(words) < 2:
        return []
    matches: dict[str, DrugMatch] = {}
    used: set[int] = set()
    for i in range(len(words) - 1):
        pair = f"{words[i]} {words[i + 1]}"
        for match in _drugs_by_key(name_key(pair), pair):
            matches.setdefault(match.name, match)
            used |= {i, i + 1}
    for i, word in enumerate(words):
        if i in used or len(word) < 3:
            continue
        brand = _brand(name_key(word), word)
        for match in [brand] if brand is not None else _drugs_by_key(name_key(word), word):
            matches.setdefault(match.name, match)
    return list(matches.values())


def resolve_drug(text: str) -> list[DrugMatch]:
    """Generic drugs a typed name means: a brand (of a generic or a combination), a synonym, a
    combination in any order, a misspelling, with or without formulation words and strengths.

    The best match comes first; several come back when the name is ambiguous.
    """
    text = " ".join((text or "").split())
    if len(text) < 3 or len(text) > 120:
        return []
    found = _exact(text)
    if not found:
        combination = _combination(text)
        found = [combination] if combination is not None else []
    # Misspellings only of the whole name: a word of a longer text a few edits from some drug is
    # more often another word ("behavioural" -> a vaccine) than a slip.
    found = found or _fuzzy(text) or _words(text)
    unique: dict[str, DrugMatch] = {}
    for match in found:
        unique.setdefault(name_key(match.name), match)
    return list(unique.values())


def main(argv: list[str] | None = None) -> int:
    """`python -m registry.catalog.vocab build [PATH]`: build the vocabulary file; `path`: print where it is."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["build"]:
        build(Path(args[1]) if len(args) > 1 else vocabulary_path())
        return 0
    if args[:1] == ["path"]:
        print(vocabulary_path())
        return 0
    print("usage: python -m registry.catalog.vocab build [PATH] | path", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
