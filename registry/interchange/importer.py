"""Imports through the form's write path: what every import shares, and legacy review spreadsheets.

Each imported report gets a pseudonymous participant without a login (their key derived from the
source's own identifier, so importing the same file again finds them).

FHIR (registry.interchange.fhir_import): every report is saved by registry.contributions.experiences.save, as a form submission is, so the report
aggregates and moderation holds apply; each line is written in a savepoint, a bad line is reported
and leaves nothing behind, the good lines around it are kept.

Reviews: the whole file is checked first and written in one transaction, all or nothing (see
import_reviews); new reports are written a batch per flush, as experiences.save would write them,
so the report aggregates follow by the same flush hooks.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import html
import re
import secrets
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified

import scales
from forms.text import clean, name_key
from registry.catalog import catalog, vocab
from registry.contributions import experiences
from registry.interchange import fhir
from registry.models import AuditEvent, Condition, ConditionSynonym, Experience, Treatment, TreatmentSynonym, User
from registry.platform.extensions import db
from registry.reporting import report_upkeep
from reports.csvout import neutralize

COMMIT_EVERY = 500
NO_PASSWORD = "!"  # not a werkzeug hash: no password ever matches it


class LineError(ValueError):
    """A line that cannot be imported; the message says why."""


@dataclass
class ImportReport:
    """What an import did: outcome counts and per-line errors (line number, message)."""

    counts: Counter = field(default_factory=Counter)
    errors: list[tuple[int, str]] = field(default_factory=list)
    unresolved: Counter = field(default_factory=Counter)  # (kind, name) -> lines
    suggestions: dict[tuple[str, str], str] = field(default_factory=dict)  # what the vocabulary knows of it

    @property
    def summary(self) -> str:
        kinds = ("added", "updated", "unchanged", "would add", "skipped")
        parts = [f"{self.counts[k]:,} {k}" for k in kinds if self.counts[k]]
        parts.append(f"{len(self.errors):,} with errors")
        return ", ".join(parts)


def month_start(month: str) -> datetime:
    return datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=timezone.utc)


def imported_participant(source: str, external_id: str, label: str) -> User:
    """The pseudonymous participant standing for (source, external id); created without a login."""
    digest = hashlib.blake2b(f"{source}|{external_id}".encode(), digest_size=15).hexdigest()
    pseudonym = f"imported-{digest}"
    user = db.session.scalar(select(User).where(User.pseudonym_key == name_key(pseudonym)))
    if user is None:
        user = User(
            email=f"{digest}@imported.invalid",  # .invalid (RFC 2606): never delivered anywhere
            pseudonym=pseudonym,
            pseudonym_key=name_key(pseudonym),
            password_hash=NO_PASSWORD,
            account_role="patient",
            session_token=secrets.token_hex(16),
            imported_from=label[:200],
        )
        db.session.add(user)
        db.session.flush()
    return user


def _fingerprint(experience: Experience) -> tuple:
    answers = tuple(getattr(experience, name) for name in experiences.FORM_FIELDS)
    return (
        answers,
        tuple(sorted(s.term for s in experience.side_effects)),
        tuple(sorted(r.reason for r in experience.stop_reasons)),
        experience.age_band,
        experience.sex,
        experience.years_since_diagnosis,
        _ym(experience.created_at),
        _ym(experience.updated_at),
    )


def _ym(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).strftime("%Y-%m") if moment else None


def save_experience(user, condition, treatment, values: dict, imported: dict) -> str:
    """Add or update the participant's experience through the form's write path; the outcome word."""
    existing = experiences.find_own(user, condition, treatment)
    if existing is not None:
        before = _fingerprint(existing)
        answers = tuple(values.get(name) for name in experiences.FORM_FIELDS)
        after = (
            answers,
            tuple(sorted(set(values.get("side_effects", [])))),
            tuple(sorted(set(values.get("stop_reasons", [])))),
            imported.get("age_band"),
            imported.get("sex"),
            imported.get("years_since_diagnosis"),
            _ym(imported.get("created_at") or existing.created_at),
            _ym(imported["updated_at"]),
        )
        if before == after:
            return "unchanged"
    experiences.save(user, condition, treatment, values, None, existing, imported=imported)
    return "updated" if existing is not None else "added"


def run_lines(lines, handle_line, report: ImportReport, dry_run: bool = False, progress=None) -> ImportReport:
    """Call handle_line(text) for each (number, text), each in a savepoint; commit in batches."""
    done = 0
    for number, text in lines:
        try:
            with db.session.begin_nested():
                outcome = handle_line(text)
                if dry_run:
                    raise _DryRun(outcome)
        except _DryRun as dry:
            report.counts[dry.outcome] += 1
        except LineError as error:
            report.errors.append((number, str(error)))
        except fhir.ResponseError as error:
            report.errors.append((number, str(error)))
        except SQLAlchemyError as error:  # e.g. a value the database refuses: that line only
            report.errors.append((number, f"not saved: {error.__class__.__name__}: {str(error).splitlines()[0]}"))
        else:
            report.counts[outcome] += 1
        done += 1
        if done % COMMIT_EVERY == 0:
            db.session.commit() if not dry_run else db.session.rollback()
        if progress is not None:
            progress(1)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return report


class _DryRun(Exception):
    """Rolls back a line's savepoint after it was checked and would have been written."""

    def __init__(self, outcome: str):
        super().__init__(outcome)
        self.outcome = "would add" if outcome == "added" else outcome


