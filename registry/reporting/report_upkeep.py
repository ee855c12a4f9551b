"""Report upkeep: the report tables follow every write of an experience, through one path.

Every ORM flush that writes an experience, its side effects or stop reasons passes through the
session events installed here (install(), called by create_app): before the flush, the touched
experiences' counts as stored leave the report tables; after it, their counts as now stored
enter them, in the same transaction. So a new write path cannot forget the counts. Bulk Core
statements go through rewriting() (counts out before, in after) or bulk_write() (the caller
records or rebuilds itself); any other INSERT, UPDATE or DELETE of the experience tables raises
UpkeepSkipped.

A form submission's rows in the shape of the experience table go in (record()), per-cell sums
come out, and an atomic upsert (INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n, in SQLite
and PostgreSQL alike) adds them inside the caller's transaction, so concurrent writers never lose
a count. A bulk insert (the demo's 25,000 rows a batch) gives its columns to record_columns(), which
adds the same sums from whole columns, formatted by the same functions (a test holds the two equal).
`rebuild` recomputes everything from the raw rows; `check` compares the two.

report_slice (months on treatment, dose, year of report) is filled by the same pass: each
experience adds its counts to its cell and to one slice per axis (only the columns those reports
read: stop reasons by months, outcomes by dose and year). Its recomputation runs the
same Python code over the raw rows in batches, so the two can never format a bucket apart.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import operator
from collections import defaultdict
from datetime import timedelta, timezone

import numpy as np
import pandas as pd
from sqlalchemy import Delete, Insert, Update, case, delete, event, func, literal, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import scales
from registry.models import (
    COUNT_COLUMNS,
    DIMENSIONS,
    Experience,
    ExperienceSideEffect,
    ExperienceStopReason,
    report_cell,
    report_slice,
    report_term,
    report_version,
    upkeep_check,
)
from registry.models.report_tables import SLICE_MONTHS_CAP, count_column
from registry.platform.database import month_number, now_utc, year_month

log = logging.getLogger(__name__)

KEY = ("condition_id", "treatment_id", *DIMENSIONS)
SLICE_KEY = ("condition_id", "treatment_id", "axis", "bucket")
CELL_SUMS = ["n", *COUNT_COLUMNS, "key_sum"]  # report_cell's additive columns, in table order
# field -> stored value -> its count column (satisfaction is stored as an integer)
COLUMN_OF = {
    field: {(int(code) if field == "satisfaction" else code): count_column(field, code) for code in codes}
    for field, codes in scales.COUNTED_CODES.items()
}
ANSWER_COLUMNS = [(field, COLUMN_OF[field]) for field in scales.EXPERIENCE_CODES]
DURATION_COLUMN, REASON_COLUMN = COLUMN_OF["duration"], COLUMN_OF["stop_reasons"]
# What report_slice counts besides n and the key sum (the other columns stay 0): the stop reasons
# along months on treatment, the outcomes along dose and year.
SLICE_OUTCOMES = ("effectiveness", "side_effect_severity", "satisfaction", "would_recommend")


def _month_number(text: str) -> int:
    return int(text[:4]) * 12 + int(text[5:7])


def months_on(row: dict) -> int | None:
    """Months on treatment as reported: to the stop month, or to the report's last update."""
    if not row["started"]:  # an imported review that did not say (counted as missing)
        return None
    if row["stopped"]:
        end = _month_number(row["stopped"])
    else:
        updated = row["updated_at"].astimezone(timezone.utc)
        end = updated.year * 12 + updated.month
    return end - _month_number(row["started"])


def dose_bucket(row: dict) -> str:
    """The dose as reported, "unit|amount|frequency" ("" without an amount and unit)."""
    if row["dose_amount"] is None or not row["dose_unit"]:
        return ""
    return f"{row['dose_unit']}|{row['dose_amount']:g}|{row['dose_frequency'] or ''}"


