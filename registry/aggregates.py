"""Keeping report aggregates current: every write adds or subtracts its experiences' counts.

One code path serves a single form submission and a bulk insert of 25,000 demo rows: rows in
the shape of the experience table go in, per-cell sums come out, and an atomic upsert
(INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n, in SQLite and PostgreSQL alike) adds
them inside the caller's transaction, so concurrent writers never lose a count.
`rebuild` recomputes everything from the raw rows; `check` compares the two.
"""

from __future__ import annotations

import functools
import operator
from collections import defaultdict
from datetime import timezone

from sqlalchemy import case, delete, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from registry import scales
from registry.database import month_number, year_month
from registry.models import (
    COUNT_COLUMNS,
    COUNTED,
    DIMENSIONS,
    Experience,
    ExperienceSideEffect,
    ExperienceStopReason,
    report_cell,
    report_term,
    report_version,
)
from registry.models.aggregate import count_column

KEY = ("condition_id", "treatment_id", *DIMENSIONS)
CELL_SUMS = ["n", *COUNT_COLUMNS, "key_sum"]  # report_cell's additive columns, in table order
SCALAR_FIELDS = [f for f in COUNTED if f not in ("duration", "stop_reasons")]
# field -> stored value -> its count column (satisfaction is stored as an integer)
COLUMN_OF = {
    field: {(int(code) if field == "satisfaction" else code): count_column(field, code) for code in codes}
    for field, codes in COUNTED.items()
}


def _month_number(text: str) -> int:
    return int(text[:4]) * 12 + int(text[5:7])


def _duration(row: dict) -> str | None:
    """Time on treatment as reported: to the stop month, or to the report's last update."""
    if not row["started"]:  # an imported review that did not say (counted as missing)
        return None
    if row["stopped"]:
        end = _month_number(row["stopped"])
    else:
        updated = row["updated_at"].astimezone(timezone.utc)
        end = updated.year * 12 + updated.month
    return scales.duration_band(end - _month_number(row["started"]))


def contributions(rows, side_effects=(), stop_reasons=()):
    """Per-cell count increments and per-cell term counts for experience rows (dicts by column)."""
    reasons_of = defaultdict(list)
    for r in stop_reasons:
        reasons_of[r["experience_id"]].append(r["reason"])
    key_of, cells = {}, {}
    scalar_columns = [(field, COLUMN_OF[field]) for field in SCALAR_FIELDS]
    duration_column, reason_column = COLUMN_OF["duration"], COLUMN_OF["stop_reasons"]
    for row in rows:
        key = (row["condition_id"], row["treatment_id"], row["role"] or "", row["age_band"] or "",
               row["sex"] or "", row["years_since_diagnosis"] or "")  # fmt: skip
        key_of[row["id"]] = key
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = defaultdict(int)
        cell["n"] += 1
        cell["key_sum"] += row["report_key"]
        for field, columns in scalar_columns:
            value = row[field]
            if value is not None:
                cell[columns[value]] += 1
        duration = _duration(row)
        if duration is not None:
            cell[duration_column[duration]] += 1
        for reason in reasons_of.get(row["id"], ()):
            cell[reason_column[reason]] += 1
    terms = defaultdict(int)
    for r in side_effects:
        terms[(*key_of[r["experience_id"]], r["term"])] += 1
    return cells, terms


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


def record(connection, rows, side_effects=(), stop_reasons=(), sign: int = 1) -> None:
    """Add (sign=1) or subtract (sign=-1) the experiences' counts, in the caller's transaction."""
    cells, terms = contributions(rows, side_effects, stop_reasons)
    cell_rows = []
    for key, counts in sorted(cells.items()):  # a fixed order: concurrent writers lock alike
        row = dict(zip(KEY, key))
        row.update(dict.fromkeys(CELL_SUMS, 0))
        row.update(counts if sign == 1 else {name: sign * value for name, value in counts.items()})
        cell_rows.append(row)
    _upsert(connection, report_cell, KEY, cell_rows, CELL_SUMS)
    term_rows = [{**dict(zip(KEY, key[:-1])), "term": key[-1], "n": sign * n} for key, n in sorted(terms.items())]
    _upsert(connection, report_term, (*KEY, "term"), term_rows, ["n"])
    conditions = sorted({key[0] for key in cells})
    _upsert(connection, report_version, ("condition_id",), [{"condition_id": c, "version": 1} for c in conditions],
            ["version"])  # fmt: skip


