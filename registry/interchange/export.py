"""The research export: consenting participants only, de-identified, streamed, logged.

One generator writes every file (CSV tables and datapackage.json) through an "opener", so
the web download (a zip streamed as it is written) and `registry export --out DIR` produce
the same files. Rows are read with server-side cursors in chunks, so memory stays flat.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import case, select
from sqlalchemy.orm import aliased

from registry.accounts import audit
from registry.interchange import labelled as labelled_files
from registry.interchange import parquet
from registry.interchange.codebook import datapackage, schemas
from registry.models import (
    Condition,
    Doctor,
    DoctorRating,
    Experience,
    ExperienceSideEffect,
    ExperienceStopReason,
    ExperienceUpdate,
    ExportLog,
    Treatment,
    User,
)
from registry.platform.database import year_month
from registry.platform.extensions import db
from reports import followup
from reports.csvout import neutralize
from scales import SIDE_EFFECT_STARTER_TERMS

CHUNK = 5_000
OTHER_TERM = "other"


@dataclass(frozen=True)
class ExportRequest:
    """What to export: filters on conditions, treatments and the report period (YYYY-MM)."""

    conditions: tuple[str, ...] = ()
    treatments: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    with_text: bool = False

    def filters(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in ((), None, False) and k != "with_text"}


@dataclass
class ExportResult:
    counts: dict[str, int] = field(default_factory=dict)


class Pseudonymizer:
    """Keyed hashes: stable within a deployment (same key), useless outside it."""

    def __init__(self, key: str):
        # BLAKE2b in keyed mode is a MAC in one C call: fast enough for millions of rows.
        self._key = hashlib.sha256(key.encode()).digest()

    def __call__(self, kind: str, value: int) -> str:
        return kind[0] + hashlib.blake2b(f"{kind}:{value}".encode(), key=self._key, digest_size=10).hexdigest()


def _year_month(column):
    """YYYY-MM of a UTC timestamp column, computed by the database (cheaper than per-row Python)."""
    return year_month(column, db.session.get_bind().dialect.name)


def _month_start(month: str) -> datetime:
    year, mon = (int(part) for part in month.split("-"))
    return datetime(year, mon, 1, tzinfo=timezone.utc)


def _month_after(month: str) -> datetime:
    year, mon = (int(part) for part in month.split("-"))
    return datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=timezone.utc)


def _consenting():
    return User.research_consent_at.is_not(None)


def _experience_filters(req: ExportRequest) -> list:
    clauses = [_consenting()]
    if req.conditions:
        clauses.append(Condition.slug.in_(req.conditions))
    if req.treatments:
        clauses.append(Treatment.slug.in_(req.treatments))
    if req.since:
        clauses.append(Experience.created_at >= _month_start(req.since))
    if req.until:
        clauses.append(Experience.created_at < _month_after(req.until))
    return clauses


def _experience_base(columns):
    return (
        select(*columns)
        .join(User, User.id == Experience.user_id)
        .join(Condition, Condition.id == Experience.condition_id)
        .join(Treatment, Treatment.id == Experience.treatment_id)
    )


def _public(model):
    """The row's free text when moderation let it be public; held or hidden text is never exported."""
    column = model.tips if model is Experience else model.comment
    return case((model.text_state == "public", column), else_=None)


def _stream(query):
    """Rows of a query through a server-side cursor, CHUNK at a time (Core: no ORM row overhead)."""
    return db.session.connection().execute(query.execution_options(yield_per=CHUNK))


def experience_rows(req: ExportRequest, pseudo: Pseudonymizer):
    columns = [
        Experience.id,
        Experience.user_id,
        Condition.slug,
        Treatment.slug,
        Experience.role,
        Experience.age_band,
        Experience.sex,
        Experience.years_since_diagnosis,
        User.country,
        Experience.started,
        Experience.stopped,
        Experience.dose_amount,
        Experience.dose_unit,
        Experience.dose_frequency,
        Experience.effectiveness,
        Experience.side_effect_severity,
        Experience.adherence,
        Experience.burden,
        Experience.cost_per_month,
        Experience.insurance_coverage,
        Experience.satisfaction,
        Experience.would_recommend,
        _year_month(Experience.created_at),
        _year_month(Experience.updated_at),
        _public(Experience),
    ]
    query = _experience_base(columns).where(*_experience_filters(req)).order_by(Experience.id)
    text = req.with_text
    for row in _stream(query):
        # Only free text can start with a formula character: codes, slugs and numbers cannot.
        yield (
            pseudo("experience", row[0]),
            pseudo("participant", row[1]),
            *row[2:24],
            *((neutralize(row[24]),) if text else ()),
        )


