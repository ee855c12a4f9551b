"""Imports: FHIR QuestionnaireResponses and legacy review spreadsheets, through the form's write path.

Each imported report gets a pseudonymous participant without a login (their key derived from the
source's own identifier, so importing the same file again finds them). Every report is saved by
registry.experiences.save, as a form submission is, so the report aggregates and moderation holds
apply. Each line is written in a savepoint: a bad line is reported and leaves nothing behind, the
good lines around it are kept.
"""

from __future__ import annotations

import csv
import hashlib
import secrets
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import flag_modified
from werkzeug.datastructures import MultiDict

import scales
from registry import catalog, experiences, fhir, vocab
from registry.extensions import db
from registry.models import Condition, Experience, Treatment, User
from registry.text import clean, name_key

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


def _month_start(month: str) -> datetime:
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


def _save(user, condition, treatment, values: dict, imported: dict) -> str:
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


def _run(lines, handle_line, report: ImportReport, dry_run: bool = False, progress=None) -> ImportReport:
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


def _form_errors(form) -> str:
    return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())


def import_fhir(path: Path, dry_run: bool = False, progress=None) -> ImportReport:
    """Import the treatment-experience QuestionnaireResponses of an ndjson file (one per line)."""
    from registry.forms.experience import ExperienceForm

    resolver = CatalogResolver()

    def handle(line: str) -> str:
        try:
            parsed = fhir.parse_response(line)
        except fhir.FollowUpResponse:  # a point of an experience's history (the export writes them too)
            return "skipped"
        condition = resolver.condition(parsed.condition)
        treatment = resolver.treatment(parsed.treatment)
        # The experience form validates the answers, exactly as for a participant submitting it.
        posted = MultiDict([(name, value) for name, values in parsed.form.items() for value in values])
        posted.setlist("condition", [condition.slug])
        posted.setlist("treatment", [treatment.slug])
        form = ExperienceForm(
            formdata=posted,
            meta={"csrf": False},
            conditions=[(condition.slug, condition.name)],
            treatments=[(treatment.slug, treatment.name)],
            drug_slugs=frozenset([treatment.slug]) if treatment.kind == "drug" else frozenset(),
        )
        if not form.validate():
            raise LineError(_form_errors(form))
        bands = dict(parsed.bands)
        if bands["years_since_diagnosis"] is None and form.diagnosed_year.data:
            bands["years_since_diagnosis"] = scales.years_since_diagnosis(
                form.diagnosed_year.data, int(parsed.updated[:4])
            )
        system, value = parsed.subject
        user = imported_participant(f"fhir:{system}", value, f"fhir:{system or 'no system'}")
        if parsed.country:
            user.country = parsed.country
        imported = {
            **bands,
            "updated_at": _month_start(parsed.updated),
            "created_at": _month_start(parsed.reported) if parsed.reported else None,
        }
        return _save(user, condition, treatment, form.values(), imported)

    with open(path, encoding="utf-8") as handle_file:
        numbered = ((n, text) for n, text in enumerate(handle_file, 1) if text.strip())
        return _run(numbered, handle, ImportReport(), dry_run, progress)


# --- legacy reviews -------------------------------------------------------------------------

MAPPING_COLUMNS = ("drug", "condition", "rating", "text", "date", "helpful")


@dataclass
class ReviewMapping:
    """How a review spreadsheet's columns map to the registry's fields (read from a TOML file)."""

    columns: dict[str, str]
    rating_scale: int = 10
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    source: str = "reviews"
    delimiter: str = ","
    encoding: str = "utf-8"

    @classmethod
    def load(cls, path: Path) -> ReviewMapping:
        """Read and check a mapping file; ValueError with the reason when it is not usable."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ValueError(f"cannot read the mapping {path}: {error}") from None
        columns = data.get("columns") or {}
        unknown = sorted(set(columns) - set(MAPPING_COLUMNS))
        if unknown:
            raise ValueError(f"[columns] has unknown keys {', '.join(unknown)}; known: {', '.join(MAPPING_COLUMNS)}")
        missing = [k for k in ("drug", "condition", "rating") if not columns.get(k)]
        if missing:
            raise ValueError(f"[columns] must name the spreadsheet's {', '.join(missing)} column")
        rating = data.get("rating") or {}
        scale = rating.get("scale", 10)
        if scale not in (5, 10):
            raise ValueError("[rating] scale must be 5 (a 1-5 rating) or 10 (a 1-10 rating)")
        formats = (data.get("date") or {}).get("formats") or ["%Y-%m-%d"]
        csv_options = data.get("csv") or {}
        return cls(
            columns={k: str(v) for k, v in columns.items() if v},
            rating_scale=scale,
            date_formats=tuple(formats),
            source=str((data.get("source") or {}).get("name") or Path(path).stem),
            delimiter=str(csv_options.get("delimiter", ",")),
            encoding=str(csv_options.get("encoding", "utf-8")),
        )


def satisfaction(raw: str, scale: int) -> int:
    """The 1-10 satisfaction a source rating means: 1-10 as is; 1-5 spread linearly (1->1, 5->10)."""
    try:
        number = float(str(raw).strip())
    except ValueError:
        raise LineError(f"rating {raw!r} is not a number") from None
    if number != int(number) or not 1 <= number <= scale:
        raise LineError(f"rating {raw!r} is not a whole number from 1 to {scale}")
    value = int(number)
    if scale == 5:
        return round(1 + (value - 1) * 9 / 4 + 1e-9)  # 1, 3, 6, 8, 10: both ends kept
    return value


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


class ReviewResolver:
    """Drug and condition names through the search's vocabularies; no guessing (cached per name)."""

    def __init__(self):
        self._conditions: dict[str, int | None] = {}
        self._treatments: dict[str, int | None] = {}

    def condition(self, name: str) -> Condition | None:
        key = name_key(name)
        if key not in self._conditions:
            found = catalog.find_condition(name)  # name or synonym, as the search matches them
            if found is None:
                found = self._by_icd10(name, key)
            self._conditions[key] = found.id if found is not None else None
        found_id = self._conditions[key]
        return db.session.get(Condition, found_id) if found_id is not None else None

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

    def treatment(self, name: str) -> Treatment | None:
        key = name_key(name)
        if key not in self._treatments:
            matches = vocab.resolve_drug(name)
            # A brand or misspelling resolving to two generics is ambiguous: listed, not guessed.
            found = catalog.find_treatment(name, matches[0] if len(matches) == 1 else None)
            if found is None and len(matches) == 1:
                found = catalog.find_treatment(matches[0].name, matches[0])
            self._treatments[key] = found.id if found is not None else None
        found_id = self._treatments[key]
        return db.session.get(Treatment, found_id) if found_id is not None else None