def contributions(rows, side_effects=(), stop_reasons=(), slices=None):
    """Per-cell count increments and per-cell term counts for experience rows (dicts by column).

    With a dict as ``slices``, also fills it with per-slice increments (keyed as SLICE_KEY).
    """
    reasons_of = defaultdict(list)
    for r in stop_reasons:
        reasons_of[r["experience_id"]].append(r["reason"])
    key_of, cells = {}, {}
    for row in rows:
        key = (
            row["condition_id"],
            row["treatment_id"],
            row["role"] or "",
            row["age_band"] or "",
            row["sex"] or "",
            row["years_since_diagnosis"] or "",
        )
        key_of[row["id"]] = key
        report_key = row["report_key"]
        outcomes = ["n"]
        others = []
        for field, columns in ANSWER_COLUMNS:
            value = row[field]
            if value is not None:
                (outcomes if field in SLICE_OUTCOMES else others).append(columns[value])
        reasons = [REASON_COLUMN[reason] for reason in reasons_of.get(row["id"], ())]
        months = months_on(row)
        duration = [] if months is None else [DURATION_COLUMN[scales.duration_band(months)]]
        _add(cells, key, (*outcomes, *others, *duration, *reasons), report_key)
        if slices is not None:
            cid, tid = key[0], key[1]
            if months is not None:
                axis = "stopped" if row["stopped"] else "using"
                _add(slices, (cid, tid, axis, str(min(max(months, 0), SLICE_MONTHS_CAP))), ("n", *reasons), report_key)
            _add(slices, (cid, tid, "dose", dose_bucket(row)), outcomes, report_key)
            _add(slices, (cid, tid, "year", str(row["updated_at"].astimezone(timezone.utc).year)), outcomes, report_key)
    terms = defaultdict(int)
    for r in side_effects:
        terms[(*key_of[r["experience_id"]], r["term"])] += 1
    return cells, terms


def _add(sums: dict, key: tuple, counted, report_key: int) -> None:
    target = sums.get(key)
    if target is None:
        target = sums[key] = defaultdict(int)
    target["key_sum"] += report_key
    for name in counted:
        target[name] += 1


@functools.cache
def _upsert_sql(dialect, table, key_columns: tuple, columns: tuple, count_columns: tuple):
    """(SQL text, positional parameter order or None) of an additive upsert, compiled once."""
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(key_columns),
        set_={name: table.c[name] + statement.excluded[name] for name in count_columns},
    )
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    return str(compiled), compiled.positiontup


def _upsert(connection, table, key_columns, rows: list[dict], count_columns) -> None:
    if not rows:
        return
    # One compiled statement, many parameter sets: no per-row SQLAlchemy processing.
    sql, order = _upsert_sql(connection.dialect, table, tuple(key_columns), tuple(rows[0]), tuple(count_columns))
    if order is not None:
        row_tuple = operator.itemgetter(*order)  # C-speed tuples: a bulk seed upserts ~100k wide rows
        connection.exec_driver_sql(sql, [row_tuple(row) for row in rows])
    else:
        connection.exec_driver_sql(sql, rows)


def _sum_rows(key_names, sums: dict, sign: int) -> list[dict]:
    """Upsert rows of additive sums, in a fixed order (concurrent writers lock alike)."""
    rows = []
    for key, counts in sorted(sums.items()):
        row = dict(zip(key_names, key))
        row.update(dict.fromkeys(CELL_SUMS, 0))
        row.update(counts if sign == 1 else {name: sign * value for name, value in counts.items()})
        rows.append(row)
    return rows


def record(connection, rows, side_effects=(), stop_reasons=(), sign: int = 1) -> None:
    """Add (sign=1) or subtract (sign=-1) the experiences' counts, in the caller's transaction."""
    slices = {}
    cells, terms = contributions(rows, side_effects, stop_reasons, slices)
    _upsert(connection, report_cell, KEY, _sum_rows(KEY, cells, sign), CELL_SUMS)
    _upsert(connection, report_slice, SLICE_KEY, _sum_rows(SLICE_KEY, slices, sign), CELL_SUMS)
    term_rows = [{**dict(zip(KEY, key[:-1])), "term": key[-1], "n": sign * n} for key, n in sorted(terms.items())]
    _upsert(connection, report_term, (*KEY, "term"), term_rows, ["n"])
    conditions = sorted({key[0] for key in cells})
    _upsert(
        connection,
        report_version,
        ("condition_id",),
        [{"condition_id": c, "version": 1} for c in conditions],
        ["version"],
    )


