"""The read side of reports: tables in, frames and plain values out, for the pure code in reports/.

Experience counts come from the maintained report tables (CellSource, fast) or the raw rows
(RawSource, the baseline). Both answer the same questions with the same shapes, so every report
is computed by the same code from either, and a test can demand that they agree. Pages use
CellSource; RawSource is what a registry without maintained report tables would do, kept as the
benchmarks' baseline. Doctor ratings are read by RatingSource.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sqlalchemy import String, case, cast, func, literal, select, union_all

import scales
from registry.models import (
    ANY,
    Condition,
    Doctor,
    DoctorRating,
    Experience,
    ExperienceSideEffect,
    ExperienceStopReason,
    ExperienceUpdate,
    Treatment,
    pub_cell,
    pub_point,
    pub_rating,
    pub_slice,
    report_cell,
    report_slice,
    report_term,
)
from registry.models.report_tables import COUNT_COLUMNS, DIMENSIONS, count_column
from registry.reporting import report_upkeep
from reports.filters import Filters
from reports.followup import POINT_COLUMNS

COLUMNS = ["treatment_id", "field", "code", "n"]
# report_slice rows as frames: one row per (condition, treatment, axis, bucket), wide counts.
SLICE_COLUMNS = ["condition_id", "treatment_id", "axis", "bucket", "n", "key_sum", *COUNT_COLUMNS]


def _slice_frame(records) -> pd.DataFrame:
    return pd.DataFrame(records, columns=SLICE_COLUMNS)


class _Catalog:
    """The catalog entries a report names, by id."""

    def __init__(self, session):
        self.session = session

    def treatments(self, ids) -> dict[int, Treatment]:
        return {t.id: t for t in self.session.scalars(select(Treatment).where(Treatment.id.in_(list(ids))))}

    def conditions(self, ids) -> dict[int, Condition]:
        return {c.id: c for c in self.session.scalars(select(Condition).where(Condition.id.in_(list(ids))))}


class CellSource(_Catalog):
    """Counts from report_cell and report_term, kept current by every write."""

    def _where(self, table, condition_id: int, filters: Filters, treatment_ids=None) -> list:
        clauses = [table.c.condition_id == condition_id]
        if treatment_ids is not None:
            clauses.append(table.c.treatment_id.in_(list(treatment_ids)))
        for name, codes in filters.active().items():
            clauses.append(table.c[name].in_(codes))
        return clauses

    def sizes(self, condition_id: int, filters: Filters = Filters(), treatment_ids=None) -> dict[int, tuple[int, int]]:
        """(number of experiences, sum of their report keys) per treatment id under the filters."""
        total = func.sum(report_cell.c.n)
        rows = self.session.execute(
            select(report_cell.c.treatment_id, total, func.sum(report_cell.c.key_sum))
            .where(*self._where(report_cell, condition_id, filters, treatment_ids))
            .group_by(report_cell.c.treatment_id)
            .having(total > 0)
        )
        return {tid: (int(n), int(key)) for tid, n, key in rows}

    def unit_sizes(self) -> dict[tuple[int, int], tuple[int, int]]:
        """(n, key sum) of every (condition, treatment) with reports, unfiltered."""
        total = func.sum(report_cell.c.n)
        rows = self.session.execute(
            select(report_cell.c.condition_id, report_cell.c.treatment_id, total, func.sum(report_cell.c.key_sum))
            .group_by(report_cell.c.condition_id, report_cell.c.treatment_id)
            .having(total > 0)
        )
        return {(cid, tid): (int(n), int(key)) for cid, tid, n, key in rows}

    def treatment_sizes(self, treatment_id: int) -> dict[int, tuple[int, int]]:
        """(n, key sum) per condition id of one treatment's reports, unfiltered (the drug page)."""
        total = func.sum(report_cell.c.n)
        rows = self.session.execute(
            select(report_cell.c.condition_id, total, func.sum(report_cell.c.key_sum))
            .where(report_cell.c.treatment_id == treatment_id)
            .group_by(report_cell.c.condition_id)
            .having(total > 0)
        )
        return {cid: (int(n), int(key)) for cid, n, key in rows}

    def counts(self, condition_id: int, filters: Filters, fields, treatment_ids=None) -> pd.DataFrame:
        """Counts per (treatment_id, field, code), every code of each field, in one query."""
        names = [(f, c) for f in fields for c in scales.COUNTED_CODES[f]]
        rows = self.session.execute(
            select(report_cell.c.treatment_id, *(func.sum(report_cell.c[count_column(f, c)]) for f, c in names))
            .where(*self._where(report_cell, condition_id, filters, treatment_ids))
            .group_by(report_cell.c.treatment_id)
        ).all()
        records = [(row[0], f, c, int(n or 0)) for row in rows for (f, c), n in zip(names, row[1:])]
        return pd.DataFrame(records, columns=COLUMNS)

    def terms(self, condition_id: int, filters: Filters, treatment_ids=None) -> pd.DataFrame:
        """Side-effect term counts per (treatment_id, term)."""
        total = func.sum(report_term.c.n)
        rows = self.session.execute(
            select(report_term.c.treatment_id, report_term.c.term, total)
            .where(*self._where(report_term, condition_id, filters, treatment_ids))
            .group_by(report_term.c.treatment_id, report_term.c.term)
            .having(total > 0)
        ).all()
        return pd.DataFrame([(t, term, int(n)) for t, term, n in rows], columns=["treatment_id", "code", "n"])

    def slices(self, axes, condition_id: int | None = None, treatment_ids=None) -> pd.DataFrame:
        """Unfiltered counts by months on treatment, dose or year (SLICE_COLUMNS), for the axes asked."""
        clauses = [report_slice.c.axis.in_(list(axes)), report_slice.c.n > 0]
        if condition_id is not None:
            clauses.append(report_slice.c.condition_id == condition_id)
        if treatment_ids is not None:
            clauses.append(report_slice.c.treatment_id.in_(list(treatment_ids)))
        rows = self.session.execute(select(*(report_slice.c[c] for c in SLICE_COLUMNS)).where(*clauses)).all()
        return _slice_frame([tuple(r) for r in rows])

    def points(self, condition_id: int, treatment_id: int) -> pd.DataFrame:
        """Every history point of the pair's followed-up experiences, live (reports.followup.POINT_COLUMNS).

        Only experiences with at least one follow-up have a history: the others gave one answer, at
        their report, which the rest of the page already counts (and reading every experience of a
        large treatment would cost each page more than the report itself). The current answers are a
        point of their own (dated when saved); a kept row saved at the same moment counts once.
        Never filtered, like the page's other sections on time: fewer views hold each person.
        """
        where = (Experience.condition_id == condition_id, Experience.treatment_id == treatment_id)
        return self.unit_points(*where).drop(columns=["condition_id", "treatment_id"])

    def unit_points(self, *where) -> pd.DataFrame:
        """The live history points of the experiences matching where, with their unit (condition_id, treatment_id)."""
        answers = ("stopped", "effectiveness", "side_effect_severity", "satisfaction", "would_recommend")
        # One pass over the pair's index, joined to the kept points: an experience's own columns are read only
        # for those with a history (reading them for every report of a large pair cost most of the section).
        e, u = Experience.__table__.c, ExperienceUpdate.__table__.c  # Core rows: no ORM loading per point
        joined = self.session.execute(
            select(
                e.condition_id,
                e.treatment_id,
                e.id,
                e.started,
                e.updated_at,
                e.report_key,
                *(e[name] for name in answers),
                u.recorded_at,
                u.report_key,
                *(u[name] for name in answers),
            )
            .join(ExperienceUpdate.__table__, u.experience_id == e.id)
            .where(*where)
            .order_by(u.recorded_at, u.id)
        ).all()
        width = 2 + len(answers)  # date, key and answers of one point
        kept = [(*row[:4], *row[4 + width :]) for row in joined]
        current = {row[2]: tuple(row[: 4 + width]) for row in joined}
        rows, seen = [], set()
        for row in [
            *kept,
            *current.values(),
        ]:  # oldest first: of two points in one month, the later is the newer answer
            if row[3] is None or (row[2], row[4]) in seen:
                continue
            seen.add((row[2], row[4]))
            rows.append((*row[:4], f"{row[4].year:04d}-{row[4].month:02d}", int(row[5]), *row[6:]))
        return pd.DataFrame(rows, columns=["condition_id", "treatment_id", *POINT_COLUMNS])