# --- FHIR -----------------------------------------------------------------------------------


class CatalogResolver:
    """Catalog entries for the codings of imported answers: slug, then code, then name (cached)."""

    def __init__(self):
        self._cache: dict[tuple, tuple[int, str, str, str | None] | None] = {}

    def condition(self, coding: dict) -> Condition:
        key = ("condition", coding.get("slug"), coding.get("system"), coding.get("code"), coding.get("display"))
        if key not in self._cache:
            self._cache[key] = self._find_condition(coding)
        return self._get(Condition, key, "condition", coding)

    def treatment(self, coding: dict) -> Treatment:
        key = ("treatment", coding.get("slug"), coding.get("system"), coding.get("code"), coding.get("display"))
        if key not in self._cache:
            self._cache[key] = self._find_treatment(coding)
        return self._get(Treatment, key, "treatment", coding)

    def _get(self, model, key, kind: str, coding: dict):
        found = self._cache[key]
        if found is None:
            raise LineError(
                f"{kind} {coding.get('display') or ''} ({coding.get('system')}|{coding.get('code')}) "
                "is not in this registry's catalog"
            )
        return db.session.get(model, found)

    def _by(self, model, column, value):
        rows = db.session.scalars(select(model).where(column == value)).all() if value else []
        return rows

    def _pick(self, rows, display: str | None):
        if len(rows) == 1:
            return rows[0].id
        matching = [r for r in rows if display and name_key(r.name) == name_key(display)]
        return matching[0].id if len(matching) == 1 else None

    def _find_condition(self, coding: dict) -> int | None:
        system, code, display = coding.get("system"), coding.get("code"), coding.get("display")
        rows = self._by(Condition, Condition.slug, coding.get("slug"))
        if rows and (system != fhir.ICD10CM or rows[0].icd10 == vocab.normalize_icd10(code)):
            return rows[0].id
        if system == fhir.ICD10CM:
            found = self._pick(self._by(Condition, Condition.icd10, vocab.normalize_icd10(code)), display)
            if found is not None:
                return found
        elif system == fhir.CATALOG_CONDITION:
            found = self._pick(self._by(Condition, Condition.slug, code), display)
            if found is not None:
                return found
        by_name = catalog.find_condition(display) if display else None
        return by_name.id if by_name is not None else None

    def _find_treatment(self, coding: dict) -> int | None:
        system, code, display = coding.get("system"), coding.get("code"), coding.get("display")
        columns = {
            fhir.DRUGBANK: Treatment.drugbank_id,
            fhir.MESH: Treatment.mesh_id,
            fhir.CATALOG_TREATMENT: Treatment.slug,
        }
        rows = self._by(Treatment, Treatment.slug, coding.get("slug"))
        if rows and (system not in (fhir.DRUGBANK, fhir.MESH) or getattr(rows[0], columns[system].key) == code):
            return rows[0].id
        if system in columns:
            found = self._pick(self._by(Treatment, columns[system], code), display)
            if found is not None:
                return found
        if not display:
            return None
        matches = vocab.resolve_drug(display)
        by_name = catalog.find_treatment(display, matches[0] if len(matches) == 1 else None)
        return by_name.id if by_name is not None else None


def form_errors(form) -> str:
    """A form's errors as one line of a report: "field: message; field: message"."""
    return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())


# --- legacy reviews -------------------------------------------------------------------------
#
# Two passes. The first reads and checks the whole file without writing: every problem is listed
# with its line number (bytes the encoding cannot read, a field over the size limit, a row with the
# wrong number of fields, a file that ends inside a row, values the mapping cannot translate, names
# that match nothing, match several conditions or are no names at all). The second writes the rows
# in one transaction. By default nothing is written when the first pass found any problem; with
# skip_problems the refused rows are left out, but damage to the file itself still stops everything.

MAPPING_COLUMNS = ("drug", "condition", "rating", "text", "date", "helpful")
MAX_FIELD = 100_000  # characters: no review is longer; a longer field is a broken file (a lost quote)
CUT_MARK = " […]"  # ends a tip that was cut to the form's length
BATCH = 2_000  # rows written per flush