# --- the bulk path: a bulk insert's rows given as columns ------------------------------------------

COUNTS = CELL_SUMS[:-1]  # n and the count columns, in table order (key_sum is summed apart)
COUNT_AT = {name: i for i, name in enumerate(COUNTS)}
# What report_slice counts: n and the stop reasons along months, n and the outcomes along dose and year.
MONTHS_COUNTS = ["n", *REASON_COLUMN.values()]
OUTCOME_COUNTS = ["n", *(column for field in SLICE_OUTCOMES for column in COLUMN_OF[field].values())]
SLICE_COUNTS = list(dict.fromkeys(MONTHS_COUNTS + OUTCOME_COUNTS))


class PendingCounts:
    """Sums of record_columns() held back to be added by one upsert per table (flush()): a seed's batches
    in one transaction add their counts once, not once per batch (at a million experiences, the
    upserts of 25,000-row batches cost a third of the seed). The caller flushes in the transaction
    of the rows counted, before it commits; the tables end as record_columns() per batch leaves them."""

    def __init__(self):
        self.parts: dict = {}  # table -> (key columns, [summed columns as arrays, one per batch])
        self.versions: dict[int, int] = defaultdict(int)  # condition -> batches that touched it

    def add(self, table, key_columns, summed: dict) -> None:
        parts = self.parts.setdefault(table, (tuple(key_columns), []))[1]
        parts.append(summed)
        if len(parts) >= 4:  # held as one sum per distinct row: memory stays that of the distinct rows
            parts[:] = [self._merged(tuple(key_columns), parts, False)]

    @staticmethod
    def _merged(key_columns: tuple, parts: list, lists: bool) -> dict:
        names = [n for n in parts[0] if n not in key_columns and n != "key_sum"]
        keys = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k in key_columns}
        counts = np.vstack([np.concatenate([p[n] for p in parts]) for n in names])
        key_sum = np.concatenate([p["key_sum"] for p in parts]) if "key_sum" in parts[0] else None
        return _summed(keys, counts, names, key_sum, lists)

    def flush(self, connection) -> None:
        """Add every held sum to its table (in table order, each summed over the batches), then empty."""
        for table, (key_columns, parts) in self.parts.items():
            _upsert_columns(connection, table, key_columns, self._merged(key_columns, parts, True))
        if self.versions:
            rows = [{"condition_id": c, "version": n} for c, n in sorted(self.versions.items())]
            _upsert(connection, report_version, ("condition_id",), rows, ["version"])
        self.parts, self.versions = {}, defaultdict(int)