class PublishedSource(_Catalog):
    """The published numbers (registry/reporting/release.py): one pub_cell row per view, as the last release left it.

    Answers what CellSource answers, in the same shapes, so the reports cannot tell them apart; the
    pages read this one. Each row's key_sum is its published seed.
    """

    def _rows(self, condition_id: int | None, filters: Filters, treatment_ids=None, columns=()):
        active = filters.active()
        clauses = [pub_cell.c[d] == (active[d][0] if d in active else ANY) for d in DIMENSIONS]
        if condition_id is not None:
            clauses.append(pub_cell.c.condition_id == condition_id)
        if treatment_ids is not None:
            clauses.append(pub_cell.c.treatment_id.in_(list(treatment_ids)))
        base = (pub_cell.c.condition_id, pub_cell.c.treatment_id, pub_cell.c.n, pub_cell.c.key_sum)
        return self.session.execute(select(*base, *(pub_cell.c[c] for c in columns)).where(*clauses)).all()

    def sizes(self, condition_id: int, filters: Filters = Filters(), treatment_ids=None) -> dict[int, tuple[int, int]]:
        return {tid: (int(n), int(key)) for _, tid, n, key in self._rows(condition_id, filters, treatment_ids)}

    def unit_sizes(self) -> dict[tuple[int, int], tuple[int, int]]:
        return {(cid, tid): (int(n), int(key)) for cid, tid, n, key in self._rows(None, Filters())}

    def treatment_sizes(self, treatment_id: int) -> dict[int, tuple[int, int]]:
        return {cid: (int(n), int(key)) for cid, _, n, key in self._rows(None, Filters(), [treatment_id])}

    def counts(self, condition_id: int, filters: Filters, fields, treatment_ids=None) -> pd.DataFrame:
        wanted = [(f, c, COUNT_COLUMNS.index(count_column(f, c))) for f in fields for c in scales.COUNTED_CODES[f]]
        records = []
        for _, tid, _, _, blob in self._rows(condition_id, filters, treatment_ids, ("counts",)):
            values = np.frombuffer(blob, dtype=np.int32)
            records.extend((tid, f, c, int(values[i])) for f, c, i in wanted)
        return pd.DataFrame(records, columns=COLUMNS)

    def terms(self, condition_id: int, filters: Filters, treatment_ids=None) -> pd.DataFrame:
        records = []
        for _, tid, _, _, words in self._rows(condition_id, filters, treatment_ids, ("terms",)):
            records.extend((tid, term, int(n)) for term, n in json.loads(words).items() if n > 0)
        return pd.DataFrame(records, columns=["treatment_id", "code", "n"])

    def slices(self, axes, condition_id: int | None = None, treatment_ids=None) -> pd.DataFrame:
        clauses = [pub_slice.c.axis.in_(list(axes))]
        if condition_id is not None:
            clauses.append(pub_slice.c.condition_id == condition_id)
        if treatment_ids is not None:
            clauses.append(pub_slice.c.treatment_id.in_(list(treatment_ids)))
        rows = self.session.execute(
            select(*(pub_slice.c[c] for c in SLICE_COLUMNS[:6]), pub_slice.c.counts).where(*clauses)
        )
        return _slice_frame([(*row[:6], *np.frombuffer(row[6], dtype=np.int32).tolist()) for row in rows])

    def points(self, condition_id: int, treatment_id: int) -> pd.DataFrame:
        """The unit's follow-up points as published (reports.followup.POINT_COLUMNS)."""
        rows = self.session.execute(
            select(*(pub_point.c[c] for c in POINT_COLUMNS))
            .where(pub_point.c.condition_id == condition_id, pub_point.c.treatment_id == treatment_id)
            .order_by(pub_point.c.id)
        ).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=POINT_COLUMNS)