@dataclass
class RatingMap:
    """How a source's rating becomes the 1-10 satisfaction: labels, or a linear map of a numeric range."""

    low: float = 1
    high: float = 10
    labels: dict[str, int] | None = None  # name_key(label) -> satisfaction
    whole: bool = True  # only whole numbers (the `scale` shorthand)

    @classmethod
    def load(cls, data: dict) -> RatingMap:
        labels = data.get("values")
        if labels is not None:
            if not isinstance(labels, dict) or not labels:
                raise ValueError("[rating] values must be a table of labels, e.g. {positive = 9, negative = 2}")
            bad = [k for k, v in labels.items() if not (isinstance(v, int) and 1 <= v <= 10)]
            if bad:
                raise ValueError(f"[rating] values must be whole numbers from 1 to 10 (not for {', '.join(bad)})")
            return cls(labels={name_key(k): v for k, v in labels.items()})
        if "range" in data:
            bounds = data["range"]
            if not (
                isinstance(bounds, list)
                and len(bounds) == 2
                and all(isinstance(b, (int, float)) for b in bounds)
                and bounds[0] < bounds[1]
            ):
                raise ValueError("[rating] range must be [lowest, highest], e.g. [0, 5]")
            return cls(low=bounds[0], high=bounds[1], whole=False)
        scale = data.get("scale", 10)
        if scale not in (5, 10):
            raise ValueError("[rating] scale must be 5 (a 1-5 rating) or 10 (a 1-10 rating)")
        return cls(low=1, high=scale)

    def __call__(self, raw: str) -> int:
        text = str(raw).strip()
        if self.labels is not None:
            value = self.labels.get(_key(text))
            if value is None:
                known = ", ".join(sorted(self.labels))
                raise LineError(f"rating {raw!r} is not one of the mapping's [rating] values ({known})")
            return value
        try:
            number = float(text)
        except ValueError:
            raise LineError(f"rating {raw!r} is not a number") from None
        if self.whole and (number != int(number) or not self.low <= number <= self.high):
            raise LineError(f"rating {raw!r} is not a whole number from {self.low:g} to {self.high:g}")
        if not self.low <= number <= self.high:
            raise LineError(f"rating {raw!r} is outside the mapping's range {self.low:g} to {self.high:g}")
        # Linear, both ends kept (low -> 1, high -> 10), halves rounded up.
        return int(1 + (number - self.low) * 9 / (self.high - self.low) + 0.5 + 1e-9)