def record_columns(
    connection, experiences: dict, side_effects: dict, stop_reasons: dict, pending: PendingCounts | None = None
) -> None:
    """Add the counts of new experiences given as columns (name -> array or list, as a bulk insert takes
    them), in the caller's transaction: the sums record() adds row by row, from whole columns. With
    ``pending``, the sums are held there instead, for its flush() to add (in the same transaction).

    Side effects and stop reasons are columns too (experience_id, term / reason); updated_at may be
    numpy datetime64 (UTC) or aware datetimes. Every format (months, dose buckets, duration bands) is
    the row path's own function, called once per distinct value; rows are upserted in record()'s
    order, and a test checks that the two paths leave the same tables.
    """
    k = len(experiences["id"])
    if not k:
        return
    ids = pd.Index(np.asarray(experiences["id"]))
    keys = {
        "condition_id": np.asarray(experiences["condition_id"], dtype=np.int64),
        "treatment_id": np.asarray(experiences["treatment_id"], dtype=np.int64),
        **{d: pd.Series(experiences[d], dtype=object).fillna("").to_numpy() for d in DIMENSIONS},
    }
    key = np.asarray(experiences["report_key"], dtype=np.int64)
    counts = np.zeros((len(COUNTS), k), dtype=np.int32)  # per count column and experience: 1 if it counts there
    counts[COUNT_AT["n"]] = 1
    for field, columns in ANSWER_COLUMNS:
        _mark(counts, np.arange(k), experiences[field], columns, field)
    at = ids.get_indexer(np.asarray(stop_reasons["experience_id"]))
    reasons = pd.Series(stop_reasons["reason"], dtype=object).where(at >= 0)  # another experience's: not counted
    _mark(counts, at, reasons, REASON_COLUMN, "stop_reasons")
    # months_on for whole columns: to the stop month, or to the month of the last update.
    started, stopped = _month_numbers(experiences["started"]), _month_numbers(experiences["stopped"])
    updated = pd.DatetimeIndex(pd.to_datetime(experiences["updated_at"], utc=True))
    months = np.where(np.isnan(stopped), updated.year * 12 + updated.month, stopped) - started
    timed = np.flatnonzero(~np.isnan(months))
    whole = months[timed].astype(np.int64)
    band = {m: COUNT_AT[DURATION_COLUMN[scales.duration_band(m)]] for m in np.unique(whole).tolist()}
    counts[pd.Series(whole).map(band).to_numpy(), timed] = 1

    lists = pending is None

    def add(table, key_columns, summed):
        if lists:
            _upsert_columns(connection, table, key_columns, summed)
        else:
            pending.add(table, key_columns, summed)

    cells = _summed(keys, counts, COUNTS, key, lists)
    add(report_cell, KEY, cells)
    slices = _slices(experiences, keys, counts, key, timed, whole, updated, np.isnan(stopped[timed]), lists)
    add(report_slice, SLICE_KEY, slices)  # only the columns slices count
    at = ids.get_indexer(np.asarray(side_effects["experience_id"]))
    if (at < 0).any():
        raise KeyError("a side effect of an experience not among these")
    if len(at):
        terms = {**{name: column[at] for name, column in keys.items()}, "term": np.asarray(side_effects["term"])}
        summed = _summed(terms, np.ones((1, len(at)), np.int32), ["n"], None, lists)
        add(report_term, (*KEY, "term"), summed)
    conditions = sorted(set(np.asarray(cells["condition_id"]).tolist()))
    if not lists:
        for condition_id in conditions:
            pending.versions[condition_id] += 1
        return
    _upsert(
        connection,
        report_version,
        ("condition_id",),
        [{"condition_id": c, "version": 1} for c in conditions],
        ["version"],
    )


MONTH_BUCKETS = np.array([str(m) for m in range(SLICE_MONTHS_CAP + 1)], dtype=object)


def _slices(experiences, keys, counts, key, timed, whole, updated, using, lists: bool = True) -> dict:
    """report_slice's sums, as contributions() adds them: months on treatment (stopped or still using),
    dose and year of the last update, each with the counts its axis keeps."""
    dose = list(zip(experiences["dose_amount"], experiences["dose_unit"], experiences["dose_frequency"]))
    bucket_of = {d: dose_bucket(dict(zip(("dose_amount", "dose_unit", "dose_frequency"), d))) for d in set(dose)}
    years, year_at = np.unique(updated.year, return_inverse=True)
    k = len(key)
    axes = {
        "condition_id": np.concatenate([keys["condition_id"][timed], keys["condition_id"], keys["condition_id"]]),
        "treatment_id": np.concatenate([keys["treatment_id"][timed], keys["treatment_id"], keys["treatment_id"]]),
        "axis": np.concatenate(
            [np.where(using, "using", "stopped").astype(object), np.full(k, "dose", object), np.full(k, "year", object)]
        ),
        "bucket": np.concatenate(
            [
                MONTH_BUCKETS[np.minimum(np.maximum(whole, 0), SLICE_MONTHS_CAP)],
                np.array([bucket_of[d] for d in dose], dtype=object),
                np.array([str(y) for y in years.tolist()], dtype=object)[year_at.reshape(-1)],
            ]
        ),
    }
    values = np.zeros((len(SLICE_COUNTS), len(timed) + 2 * k), dtype=np.int32)
    for i, name in enumerate(SLICE_COUNTS):  # each axis counts only its own columns
        if name in MONTHS_COUNTS:
            values[i, : len(timed)] = counts[COUNT_AT[name], timed]
        if name in OUTCOME_COUNTS:
            values[i, len(timed) : len(timed) + k] = values[i, len(timed) + k :] = counts[COUNT_AT[name]]
    return _summed(axes, values, SLICE_COUNTS, np.concatenate([key[timed], key, key]), lists)


