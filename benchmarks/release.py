"""Benchmark releases (registry/reporting/release.py): the first release of a seeded registry, then a later one.

Usage:
    python benchmarks/release.py --experiences 1000000          # seeds a fresh SQLite registry
    python benchmarks/release.py --database sqlite:////tmp/x.sqlite

Prints, for each run: the seconds of a first release (every view published, from empty published
tables), of a release after 1,000 edits by distinct participants (the incremental case an hourly
timer meets), and of a release with nothing changed; the views published; and this process's peak
memory. Target (issue 24): a release at 1,000,000 experiences in at most 60 s.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time


def registry(url: str, *args: str) -> None:
    env = {**os.environ, "REGISTRY_DATABASE_URL": url, "REGISTRY_SECRET_KEY": "benchmark"}
    subprocess.run([sys.executable, "-m", "registry", *args], env=env, check=True, capture_output=True)


def edit(app, count: int, seed: int = 1) -> None:
    """Change one answer of `count` random experiences (distinct participants), through the save path."""
    from registry.contributions import experiences
    from registry.models import Experience
    from registry.platform.extensions import db

    rng = random.Random(seed)
    with app.app_context():
        last = db.session.query(Experience.id).order_by(Experience.id.desc()).limit(1).scalar()
        for experience_id in rng.sample(range(1, last + 1), count):
            experience = db.session.get(Experience, experience_id)
            if experience is None:
                continue
            values = experiences.form_data(experience)
            values["effectiveness"] = rng.choice(["none", "slight", "moderate", "major"])
            experiences.save(experience.user, experience.condition, experience.treatment, values, experience=experience)
        db.session.commit()


def timed_release(app) -> tuple[float, object]:
    from registry.platform.extensions import db
    from registry.reporting import release

    with app.app_context():
        start = time.perf_counter()
        summary = release.run(db.session)
        db.session.commit()
        return time.perf_counter() - start, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiences", type=int, default=1_000_000)
    parser.add_argument("--database", help="An existing, seeded registry database URL instead of seeding.")
    parser.add_argument("--edits", type=int, default=1000)
    args = parser.parse_args()
    from registry.app import create_app
    from registry.models.published import PUBLISHED_TABLES, release
    from registry.platform.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/release.sqlite"
        if not args.database:
            print(f"seeding {args.experiences:,} experiences on SQLite...", file=sys.stderr)
            registry(url, "init")
            registry(url, "seed-demo", "--experiences", str(args.experiences), "--seed", "1")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "benchmark", "RELEASE": "manual"})
        with app.app_context():  # start from nothing published: the first release of this registry
            for table in (*PUBLISHED_TABLES, release):
                db.session.execute(table.delete())
            db.session.commit()
        first, summary = timed_release(app)
        rows = [("first release (every view)", first, summary)]
        edit(app, args.edits)
        later, summary = timed_release(app)
        rows.append((f"after {args.edits:,} edits", later, summary))
        idle, summary = timed_release(app)
        rows.append(("nothing changed", idle, summary))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{'release':<30} {'seconds':>8} {'views published':>16} {'views waiting':>14}")
    for label, seconds, summary in rows:
        print(f"{label:<30} {seconds:>8.1f} {summary.views:>16,} {summary.pending:>14,}")
    print(f"\npeak RSS of this process: {peak:,.0f} MB; target: a release at 1,000,000 in at most 60 s.")


if __name__ == "__main__":
    main()
