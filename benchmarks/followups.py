"""Benchmark follow-ups: recording an update, "after N months on it", and What's new.

Usage:
    python benchmarks/followups.py [--experiences 20000] [--updates 300] [--repeat 20]

Seeds a fresh SQLite registry (`registry seed-demo`), then in process: records --updates follow-ups on
the most reported treatment of the most reported condition through registry.contributions.followups.add_update (the
edit form's save path, aggregates moved), and times, uncached, the treatment page's "after 3, 6 and 12
months" (every history point of the pair read and reduced) against the baseline of the same pair's
full treatment report from the maintained aggregates, and one followed condition's What's new.
Ends with `registry aggregates check`. Prints median and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def registry(url: str, *args: str) -> str:
    env = {**os.environ, "REGISTRY_DATABASE_URL": url, "REGISTRY_SECRET_KEY": "benchmark"}
    return subprocess.run(
        [sys.executable, "-m", "registry", *args], env=env, check=True, capture_output=True, text=True
    ).stdout


def figures(label: str, times: list[float]) -> None:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(f"{label:<44} median {statistics.median(times):8.2f} ms   p95 {p95:8.2f} ms   (n={len(times)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiences", type=int, default=20_000)
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="followups-bench-")
    url = f"sqlite:///{folder}/registry.sqlite"
    start = time.perf_counter()
    registry(url, "init")
    registry(url, "seed-demo", "--experiences", str(args.experiences), "--seed", "3")
    print(f"seeded {args.experiences} experiences in {time.perf_counter() - start:.1f} s")

    from sqlalchemy import func, select

    from registry.app import create_app
    from registry.contributions import following, followups
    from registry.models import Condition, ConditionFollow, Experience, Treatment, User
    from registry.platform.extensions import db
    from registry.reporting import cached_reports, report_upkeep
    from registry.reporting.report_sources import CellSource
    from reports import followup as followup_reports
    from reports import outcomes
    from reports.filters import Filters

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "benchmark",
            "DISCLOSURE_KEY": "benchmark",
            "CACHE_TYPE": "NullCache",
        }
    )
    with app.app_context():
        cid, tid, n = db.session.execute(
            select(Experience.condition_id, Experience.treatment_id, func.count())
            .where(Experience.started.is_not(None))
            .group_by(Experience.condition_id, Experience.treatment_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        condition, treatment = db.session.get(Condition, cid), db.session.get(Treatment, tid)
        print(f"pair: {treatment.name} for {condition.name}, {n} experiences")
        rows = db.session.scalars(
            select(Experience)
            .where(Experience.condition_id == cid, Experience.treatment_id == tid)
            .order_by(Experience.id)
            .limit(args.updates)
        ).all()
        answers = {
            "stopped": None,
            "stop_reasons": [],
            "effectiveness": "moderate",
            "side_effect_severity": "mild",
            "satisfaction": 7,
            "would_recommend": "yes",
        }
        update_times = []
        with app.test_request_context():
            for experience in rows:
                t0 = time.perf_counter()
                followups.add_update(db.session.get(User, experience.user_id), experience, answers)
                db.session.commit()
                update_times.append((time.perf_counter() - t0) * 1000)
            figures(f"record a follow-up (save path), {len(rows)} of them", update_times)
            policy = cached_reports.policy()
            after, baseline = [], []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                followup_reports.horizons_report(followups.points_frame(condition, treatment), policy)
                after.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                outcomes.treatment_report(CellSource(db.session), condition, treatment, Filters(), policy)
                baseline.append((time.perf_counter() - t0) * 1000)
            figures("after 3/6/12 months, uncached", after)
            figures("baseline: full treatment report, uncached", baseline)
            user = db.session.get(User, rows[0].user_id)
            following.follow(user, condition)
            db.session.commit()
            row = db.session.get(ConditionFollow, (user.id, condition.id))
            row.seen_at = row.seen_at.replace(year=row.seen_at.year - 1)  # a year of news
            news = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                following.news_for(row, condition)
                news.append((time.perf_counter() - t0) * 1000)
            figures("What's new for one condition (a year of news)", news)
        problems = report_upkeep.check(db.session)
        print("aggregates check:", "no difference" if not problems else f"{len(problems)} differences")


if __name__ == "__main__":
    main()