def _mark(counts: np.ndarray, rows: np.ndarray, values, columns: dict, field: str) -> None:
    """Count each row's answer (a value of ``columns``, or None) in its count column."""
    code, distinct = pd.factorize(np.asarray(values, dtype=object))  # None: -1
    try:
        position = np.array([COUNT_AT[columns[value]] for value in distinct.tolist()], dtype=np.int64)
    except KeyError as error:
        raise KeyError(f"{field}: {error.args[0]!r} is not one of its codes") from None
    given = code >= 0
    counts[position[code[given]], rows[given]] = 1


def _month_numbers(values) -> np.ndarray:
    """YYYY-MM texts as month numbers (NaN for none), each distinct text read by _month_number."""
    texts = pd.Series(values, dtype=object)
    return texts.map({t: _month_number(t) for t in set(texts.tolist()) if t}).to_numpy(dtype=float)


def _summed(keys: dict[str, np.ndarray], counts: np.ndarray, names, key_sum=None, lists: bool = True) -> dict:
    """Per distinct row of the key columns, in the order sorted() gives their tuples: the sums of the rows
    of counts (one per name in ``names``) and of key_sum when given, as lists (or as arrays: not lists)."""
    group = np.zeros(counts.shape[1], dtype=np.int64)
    for column in keys.values():  # lexicographic: a number from each column's sorted codes
        code, distinct = pd.factorize(column, sort=True)
        if group.max(initial=0) >= 2**62 // max(len(distinct), 1):  # renumbered before it could overflow
            group = np.unique(group, return_inverse=True)[1].reshape(-1)
        group = group * len(distinct) + code
    distinct, first, inverse = np.unique(group, return_index=True, return_inverse=True)
    inverse, size = inverse.reshape(-1), len(distinct)
    out = (lambda values: values.tolist()) if lists else (lambda values: values)
    columns = {name: out(np.asarray(column)[first]) for name, column in keys.items()}
    # bincount sums in float64: exact, since no count comes near 2**53
    sums = {name: out(np.bincount(inverse, row, size).astype(np.int64)) for name, row in zip(names, counts)}
    if key_sum is None:
        return {**columns, **sums}
    order = np.argsort(inverse, kind="stable")
    starts = np.flatnonzero(np.diff(inverse[order], prepend=-1))
    return {**columns, **sums, "key_sum": out(np.add.reduceat(key_sum[order], starts))}  # int64: 40-bit keys


@functools.cache
def _additive_sql(dialect, table, key_columns: tuple, columns: tuple):
    """(SQL text, positional parameter order or None) of an upsert adding the values of ``columns`` beside
    the key; a new row gets 0 in the table's other columns, written in the SQL rather than bound."""
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values({c.name: literal_column("0") for c in table.c if c.name not in columns})
    statement = statement.on_conflict_do_update(
        index_elements=list(key_columns),
        set_={name: table.c[name] + statement.excluded[name] for name in columns if name not in key_columns},
    )
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    return str(compiled), compiled.positiontup


def _upsert_columns(connection, table, key_columns, columns: dict[str, list]) -> None:
    """Add rows given as columns (named as the table's) to the table, as _upsert does, without a dict per
    row where the driver takes tuples; the table's columns not given stay 0 (bound as no parameter)."""
    names = tuple(columns)
    sql, order = _additive_sql(connection.dialect, table, tuple(key_columns), names)
    if order is not None:
        connection.exec_driver_sql(sql, list(zip(*(columns[name] for name in order))))
    else:
        connection.exec_driver_sql(sql, [dict(zip(names, row)) for row in zip(*columns.values())])


def version(session, condition_id: int) -> int:
    """The condition's data version: it changes with every write to its reports."""
    return session.scalar(select(report_version.c.version).where(report_version.c.condition_id == condition_id)) or 0


