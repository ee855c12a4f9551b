"""Benchmark `registry seed-demo`: experiences per second and peak memory.

Usage:
    python benchmarks/seed.py                  # N = 100,000 and 1,000,000 on SQLite and PostgreSQL
    python benchmarks/seed.py --sizes 100000   # only some sizes
    python benchmarks/seed.py --no-postgres    # SQLite only
    python benchmarks/seed.py --repeat 3       # each size three times: the median rate (a shared machine varies)

Each run seeds a fresh database in its own process (so peak RSS is that run's alone), after
`registry init`, with the report aggregates maintained. The baseline, measured in the same run,
inserts the same generated rows as one ORM object per row (session.add_all), the approach bulk
inserts replace. The table also shows the rates before the realistic demo (issue 15), measured on
this machine type with no other load, and the CPU seconds each run used: on a shared machine the
wall-clock rate follows the load, CPU time much less.
Since issue 19 a seed also writes the follow-up histories (about 0.4 history points per
experience, in the same bulk pass), which the rates include. Since issue 24 seed-demo ends with a
release (registry release): the rate is the seed's alone, the release's seconds are shown apart, and
peak MB and CPU s are the whole command's, release included.
PostgreSQL runs use the database REGISTRY_BENCH_PG_URL
(default postgresql+psycopg://postgres@127.0.0.1:5432/registry_bench), created if missing.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import sqlalchemy as sa

PG_URL = os.environ.get("REGISTRY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/registry_bench")
TARGET_PER_S, TARGET_MB = 20_000, 500
# Before the realistic demo, at N = 1,000,000 (issue 15: SQLite; PostgreSQL with COPY).
BEFORE_PER_S = {"sqlite": 17_700, "postgresql": 12_000}
# With the follow-up histories, before the bulk path of issue 24 (SQLite, N = 1,000,000, no other load).
BEFORE_24_PER_S = {"sqlite": 12_200}
RESULT = re.compile(r"Added ([\d,]+) experiences .* ([\d,]+) experiences/s, peak memory ([\d,]+) MB")
RELEASE = re.compile(r"Published [\d,]+ views in ([\d.]+) s")


def fresh_postgres(url: str) -> None:
    """Drop and recreate the benchmark database."""
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(sa.engine.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def registry(url: str, *args: str) -> tuple[str, float]:
    """(stdout, CPU seconds) of one `registry` command in its own process."""
    env = {**os.environ, "REGISTRY_DATABASE_URL": url, "REGISTRY_SECRET_KEY": "benchmark"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-m", "registry", *args], env=env, capture_output=True, text=True, check=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return done.stdout, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def seed_run(url: str, n: int) -> tuple[float, float, float, float | None]:
    """(experiences per second, peak MB, CPU seconds, release seconds) of one seed-demo run on a fresh database."""
    registry(url, "init")
    out, cpu = registry(url, "seed-demo", "--experiences", str(n), "--seed", "1")
    match, release = RESULT.search(out), RELEASE.search(out)
    if not match:
        raise RuntimeError(f"unexpected output: {out}")
    seconds = float(release.group(1)) if release else None
    return float(match.group(2).replace(",", "")), float(match.group(3).replace(",", "")), cpu, seconds


def orm_baseline(url: str, n: int) -> float:
    """Experiences per second when the same rows are added as one ORM object each."""
    code = f"""
import time, numpy as np
from registry import create_app
from registry.platform.extensions import db
from registry.demo.seed import Community, _generate_batch, _rows
from registry.models import User, Experience
from datetime import date
app = create_app()
with app.app_context():
    rng = np.random.default_rng(1)
    c = Community(rng, db.session)
    month = date.today().year * 12
    history = np.random.default_rng([1, 19])
    secret = app.extensions["disclosure"].key
    batch = _generate_batch(rng, c, {n}, 10_000_000, 10_000_000, month, "x", history, month - 1, secret)
    users, experiences = _rows(batch.tables[User]), _rows(batch.tables[Experience])
    start = time.perf_counter()
    db.session.add_all(User(**r) for r in users)
    db.session.flush()
    db.session.add_all(Experience(**r) for r in experiences)
    db.session.commit()
    print(len(experiences) / (time.perf_counter() - start))
"""
    env = {**os.environ, "REGISTRY_DATABASE_URL": url, "REGISTRY_SECRET_KEY": "benchmark"}
    registry(url, "init")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the table shows their medians")
    args = parser.parse_args()
    backends = ["sqlite"] + ([] if args.no_postgres else ["postgresql"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:

            def url_for(tag: str) -> str:
                if backend == "sqlite":
                    return f"sqlite:///{tmp}/{tag}.sqlite"
                fresh_postgres(PG_URL)
                return PG_URL

            baseline = orm_baseline(url_for("baseline"), 20_000)
            rows.append((backend, "ORM, one object per row (baseline)", 20_000, baseline, None, None, None))
            for method, recorded in (("before issue 15", BEFORE_PER_S), ("before issue 24", BEFORE_24_PER_S)):
                if backend in recorded:
                    rows.append(
                        (backend, f"seed-demo {method} (recorded)", 1_000_000, recorded[backend], None, None, None)
                    )
            for n in args.sizes:
                runs = []
                for run in range(args.repeat):
                    started = time.perf_counter()
                    rate, peak, cpu, release = seed_run(url_for(f"seed{n}-{run}"), n)  # a fresh database each run
                    for leftover in glob.glob(f"{tmp}/seed{n}-{run}.sqlite*"):
                        os.remove(leftover)  # a million rows take a gigabyte
                    runs.append((rate, peak, cpu, release))
                    print(
                        f"  {backend} N={n:,}: {rate:,.0f}/s, {peak:,.0f} MB, {cpu:,.0f} CPU s, release "
                        f"{release if release is not None else '-'} s ({time.perf_counter() - started:.0f} s; "
                        f"load {os.getloadavg()[0]:.1f})",
                        file=sys.stderr,
                    )
                method = "seed-demo, COPY" if backend == "postgresql" else "seed-demo, executemany"
                medians = [statistics.median(r[i] for r in runs) if runs[0][i] is not None else None for i in range(4)]
                rows.append((backend, method, n, *medians))
    load = os.getloadavg()[0]
    print(
        f"\n{'database':<11} {'method':<38} {'N':>10} {'exp/s':>9} {'vs baseline':>11} {'peak MB':>8} {'CPU s':>7}"
        f" {'release s':>9}"
    )
    baselines = {r[0]: r[3] for r in rows if r[1].startswith("ORM")}
    for backend, method, n, rate, peak, cpu, release in rows:
        ratio = f"{rate / baselines[backend]:.1f}x"
        peak_s, cpu_s = (f"{v:,.0f}" if v is not None else "-" for v in (peak, cpu))
        release_s = f"{release:,.1f}" if release is not None else "-"
        print(f"{backend:<11} {method:<38} {n:>10,} {rate:>9,.0f} {ratio:>11} {peak_s:>8} {cpu_s:>7} {release_s:>9}")
    if args.repeat > 1:
        print(f"(medians of {args.repeat} runs per size)")
    print(
        f"\ntargets: >= {TARGET_PER_S:,} experiences/s and peak < {TARGET_MB} MB at N = 1,000,000 on SQLite, "
        f"and no slower than before on PostgreSQL; load average at the end {load:.1f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