@dataclass
class ReviewMapping:
    """How a review spreadsheet's columns and values map to the registry's fields (read from a TOML file)."""

    columns: dict[str, str]
    rating: RatingMap = field(default_factory=RatingMap)
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    source: str = "reviews"
    delimiter: str = ","
    encoding: str = "utf-8"
    max_field: int = MAX_FIELD
    # The researcher's own reading of names the catalog cannot decide, e.g. "Depression" -> a slug.
    choices: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def rating_scale(self) -> int:
        return int(self.rating.high)

    @classmethod
    def load(cls, path: Path) -> ReviewMapping:
        """Read and check a mapping file; ValueError with the reason when it is not usable."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ValueError(f"cannot read the mapping {path}: {error}") from None
        columns = data.get("columns") or {}
        unknown = sorted(set(columns) - set(MAPPING_COLUMNS))
        if unknown:
            raise ValueError(f"[columns] has unknown keys {', '.join(unknown)}; known: {', '.join(MAPPING_COLUMNS)}")
        missing = [k for k in ("drug", "condition", "rating") if not columns.get(k)]
        if missing:
            raise ValueError(f"[columns] must name the spreadsheet's {', '.join(missing)} column")
        formats = (data.get("date") or {}).get("formats") or ["%Y-%m-%d"]
        csv_options = data.get("csv") or {}
        max_field = csv_options.get("max_field", MAX_FIELD)
        if not isinstance(max_field, int) or max_field < scales.TIPS_MAX_LENGTH:
            raise ValueError(f"[csv] max_field must be a whole number of characters, at least {scales.TIPS_MAX_LENGTH}")
        delimiter = str(csv_options.get("delimiter", ","))
        if len(delimiter) != 1:
            raise ValueError('[csv] delimiter must be one character (a tab is "\\t")')
        encoding = str(csv_options.get("encoding", "utf-8"))
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(f"[csv] encoding {encoding!r} is not an encoding Python knows") from None
        choices = {}
        for kind, table in (("condition", "conditions"), ("drug", "drugs")):
            for name, slug in (data.get(table) or {}).items():
                choices[(kind, name_key(name))] = str(slug)
        return cls(
            columns={k: str(v) for k, v in columns.items() if v},
            rating=RatingMap.load(data.get("rating") or {}),
            date_formats=tuple(formats),
            source=str((data.get("source") or {}).get("name") or Path(path).stem),
            delimiter=delimiter,
            encoding=encoding,
            max_field=max_field,
            choices=choices,
        )


def satisfaction(raw: str, scale: int) -> int:
    """The 1-10 satisfaction a source rating means: 1-10 as is; 1-5 spread linearly (1->1, 5->10)."""
    return RatingMap(low=1, high=scale)(raw)


def _review_month(raw: str, formats: tuple[str, ...]) -> str:
    text = (raw or "").strip()
    for fmt in formats:
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if moment.date() > date.today():
            raise LineError(f"date {raw!r} is in the future")
        return moment.strftime("%Y-%m")
    raise LineError(f"date {raw!r} does not match {' or '.join(formats)}")


_key = functools.lru_cache(maxsize=65_536)(name_key)  # a file names the same few hundred names again and again


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def unescape(raw: str | None) -> str:
    """Text as its author wrote it: HTML entities decoded (twice-escaped ones too), the quotes a
    scraper wrapped it in and control characters removed, ends trimmed."""
    text = raw or ""
    for _ in range(3):  # "&amp;#039;" is an escaped "&#039;"
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    text = _CONTROL.sub("", text).strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    elif text.startswith('"') and text.count('"') == 1:
        text = text[1:].strip()
    return text


def cut(text: str, limit: int = scales.TIPS_MAX_LENGTH) -> tuple[str, bool]:
    """The text within limit characters, cut at a word and ending in CUT_MARK when it was longer."""
    if len(text) <= limit:
        return text, False
    room = limit - len(CUT_MARK)
    head = text[:room]
    space = head.rfind(" ")
    if space > room - 40:
        head = head[:space]
    return head.rstrip() + CUT_MARK, True


# Page residue a scraper kept in a name column, and placeholders that name nothing.
_JUNK = re.compile(r"<[^>]*>|</|&[a-z#0-9]+;|found this (comment|review) helpful|https?://|www\.", re.I)
_PLACEHOLDERS = {"not listed othe", "not listed other", "other", "othe", "unknown", "none", "n a", "na", "null"}


@functools.lru_cache(maxsize=65_536)
def junk_reason(name: str) -> str | None:
    """Why a name column's value is not a name at all (None when it may be one)."""
    if _JUNK.search(name):
        return "is page text or markup, not a name"
    if len(name) > 200:
        return "is too long to be a name"
    if not re.search(r"[^\W\d_]", name):
        return "has no letter in it"
    if _key(name) in _PLACEHOLDERS:
        return "is a placeholder, not a name"
    return None


class ReviewResolver:
    """Drug and condition names to catalog ids: the mapping's choices, the catalog, then the
    vocabularies; a broad word that means several conditions is ambiguous, never guessed (cached per name)."""

    def __init__(self, choices: dict[tuple[str, str], str] | None = None):
        self._conditions: dict[str, list[tuple[int, str]]] = {}
        self._treatments: dict[str, int | None] = {}
        self._choices = choices or {}
        # The catalog's names and synonyms in two queries each, as find_condition and find_treatment
        # match them (a name before a synonym): a file names hundreds of entries, once per query otherwise.
        broad = catalog.broad_terms()
        for model, synonym, known in (
            (Condition, ConditionSynonym, self._conditions),
            (Treatment, TreatmentSynonym, self._treatments),
        ):
            names = db.session.execute(select(model.name_key, model.id, model.name)).all()
            synonyms = db.session.execute(
                select(synonym.key, model.id, model.name).join(
                    model, model.id == getattr(synonym, f"{model.__tablename__}_id")
                )
            ).all()
            for key, entry_id, name in [*names, *synonyms]:
                if key in known or (model is Condition and key in broad):
                    continue
                known[key] = [(entry_id, name)] if model is Condition else entry_id
        for kind, key in self._choices:  # the mapping's own reading comes first
            (self._conditions if kind == "condition" else self._treatments).pop(key, None)

    def check_choices(self) -> None:
        """ValueError naming the mapping's choices that are not catalog slugs."""
        for (kind, name), slug in self._choices.items():
            model = Condition if kind == "condition" else Treatment
            if db.session.scalar(select(model.id).where(model.slug == slug)) is None:
                table = "conditions" if kind == "condition" else "drugs"
                raise ValueError(f"[{table}] of the mapping: {slug!r} is not a {kind} of this catalog")

    def conditions(self, name: str) -> list[tuple[int, str]]:
        """(id, name) of the conditions a name can mean: none, one, or several (ambiguous)."""
        key = _key(name)
        if key not in self._conditions:
            chosen = self._choices.get(("condition", key))
            if chosen is not None:
                rows = db.session.scalars(select(Condition).where(Condition.slug == chosen)).all()
            else:
                rows = catalog.match_condition(name)
                if not rows:
                    found = self._by_icd10(name, key)
                    rows = [found] if found is not None else []
            self._conditions[key] = [(c.id, c.name) for c in rows]
        return self._conditions[key]

    def condition(self, name: str) -> Condition | None:
        found = self.conditions(name)
        return db.session.get(Condition, found[0][0]) if len(found) == 1 else None

    @staticmethod
    def _by_icd10(name: str, key: str) -> Condition | None:
        """An ICD-10-CM code, or a name that is exactly one ICD-10-CM description, to its catalog entry."""
        code = vocab.normalize_icd10(name)
        if code is None:
            exact = [c for c, description in vocab.search_icd10(name, limit=50) if name_key(description) == key]
            code = exact[0] if len(exact) == 1 else None
        if code is None:
            return None
        # The catalog holds categories (E11) more often than subcategories (E11.65): same condition family.
        for candidate in dict.fromkeys([code, code.split(".")[0]]):
            rows = db.session.scalars(select(Condition).where(Condition.icd10 == candidate)).all()
            if len(rows) == 1:
                return rows[0]
        return None

    def treatment_id(self, name: str) -> int | None:
        key = _key(name)
        if key not in self._treatments:
            chosen = self._choices.get(("drug", key))
            if chosen is not None:
                found = db.session.scalar(select(Treatment).where(Treatment.slug == chosen))
            else:
                # The catalog's own names first: the vocabularies are only loaded for names it lacks.
                found = catalog.find_treatment(name)
                if found is None:
                    matches = vocab.resolve_drug(name)
                    # A brand or misspelling resolving to two generics is ambiguous: listed, not guessed.
                    found = catalog.find_treatment(name, matches[0] if len(matches) == 1 else None)
                    if found is None and len(matches) == 1:
                        found = catalog.find_treatment(matches[0].name, matches[0])
            self._treatments[key] = found.id if found is not None else None
        return self._treatments[key]

    def treatment(self, name: str) -> Treatment | None:
        found_id = self.treatment_id(name)
        return db.session.get(Treatment, found_id) if found_id is not None else None