def _long_rows(req: ExportRequest, pseudo: Pseudonymizer, model, column, allowed=None):
    """experience_id, value pairs; values outside `allowed` become "other" (once per experience)."""
    query = (
        _experience_base([Experience.id, column])
        .join(model, model.experience_id == Experience.id)
        .where(*_experience_filters(req))
        .order_by(Experience.id, column)
    )
    current, seen = None, set()
    for experience_id, value in _stream(query):
        if allowed is not None and value not in allowed:
            value = OTHER_TERM
        if experience_id != current:
            current, seen = experience_id, set()
        if value in seen:
            continue
        seen.add(value)
        yield (pseudo("experience", experience_id), neutralize(value))


def side_effect_rows(req: ExportRequest, pseudo: Pseudonymizer):
    """experience_id, term; free-text terms can identify: without free text only starter terms are named."""
    allowed = None if req.with_text else set(SIDE_EFFECT_STARTER_TERMS)
    return _long_rows(req, pseudo, ExperienceSideEffect, ExperienceSideEffect.term, allowed)


def stop_reason_rows(req: ExportRequest, pseudo: Pseudonymizer):
    """experience_id, reason."""
    return _long_rows(req, pseudo, ExperienceStopReason, ExperienceStopReason.reason)


def rating_rows(req: ExportRequest, pseudo: Pseudonymizer):
    if req.treatments:  # ratings are per doctor, not per treatment: a treatment filter leaves none
        return
    rated_condition = aliased(Condition)
    columns = [
        DoctorRating.id,
        DoctorRating.user_id,
        DoctorRating.doctor_id,
        rated_condition.slug,
        DoctorRating.last_visit,
        DoctorRating.overall,
        DoctorRating.explained_clearly,
        DoctorRating.listened_carefully,
        DoctorRating.showed_respect,
        DoctorRating.spent_enough_time,
        DoctorRating.got_appointment,
        DoctorRating.knowledge,
        DoctorRating.would_recommend,
        _year_month(DoctorRating.updated_at),
        _public(DoctorRating),
    ]
    query = (
        select(*columns)
        .join(User, User.id == DoctorRating.user_id)
        .join(rated_condition, rated_condition.id == DoctorRating.condition_id)
        .where(_consenting())
        .order_by(DoctorRating.id)
    )
    if req.conditions:
        query = query.where(rated_condition.slug.in_(req.conditions))
    if req.since:
        query = query.where(DoctorRating.updated_at >= _month_start(req.since))
    if req.until:
        query = query.where(DoctorRating.updated_at < _month_after(req.until))
    text = req.with_text
    for row in _stream(query):
        yield (
            pseudo("rating", row[0]),
            pseudo("participant", row[1]),
            *row[2:14],
            *((neutralize(row[14]),) if text else ()),
        )


def catalog_rows(model):
    if model is Condition:
        query = select(Condition.slug, Condition.name, Condition.icd10).order_by(Condition.slug)
    elif model is Treatment:
        query = select(Treatment.slug, Treatment.name, Treatment.kind, Treatment.drugbank_id, Treatment.mesh_id)
        query = query.order_by(Treatment.slug)
    else:
        query = select(Doctor.id, Doctor.name, Doctor.specialty, Doctor.city, Doctor.country).order_by(Doctor.id)
    yield from (tuple(neutralize(v) for v in row) for row in _stream(query))


def _batches(rows, size: int):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


FORMATS = ("csv", "parquet")


