"""The reports' aggregation steps as written (plain Python over a frame's tuples) against the same step
written as pandas operations, on the frames a real registry hands them.

    python benchmarks/aggregation.py --database sqlite:////path/to/registry.sqlite [--repeat 200]

For the largest condition (and, for the per-treatment steps, its largest treatment) it takes the frames
the published source gives the condition and treatment pages, runs each step both ways, checks that
both give the same result, and prints the median time of each with its rows. The steps:
``outcomes.index_counts`` (counts per treatment, field and code: what every distribution, share and
summary reads), ``survival.true_bands`` (the life table's band sums per treatment, from the time slices)
and the doctors' ``_by_doctor`` grouping. CONTRIBUTING.md's "Where pandas aggregates" quotes the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import pandas as pd

from reports import outcomes, survival
from reports.filters import Filters


def index_counts_pandas(frame: pd.DataFrame) -> dict[tuple[int, str], dict[str, int]]:
    """index_counts as a pandas groupby: one dict per (treatment, field) group."""
    index: dict[tuple[int, str], dict[str, int]] = {}
    for (treatment_id, name), group in frame.groupby([frame.columns[0], frame.columns[1]], sort=False):
        index[(treatment_id, name)] = dict(zip(group.iloc[:, 2], group.iloc[:, 3].astype(int), strict=True))
    return index


def true_bands_pandas(frame: pd.DataFrame, by: str = "treatment_id") -> dict[int, survival.TrueBands]:
    """true_bands as pandas: bands by searchsorted, then one groupby sum per result (band counts, keys, reasons)."""
    codes = [c[len(survival.REASON_PREFIX) :] for c in frame.columns if c.startswith(survival.REASON_PREFIX)]
    reason_columns = [survival.REASON_PREFIX + code for code in codes]
    rows = frame[frame["axis"].isin(("using", "stopped"))]
    starts = np.array([start for start, _ in survival.BANDS])
    band = np.searchsorted(starts, rows["bucket"].astype(int).to_numpy(), side="right") - 1
    early = starts[band] < survival.EARLY_MONTHS
    work = rows[[by, "axis", "n", "key_sum", *reason_columns]].astype({"n": "int64", "key_sum": "int64"})
    work = work.assign(band=band, period=np.where(early, 0, 1))
    keys = work.groupby(by)["key_sum"].sum()  # int64 holds a sum of 40-bit keys up to 8 million reports
    counts = work.pivot_table(index=by, columns=["axis", "band"], values="n", aggfunc="sum", fill_value=0)
    stopped = work[work["axis"] == "stopped"]
    reasons = stopped.groupby([by, "period"])[reason_columns].sum()
    bands = range(len(survival.BANDS))
    result = {}
    for unit in keys.index:
        per_axis = {
            axis: tuple(int(counts.at[unit, (axis, b)]) if (axis, b) in counts.columns else 0 for b in bands)
            for axis in ("stopped", "using")
        }
        by_reason = {
            code: tuple(
                int(reasons.at[(unit, period), survival.REASON_PREFIX + code]) if (unit, period) in reasons.index else 0
                for period in (0, 1)
            )
            for code in codes
        }
        total = sum(per_axis["stopped"]) + sum(per_axis["using"])
        result[int(unit)] = survival.TrueBands(
            total, int(keys[unit]), per_axis["stopped"], per_axis["using"], by_reason
        )
    return result


def by_doctor_pandas(frame: pd.DataFrame) -> dict[int, list[dict]]:
    return {int(doctor): group.to_dict("records") for doctor, group in frame.groupby("doctor_id", sort=False)}


def median_ms(step, frame, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step(frame)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="A seeded registry's database URL.")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--ratings-database", help="Another registry for the doctors' step (default: --database).")
    args = parser.parse_args()
    os.environ.update(REGISTRY_DATABASE_URL=args.database, REGISTRY_SECRET_KEY="benchmark")
    from sqlalchemy import func, select

    from registry.app import create_app
    from registry.models import Experience
    from registry.platform.extensions import db
    from registry.reporting.report_sources import PublishedRatingSource, PublishedSource
    from reports.doctors import _by_doctor

    app = create_app()
    with app.app_context():
        source = PublishedSource(db.session)
        condition_id, _ = db.session.execute(
            select(Experience.condition_id, func.count())
            .group_by(Experience.condition_id)
            .order_by(func.count().desc())
        ).first()
        counts = source.counts(condition_id, Filters(), outcomes.SUMMARY_FIELDS, None)
        slices = source.slices(("using", "stopped"), condition_id=condition_id)
    if args.ratings_database:
        os.environ["REGISTRY_DATABASE_URL"] = args.ratings_database
        app = create_app()
    with app.app_context():
        ratings = PublishedRatingSource(db.session).scores(by_condition=True)
    steps = [
        ("outcomes.index_counts (condition page)", counts, outcomes.index_counts, index_counts_pandas),
        ("survival.true_bands (time on treatment)", slices, survival.true_bands, true_bands_pandas),
        ("doctors._by_doctor (doctors list)", ratings, _by_doctor, by_doctor_pandas),
    ]
    print(f"{'step':<42} {'rows':>8} {'as written ms':>14} {'pandas ms':>10} {'pandas/written':>15}")
    for name, frame, written, pandas_step in steps:
        if frame.empty:
            print(f"{name:<42} {'no rows in this registry: give --ratings-database':>50}")
            continue
        assert written(frame) == pandas_step(frame), name  # the same numbers both ways
        a, b = median_ms(written, frame, args.repeat), median_ms(pandas_step, frame, args.repeat)
        print(f"{name:<42} {len(frame):>8,} {a:>14.3f} {b:>10.3f} {b / a:>14.1f}x")
    print(f"\nmedian of {args.repeat} runs each; baseline: the step as written in reports/ (plain Python over tuples)")


if __name__ == "__main__":
    main()