@dataclass
class Problem:
    """Why a line is refused. fatal: the file itself is damaged, so nothing is imported at all."""

    line: int
    reason: str
    fatal: bool = False
    row: dict | None = None


@dataclass
class ReviewImport:
    """What a review import found and did."""

    counts: Counter = field(default_factory=Counter)
    unresolved: Counter = field(default_factory=Counter)  # (kind, name) -> lines
    suggestions: dict[tuple[str, str], str] = field(default_factory=dict)  # what the vocabulary knows of it
    problems: list[Problem] = field(default_factory=list)
    cut_lines: list[int] = field(default_factory=list)
    junk: Counter = field(default_factory=Counter)  # (kind, value) -> lines
    ambiguous: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (kind, name) -> candidates
    header: list[str] = field(default_factory=list)
    rows_read: int = 0
    written: bool = False

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self.problems if p.fatal]

    @property
    def summary(self) -> str:
        kinds = ("added", "updated", "unchanged", "would add", "would update", "duplicate")
        parts = [f"{self.counts[k]:,} {k}" for k in kinds if self.counts[k]]
        refused = len({p.line for p in self.problems})
        parts.append(f"{refused:,} refused")
        return f"{self.rows_read:,} rows read: " + ", ".join(parts)


@dataclass
class _Row:
    line: int
    condition_id: int
    treatment_id: int
    rating: int
    month: str | None
    text: str
    identity: str


def _decoded_lines(raw, encoding: str, report: ReviewImport):
    """The file's lines as text; a line the encoding cannot read is a problem of its own line."""
    if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):  # not line-splittable as bytes
        try:
            yield from raw.read().decode(encoding).splitlines(keepends=True)
        except UnicodeDecodeError as error:
            report.problems.append(Problem(1, f"the file is not {encoding}: {error.reason}", fatal=True))
        return
    for number, line in enumerate(raw, 1):
        if number == 1 and line.startswith(codecs.BOM_UTF8) and encoding.replace("_", "-").lower() in ("utf-8", "utf8"):
            line = line[3:]
        try:
            yield line.decode(encoding)
        except UnicodeDecodeError as error:
            bad = line[error.start : error.end]
            report.problems.append(
                Problem(
                    number,
                    f"byte {bad.hex(' ')} at character {error.start + 1} of the line is not {encoding} "
                    "(set [csv] encoding in the mapping if the file is in another one, e.g. cp1252)",
                    fatal=True,
                )
            )
            yield line.decode(encoding, errors="replace")