def import_reviews(path: Path, mapping: ReviewMapping, dry_run: bool = False, progress=None) -> ImportReport:
    """Import a review spreadsheet: the rating as satisfaction, the text as a held tip, nothing invented."""
    report = ImportReport()
    resolver = ReviewResolver()
    source = mapping.source
    columns = mapping.columns

    def handle(row: dict) -> str:
        drug_name, condition_name = clean(row.get(columns["drug"])), clean(row.get(columns["condition"]))
        if not drug_name or not condition_name:
            raise LineError("the drug and the condition are required")
        rating = satisfaction(row.get(columns["rating"]) or "", mapping.rating_scale)
        month = _review_month(row.get(columns["date"]) or "", mapping.date_formats) if "date" in columns else None
        text = (row.get(columns["text"]) or "").strip() if "text" in columns else ""
        if len(text) > scales.TIPS_MAX_LENGTH:
            text = text[: scales.TIPS_MAX_LENGTH]
        if "helpful" in columns and (row.get(columns["helpful"]) or "").strip():
            helpful = row[columns["helpful"]].strip()
            if not helpful.isdigit():
                raise LineError(f"helpful count {helpful!r} is not a whole number")
        condition, treatment = resolver.condition(condition_name), resolver.treatment(drug_name)
        missing = []
        if condition is None:
            if ("condition", condition_name) not in report.unresolved:
                report.suggestions[("condition", condition_name)] = "; ".join(
                    f"{code} {description}" for code, description in vocab.search_icd10(condition_name, limit=3)
                )
            report.unresolved[("condition", condition_name)] += 1
            missing.append(f"condition {condition_name!r}")
        if treatment is None:
            if ("drug", drug_name) not in report.unresolved:
                report.suggestions[("drug", drug_name)] = "; ".join(
                    f"{d.name} ({d.drugbank_id or d.mesh_id or 'no id'})" for d in vocab.resolve_drug(drug_name)
                )
            report.unresolved[("drug", drug_name)] += 1
            missing.append(f"drug {drug_name!r}")
        if missing:
            raise LineError(f"not in the catalog or its vocabularies: {' and '.join(missing)} (see the report file)")
        # One review is one anonymous person: the row's own content identifies it on a second run.
        identity = "|".join([name_key(drug_name), name_key(condition_name), str(rating), month or "", text])
        user = imported_participant(f"reviews:{source}", identity, f"reviews:{source}")
        moment = _month_start(month) if month else datetime.now(timezone.utc)
        values = {"satisfaction": rating, "tips": text or None}
        imported = {"updated_at": moment, "created_at": moment}
        outcome = _save(user, condition, treatment, values, imported)
        if outcome != "unchanged" and text:
            experience = experiences.find_own(user, condition, treatment)
            experience.text_state = "held"
            experience.text_reason = f"Imported from {source[:200]}; waiting for review."
            flag_modified(experience, "updated_at")  # keep it as saved (and counted), not this change's moment
        return outcome

    try:
        handle_file = open(path, encoding=mapping.encoding, newline="")
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    with handle_file:
        reader = csv.DictReader(handle_file, delimiter=mapping.delimiter)
        absent = [c for c in columns.values() if c not in (reader.fieldnames or [])]
        if absent:
            raise ValueError(
                f"{path} has no column {', '.join(repr(c) for c in absent)} "
                f"(its columns: {', '.join(reader.fieldnames or [])})"
            )
        # Line numbers as a spreadsheet shows them: the header is line 1.
        rows = ((reader.line_num, row) for row in reader)
        return _run(rows, handle, report, dry_run, progress)


def write_unresolved(report: ImportReport, path: Path) -> None:
    """The names that matched nothing, with how many rows named them, as CSV (most frequent first)."""
    from reports.csvout import neutralize

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        # The vocabulary's reading of a name, for whoever adds the catalog entry: a hint, never applied.
        writer.writerow(["kind", "name", "rows", "vocabulary_suggests"])
        for (kind, name), n in sorted(report.unresolved.items(), key=lambda item: (-item[1], item[0])):
            writer.writerow([kind, neutralize(name), n, neutralize(report.suggestions.get((kind, name), ""))])
