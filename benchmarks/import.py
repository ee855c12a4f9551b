"""Benchmark `registry import reviews`: rows per second with start-up included, and peak memory.

Usage:
    python benchmarks/import.py                          # 100,000 reviews built from the catalog's names
    python benchmarks/import.py --rows 20000
    python benchmarks/import.py --sample /tmp/drugreview/drugsComTrain.tsv   # names and texts of a real file

The file is written first (not timed); then a fresh SQLite registry is initialised (not timed) and
`registry import reviews FILE --mapping ... --skip-problems` runs as its own process, timed from
its start to its exit: Python and the app starting, the vocabularies loading when a name needs
them, the check of the whole file, the one transaction and its commit. Peak memory is that
process's maximum RSS. Rows are Drugs.com-shaped (tab-separated, sentiment labels, HTML entities
in the text). With --sample, the rows cycle through a real file's drug and condition names and
texts (each made unique), so the share of names the catalog lacks is the real one's.
Target (issue 27): >= 2,000 rows/s at 100,000 rows on SQLite.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "docs" / "examples" / "drugs-com-sample.toml"
LABELS = ("positive", "positive", "positive", "neutral", "negative")
MONTHS = ("January", "March", "May", "July", "September", "November")


def catalog_pairs() -> list[tuple[str, str, str]]:
    """(drug, condition, text) from the starter catalog's linked pairs, under names and synonyms people use."""
    import json

    data = json.loads((ROOT / "registry" / "data" / "catalog.json").read_text(encoding="utf-8"))
    treatments = {t["slug"]: t for t in data["treatments"]}
    pairs = []
    for condition in data["conditions"]:
        condition_names = [condition["name"], *condition["synonyms"]]
        for slug in condition["treatments"]:
            treatment = treatments[slug]
            if treatment["kind"] != "drug":
                continue
            for drug in [treatment["name"], *treatment["synonyms"][:2]]:
                pairs.append(
                    (drug, condition_names[len(pairs) % len(condition_names)], f"I took {drug} &amp; it&#039;s")
                )
    return pairs


def sample_pairs(path: Path) -> list[tuple[str, str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [(r["drugName"], r["condition"], r["review"]) for r in csv.DictReader(handle, delimiter="\t")]


def write_file(path: Path, pairs, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["", "drugName", "condition", "review", "rating", "date", "usefulCount"])
        for n in range(rows):
            drug, condition, text = pairs[n % len(pairs)]
            # The row's number first: a text cut at 2,000 characters stays unique.
            words = " ".join(rng.choice(MONTHS) for _ in range(40))
            body = f"Review {n}: " + text.strip('"') + f" ({words})"
            date = f"{rng.choice(MONTHS)} {rng.randint(1, 28)}, {rng.randint(2008, 2017)}"
            writer.writerow([n, drug, condition, f'"{body}"', rng.choice(LABELS), date, rng.randint(0, 200)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sample", type=Path, help="a Drugs.com TSV whose names and texts the rows cycle through")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="import-bench-"))
    reviews = work / "reviews.tsv"
    write_file(reviews, sample_pairs(args.sample) if args.sample else catalog_pairs(), args.rows)
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": f"sqlite:///{work}/registry.sqlite",
        "REGISTRY_SECRET_KEY": "benchmark",
        "REGISTRY_PRELOAD_VOCABULARIES": "false",
    }
    registry = [sys.executable, "-m", "flask", "--app", "registry"]
    subprocess.run([*registry, "init"], env=env, check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*registry, "import", "reviews", str(reviews), "--mapping", str(MAPPING), "--skip-problems"],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = after.ru_maxrss / 1024
    summary = [line for line in done.stdout.splitlines() if line.startswith(("Imported", "Nothing"))]
    print(summary[0] if summary else done.stdout + done.stderr[-2000:])
    load = os.getloadavg()[0]
    print(f"{'rows':>9} {'seconds':>8} {'rows/s':>8} {'CPU s':>8} {'rows/CPU s':>10} {'peak MB':>8}  load {load:.1f}")
    print(
        f"{args.rows:>9,} {seconds:>8.1f} {args.rows / seconds:>8,.0f} {cpu:>8.1f} {args.rows / cpu:>10,.0f} {peak:>8,.0f}"
    )
    # Wall time is start-up included. On a shared machine it grows with the load; the CPU time the
    # import used (user + system) says what an idle core would take.


if __name__ == "__main__":
    main()