def _records(path: Path, mapping: ReviewMapping, report: ReviewImport):
    """(line number, header, fields) of each record; damage to the file is recorded as fatal problems."""
    try:
        raw = open(path, "rb")
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    old_limit = csv.field_size_limit(mapping.max_field)
    try:
        with raw:
            lines = _decoded_lines(raw, mapping.encoding, report)
            reader = csv.reader(lines, delimiter=mapping.delimiter, strict=True)
            header = None
            last = 0
            while True:
                start = last + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error as error:
                    last = reader.line_num
                    message = str(error)
                    if "field larger" in message:
                        message = (
                            f"a field longer than {mapping.max_field:,} characters (a quote missing or "
                            "not closed?); [csv] max_field sets the limit"
                        )
                    elif "unexpected end of data" in message:
                        message = "the file ends inside a quoted field: it was cut short"
                    report.problems.append(Problem(start, f"unreadable row: {message}", fatal=True))
                    if "cut short" in message:
                        break
                    continue
                last = reader.line_num
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                if header is None:
                    header = [h.strip() for h in fields]
                    report.header = header
                    absent = [c for c in mapping.columns.values() if c not in header]
                    if absent:
                        raise ValueError(
                            f"{path} has no column {', '.join(repr(c) for c in absent)} "
                            f"(its columns: {', '.join(header) or 'none'}): is it the file the mapping is for?"
                        )
                    continue
                yield start, header, fields
    finally:
        csv.field_size_limit(old_limit)


@functools.lru_cache(maxsize=65_536)
def _name(raw: str | None) -> str:
    return clean(unescape(raw))


def _resolve(kind: str, name: str, resolver: ReviewResolver, report: ReviewImport) -> tuple[int | None, str | None]:
    """(catalog id, None) for a name, or (None, the reason it is refused); the report counts the name."""
    junk = junk_reason(name)
    if junk is not None:
        report.junk[(kind, name)] += 1
        return None, f"{kind} {name!r} {junk}"
    if kind == "condition":
        found = resolver.conditions(name)
        if len(found) > 1:
            report.ambiguous[(kind, name)] = [n for _, n in found]
            report.unresolved[(kind, name)] += 1
            return None, (
                f"condition {name!r} is ambiguous: it can mean {', '.join(n for _, n in found)}; "
                "the import does not choose (name the one meant in [conditions] of the mapping)"
            )
        found_id = found[0][0] if found else None
    else:
        found_id = resolver.treatment_id(name)
    if found_id is None:
        if (kind, name) not in report.unresolved:
            report.suggestions[(kind, name)] = _suggestion(kind, name)
        report.unresolved[(kind, name)] += 1
        return None, f"{kind} {name!r} is not in the catalog or its vocabularies"
    return found_id, None


def _check_row(row: dict, mapping: ReviewMapping, resolver: ReviewResolver, report: ReviewImport, line: int, months):
    """The row as it will be written (a _Row), or LineError with every reason it is refused."""
    columns = mapping.columns
    drug_name, condition_name = _name(row.get(columns["drug"])), _name(row.get(columns["condition"]))
    reasons = []
    if not drug_name:
        reasons.append("no drug named")
    if not condition_name:
        reasons.append("no condition named")
    try:
        rating = mapping.rating(row.get(columns["rating"]) or "")
    except LineError as error:
        reasons.append(str(error))
        rating = None
    month = None
    if "date" in columns:
        raw = row.get(columns["date"]) or ""
        if raw not in months:  # a file has a few thousand distinct dates at most
            try:
                months[raw] = _review_month(raw, mapping.date_formats)
            except LineError as error:
                months[raw] = error
        month = months[raw]
        if isinstance(month, LineError):
            reasons.append(str(month))
            month = None
    text = unescape(row.get(columns["text"])) if "text" in columns else ""
    text, was_cut = cut(text)
    if "helpful" in columns and (row.get(columns["helpful"]) or "").strip():
        helpful = row[columns["helpful"]].strip()
        if not helpful.isdigit():
            reasons.append(f"helpful count {helpful!r} is not a whole number")
    condition_id = treatment_id = None
    if condition_name:
        condition_id, reason = _resolve("condition", condition_name, resolver, report)
        reasons += [reason] if reason else []
    if drug_name:
        treatment_id, reason = _resolve("drug", drug_name, resolver, report)
        reasons += [reason] if reason else []
    if reasons:
        raise LineError("; ".join(reasons))
    if was_cut:
        report.cut_lines.append(line)
    # One review is one anonymous person: the row's own content identifies it on a second run.
    identity = "|".join([_key(drug_name), _key(condition_name), str(rating), month or "", text])
    return _Row(line, condition_id, treatment_id, rating, month, text, identity)


def _suggestion(kind: str, name: str) -> str:
    """What the vocabularies know of a name the catalog lacks: a hint for whoever adds the entry."""
    if kind == "condition":
        return "; ".join(f"{code} {description}" for code, description in vocab.search_icd10(name, limit=3))
    return "; ".join(f"{d.name} ({d.drugbank_id or d.mesh_id or 'no id'})" for d in vocab.resolve_drug(name))


