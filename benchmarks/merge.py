"""Benchmark a moderator's catalog merge: reports moved per second, with the aggregates kept right.

Usage:
    python benchmarks/merge.py                       # seeds 200,000 experiences on a temporary SQLite
    python benchmarks/merge.py --experiences 1000000
    python benchmarks/merge.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench_merge  # emptied first!

Seeds a demo community, then merges the second most reported treatment of the largest condition
into the most reported one (every condition's reports of it move; participants who reported both
count once). The baseline, measured in the same run on the same data, is what a merge without
maintained aggregates would cost: re-key the rows, then `aggregates rebuild`. After the merge,
`aggregates check` must be clean.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

from sqlalchemy import delete, exists, func, select, text, update
from sqlalchemy.orm import aliased


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiences", type=int, default=200_000, help="demo experiences to seed (default 200,000)")
    parser.add_argument("--database", help="a database URL to use (its tables are dropped and rebuilt)")
    args = parser.parse_args()
    url = args.database or f"sqlite:///{tempfile.mkdtemp()}/merge.sqlite"
    os.environ.update(REGISTRY_DATABASE_URL=url, REGISTRY_SECRET_KEY="benchmark", REGISTRY_RATELIMIT_ENABLED="false")

    from registry.app import create_app
    from registry.catalog import merge as catalog_merge
    from registry.cli.database import init_database
    from registry.demo.seed import seed_demo
    from registry.models import Experience, Treatment, User
    from registry.platform.extensions import db
    from registry.reporting import report_upkeep

    app = create_app()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        init_database()
        print(f"Seeding {args.experiences:,} experiences on {db.engine.dialect.name}...", file=sys.stderr)
        seed_demo(args.experiences, seed=3, doctor_ratings=0)
        condition_id = db.session.scalar(
            select(Experience.condition_id).group_by(Experience.condition_id).order_by(func.count().desc()).limit(1)
        )
        top = db.session.execute(
            select(Experience.treatment_id, func.count())
            .where(Experience.condition_id == condition_id)
            .group_by(Experience.treatment_id)
            .order_by(func.count().desc())
            .limit(2)
        ).all()
        survivor, source = (db.session.get(Treatment, t) for t, _ in top)
        moving = db.session.scalar(select(func.count(Experience.id)).where(Experience.treatment_id == source.id))
        moderator = db.session.scalar(select(User).limit(1))

        # Baseline: drop the source's reports that have a twin, re-key the rest, rebuild every aggregate; undo.
        start = time.perf_counter()
        twin = aliased(Experience)
        has_twin = exists().where(
            twin.user_id == Experience.user_id,
            twin.condition_id == Experience.condition_id,
            twin.treatment_id == survivor.id,
        )
        with report_upkeep.bulk_write():  # counts rebuilt below
            db.session.execute(delete(Experience).where(Experience.treatment_id == source.id, has_twin))
            db.session.execute(
                update(Experience)
                .where(Experience.treatment_id == source.id)
                .values(treatment_id=survivor.id, updated_at=Experience.updated_at)
            )
        report_upkeep.rebuild(db.session)
        baseline = time.perf_counter() - start
        db.session.rollback()

        start = time.perf_counter()
        result = catalog_merge.merge(moderator, "treatment", source, survivor)
        db.session.commit()
        seconds = time.perf_counter() - start
        problems = report_upkeep.check(db.session)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"merge of {moving:,} experiences ({result['duplicate experiences']:,} participants had reported both) "
        f"among {args.experiences:,}: {seconds:.2f} s = {moving / seconds:,.0f} experiences/s; "
        f"baseline (re-key + aggregates rebuild) {baseline:.2f} s; speed-up {baseline / seconds:.1f}x; "
        f"peak RSS {peak:.0f} MB; aggregates check: {'clean' if not problems else problems[:3]}"
    )


if __name__ == "__main__":
    main()