def write_export(opener, req: ExportRequest, key: str, fmt: str = "csv", labelled: bool = False):
    """Write every file through opener(name, binary); yield after each chunk of rows; return row counts.

    fmt "parquet" writes the same tables as Parquet files (registry.interchange.parquet), described by the same
    datapackage.json. Every export also holds the data dictionary (REDCap's layout) and a loader generated
    from the codebook: read_registry.R for the CSV files, load_duckdb.sql for the Parquet ones
    (registry.interchange.labelled). With `labelled`, each table is also written as a Stata .dta and an SPSS .sav file
    with variable and value labels (each table held in memory while it is written: see docs/interchange.md).
    """
    pseudo = Pseudonymizer(key)
    tables = {
        "experiences": experience_rows(req, pseudo),
        "experience_side_effects": side_effect_rows(req, pseudo),
        "experience_stop_reasons": stop_reason_rows(req, pseudo),
        # Follow-ups: each experience's kept history, a long table (registry.contributions.followups).
        "experience_updates": update_rows(req, pseudo),
        "experience_update_stop_reasons": update_stop_reason_rows(req, pseudo),
        "doctor_ratings": rating_rows(req, pseudo),
        "conditions": catalog_rows(Condition),
        "treatments": catalog_rows(Treatment),
        "doctors": catalog_rows(Doctor),
    }
    table_schemas = schemas(req.with_text)
    counts = {}
    for name, rows in tables.items():
        kept = None
        if labelled:
            kept = labelled_files.Columns(name, table_schemas[name])
            rows = kept.tee(rows)
        yield from _write_table(opener, name, rows, table_schemas[name], fmt, counts)
        if kept is not None:
            _write_labelled(opener, kept)
            yield counts[name]
    with opener("data_dictionary.csv", False) as handle:
        handle.write(labelled_files.data_dictionary(table_schemas))
    if fmt == "parquet":
        with opener("load_duckdb.sql", False) as handle:
            handle.write(labelled_files.duckdb_script(table_schemas))
    else:
        with opener("read_registry.R", False) as handle:
            handle.write(labelled_files.r_script(table_schemas))
    descriptor = datapackage(
        req.with_text, datetime.now(timezone.utc).isoformat(timespec="seconds"), req.filters(), counts, fmt
    )
    with opener("datapackage.json", False) as handle:
        json.dump(descriptor, handle, indent=2)
    return counts


def _write_labelled(opener, kept) -> None:
    """The table's .dta and .sav files: pyreadstat writes to a path, so through a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="registry-export-") as tmp:
        stata, spss = Path(tmp) / f"{kept.table}.dta", Path(tmp) / f"{kept.table}.sav"
        kept.write(stata, spss)
        for path in (stata, spss):
            with opener(path.name, True) as handle, open(path, "rb") as source:
                shutil.copyfileobj(source, handle, 1 << 20)


def _write_table(opener, name: str, rows, table_schema: dict, fmt: str, counts: dict):
    """One table as CSV or Parquet; yield the rows written so far; its count goes into counts."""
    if fmt == "parquet":
        with opener(f"{name}.parquet", True) as handle:
            for n in parquet.write_table(handle, rows, table_schema):
                yield n
        counts[name] = n
        return
    with opener(f"{name}.csv", False) as handle:
        # CRLF rows (RFC 4180): the csv module quotes a cell only for the line terminator's characters, so
        # with "\n" a lone carriage return in a tip went out unquoted and split the row for every reader.
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(f["name"] for f in table_schema["fields"])
        n = 0
        for batch in _batches(rows, CHUNK):
            writer.writerows(batch)  # csv writes None as an empty cell
            n += len(batch)
            yield n
        counts[name] = n
    yield n


def export_to_directory(
    out: Path, req: ExportRequest, key: str, progress=None, fmt: str = "csv", labelled: bool = False
) -> dict[str, int]:
    """Write the export's files into a directory; return row counts."""
    out.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def opener(name, binary=False):
        with open(out / name, "wb") if binary else open(out / name, "w", encoding="utf-8", newline="") as handle:
            yield handle

    generator = write_export(opener, req, key, fmt, labelled)
    while True:
        try:
            n = next(generator)
        except StopIteration as done:
            return done.value
        if progress is not None:
            progress(n)


class _Sink(io.RawIOBase):
    """A write-only byte stream that the zip is written into and drained from (not seekable)."""

    def __init__(self):
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


