"""Declarative base, column types and constraint names shared by every model."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import DateTime, Integer, MetaData, cast, func
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# 40 bits: a million keys still sum within a signed 64-bit integer (SQLite's, and BIGINT).
REPORT_KEY_BITS = 40

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_report_key() -> int:
    """A fresh random key (rows that no participant can redraw: none since report keys are fixed)."""
    return secrets.randbits(REPORT_KEY_BITS)


def report_key(secret: bytes, kind: str, user_id: int, *pair: int) -> int:
    """A report's fixed key: a keyed hash of the participant and what the report is about.

    Disclosure control sums keys to name a set of reports. A key drawn afresh at every save let
    one account redraw the noise of every view holding its report, and average it away; this
    one is the same across edits, delete-and-resubmit and moves back and forth (issue 24).
    ``kind`` is "e" (experience: pair = condition, treatment) or "r" (doctor rating: doctor, condition).
    """
    message = "|".join((kind, str(int(user_id)), *(str(int(p)) for p in pair))).encode()
    digest = hashlib.blake2b(message, key=secret[:64], digest_size=8, person=b"report-key").digest()
    return int.from_bytes(digest, "big") >> (64 - REPORT_KEY_BITS)


# Ids are INTEGER columns: 32 bits on PostgreSQL. Every id from a URL, query string or form is checked
# against this before it reaches a query (a larger one would make PostgreSQL fail, not just miss).


def now_utc() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC that always comes back timezone-aware (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def year_month(column, dialect_name: str):
    """SQL for the YYYY-MM of a UTC timestamp column."""
    if dialect_name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.substr(column, 1, 7)  # SQLite stores UTC as "YYYY-MM-DD HH:MM:SS"


def month_number(column):
    """SQL for year * 12 + month of a YYYY-MM text column."""
    return cast(func.substr(column, 1, 4), Integer) * 12 + cast(func.substr(column, 6, 2), Integer)


def _sqlite_datetime(value):
    # The text SQLAlchemy's SQLite DateTime stores; our rows carry UTC datetimes.
    if value is None:
        return None
    v = value.astimezone(timezone.utc)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"


def _column_list(values, timestamp: bool, postgresql: bool) -> list:
    """One column's values as a plain list the driver takes (numpy arrays included)."""
    if hasattr(values, "dtype"):  # a numpy array
        if values.dtype.kind == "M":
            # Timestamps (UTC): each distinct one formatted once, as SQLite stores it or COPY parses it.
            suffix = "+00:00" if postgresql else ""
            distinct, index = np.unique(values, return_inverse=True)
            text = np.datetime_as_string(distinct.astype("datetime64[us]"), unit="us").tolist()
            formatted = [None if t == "NaT" else t.replace("T", " ") + suffix for t in text]
            return np.array(formatted, dtype=object)[index].tolist()
        values = values.tolist()
    if timestamp and not postgresql:
        return [_sqlite_datetime(v) for v in values]
    return values


def insert_columns(connection, table, columns: dict) -> None:
    """Insert rows given as columns (name -> list or numpy array of equal length), as bulk_insert.

    Building tuples straight from columns skips a dict per row, which is most of the Python
    work when seeding a million rows; timestamp columns may be numpy datetime64 (UTC).
    """
    names = list(columns)
    if not names:
        return
    postgresql = connection.dialect.name == "postgresql"
    values = [_column_list(columns[c], isinstance(table.c[c].type, UTCDateTime), postgresql) for c in names]
    if not values[0]:
        return
    if postgresql:
        quoted = ", ".join(f'"{c}"' for c in names)
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in zip(*values):
                copy.write_row(row)
        return
    statement = table.insert().compile(dialect=connection.dialect, column_keys=names)
    position = {c: i for i, c in enumerate(names)}
    ordered = [values[position[c]] for c in statement.positiontup]
    connection.exec_driver_sql(str(statement), list(zip(*ordered)))


def bulk_insert(connection, table, rows: list[dict]) -> None:
    """Insert many rows fast: COPY on PostgreSQL, one prepared executemany of tuples on SQLite.

    Rows are plain dicts with the same keys; bypassing SQLAlchemy's per-row parameter
    processing is what lets seeding and aggregate upkeep run at tens of thousands of rows/s.
    """
    if not rows:
        return
    columns = list(rows[0])
    if connection.dialect.name == "postgresql":
        names = ", ".join(f'"{c}"' for c in columns)
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        return
    statement = table.insert().compile(dialect=connection.dialect, column_keys=columns)
    order = statement.positiontup
    dates = [c for c in order if isinstance(table.c[c].type, UTCDateTime)]
    if dates:
        rows = [{**row, **{c: _sqlite_datetime(row[c]) for c in dates}} for row in rows]
    connection.exec_driver_sql(str(statement), [tuple(row[c] for c in order) for row in rows])