def check_reviews(path: Path, mapping: ReviewMapping, progress=None) -> tuple[ReviewImport, list[_Row]]:
    """Read and check the whole file, writing nothing: the rows to write and every problem."""
    report = ReviewImport()
    resolver = ReviewResolver(mapping.choices)
    resolver.check_choices()
    good: list[_Row] = []
    seen: set[str] = set()
    months: dict[str, str | LineError] = {}
    for line, header, fields in _records(path, mapping, report):
        report.rows_read += 1
        row = dict(zip(header, fields))
        if len(fields) != len(header):
            report.problems.append(
                Problem(
                    line,
                    f"has {len(fields)} fields where the header has {len(header)} "
                    "(a delimiter or quote out of place, or the file was cut short)",
                    fatal=True,
                    row=row,
                )
            )
        else:
            try:
                checked = _check_row(row, mapping, resolver, report, line, months)
            except LineError as error:
                report.problems.append(Problem(line, str(error), row=row))
            else:
                if checked.identity in seen:  # the same review twice in one file: one report
                    report.counts["duplicate"] += 1
                else:
                    seen.add(checked.identity)
                    good.append(checked)
        if progress is not None:
            progress(1)
    report.problems.sort(key=lambda p: p.line)
    return report, good


def _participants(source: str, identities: list[str]) -> dict[str, int]:
    """The imported participant's id for each identity, creating those not there yet (in bulk)."""
    label = f"reviews:{source}"[:200]
    digests = {
        identity: hashlib.blake2b(f"reviews:{source}|{identity}".encode(), digest_size=15).hexdigest()
        for identity in identities
    }
    keys = {f"imported {d}": identity for identity, d in digests.items()}  # name_key of the hex pseudonym
    found = dict(db.session.execute(select(User.pseudonym_key, User.id).where(User.pseudonym_key.in_(keys))).all())
    missing = [
        {
            "email": f"{digests[identity]}@imported.invalid",  # .invalid (RFC 2606): never delivered anywhere
            "pseudonym": f"imported-{digests[identity]}",
            "pseudonym_key": key,
            "password_hash": NO_PASSWORD,
            "account_role": "patient",
            "session_token": secrets.token_hex(16),
            "imported_from": label,
        }
        for key, identity in keys.items()
        if key not in found
    ]
    if missing:
        db.session.execute(User.__table__.insert(), missing)  # Core: no ORM bookkeeping per row
        created = select(User.pseudonym_key, User.id).where(
            User.pseudonym_key.in_([m["pseudonym_key"] for m in missing])
        )
        found.update(dict(db.session.execute(created).all()))
    return {identity: found[key] for key, identity in keys.items()}


def _write(rows: list[_Row], source: str, report: ReviewImport, progress=None) -> None:
    """Write checked rows as experiences (the caller commits or rolls back, all at once).

    A report imported before goes through experiences.save, as any edit. New reports are
    inserted a batch at a time with the values experiences.save would give them (an imported
    participant has no diagnosis year, bands or earlier texts; a text is held for moderators,
    who read every imported tip, so the contact-details screen is not run on them) and their
    counts enter the report tables as the flush hooks would enter them (report_upkeep.record).
    """
    reason = f"Imported from {source[:200]}; waiting for review."
    moments: dict[str | None, datetime] = {}
    for at in range(0, len(rows), BATCH):
        batch = rows[at : at + BATCH]
        users = _participants(source, [r.identity for r in batch])
        existing = _existing(set(users.values()))
        new: list[dict] = []
        for row in batch:
            user_id = users[row.identity]
            if row.month not in moments:
                moments[row.month] = month_start(row.month) if row.month else datetime.now(timezone.utc)
            found = existing.get((user_id, row.condition_id, row.treatment_id))
            if found is not None:  # imported before: the form's write path, as any edit
                report.counts[_update(found, row, user_id, moments[row.month], reason)] += 1
            else:
                new.append(_new_experience(row, user_id, moments[row.month], reason))
        db.session.flush()  # the edits above, with their own upkeep
        if new:
            _insert_new(new, source)
        report.counts["added"] += len(new)
        if progress is not None:
            progress(len(batch))


def _existing(user_ids: set[int]) -> dict[tuple[int, int, int], Experience]:
    """The imported participants' experiences already here, by (participant, condition, treatment)."""
    return {
        (e.user_id, e.condition_id, e.treatment_id): e
        for e in db.session.scalars(
            select(Experience)
            .where(Experience.user_id.in_(user_ids))
            .options(selectinload(Experience.side_effects), selectinload(Experience.stop_reasons))
        )
    }


