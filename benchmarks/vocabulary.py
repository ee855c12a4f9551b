"""Run every name the drug vocabulary knows through the treatment search, and every ICD-10-CM
chapter title through the condition search: no name may raise, and the rate is printed.

Usage:
    python benchmarks/vocabulary.py                  # all ~107,000 drug names, temporary SQLite
    python benchmarks/vocabulary.py --sample 5000    # a seeded random sample
    python benchmarks/vocabulary.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench_vocab

The test suite runs a 2,000-name sample (tests/test_catalog.py); this is the full list.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, help="search only this many names (seeded random sample)")
    parser.add_argument("--database", help="a database URL whose catalog to search (the starter catalog is loaded)")
    args = parser.parse_args()
    url = args.database or f"sqlite:///{tempfile.mkdtemp()}/vocab.sqlite"
    os.environ.update(REGISTRY_DATABASE_URL=url, REGISTRY_SECRET_KEY="benchmark", REGISTRY_PRELOAD_VOCABULARIES="false")

    from tqdm import tqdm

    from registry.app import create_app
    from registry.catalog import catalog, vocab
    from registry.cli.database import init_database
    from registry.platform.extensions import db

    app = create_app()
    with app.app_context():
        init_database()
        started = time.perf_counter()
        vocab.preload()
        print(f"vocabularies loaded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        failures: list[tuple[str, str]] = []
        rows = []
        for label, names, search in (
            ("drug names -> search_treatments", vocab.drug_names(sample=args.sample), catalog.search_treatments),
            ("ICD-10-CM chapter titles -> search_conditions", vocab.chapter_titles(), catalog.search_conditions),
        ):
            found = 0
            started = time.perf_counter()
            for name in tqdm(names, desc=label, unit="name", file=sys.stderr):
                try:
                    found += bool(search(name))
                except Exception:
                    failures.append((name, traceback.format_exc(limit=-1).strip().splitlines()[-1]))
                    db.session.rollback()
            seconds = time.perf_counter() - started
            rows.append((label, len(names), found, seconds))
    print(f"{'search':48} {'names':>9} {'found':>9} {'seconds':>8} {'names/s':>9}")
    for label, n, found, seconds in rows:
        print(f"{label:48} {n:>9,} {found:>9,} {seconds:>8.1f} {n / seconds:>9,.0f}")
    print(f"errors: {len(failures):,}")
    for name, error in failures[:20]:
        print(f"  {name!r}: {error}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