class RawSource(_Catalog):
    """The same counts grouped from the raw experience rows on every request (the baseline)."""

    def _where(self, condition_id: int, filters: Filters, treatment_ids=None) -> list:
        clauses = [Experience.condition_id == condition_id]
        if treatment_ids is not None:
            clauses.append(Experience.treatment_id.in_(list(treatment_ids)))
        for name, codes in filters.active().items():
            clauses.append(getattr(Experience, name).in_(codes))
        return clauses

    def sizes(self, condition_id: int, filters: Filters = Filters(), treatment_ids=None) -> dict[int, tuple[int, int]]:
        rows = self.session.execute(
            select(Experience.treatment_id, func.count(), func.sum(Experience.report_key))
            .where(*self._where(condition_id, filters, treatment_ids))
            .group_by(Experience.treatment_id)
        )
        return {tid: (int(n), int(key)) for tid, n, key in rows}

    def unit_sizes(self) -> dict[tuple[int, int], tuple[int, int]]:
        rows = self.session.execute(
            select(
                Experience.condition_id, Experience.treatment_id, func.count(), func.sum(Experience.report_key)
            ).group_by(Experience.condition_id, Experience.treatment_id)
        )
        return {(cid, tid): (int(n), int(key)) for cid, tid, n, key in rows}

    def treatment_sizes(self, treatment_id: int) -> dict[int, tuple[int, int]]:
        rows = self.session.execute(
            select(Experience.condition_id, func.count(), func.sum(Experience.report_key))
            .where(Experience.treatment_id == treatment_id)
            .group_by(Experience.condition_id)
        )
        return {cid: (int(n), int(key)) for cid, n, key in rows}

    def counts(self, condition_id: int, filters: Filters, fields, treatment_ids=None) -> pd.DataFrame:
        where = self._where(condition_id, filters, treatment_ids)
        parts = []
        for name in fields:
            if name == "stop_reasons":
                parts.append(
                    select(Experience.treatment_id, literal(name), ExperienceStopReason.reason, func.count())
                    .join(ExperienceStopReason, ExperienceStopReason.experience_id == Experience.id)
                    .where(*where)
                    .group_by(Experience.treatment_id, ExperienceStopReason.reason)
                )
                continue
            column = (
                report_upkeep.duration_band_sql(self.session.get_bind().dialect.name)
                if name == "duration"
                else getattr(Experience, name)
            )
            parts.append(
                select(Experience.treatment_id, literal(name), cast(column, String), func.count())
                .where(*where, column.is_not(None))
                .group_by(Experience.treatment_id, column)
            )
        rows = self.session.execute(union_all(*parts)).all() if parts else []
        return pd.DataFrame([tuple(r) for r in rows], columns=COLUMNS)

    def terms(self, condition_id: int, filters: Filters, treatment_ids=None) -> pd.DataFrame:
        rows = self.session.execute(
            select(Experience.treatment_id, ExperienceSideEffect.term, func.count())
            .join(ExperienceSideEffect, ExperienceSideEffect.experience_id == Experience.id)
            .where(*self._where(condition_id, filters, treatment_ids))
            .group_by(Experience.treatment_id, ExperienceSideEffect.term)
        ).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=["treatment_id", "code", "n"])

    def slices(self, axes, condition_id: int | None = None, treatment_ids=None) -> pd.DataFrame:
        where = []
        if condition_id is not None:
            where.append(Experience.condition_id == condition_id)
        if treatment_ids is not None:
            where.append(Experience.treatment_id.in_(list(treatment_ids)))
        rows, _, reasons = report_upkeep.rows_where(self.session, *where)
        sums = {}
        report_upkeep.contributions(rows, (), reasons, sums)
        return _slice_frame(
            [
                (*key, *(counts.get(c, 0) for c in SLICE_COLUMNS[4:]))
                for key, counts in sorted(sums.items())
                if key[2] in axes and counts["n"] > 0
            ]
        )


