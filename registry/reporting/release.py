"""Releases: pages read published numbers, which change only when enough changed (issue 24).

A release compares every report (experience, doctor rating) with what it was at the last release
(pub_member) and notes, for every view that held it before or holds it now, the participant who
changed (pub_pending). A view gets new numbers only when at least ``min_n`` distinct participants
changed in it since it was last published (1 in exact mode, where there is no noise to average),
and at most ``RELEASE_BUDGET`` times a year; otherwise its published row stays byte-identical.
One participant re-saving, deleting and resubmitting or moving a report a hundred times is one
participant: the views they are in keep their numbers until four other people change something.

Views: every "patients like me" view of a unit (condition and treatment under one value or "*"
per dimension: 16 hold each report), numbered as 56-bit integers (``view_number``); the unit's
unfiltered view also carries its slices (months on treatment, dose, year) and its follow-up
points; and one view per doctor (all their conditions published together, so that groups too small
to show alone still count in the doctor's pooled row). Seeds: a published row's ``key_sum`` is its
set's sum of fixed report keys plus n times the publishing release's offset (``seed``, additive, so
sums of rows name sets consistently), so a republished view gets a fresh draw of noise and an
untouched one the same draw forever.

Run by `registry release` (a timer in production), by `registry init` and `seed-demo`, and before
reading in "auto" mode (REGISTRY_RELEASE=auto: the demo and tests). The caller commits.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import BigInteger, Column, MetaData, String, Table, cast, delete, func, insert, select, text

from registry.models import (
    ANY,
    COUNT_COLUMNS,
    DIMENSIONS,
    DoctorRating,
    Experience,
    ExperienceUpdate,
    pub_cell,
    pub_condition,
    pub_member,
    pub_pending,
    pub_point,
    pub_rating,
    pub_slice,
    pub_version,
    release,
    report_cell,
    report_slice,
    report_term,
    report_version,
)
from registry.platform.database import insert_columns, now_utc
from registry.reporting.report_sources import CellSource, PublishedSource, RatingSource
from reports import outcomes
from reports.filters import FILTER_SCALES
from reports.followup import POINT_COLUMNS

# Each dimension's values, coded 1.. in scale order; 0 is "*" (not filtered), 7 is "not given".
DIM_CODES = {dim: {code: i + 1 for i, code in enumerate(FILTER_SCALES[dim].codes)} for dim in DIMENSIONS}
DIM_VALUES = {
    dim: {i: code for code, i in codes.items()} | {0: ANY} | {i: "" for i in range(len(codes) + 1, 8)}
    for dim, codes in DIM_CODES.items()
}
UNKNOWN = 7
MASKS = range(16)  # bit i set: the view filters on DIMENSIONS[i]


def release_offset(release_id: int) -> int:
    """A release's number as a 20-bit offset (splitmix64 of it, never 0) that every published report key carries."""
    x = (release_id * 0x9E3779B97F4A7C15) % 2**64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) % 2**64
    return ((x ^ (x >> 31)) >> 44) + 1


def seed(key_sums, counts, release_id: int) -> np.ndarray:
    """Published key sums: each report's key plus the release's offset, summed (key sum + n x offset).

    Additive, so any set of published rows names its set of reports in this release the same way
    whichever rows it is summed from (a unit's time view and its treatment view alike, when every
    report gave a start month), and a republished set gets a new name, hence a fresh draw.
    """
    return np.asarray(key_sums, dtype=np.int64) + np.asarray(counts, dtype=np.int64) * release_offset(release_id)


def dims_code(frame: pd.DataFrame) -> np.ndarray:
    """The four "like me" values of each row as one 12-bit integer (3 bits each, role first)."""
    code = np.zeros(len(frame), dtype=np.int64)
    for dim in DIMENSIONS:
        values = frame[dim].map(DIM_CODES[dim]).fillna(UNKNOWN).astype(np.int64).to_numpy()
        code = (code << 3) | values
    return code


def view_number(condition_id, treatment_id, dims) -> np.ndarray:
    """A view's number: condition (22 bits), treatment (22 bits), then the 12 bits of dims_code."""
    return (np.asarray(condition_id, dtype=np.int64) << 34) | (np.asarray(treatment_id, dtype=np.int64) << 12) | dims