def rows_where(session, *where) -> tuple[list[dict], list[dict], list[dict]]:
    """The experiences matching where (with side effects and stop reasons) in the shape record() reads."""
    rows = [dict(r) for r in session.execute(select(Experience.__table__).where(*where)).mappings()]
    side_effects = [
        dict(r)
        for r in session.execute(
            select(ExperienceSideEffect.experience_id, ExperienceSideEffect.term).join(Experience).where(*where)
        ).mappings()
    ]
    stop_reasons = [
        dict(r)
        for r in session.execute(
            select(ExperienceStopReason.experience_id, ExperienceStopReason.reason).join(Experience).where(*where)
        ).mappings()
    ]
    return rows, side_effects, stop_reasons


# --- the one path: session events and guarded bulk writes -----------------------------------------

TABLES = frozenset({Experience.__tablename__, ExperienceSideEffect.__tablename__, ExperienceStopReason.__tablename__})
_in_upkeep = contextvars.ContextVar("report_upkeep", default=False)


class UpkeepSkipped(RuntimeError):
    """An INSERT, UPDATE or DELETE of the experience tables that the report tables would not follow."""


def _record_ids(session, ids, sign: int) -> None:
    if ids:
        record(session.connection(), *rows_where(session, Experience.id.in_(sorted(ids))), sign=sign)


def _touched(session) -> tuple[set[int], list[Experience]]:
    """The stored experiences this flush writes (by id), and the new ones (ids come with the flush)."""
    stored, new = set(), []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Experience):
            if obj.id is None:
                new.append(obj)
            else:
                stored.add(obj.id)
        elif isinstance(obj, (ExperienceSideEffect, ExperienceStopReason)) and obj.experience_id is not None:
            stored.add(obj.experience_id)  # a child appended to a new experience comes with its parent
    return stored, new


def _before_flush(session, flush_context, instances) -> None:
    stored, new = _touched(session)
    if not (stored or new):
        return
    _record_ids(session, stored, sign=-1)  # the counts as stored leave
    session.info["report_upkeep"] = (stored, new, _in_upkeep.set(True))


def _after_flush(session, flush_context) -> None:
    pending = session.info.get("report_upkeep")
    if pending is not None:
        stored, new, _ = pending
        _record_ids(session, stored | {e.id for e in new if e.id is not None}, sign=1)  # the counts as now stored enter


def _end_flush(session, *args) -> None:
    pending = session.info.pop("report_upkeep", None)
    if pending is not None:
        _in_upkeep.reset(pending[2])


def _guard(connection, clause, multiparams, params, execution_options) -> None:
    if isinstance(clause, (Insert, Update, Delete)) and clause.table.name in TABLES and not _in_upkeep.get():
        raise UpkeepSkipped(
            f"{clause.__visit_name__} of {clause.table.name} outside report upkeep: write through the ORM, "
            "or use report_upkeep.rewriting() or bulk_write()"
        )


def install() -> None:
    """Make every session keep the report tables current, and refuse writes that would not (idempotent)."""
    for target, name, listener in (
        (Session, "before_flush", _before_flush),
        (Session, "after_flush", _after_flush),
        (Session, "after_flush_postexec", _end_flush),
        (Session, "after_soft_rollback", _end_flush),
        (Engine, "before_execute", _guard),
    ):
        if not event.contains(target, name, listener):
            event.listen(target, name, listener)


@contextlib.contextmanager
def bulk_write():
    """Core writes of the experience tables whose counts the caller records (record()) or rebuilds itself."""
    token = _in_upkeep.set(True)
    try:
        yield
    finally:
        _in_upkeep.reset(token)


@contextlib.contextmanager
def rewriting(session, ids):
    """Core statements that change or delete the experiences with these ids: their counts follow.

    Their stored counts leave before the block, and the counts of those still stored enter after it.
    """
    session.flush()
    ids = sorted(ids)
    _record_ids(session, ids, sign=-1)
    with bulk_write():
        yield
    _record_ids(session, ids, sign=1)


# --- recomputation from the raw rows ------------------------------------------------------------


