"""The report tables (the storage of counts kept current on every write by registry/reporting/report_upkeep.py).

report_cell holds, per condition, treatment and "patients like me" cell (role, age band, sex,
years since diagnosis; "" when not given), the number of experiences and one count column per
code of every reported scale. report_term holds the side-effect terms the same way. Reports
read these small tables instead of the raw rows, so a page costs as much as the cells it shows.

report_slice holds the same counts per condition and treatment along one more axis and no
"patients like me" cell: months on treatment (still using, or stopped), the dose as reported,
and the year of the report. The time, dose and trend reports read it; they are never filtered,
which keeps the number of views of a person's report small (see docs/privacy.md).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table

import scales
from registry.platform.database import UTCDateTime
from registry.platform.extensions import db

DIMENSIONS = ("role", "age_band", "sex", "years_since_diagnosis")


def count_column(field: str, code: str) -> str:
    """The report_cell column that counts one code of one field."""
    return f"{field}__{code}"


# One count column per code of every field the report tables count (scales.COUNTED_CODES).
COUNT_COLUMNS = [count_column(f, c) for f, codes in scales.COUNTED_CODES.items() for c in codes]


def _key_columns():
    return [
        Column("condition_id", ForeignKey("condition.id", ondelete="CASCADE"), primary_key=True),
        Column("treatment_id", ForeignKey("treatment.id", ondelete="CASCADE"), primary_key=True),
        *(Column(d, String(14), primary_key=True) for d in DIMENSIONS),
    ]


report_cell = Table(
    "report_cell",
    db.metadata,
    *_key_columns(),
    Column("n", Integer, nullable=False, default=0),
    *(Column(name, Integer, nullable=False, default=0) for name in COUNT_COLUMNS),
    # The sum of the cell's experiences' report keys: a view's sum names its set of reports,
    # which is what its disclosure-control noise is drawn from (reports/disclosure.py).
    Column("key_sum", BigInteger, nullable=False, default=0),
)

report_term = Table(
    "report_term",
    db.metadata,
    *_key_columns(),
    Column("term", String(80), primary_key=True),
    Column("n", Integer, nullable=False, default=0),
)

# report_slice axes: months on treatment for reports still using it (censored) and for reports
# that stopped (an event), the dose as reported ("unit|amount|frequency"), the year of the report.
SLICE_AXES = ("using", "stopped", "dose", "year")
SLICE_MONTHS_CAP = 60  # months on treatment are counted 0..59, and 60 for "60 or more"

report_slice = Table(
    "report_slice",
    db.metadata,
    Column("condition_id", ForeignKey("condition.id", ondelete="CASCADE"), primary_key=True),
    Column("treatment_id", ForeignKey("treatment.id", ondelete="CASCADE"), primary_key=True),
    Column("axis", String(8), primary_key=True),
    Column("bucket", String(40), primary_key=True),
    Column("n", Integer, nullable=False, default=0),
    *(Column(name, Integer, nullable=False, default=0) for name in COUNT_COLUMNS),
    Column("key_sum", BigInteger, nullable=False, default=0),
)

# Bumped in the same transaction as every write to a condition's aggregates: cache keys carry it.
report_version = Table(
    "report_version",
    db.metadata,
    Column("condition_id", ForeignKey("condition.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, nullable=False, default=0),
)


# Windows in which the report tables are checked against the raw rows by every `registry release`, and
# rebuilt when they differ: opened by `registry init` when it migrates a registry (servers of the previous
# release may still write, with its own upkeep, until the rollout ends), closed when the window ends or
# by `registry aggregates check --repair` (registry/reporting/report_upkeep.py, verify()).
upkeep_check = Table(
    "upkeep_check",
    db.metadata,
    Column("id", Integer, primary_key=True),
    Column("reason", String(200), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("until", UTCDateTime, nullable=False),
    Column("checked_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
)