def _masked(dims: np.ndarray, mask: int) -> tuple[np.ndarray, np.ndarray]:
    """(the dims of each row's view under a mask, whether that view can be asked for at all)."""
    out, readable = np.zeros_like(dims), np.ones(len(dims), dtype=bool)
    for i in range(4):
        shift = 3 * (3 - i)
        part = (dims >> shift) & 7
        if mask >> i & 1:
            out |= part << shift
            readable &= part != UNKNOWN  # nobody can filter on "not given"
    return out, readable


def _views_of(frame: pd.DataFrame) -> pd.DataFrame:
    """(view, user_id) for every view each row (a, b, dims, user_id) is in."""
    parts = []
    for mask in MASKS:
        dims, readable = _masked(frame["dims"].to_numpy(), mask)
        views = view_number(frame["a"].to_numpy(), frame["b"].to_numpy(), dims)
        parts.append(pd.DataFrame({"view": views[readable], "user_id": frame["user_id"].to_numpy()[readable]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["view", "user_id"])


@dataclass
class Summary:
    """What one release did."""

    id: int
    views: int  # views given new numbers
    frozen: int  # views whose yearly budget was spent (their numbers wait for next year)
    pending: int  # views with changes not yet enough to publish
    seconds: float


def threshold() -> int:
    """Distinct participants who must change in a view before it is republished."""
    policy = current_app.extensions["disclosure"]
    return 1 if policy.mode == "exact" else policy.min_n


def budget() -> int:
    """How many times a view may be published in a year (0: no cap, as in exact mode, where nothing is noised)."""
    if current_app.extensions["disclosure"].mode == "exact":
        return 0
    return max(0, int(current_app.config.get("RELEASE_BUDGET", 52)))  # 0: no cap (tests of the gating alone)


def budget_period(now: datetime) -> int:
    """The budget's period: the year cut into RELEASE_BUDGET equal parts, each allowing one publication per view.

    Spread over the year rather than spent at once: a view that reached its cap waits until the next
    part (a week with the default 52), never until next January.
    """
    parts = budget() or 1
    return now.year * 1000 + (now.timetuple().tm_yday - 1) * parts // 366


# A temporary list of ids (views or reports) to join against, instead of IN lists of thousands of parameters.
_scratch = Table("release_ids", MetaData(), Column("id", BigInteger, primary_key=True), prefixes=["TEMPORARY"])


def _scratch_ids(session, ids) -> Table:
    """The scratch table holding exactly these ids (created in this connection on first use)."""
    session.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS release_ids (id BIGINT PRIMARY KEY)"))
    session.execute(_scratch.delete())
    values = np.unique(np.asarray(ids, dtype=np.int64))
    if len(values):
        insert_columns(session.connection(), _scratch, {"id": values})
    return _scratch


def _lock(session) -> None:
    if session.get_bind().dialect.name == "postgresql":  # one release at a time across servers
        session.execute(text("SELECT pg_advisory_xact_lock(2424)"))


def _fetch(session, statement) -> list[tuple]:
    """The statement's rows as the driver gives them: plain tuples, no Row object per row (a DataFrame
    built from a million Row objects took three times as long). Only for columns the driver returns as
    the model types them (integers and text: no result processing to skip)."""
    result = session.execute(statement)
    try:
        return result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()


def _read(session, statement, columns) -> pd.DataFrame:
    return pd.DataFrame(_fetch(session, statement), columns=columns)


# --- what each report is now, and what it was ----------------------------------------------------


def _experiences_now(session) -> pd.DataFrame:
    table, updates = Experience.__table__, ExperienceUpdate.__table__
    # Core columns, and the last save as the database stores it: no ORM rows, no datetime per report.
    rows = _read(
        session,
        select(
            table.c.id,
            table.c.user_id,
            table.c.condition_id,
            table.c.treatment_id,
            *(table.c[d] for d in DIMENSIONS),
            cast(table.c.updated_at, String),
        ),
        ["report_id", "user_id", "a", "b", *DIMENSIONS, "updated_at"],
    )
    later = _read(
        session,
        select(updates.c.experience_id, func.count(), func.max(updates.c.id)).group_by(updates.c.experience_id),
        ["report_id", "updates", "last_update"],
    )
    rows = rows.merge(later, on="report_id", how="left")
    rows["dims"] = dims_code(rows)
    rows["version"] = _version(rows, ["a", "b", "dims", "updated_at", "updates", "last_update"])
    return rows[["report_id", "user_id", "a", "b", "dims", "version"]]


def _ratings_now(session) -> pd.DataFrame:
    table = DoctorRating.__table__
    rows = _read(
        session,
        select(table.c.id, table.c.user_id, table.c.doctor_id, table.c.condition_id, cast(table.c.updated_at, String)),
        ["report_id", "user_id", "a", "b", "updated_at"],
    )
    rows["dims"] = 0
    rows["version"] = _version(rows, ["a", "b", "updated_at"])
    return rows[["report_id", "user_id", "a", "b", "dims", "version"]]


def _version(rows: pd.DataFrame, columns) -> np.ndarray:
    """A 64-bit hash of what a report is now (its unit, "like me" values, last save, follow-ups)."""
    if rows.empty:
        return np.zeros(0, dtype=np.int64)
    numbers = pd.DataFrame(index=rows.index)
    for name in columns:
        values = rows[name]
        if name == "updated_at":  # text as stored: its hash, not a parse per report
            numbers[name] = pd.util.hash_array(values.fillna("").to_numpy(dtype=object)).view(np.int64)
        else:
            numbers[name] = pd.to_numeric(values).fillna(-1).astype("int64")
    return pd.util.hash_pandas_object(numbers, index=False).to_numpy().view(np.int64)


def _changed(session, kind: str, now: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows before of reports that changed, rows now of reports that changed)."""
    before = _read(
        session,
        select(
            pub_member.c.report_id,
            pub_member.c.user_id,
            pub_member.c.a,
            pub_member.c.b,
            pub_member.c.dims,
            pub_member.c.version,
        ).where(pub_member.c.kind == kind),
        ["report_id", "user_id", "a", "b", "dims", "version"],
    )
    both = before.merge(now, on="report_id", how="outer", suffixes=("_old", ""), indicator=True)
    same = (
        (both["_merge"] == "both") & (both["version_old"] == both["version"]) & (both["user_id_old"] == both["user_id"])
    )
    changed = both[~same]
    old = changed[changed["_merge"] != "right_only"]
    new = changed[changed["_merge"] != "left_only"]
    columns = ["report_id", "user_id", "a", "b", "dims", "version"]
    old = old[[f"{c}_old" if c != "report_id" else c for c in columns]].set_axis(columns, axis=1)
    return old.astype("int64"), new[columns].astype("int64")


def _remember(session, kind: str, old: pd.DataFrame, new: pd.DataFrame) -> None:
    """pub_member follows the reports that changed."""
    if len(old):
        gone = _scratch_ids(session, old["report_id"].to_numpy())
        session.execute(
            delete(pub_member).where(pub_member.c.kind == kind, pub_member.c.report_id.in_(select(gone.c.id)))
        )
    _insert(session, pub_member, new.assign(kind=kind))


def _insert(session, table, frame: pd.DataFrame) -> None:
    """Bulk insert (COPY on PostgreSQL, one executemany of tuples on SQLite): no dict per row."""
    if frame.empty:
        return
    columns = {}
    for name in frame.columns:
        values = frame[name]
        if values.dtype == object:
            columns[name] = [None if v is None or (isinstance(v, float) and v != v) else v for v in values.tolist()]
        else:
            columns[name] = values.to_numpy()
    insert_columns(session.connection(), table, columns)


# --- pending changes and the views due -------------------------------------------------------------


def _distinct_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """Distinct (view, user_id) rows, via one int64 per pair (a dense view number beside the user id)."""
    if pairs.empty:
        return pairs
    codes, uniques = pd.factorize(pairs["view"].to_numpy())
    keys = pd.unique((codes.astype(np.int64) << 32) | pairs["user_id"].to_numpy(dtype=np.int64))
    return pd.DataFrame({"view": uniques[keys >> 32], "user_id": keys & (2**32 - 1)})


def _due(
    session, kind: str, touched: pd.DataFrame, published, period: int, repeats: bool = True
) -> tuple[np.ndarray, int, int]:
    """Views due for new numbers (their pending changes cleared), how many the budget froze, how many wait.

    Reads only the pending changes of the views touched now and of views already ready (frozen by
    the budget last time), and writes only the new pairs: an hourly release costs what changed.
    """
    # A participant is in touched twice only when a report of theirs was there before and is there now.
    touched = _distinct_pairs(touched.astype("int64")) if repeats else touched.astype("int64")
    where = pub_pending.c.kind == kind
    if touched.empty and not budget():  # nothing new, and no view held back by a budget: nothing can be due
        waiting = session.scalar(select(func.count(func.distinct(pub_pending.c.view))).where(where))
        return np.zeros(0, dtype=np.int64), 0, int(waiting or 0)
    columns = [pub_pending.c.view, pub_pending.c.user_id]
    ready_before = select(pub_pending.c.view).where(where).group_by(pub_pending.c.view)
    ready_before = ready_before.having(func.count() >= max(threshold(), 1))
    if len(touched) > 200_000:  # most views: read them all
        stored = _read(session, select(*columns).where(where), ["view", "user_id"]).astype("int64")
    else:
        ids = _scratch_ids(session, touched["view"].to_numpy())
        stored = _read(
            session,
            select(*columns).where(where, pub_pending.c.view.in_(select(ids.c.id).union(ready_before))),
            ["view", "user_id"],
        ).astype("int64")
    pending = _distinct_pairs(pd.concat([stored, touched], ignore_index=True)) if len(stored) else touched
    if pending.empty:
        return np.zeros(0, dtype=np.int64), 0, 0
    views, people = np.unique(pending["view"].to_numpy(), return_counts=True)
    ready = views[people >= threshold()]
    spent = _spent(session, published, ready, period)
    due = np.setdiff1d(ready, spent)
    if stored.empty:
        new_pairs = touched[~touched["view"].isin(due)]
    else:
        new_pairs = touched.merge(stored, on=["view", "user_id"], how="left", indicator=True)
        new_pairs = new_pairs[(new_pairs["_merge"] == "left_only") & ~new_pairs["view"].isin(due)]
    if len(due):
        ids = _scratch_ids(session, due)
        session.execute(delete(pub_pending).where(where, pub_pending.c.view.in_(select(ids.c.id))))
    _insert(session, pub_pending, new_pairs[["view", "user_id"]].assign(kind=kind))
    waiting = session.scalar(select(func.count(func.distinct(pub_pending.c.view))).where(where))
    return due, len(spent), int(waiting or 0)


def _publications(session, table, period: int) -> dict[int, int]:
    """View -> how many times it was published in this period so far."""
    key = table.c.view if table is pub_cell else table.c.doctor_id
    rows = session.execute(select(key, table.c.publications).where(table.c.period == period))
    return {int(view): int(times) for view, times in rows}


def _spent(session, table, views: np.ndarray, period: int) -> np.ndarray:
    """The views among these already published in this part of the year (each part allows one publication)."""
    if not len(views):
        return views
    if not budget():
        return views[:0]
    used = _publications(session, table, period)
    spent = np.fromiter((v for v, times in used.items() if times >= 1), dtype=np.int64)
    return np.intersect1d(views, spent)


# --- publishing experience views ---------------------------------------------------------------------


def _units(views: np.ndarray) -> pd.DataFrame:
    """The distinct units (a = condition, b = treatment) of these view numbers."""
    views = np.asarray(views, dtype=np.int64)
    return pd.DataFrame({"a": views >> 34, "b": (views >> 12) & (2**22 - 1)}).drop_duplicates()


def _unit_cells(session, units: pd.DataFrame, table, columns) -> pd.DataFrame:
    """The rows of a report table for these units (condition, treatment)."""
    frames = []
    conditions = sorted(set(units["a"].tolist()))
    for start in range(0, len(conditions), 500):
        rows = _fetch(
            session,
            select(*(table.c[c] for c in columns)).where(table.c.condition_id.in_(conditions[start : start + 500])),
        )
        frames.append(pd.DataFrame(rows, columns=columns))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    if not len(frame):
        return frame
    wanted = (units["a"].to_numpy(dtype=np.int64) << 22) | units["b"].to_numpy(dtype=np.int64)
    pairs = (frame["condition_id"].to_numpy(dtype=np.int64) << 22) | frame["treatment_id"].to_numpy(dtype=np.int64)
    return frame[np.isin(pairs, wanted)]


def _aggregate(frame: pd.DataFrame, due: np.ndarray, numeric: list[str], by: list[str]) -> pd.DataFrame:
    """The due views' sums of these columns over a report table's rows (all 16 masks), grouped by view (and by)."""
    if frame.empty:
        return pd.DataFrame(columns=["view", *by, *numeric])
    dims = dims_code(frame)
    conditions, treatments = frame["condition_id"].to_numpy(), frame["treatment_id"].to_numpy()
    values = frame[numeric].to_numpy(dtype=np.int64)
    extra = {name: frame[name].to_numpy() for name in by}
    parts = []
    for mask in MASKS:
        masked, readable = _masked(dims, mask)
        views = view_number(conditions, treatments, masked)
        keep = readable & np.isin(views, due)
        if keep.any():
            part = pd.DataFrame(values[keep], columns=numeric)
            part.insert(0, "view", views[keep])
            for name, column in extra.items():
                part[name] = column[keep]
            parts.append(part.groupby(["view", *by], sort=False, as_index=False).sum())
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["view", *by, *numeric])


def _terms_json(terms: pd.DataFrame) -> dict[int, str]:
    """View -> its terms with their true counts, as JSON."""
    terms = terms[terms["n"] > 0].sort_values(["view", "term"], kind="stable")
    if terms.empty:
        return {}
    views = terms["view"].to_numpy()
    starts = np.flatnonzero(np.r_[True, views[1:] != views[:-1]])
    words, counts = terms["term"].tolist(), terms["n"].astype(int).tolist()
    ends = [*starts[1:].tolist(), len(views)]
    return {
        int(views[a]): json.dumps(dict(zip(words[a:b], counts[a:b])), sort_keys=True)
        for a, b in zip(starts.tolist(), ends)
    }


def _publish_cells(session, due: np.ndarray, release_id: int, period: int) -> set[int]:
    """New pub_cell rows for the due views; returns the conditions whose published rows changed."""
    if not len(due):
        return set()
    units = _units(due)
    cells = _unit_cells(
        session, units, report_cell, ["condition_id", "treatment_id", *DIMENSIONS, "n", "key_sum", *COUNT_COLUMNS]
    )
    terms = _unit_cells(session, units, report_term, ["condition_id", "treatment_id", *DIMENSIONS, "term", "n"])
    published = _aggregate(cells, due, ["n", "key_sum", *COUNT_COLUMNS], [])
    published = published[published["n"] > 0]
    words = _terms_json(_aggregate(terms, due, ["n"], ["term"]))
    before = _publications(session, pub_cell, period)
    ids = _scratch_ids(session, due)
    session.execute(delete(pub_cell).where(pub_cell.c.view.in_(select(ids.c.id))))
    if not published.empty:
        views = published["view"].to_numpy(dtype=np.int64)
        counts = published[COUNT_COLUMNS].to_numpy(dtype=np.int32)
        dims = views & 4095
        columns = {
            "view": views,
            "condition_id": views >> 34,
            "treatment_id": (views >> 12) & (2**22 - 1),
            **{
                dim: np.array([DIM_VALUES[dim][c] for c in range(8)], dtype=object)[(dims >> 3 * (3 - j)) & 7]
                for j, dim in enumerate(DIMENSIONS)
            },
            "n": published["n"].to_numpy(dtype=np.int64),
            "key_sum": seed(published["key_sum"], published["n"], release_id),
            "counts": [row.tobytes() for row in counts],
            "terms": [words.get(v, "{}") for v in views.tolist()],
            "release_id": np.full(len(views), release_id),
            "period": np.full(len(views), period),
            "publications": np.array([before.get(v, 0) + 1 for v in views.tolist()], dtype=np.int64),
        }
        insert_columns(session.connection(), pub_cell, columns)
    return set(int(a) for a in units["a"].tolist())


def _publish_units(session, units: pd.DataFrame, release_id: int) -> None:
    """A unit's slices and follow-up points, copied when its unfiltered view is published."""
    if units.empty:
        return
    pairs = [(int(a), int(b)) for a, b in zip(units["a"], units["b"])]
    by_condition: dict[int, list[int]] = {}
    for condition_id, treatment_id in pairs:
        by_condition.setdefault(condition_id, []).append(treatment_id)
    for condition_id, ids in by_condition.items():
        for table in (pub_slice, pub_point):
            session.execute(delete(table).where(table.c.condition_id == condition_id, table.c.treatment_id.in_(ids)))
    slices = _unit_cells(
        session, units, report_slice, ["condition_id", "treatment_id", "axis", "bucket", "n", "key_sum", *COUNT_COLUMNS]
    )
    slices = slices[slices["n"] > 0]
    if not slices.empty:
        counts = slices[COUNT_COLUMNS].to_numpy(dtype=np.int32)
        seeds = seed(slices["key_sum"], slices["n"], release_id)
        _insert(
            session,
            pub_slice,
            slices[["condition_id", "treatment_id", "axis", "bucket", "n"]].assign(
                key_sum=seeds, counts=[row.tobytes() for row in counts]
            ),
        )
    live = CellSource(session)
    wanted = pd.DataFrame(pairs, columns=["condition_id", "treatment_id"])
    conditions = sorted(by_condition)
    for start in range(0, len(conditions), 500):
        points = live.unit_points(Experience.__table__.c.condition_id.in_(conditions[start : start + 500]))
        points = points.merge(wanted, on=["condition_id", "treatment_id"])
        if not points.empty:
            points["report_key"] = seed(points["report_key"], 1, release_id)
            _insert(session, pub_point, points)


# --- doctor ratings ----------------------------------------------------------------------------------


def _rating_views(frame: pd.DataFrame) -> pd.DataFrame:
    """A doctor is one view: all their conditions are published together (small ones pool on the page)."""
    return pd.DataFrame({"view": frame["a"], "user_id": frame["user_id"]})


def _publish_ratings(session, due: np.ndarray, release_id: int, period: int) -> None:
    if not len(due):
        return
    before = _publications(session, pub_rating, period)
    doctors = sorted(int(v) for v in due)
    scores = RatingSource(session).scores(by_condition=True, doctor_ids=doctors)
    ids = _scratch_ids(session, doctors)
    session.execute(delete(pub_rating).where(pub_rating.c.doctor_id.in_(select(ids.c.id))))
    counted = [c for c in scores.columns if "=" in c]
    seeds = seed(scores["key_sum"], scores["n"], release_id)
    records = [
        {
            "doctor_id": int(row["doctor_id"]),
            "condition_id": int(row["condition_id"]),
            "n": int(row["n"]),
            "key_sum": int(seeds[i]),
            "counts": json.dumps({c: int(row[c]) for c in counted}),
            "release_id": release_id,
            "period": period,
            "publications": before.get(int(row["doctor_id"]), 0) + 1,
        }
        for i, row in enumerate(scores.to_dict("records"))
        if row["n"] > 0
    ]
    _insert(session, pub_rating, pd.DataFrame(records))


# --- the release --------------------------------------------------------------------------------------


def run(session, now: datetime | None = None) -> Summary:
    """Publish every view due (the caller commits)."""
    started = time.perf_counter()
    _lock(session)
    now = now or now_utc()
    period = budget_period(now)
    release_id = session.execute(
        insert(release).values(released_at=now, views=0, frozen=0, seconds=0.0).returning(release.c.id)
    ).scalar_one()

    old, new = _changed(session, "e", _experiences_now(session))
    touched = pd.concat([_views_of(old), _views_of(new)], ignore_index=True)
    due, frozen, waiting = _due(session, "e", touched, pub_cell, period, repeats=len(old) > 0)
    conditions = _publish_cells(session, due, release_id, period)
    unfiltered = pd.DataFrame({"view": due[(due & 4095) == 0]})
    _publish_units(
        session,
        _units(unfiltered["view"].to_numpy(dtype=np.int64)),
        release_id,
    )
    _remember(session, "e", old, new)

    r_old, r_new = _changed(session, "r", _ratings_now(session))
    r_touched = pd.concat([_rating_views(r_old), _rating_views(r_new)], ignore_index=True)
    r_due, r_frozen, r_waiting = _due(session, "r", r_touched, pub_rating, period)
    _publish_ratings(session, r_due, release_id, period)
    _remember(session, "r", r_old, r_new)

    _bump(session, conditions)
    _record_totals(session, conditions, release_id, now)
    seconds = time.perf_counter() - started
    views = len(due) + len(r_due)
    session.execute(
        release.update()
        .where(release.c.id == release_id)
        .values(views=views, frozen=frozen + r_frozen, seconds=seconds)
    )
    return Summary(release_id, views, frozen + r_frozen, waiting + r_waiting, seconds)


def _bump(session, conditions: set[int]) -> None:
    for condition_id in sorted(conditions):
        updated = session.execute(
            pub_version.update()
            .where(pub_version.c.condition_id == condition_id)
            .values(version=pub_version.c.version + 1)
        ).rowcount
        if not updated:
            session.execute(insert(pub_version).values(condition_id=condition_id, version=1))


def _record_totals(session, conditions: set[int], release_id: int, now: datetime) -> None:
    """Each changed condition's published total, kept per release (What's new subtracts two of them)."""
    if not conditions:
        return
    totals = outcomes.public_condition_counts(current_app.extensions["disclosure"], PublishedSource(session))
    for condition_id in sorted(conditions):
        session.execute(
            insert(pub_condition).values(
                condition_id=condition_id, release_id=release_id, released_at=now, n=int(totals.get(condition_id, 0))
            )
        )


# --- reading the state ------------------------------------------------------------------------------


def version(session, condition_id: int) -> int:
    """The condition's published version: it changes only when a release changes its numbers."""
    return session.scalar(select(pub_version.c.version).where(pub_version.c.condition_id == condition_id)) or 0


def versions(session) -> int:
    """The sum of every condition's published version (a treatment's report across conditions keys on it)."""
    return session.scalar(select(func.coalesce(func.sum(pub_version.c.version), 0))) or 0


def last_released(session) -> datetime | None:
    """When the numbers were last updated (the latest release)."""
    return session.scalar(select(func.max(release.c.released_at)))


def published_total(session, condition_id: int, at: datetime | None = None) -> int:
    """A condition's published total now, or as it was published at a moment (0 before its first)."""
    query = select(pub_condition.c.n).where(pub_condition.c.condition_id == condition_id)
    if at is not None:
        query = query.where(pub_condition.c.released_at <= at)
    return session.scalar(query.order_by(pub_condition.c.release_id.desc()).limit(1)) or 0


def record_past_total(session, condition_id: int, at: datetime) -> None:
    """Publish a condition's total as it stood at a past moment (the demo's visits before its history).

    A registry with a history has releases in its past; a demo seeded at once has none. This writes
    the protected total of the condition's reports made by then, as a release then would have, so
    that What's new has a total to grow from. Kept once per condition and moment.
    """
    n, key_sum = session.execute(
        select(func.count(Experience.id), func.coalesce(func.sum(Experience.report_key), 0)).where(
            Experience.condition_id == condition_id, Experience.created_at <= at
        )
    ).one()
    policy = current_app.extensions["disclosure"]
    total = policy.view(int(key_sum)).n(int(n))
    exists = select(pub_condition.c.n).where(
        pub_condition.c.condition_id == condition_id, pub_condition.c.release_id == 0
    )
    if session.scalar(exists) is None:
        session.execute(insert(pub_condition).values(condition_id=condition_id, release_id=0, released_at=at, n=total))


def _live_state(session) -> tuple:
    """A cheap fingerprint of the live report data (auto mode releases when it moved)."""
    return (
        session.scalar(select(func.coalesce(func.sum(report_version.c.version), 0))),
        *session.execute(select(func.count(), func.max(DoctorRating.id), func.max(DoctorRating.updated_at))).one(),
        *session.execute(select(func.count(), func.max(ExperienceUpdate.id))).one(),
    )


def release_if_changed(session) -> Summary | None:
    """In auto mode: a release when the live data moved since the last one (committed)."""
    state = repr(_live_state(session))
    if current_app.extensions.get("release_state") == state and session.scalar(
        select(func.count()).select_from(release)
    ):
        return None
    summary = run(session)
    session.commit()
    current_app.extensions["release_state"] = state
    return summary


__all__ = ["POINT_COLUMNS", "Summary", "run", "release_if_changed", "version", "versions", "last_released"]