def duration_band_sql(dialect: str):
    """An experience's duration band in SQL, as months_on and scales.duration_band compute it (NULL without a start)."""
    end = case(
        (Experience.stopped.is_(None), month_number(year_month(Experience.updated_at, dialect))),
        else_=month_number(Experience.stopped),
    )
    months = end - month_number(Experience.started)
    return case(
        (Experience.started.is_(None), None),
        *((months < edge, code) for edge, code in zip(scales.DURATION_EDGES, scales.DURATION.codes)),
        else_=scales.DURATION.codes[-1],
    )


def _fresh_cells(session):
    """A select computing report_cell's rows from the raw experience rows."""
    band = duration_band_sql(session.get_bind().dialect.name)
    reasons = (
        select(
            ExperienceStopReason.experience_id.label("experience_id"),
            *(
                func.max(case((ExperienceStopReason.reason == code, 1), else_=0)).label(code)
                for code in scales.STOP_REASON.codes
            ),
        )
        .group_by(ExperienceStopReason.experience_id)
        .subquery()
    )
    sums = []
    for field, codes in scales.EXPERIENCE_CODES.items():
        column = getattr(Experience, field)
        for code in codes:
            value = int(code) if field == "satisfaction" else code
            sums.append(func.sum(case((column == value, 1), else_=0)).label(count_column(field, code)))
    sums += [
        func.sum(case((band == code, 1), else_=0)).label(count_column("duration", code))
        for code in scales.DURATION.codes
    ]
    sums += [
        func.coalesce(func.sum(reasons.c[code]), 0).label(count_column("stop_reasons", code))
        for code in scales.STOP_REASON.codes
    ]
    dims = [func.coalesce(getattr(Experience, d), literal("")).label(d) for d in DIMENSIONS]
    key_sum = func.coalesce(func.sum(Experience.report_key), 0).label("key_sum")
    return (
        select(Experience.condition_id, Experience.treatment_id, *dims, func.count().label("n"), *sums, key_sum)
        .outerjoin(reasons, reasons.c.experience_id == Experience.id)
        .group_by(Experience.condition_id, Experience.treatment_id, *dims)
    )


def _fresh_terms():
    dims = [func.coalesce(getattr(Experience, d), literal("")).label(d) for d in DIMENSIONS]
    return (
        select(
            Experience.condition_id, Experience.treatment_id, *dims, ExperienceSideEffect.term, func.count().label("n")
        )
        .join(ExperienceSideEffect, ExperienceSideEffect.experience_id == Experience.id)
        .group_by(Experience.condition_id, Experience.treatment_id, *dims, ExperienceSideEffect.term)
    )


def _fresh_slices(session, batch: int = 20_000) -> dict[tuple, dict[str, int]]:
    """report_slice's sums computed from the raw rows, in id order and batches (bounded memory)."""
    slices, last = {}, 0
    while True:
        rows = [
            dict(r)
            for r in session.execute(
                select(Experience.__table__).where(Experience.id > last).order_by(Experience.id).limit(batch)
            ).mappings()
        ]
        if not rows:
            return slices
        last = rows[-1]["id"]
        reasons = session.execute(
            select(ExperienceStopReason.experience_id, ExperienceStopReason.reason).where(
                ExperienceStopReason.experience_id.between(rows[0]["id"], last)
            )
        ).mappings()
        contributions(rows, (), reasons, slices)


def rebuild(session) -> dict[str, int]:
    """Recompute every aggregate from the raw rows (the caller commits); return row counts."""
    session.execute(delete(report_cell))
    session.execute(delete(report_term))
    # A rebuild changes every condition's numbers: bump all versions (old cache entries die).
    session.execute(report_version.update().values(version=report_version.c.version + 1))
    cells = _fresh_cells(session)
    session.execute(report_cell.insert().from_select([c.name for c in cells.selected_columns], cells))
    terms = _fresh_terms()
    session.execute(report_term.insert().from_select([c.name for c in terms.selected_columns], terms))
    session.execute(delete(report_slice))
    _upsert(session.connection(), report_slice, SLICE_KEY, _sum_rows(SLICE_KEY, _fresh_slices(session), 1), CELL_SUMS)
    return {
        "report_cell": session.scalar(select(func.count()).select_from(report_cell)),
        "report_term": session.scalar(select(func.count()).select_from(report_term)),
        "report_slice": session.scalar(select(func.count()).select_from(report_slice)),
    }