def _code_count(name: str, code: str):
    column = getattr(DoctorRating, name)
    value = int(code) if name in ("overall", "knowledge") else code
    return func.sum(case((column == value, 1), else_=0)).label(f"{name}={code}")


class RatingSource:
    """Doctor ratings as frames: per group, n, the ratings' key sum and a count per code."""

    def __init__(self, session):
        self.session = session

    def scores(self, by_condition: bool = False, condition_id: int | None = None, doctor_ids=None) -> pd.DataFrame:
        """One row per doctor (and condition): n, key_sum and "field=code" counts of scales.RATING_COUNTED_CODES."""
        group_by = [DoctorRating.doctor_id, *([DoctorRating.condition_id] if by_condition else [])]
        where = []
        if condition_id is not None:
            where.append(DoctorRating.condition_id == condition_id)
        if doctor_ids is not None:
            where.append(DoctorRating.doctor_id.in_(list(doctor_ids)))
        columns = [
            func.count().label("n"),
            func.sum(DoctorRating.report_key).label("key_sum"),
            *(_code_count(name, code) for name, codes in scales.RATING_COUNTED_CODES.items() for code in codes),
        ]
        rows = self.session.execute(select(*group_by, *columns).where(*where).group_by(*group_by)).all()
        return pd.DataFrame(rows, columns=[c.key for c in group_by] + [c.key for c in columns])

    def condition_names(self) -> dict[int, tuple[str, str]]:
        """Condition id -> (slug, name)."""
        return {
            cid: (slug, name)
            for cid, slug, name in self.session.execute(select(Condition.id, Condition.slug, Condition.name))
        }

    def doctors(self, query) -> list[Doctor]:
        """The doctors a select (or a list of ids) names."""
        if isinstance(query, (list, tuple, set)):
            query = select(Doctor).where(Doctor.id.in_(list(query)))
        return list(self.session.scalars(query))


