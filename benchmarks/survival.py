"""Benchmark the time-on-treatment curve (reports/survival.py): the Kaplan-Meier fit of one unit's band counts.

Usage:
    python benchmarks/survival.py [--units 200]
    python benchmarks/survival.py --database sqlite:////path/to/seeded.sqlite   # plus the pages, with and without it

Prints the import time of lifelines (which the curve no longer needs: the figure a worker saves), the
median and p95 time of one curve computed afresh (the weighted Kaplan-Meier fit, its band widened for
the noise, the median and stop reasons) and of the same curve again (memoised on its protected
counts, which is what a page pays until a write changes them), with a hand-written life table as
the baseline. With --database (a seeded registry, e.g. `registry seed-demo --experiences 1000000`),
it also times the treatment page and compare (3 treatments) of the largest and the median condition,
report cache off, each request once with the time section and once without it (interleaved, so a
busy machine slows both alike): what the time section adds to a page.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--database", help="A seeded registry's database URL: also time the pages with and without it.")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    start = time.perf_counter()
    import lifelines  # noqa: F401

    imported = (time.perf_counter() - start) * 1000
    from reports import survival
    from reports.disclosure import Policy

    policy = Policy(mode="perturb", min_n=5, sigma=2.5, key=b"benchmark")
    rng = random.Random(1)
    units = [
        survival.Bands(
            0,
            tuple(rng.randint(0, 400) for _ in range(6)),
            tuple(rng.randint(0, 400) for _ in range(6)),
            {"early": {"cost": 3}, "late": {"cost": 9}},
        )
        for _ in range(args.units)
    ]
    units = [survival.Bands(sum(u.stopped) + sum(u.using), u.stopped, u.using, u.reasons) for u in units]
    survival.curve(policy, units[0])  # warm
    survival._life_table.cache_clear()

    def timed(fn) -> list[float]:
        times = []
        for unit in units:
            t = time.perf_counter()
            fn(unit)
            times.append((time.perf_counter() - t) * 1000)
        return sorted(times)

    fresh = timed(lambda u: survival.curve(policy, u))
    again = timed(lambda u: survival.curve(policy, u))
    baseline = timed(lambda u: survival.life_table_log(u.stopped, u.using))
    print(f"import lifelines: {imported:.0f} ms (no longer paid by a worker)")
    for label, times in (
        ("curve, fresh (Kaplan-Meier fit)", fresh),
        ("curve, same counts again (memoised)", again),
        ("baseline: hand-written life table", baseline),
    ):
        p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
        print(f"{label:<40} median {statistics.median(times):7.2f} ms  p95 {p95:7.2f} ms  ({len(times)} units)")
    if args.database:
        pages(args.database, args.repeat)


def pages(url: str, repeat: int) -> None:
    """The treatment and compare pages with the time section and without it (its curves suppressed), interleaved."""
    from benchmarks.pages import page_urls
    from registry.app import create_app
    from registry.reporting import cached_reports
    from reports import survival

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "benchmark",
            "CACHE_TYPE": "NullCache",
            "RATELIMIT_ENABLED": False,
            "PRELOAD_VOCABULARIES": False,
        }
    )
    client = app.test_client()
    real = cached_reports.time_curves

    def without(condition, treatments):
        return {t.id: survival.Curve(0, True) for t in treatments}

    urls = {k: v for k, v in page_urls(client).items() if k.startswith(("treatment", "compare"))}
    print(f"\n{'page (report cache off)':<28} {'with ms':>8} {'without ms':>10} {'added ms':>8}")
    for label, path in urls.items():
        client.get(path)  # warm: imports, the first fit
        timings = {True: [], False: []}
        for _ in range(repeat):
            for on in (True, False):
                cached_reports.time_curves = real if on else without
                start = time.perf_counter()
                assert client.get(path).status_code == 200
                timings[on].append((time.perf_counter() - start) * 1000)
        cached_reports.time_curves = real
        on, off = statistics.median(timings[True]), statistics.median(timings[False])
        print(f"{label:<28} {on:>8.1f} {off:>10.1f} {on - off:>8.1f}")


if __name__ == "__main__":
    main()