def check(session, limit: int = 20) -> list[str]:
    """Differences between the maintained aggregates and a fresh computation (empty when equal)."""
    problems = []
    slices = [(*key, *(sums.get(name, 0) for name in CELL_SUMS)) for key, sums in _fresh_slices(session).items()]
    for name, table, fresh, key in (
        ("report_cell", report_cell, session.execute(_fresh_cells(session)).all(), KEY),
        ("report_term", report_term, session.execute(_fresh_terms()).all(), (*KEY, "term")),
        ("report_slice", report_slice, slices, SLICE_KEY),
    ):
        kept = {tuple(r[: len(key)]): tuple(r[len(key) :]) for r in session.execute(select(*table.c)).all()}
        kept = {k: v for k, v in kept.items() if any(v)}  # a cell whose reports all left is all zero
        computed = {tuple(r[: len(key)]): tuple(int(x) for x in r[len(key) :]) for r in fresh}
        for k in sorted(set(kept) | set(computed), key=str):
            if kept.get(k) != computed.get(k):
                problems.append(f"{name} {dict(zip(key, k))}: kept {kept.get(k)}, computed {computed.get(k)}")
                if len(problems) >= limit:
                    return problems
    return problems


def rebuild_if_missing(session) -> bool:
    """Build the aggregates of a registry that has experiences but none yet (an upgrade)."""
    has_experiences = session.scalar(select(Experience.id).limit(1)) is not None
    has_cells = session.scalar(select(report_cell.c.condition_id).limit(1)) is not None
    has_slices = session.scalar(select(report_slice.c.condition_id).limit(1)) is not None
    if has_experiences and not (has_cells and has_slices):
        rebuild(session)
        return True
    return False


# --- after an upgrade: servers of the previous release write with their own upkeep -------------------------

# How long after a migration every release checks the report tables (a rolling upgrade ends well within it;
# `registry aggregates check --repair` closes the window at once).
UPGRADE_WINDOW = timedelta(hours=24)


def open_check(session, reason: str, window: timedelta = UPGRADE_WINDOW) -> None:
    """Have every `registry release` check (and mend) the report tables for a while (the caller commits).

    `registry init` opens one when it migrates a registry: until the last server of the previous release
    stops, those servers write experiences through their own upkeep, which knows nothing of what this
    release's migrations added (a new count column or slice axis), or write through a path this release
    guards (issue 26: report_slice stale after an upgrade, `aggregates check` exit 1).
    """
    now = now_utc()
    session.execute(upkeep_check.insert().values(reason=reason[:200], opened_at=now, until=now + window))


def verify(session, repair_now: bool = False) -> dict | None:
    """While a check window is open (or with repair_now): compare the report tables with the raw rows and
    rebuild them when they differ; close the windows that ended (all of them with repair_now). The caller
    commits. None when there was nothing to do; otherwise {"differences", "rebuilt", "closed"}.
    """
    now = now_utc()
    open_ids = list(session.scalars(select(upkeep_check.c.id).where(upkeep_check.c.closed_at.is_(None))))
    if not open_ids and not repair_now:
        return None
    differences = len(check(session, limit=1))
    if differences:
        # A write from the other release may land while the tables are rebuilt: on PostgreSQL, writers wait
        # for this transaction (SQLite has one writer at a time anyway, and the rebuild's first delete takes it).
        if session.get_bind().dialect.name == "postgresql":
            session.connection().exec_driver_sql(f"LOCK TABLE {', '.join(sorted(TABLES))} IN SHARE MODE")
        log.warning(
            "The report tables differ from the raw rows (a write bypassed this release's upkeep, e.g. from a "
            "server of the previous release during an upgrade); rebuilding them."
        )
        rebuild(session)
    closed = 0
    if open_ids:
        listed = upkeep_check.c.id.in_(open_ids)
        session.execute(upkeep_check.update().where(listed).values(checked_at=now))
        ended = listed if repair_now else listed & (upkeep_check.c.until <= now)
        closed = session.execute(upkeep_check.update().where(ended).values(closed_at=now)).rowcount
    return {"differences": differences, "rebuilt": bool(differences), "closed": closed}