def version(session, condition_id: int) -> int:
    """The condition's data version: it changes with every write to its reports."""
    return session.scalar(select(report_version.c.version).where(report_version.c.condition_id == condition_id)) or 0


def experience_row(experience: Experience) -> dict:
    """An ORM experience as the row dict record() reads."""
    row = {c.name: getattr(experience, c.name) for c in Experience.__table__.columns}
    return row


def record_experience(session, experience: Experience, sign: int) -> None:
    """Add or subtract one experience (with its side effects and stop reasons)."""
    record(
        session.connection(),
        [experience_row(experience)],
        [{"experience_id": experience.id, "term": s.term} for s in experience.side_effects],
        [{"experience_id": experience.id, "reason": r.reason} for r in experience.stop_reasons],
        sign,
    )


def rows_where(session, *where) -> tuple[list[dict], list[dict], list[dict]]:
    """The experiences matching where (with side effects and stop reasons) in the shape record() reads."""
    rows = [dict(r) for r in session.execute(select(Experience.__table__).where(*where)).mappings()]
    side_effects = [dict(r) for r in session.execute(
        select(ExperienceSideEffect.experience_id, ExperienceSideEffect.term).join(Experience).where(*where)
    ).mappings()]  # fmt: skip
    stop_reasons = [dict(r) for r in session.execute(
        select(ExperienceStopReason.experience_id, ExperienceStopReason.reason).join(Experience).where(*where)
    ).mappings()]  # fmt: skip
    return rows, side_effects, stop_reasons


# --- recomputation from the raw rows ------------------------------------------------------------


def _fresh_cells(session):
    """A select computing report_cell's rows from the raw experience rows."""
    dialect = session.get_bind().dialect.name
    end = case(
        (Experience.stopped.is_(None), month_number(year_month(Experience.updated_at, dialect))),
        else_=month_number(Experience.stopped),
    )
    months = end - month_number(Experience.started)
    band = case(
        (Experience.started.is_(None), None),
        *((months < edge, code) for edge, code in zip(scales.DURATION_EDGES, scales.DURATION.codes)),
        else_=scales.DURATION.codes[-1],
    )
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
    for field in SCALAR_FIELDS:
        column = getattr(Experience, field)
        for code in COUNTED[field]:
            value = int(code) if field == "satisfaction" else code
            sums.append(func.sum(case((column == value, 1), else_=0)).label(count_column(field, code)))
    sums += [func.sum(case((band == code, 1), else_=0)).label(count_column("duration", code))
             for code in scales.DURATION.codes]  # fmt: skip
    sums += [func.coalesce(func.sum(reasons.c[code]), 0).label(count_column("stop_reasons", code))
             for code in scales.STOP_REASON.codes]  # fmt: skip
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
        select(Experience.condition_id, Experience.treatment_id, *dims, ExperienceSideEffect.term,
               func.count().label("n"))
        .join(ExperienceSideEffect, ExperienceSideEffect.experience_id == Experience.id)
        .group_by(Experience.condition_id, Experience.treatment_id, *dims, ExperienceSideEffect.term)
    )  # fmt: skip


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
    return {
        "report_cell": session.scalar(select(func.count()).select_from(report_cell)),
        "report_term": session.scalar(select(func.count()).select_from(report_term)),
    }


def check(session, limit: int = 20) -> list[str]:
    """Differences between the maintained aggregates and a fresh computation (empty when equal)."""
    problems = []
    for name, table, fresh, key in (
        ("report_cell", report_cell, _fresh_cells(session), KEY),
        ("report_term", report_term, _fresh_terms(), (*KEY, "term")),
    ):
        kept = {tuple(r[:len(key)]): tuple(r[len(key):]) for r in session.execute(select(*table.c)).all()}
        kept = {k: v for k, v in kept.items() if any(v)}  # a cell whose reports all left is all zero
        computed = {tuple(r[:len(key)]): tuple(int(x) for x in r[len(key):]) for r in session.execute(fresh).all()}
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
    if has_experiences and not has_cells:
        rebuild(session)
        return True
    return False
