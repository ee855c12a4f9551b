"""The published tables: the numbers pages, CSVs and the API read, written only by a release.

A release (registry/reporting/release.py) copies a view's true counts here from the maintained report
tables only when at least ``min_n`` distinct participants changed in it since it was last
published; otherwise the row stays byte-identical. Each row's ``key_sum`` is the seed its
protected numbers are drawn from: its set of reports' fixed keys, each plus the offset of the release
that published it, so a republished view gets a fresh draw, and an unchanged one the same draw forever.

pub_cell holds one row per "patients like me" view (a unit, condition and treatment, under one
value or "*" per dimension): n, the seed, one int32 per registry.models.COUNT_COLUMNS as bytes,
and its side-effect terms with their true counts. pub_slice and pub_point copy a unit's slices and
follow-up points when its unfiltered view is published; pub_rating holds one row per doctor and
condition, all of a doctor's published together. pub_member and pub_pending are the release's own bookkeeping: what each report was at
the last release, and which participants changed in each view not yet republished.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from registry.models.report_tables import COUNT_COLUMNS
from registry.platform.database import UTCDateTime
from registry.platform.extensions import db

ANY = "*"  # a dimension a view does not filter on

release = Table(
    "release",
    db.metadata,
    Column("id", Integer, primary_key=True),
    Column("released_at", UTCDateTime, nullable=False),
    Column("views", Integer, nullable=False, default=0),  # views given new numbers
    Column("frozen", Integer, nullable=False, default=0),  # views that reached their yearly budget
    Column("seconds", Float, nullable=False, default=0.0),
)


def _unit(primary_key: bool = False):
    return [
        Column("condition_id", ForeignKey("condition.id", ondelete="CASCADE"), nullable=False, primary_key=primary_key),
        Column("treatment_id", ForeignKey("treatment.id", ondelete="CASCADE"), nullable=False, primary_key=primary_key),
    ]


def _budget():
    return [
        Column("release_id", Integer, nullable=False),
        Column("period", Integer, nullable=False),  # the year whose budget the publications count against
        Column("publications", Integer, nullable=False),
    ]


pub_cell = Table(
    "pub_cell",
    db.metadata,
    Column("view", BigInteger, primary_key=True, autoincrement=False),
    *_unit(),
    Column("role", String(14), nullable=False),
    Column("age_band", String(14), nullable=False),
    Column("sex", String(14), nullable=False),
    Column("years_since_diagnosis", String(14), nullable=False),
    Column("n", Integer, nullable=False),
    Column("key_sum", BigInteger, nullable=False),
    Column("counts", LargeBinary, nullable=False),  # int32 per COUNT_COLUMNS, in order
    Column("terms", Text, nullable=False),  # JSON {term: true count}
    *_budget(),
    Index("ix_pub_cell_condition_view", "condition_id", "role", "age_band", "sex", "years_since_diagnosis"),
    Index("ix_pub_cell_treatment", "treatment_id"),
)

pub_slice = Table(
    "pub_slice",
    db.metadata,
    *_unit(primary_key=True),
    Column("axis", String(8), primary_key=True),
    Column("bucket", String(40), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("key_sum", BigInteger, nullable=False),
    Column("counts", LargeBinary, nullable=False),
)

pub_point = Table(
    "pub_point",
    db.metadata,
    Column("id", Integer, primary_key=True),
    *_unit(),
    Column("experience_id", Integer, nullable=False),
    Column("started", String(7)),
    Column("month", String(7), nullable=False),
    Column("report_key", BigInteger, nullable=False),
    Column("stopped", String(7)),
    Column("effectiveness", String(14)),
    Column("side_effect_severity", String(14)),
    Column("satisfaction", Integer),
    Column("would_recommend", String(14)),
    Index("ix_pub_point_unit", "condition_id", "treatment_id"),
)

pub_rating = Table(
    "pub_rating",
    db.metadata,
    Column("doctor_id", ForeignKey("doctor.id", ondelete="CASCADE"), primary_key=True),
    Column("condition_id", ForeignKey("condition.id", ondelete="CASCADE"), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("key_sum", BigInteger, nullable=False),
    Column("counts", Text, nullable=False),  # JSON {"field=code": true count}
    *_budget(),
)

# The published total of each condition after each release that changed it (What's new reads
# "new since your visit" as the difference of two published totals).
pub_condition = Table(
    "pub_condition",
    db.metadata,
    Column("condition_id", ForeignKey("condition.id", ondelete="CASCADE"), primary_key=True),
    Column("release_id", Integer, primary_key=True),
    Column("released_at", UTCDateTime, nullable=False),
    Column("n", Integer, nullable=False),
)

# Bumped for a condition when a release changes any of its published rows: report caches key on it.
pub_version = Table(
    "pub_version",
    db.metadata,
    Column("condition_id", ForeignKey("condition.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, nullable=False),
)

pub_member = Table(
    "pub_member",
    db.metadata,
    Column("kind", String(1), primary_key=True),  # "e" experience, "r" doctor rating
    Column("report_id", Integer, primary_key=True, autoincrement=False),
    Column("user_id", Integer, nullable=False),
    Column("a", Integer, nullable=False),  # condition (e) or doctor (r)
    Column("b", Integer, nullable=False),  # treatment (e) or condition (r)
    Column("dims", Integer, nullable=False),  # the report's "like me" values, coded (registry.reporting.release)
    Column("version", BigInteger, nullable=False),  # a hash of what the report said
)

pub_pending = Table(
    "pub_pending",
    db.metadata,
    Column("kind", String(1), primary_key=True),
    Column("view", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", Integer, primary_key=True, autoincrement=False),
)

PUBLISHED_TABLES = (pub_cell, pub_slice, pub_point, pub_rating, pub_condition, pub_version, pub_member, pub_pending)
__all__ = ["ANY", "COUNT_COLUMNS", "PUBLISHED_TABLES", "release", *(t.name for t in PUBLISHED_TABLES)]