class _Counted(io.RawIOBase):
    """A zip member opened for writing, with the tell() that Parquet writers ask for."""

    def __init__(self, raw):
        self._raw, self._position = raw, 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._raw.write(data)
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position


def stream_zip(req: ExportRequest, key: str, on_done=None, fmt: str = "csv", labelled: bool = False):
    """The export as zip bytes, produced while the rows are read; on_done(counts) at the end."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        @contextmanager
        def opener(name, binary=False):
            with archive.open(name, "w", force_zip64=True) as raw:
                if binary:
                    yield _Counted(raw)
                    return
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=True)
                yield text
                text.flush()
                text.detach()

        generator = write_export(opener, req, key, fmt, labelled)
        while True:
            try:
                next(generator)
            except StopIteration as done:
                counts = done.value
                break
            chunk = sink.drain()
            if chunk:
                yield chunk
    yield sink.drain()
    if on_done is not None:
        on_done(counts)


def start_log(user: User | None, via: str, req: ExportRequest, fmt: str = "csv", labelled: bool = False) -> ExportLog:
    """Record an export as it starts (the caller commits); a format other than CSV, and the Stata and SPSS
    files when asked for, are logged with the filters."""
    filters = req.filters() if fmt == "csv" else {**req.filters(), "format": fmt}
    if labelled:
        filters["labelled"] = True
    log = ExportLog(user_id=user.id if user else None, via=via[:20], filters=filters, with_text=req.with_text)
    db.session.add(log)
    db.session.flush()
    audit.record("export", "export", log.id, {"via": via, "filters": filters, "with_text": req.with_text}, actor=user)
    return log


def finish_log(log_id: int, counts: dict[str, int]) -> None:
    """Record the row counts of a finished export."""
    log = db.session.get(ExportLog, log_id)
    log.row_counts = counts
    log.finished_at = datetime.now(timezone.utc)
    db.session.commit()


# --- follow-up history: experience_updates.csv and its stop reasons ---------------------------------------


def _history_base(columns):
    """History points joined to their experience, participant, condition and treatment (export filters)."""
    return (
        select(*columns)
        .select_from(ExperienceUpdate)
        .join(Experience, Experience.id == ExperienceUpdate.experience_id)
        .join(User, User.id == Experience.user_id)
        .join(Condition, Condition.id == Experience.condition_id)
        .join(Treatment, Treatment.id == Experience.treatment_id)
    )


def update_rows(req, pseudo):
    """experience_updates.csv: one row per kept history point, with months since the start.

    The same consenting participants and filters as experiences.csv, the same pseudonymous ids;
    only codes, months and numbers (no free text), so nothing here can start a formula.
    """
    columns = [
        ExperienceUpdate.id,
        Experience.id,
        Experience.user_id,
        ExperienceUpdate.kind,
        _year_month(ExperienceUpdate.recorded_at),
        Experience.started,
        ExperienceUpdate.stopped,
        ExperienceUpdate.effectiveness,
        ExperienceUpdate.side_effect_severity,
        ExperienceUpdate.satisfaction,
        ExperienceUpdate.would_recommend,
    ]
    query = (
        _history_base(columns)
        .where(*_experience_filters(req))
        .order_by(Experience.id, ExperienceUpdate.recorded_at, ExperienceUpdate.id)
    )
    for uid, eid, user_id, kind, recorded, started, *answers in _stream(query):
        start = followup.month_index(started)
        since = followup.month_index(recorded) - start if start is not None else None
        yield (
            pseudo("update", uid),
            pseudo("experience", eid),
            pseudo("participant", user_id),
            kind,
            recorded,
            since,
            *answers,
        )


def update_stop_reason_rows(req, pseudo):
    """experience_update_stop_reasons.csv: update_id, reason (long format, as experience_stop_reasons.csv)."""
    query = (
        _history_base([ExperienceUpdate.id, ExperienceUpdate.stop_reasons])
        .where(*_experience_filters(req), ExperienceUpdate.stop_reasons.is_not(None))
        .order_by(Experience.id, ExperienceUpdate.recorded_at, ExperienceUpdate.id)
    )
    for uid, reasons in _stream(query):
        for reason in sorted(set(reasons.split())):
            yield (pseudo("update", uid), reason)