def _update(found: Experience, row: _Row, user_id: int, moment: datetime, reason: str) -> str:
    """A review of a report imported before: saved through the form's write path; returns the outcome word."""
    outcome = save_experience(
        db.session.get(User, user_id),
        db.session.get(Condition, row.condition_id),
        db.session.get(Treatment, row.treatment_id),
        {"satisfaction": row.rating, "tips": row.text or None},
        {"updated_at": moment, "created_at": moment},
    )
    if outcome == "updated" and row.text:
        found.text_state, found.text_reason = "held", reason
        flag_modified(found, "updated_at")
    return outcome


def _new_experience(row: _Row, user_id: int, moment: datetime, reason: str) -> dict:
    """The experience row experiences.save would write for a new review."""
    values = {"satisfaction": row.rating, "tips": row.text or None}
    return {
        "user_id": user_id,
        "condition_id": row.condition_id,
        "treatment_id": row.treatment_id,
        **{name: values.get(name) for name in experiences.FORM_FIELDS},
        "tips_show_answers": False,
        "text_state": "held" if row.text else "public",
        "text_reason": reason if row.text else None,
        "report_key": experiences.fixed_key("e", user_id, row.condition_id, row.treatment_id),
        "created_at": moment,
        "updated_at": moment,
    }


def _insert_new(new: list[dict], source: str) -> None:
    """Insert new experiences in bulk, count them into the report tables, and put each on the audit trail."""
    with report_upkeep.bulk_write():
        # executemany without RETURNING: SQLite would return ids one row per statement.
        db.session.execute(Experience.__table__.insert(), new)
        keyed = {
            tuple(r[1:]): r[0]
            for r in db.session.execute(
                select(Experience.id, Experience.user_id, Experience.condition_id, Experience.treatment_id).where(
                    Experience.user_id.in_({v["user_id"] for v in new})
                )
            )
        }
        ids = [keyed[(v["user_id"], v["condition_id"], v["treatment_id"])] for v in new]
        report_upkeep.record(db.session.connection(), *report_upkeep.rows_where(db.session, Experience.id.in_(ids)))
    db.session.execute(
        AuditEvent.__table__.insert(),
        [
            {
                "actor_id": values["user_id"],
                "actor_label": f"import:{source}"[:60],
                "action": "experience.create",
                "object_kind": "experience",
                "object_id": experience_id,
                "changes": {"text_state": values["text_state"], "imported_from": source[:200]},
            }
            for experience_id, values in zip(ids, new, strict=True)
        ],
    )


def import_reviews(
    path: Path, mapping: ReviewMapping, dry_run: bool = False, skip_problems: bool = False, progress=None
) -> ReviewImport:
    """Import a review spreadsheet: the rating as satisfaction, the text as a held tip, nothing invented.

    All or nothing: when the check finds any problem nothing is written (with skip_problems, the
    refused rows are left out instead, unless the file itself is damaged). The rows are written
    in one transaction; an error while writing leaves nothing behind.
    """
    report, rows = check_reviews(path, mapping, progress)
    # A dry run still counts what the good rows would do (as --skip-problems would write them).
    if report.fatal or (report.problems and not skip_problems and not dry_run):
        db.session.rollback()
        return report
    try:
        _write(rows, mapping.source, report)
    except SQLAlchemyError as error:
        db.session.rollback()
        report.counts.clear()
        report.problems.append(
            Problem(0, f"not saved: {error.__class__.__name__}: {str(error).splitlines()[0]}", fatal=True)
        )
        return report
    if dry_run:
        db.session.rollback()
        report.counts["would add"] = report.counts.pop("added", 0)
        report.counts["would update"] = report.counts.pop("updated", 0)
    else:
        db.session.commit()
        report.written = True
    return report


def write_unresolved(report: ImportReport, path: Path) -> None:
    """The names that matched nothing or several conditions, with how many rows named them, as CSV."""

    ambiguous = getattr(report, "ambiguous", {})
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        # The vocabulary's reading of a name, for whoever adds the catalog entry: a hint, never applied.
        writer.writerow(["kind", "name", "rows", "vocabulary_suggests"])
        for (kind, name), n in sorted(report.unresolved.items(), key=lambda item: (-item[1], item[0])):
            if (kind, name) in ambiguous:
                hint = "ambiguous: " + " | ".join(ambiguous[(kind, name)])
                writer.writerow([f"{kind} (ambiguous)", neutralize(name), n, neutralize(hint)])
            else:
                writer.writerow([kind, neutralize(name), n, neutralize(report.suggestions.get((kind, name), ""))])


def write_problems(report: ReviewImport, path: Path) -> None:
    """Every refused line with its reason and the row as the file had it, as CSV."""

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["line", "reason", *report.header])
        for problem in report.problems:
            values = [(problem.row or {}).get(h, "") for h in report.header]
            writer.writerow([problem.line, neutralize(problem.reason), *(neutralize(v or "") for v in values)])