class PublishedRatingSource(RatingSource):
    """Doctor ratings as the last release published them: one pub_rating row per doctor and condition."""

    def scores(self, by_condition: bool = False, condition_id: int | None = None, doctor_ids=None) -> pd.DataFrame:
        where = []
        if condition_id is not None:
            where.append(pub_rating.c.condition_id == condition_id)
        if doctor_ids is not None:
            where.append(pub_rating.c.doctor_id.in_(list(doctor_ids)))
        rows = self.session.execute(
            select(
                pub_rating.c.doctor_id,
                pub_rating.c.condition_id,
                pub_rating.c.n,
                pub_rating.c.key_sum,
                pub_rating.c.counts,
            ).where(*where)
        ).all()
        counted = [f"{name}={code}" for name, codes in scales.RATING_COUNTED_CODES.items() for code in codes]
        records = []
        for doctor_id, cid, n, key, counts in rows:
            values = json.loads(counts)
            records.append((doctor_id, cid, n, key, *(values.get(c, 0) for c in counted)))
        frame = pd.DataFrame(records, columns=["doctor_id", "condition_id", "n", "key_sum", *counted])
        if by_condition:
            return frame
        # A doctor's overall is the sum of the published groups (one seed: the sum of theirs).
        return frame.drop(columns="condition_id").groupby("doctor_id", as_index=False).sum()
