"""Benchmark the research export: rows per second and peak memory.

Usage:
    python benchmarks/export.py                          # seeds 1,000,000 experiences on SQLite first
    python benchmarks/export.py --experiences 100000
    python benchmarks/export.py --database sqlite:////path/to/registry.sqlite   # an existing, seeded registry
    python benchmarks/export.py --database ... --code /tmp/old-checkout          # the same, with other code

Runs `registry export` as CSV and as Parquet, each also with --labelled (a Stata .dta and an SPSS .sav
per table), and `registry fhir export` (ndjson), each in a fresh process (its peak RSS is the export's
alone) and, as the baseline in the same run, the naive approach the streamed export replaces:
pandas.read_sql of the whole experiences table, then DataFrame.to_csv. --code runs the measurements with
another checkout's registry package first on the path (e.g. `git archive <commit> | tar -x -C DIR`), for a
before/after comparison on the same database; code without --labelled skips those rows.
Targets (issue "Research export"): >= 100,000 rows/s and peak memory < 300 MB on SQLite at 1,000,000.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

MEASURE = """
import resource, sys, time
from pathlib import Path
from registry.app import create_app
from registry.interchange import export
app = create_app()
with app.app_context():
    start = time.perf_counter()
    labelled = {"labelled": True} if sys.argv[3] == "labelled" else {}
    counts = export.export_to_directory(Path(sys.argv[1]), export.ExportRequest(), app.config["EXPORT_KEY"],
                                        fmt=sys.argv[2], **labelled)
    seconds = time.perf_counter() - start
rows = sum(counts.values())
print(counts["experiences"], rows, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

FHIR = """
import resource, sys, time
from registry.app import create_app
from registry.interchange import export, fhir
app = create_app()
with app.app_context():
    start = time.perf_counter()
    with open(sys.argv[1] + "/experiences.ndjson", "w", encoding="utf-8") as handle:
        for n in fhir.write_ndjson(handle, export.ExportRequest(), app.config["EXPORT_KEY"]):
            pass
    seconds = time.perf_counter() - start
print(n, n, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

BASELINE = """
import resource, sys, time
import pandas as pd
from registry.app import create_app
from registry.platform.extensions import db
app = create_app()
with app.app_context():
    start = time.perf_counter()
    frame = pd.read_sql("SELECT e.* FROM experience e JOIN user u ON u.id = e.user_id "
                        "WHERE u.research_consent_at IS NOT NULL", db.engine)
    frame.to_csv(sys.argv[1] + "/experiences.csv", index=False)
    seconds = time.perf_counter() - start
print(len(frame), len(frame), seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def run(code: str, url: str, out: str, *args: str, checkout: str | None = None) -> tuple[int, int, float, float]:
    # As `registry export` runs: a command loads no search vocabularies (an app made outside a command
    # would start loading them, about 500 MB, into the peak measured here).
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": url,
        "REGISTRY_SECRET_KEY": "benchmark",
        "REGISTRY_PRELOAD_VOCABULARIES": "false",
    }
    if checkout:
        env["PYTHONPATH"] = checkout
    os.makedirs(out, exist_ok=True)
    # python -c puts the working directory first on the path: run in the checkout measured
    done = subprocess.run(
        [sys.executable, "-c", code, out, *args], env=env, cwd=checkout, capture_output=True, text=True, check=True
    )
    experiences, rows, seconds, peak = done.stdout.split()
    return int(experiences), int(rows), float(seconds), float(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiences", type=int, default=1_000_000)
    parser.add_argument("--database", help="An existing registry database URL (skips seeding).")
    parser.add_argument("--code", help="Measure with the registry package of this checkout (before/after).")
    parser.add_argument("--only", help="Comma-separated row numbers to run (1-6), e.g. 1,2 for CSV alone.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/bench.sqlite"
        env = {**os.environ, "REGISTRY_DATABASE_URL": url, "REGISTRY_SECRET_KEY": "benchmark"}
        subprocess.run([sys.executable, "-m", "registry", "init"], env=env, check=True, capture_output=True)
        if not args.database:
            print(f"seeding {args.experiences:,} experiences...", file=sys.stderr)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "registry",
                    "seed-demo",
                    "--experiences",
                    str(args.experiences),
                    "--seed",
                    "1",
                ],
                env=env,
                check=True,
                capture_output=True,
            )
        code = args.code
        labelled = code is None or "labelled" in open(os.path.join(code, "registry", "export.py")).read()
        plan = [
            ("CSV, every file (registry export)", MEASURE, "csv", "plain", True),
            ("CSV + .dta + .sav (registry export --labelled)", MEASURE, "csv", "labelled", labelled),
            ("Parquet, every file (--format parquet)", MEASURE, "parquet", "plain", True),
            ("Parquet + .dta + .sav (--format parquet --labelled)", MEASURE, "parquet", "labelled", labelled),
            ("FHIR ndjson, every resource (registry fhir export)", FHIR, None, None, True),
            ("baseline: pandas read_sql + to_csv, experiences only", BASELINE, None, None, True),
        ]
        only = {int(n) for n in args.only.split(",")} if args.only else None
        results = []
        for number, (name, script, fmt, mode, runs) in enumerate(plan, 1):
            if not runs or (only and number not in only):
                continue
            out = f"{tmp}/run{number}"
            print(f"running: {name}", file=sys.stderr)
            extra = (fmt, mode) if fmt else ()
            results.append((name, run(script, url, out, *extra, checkout=code)))
    print(f"\n{'method':<56} {'experiences':>11} {'all rows':>10} {'seconds':>8} {'rows/s':>9} {'peak MB':>8}")
    for name, (experiences, rows, seconds, peak) in results:
        print(f"{name:<56} {experiences:>11,} {rows:>10,} {seconds:>8.1f} {rows / seconds:>9,.0f} {peak:>8,.0f}")
    print(f"(code: {args.code or 'this checkout'})")
    print("\ntargets: >= 100,000 rows/s and peak < 300 MB at 1,000,000 experiences on SQLite")


if __name__ == "__main__":
    main()
