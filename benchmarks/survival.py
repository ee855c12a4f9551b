"""Benchmark the time-on-treatment curve (reports/survival.py): lifelines' fit of one unit's band counts.

Usage:
    python benchmarks/survival.py [--units 200]

Prints the import time of lifelines (paid once per process, on the first curve), the median and
p95 time of one curve computed afresh (lifelines' weighted Kaplan-Meier fit, its band widened for
the noise, the median and stop reasons) and of the same curve again (memoised on its protected
counts, which is what a page pays until a write changes them), with a hand-written life table as
the baseline.
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
    args = parser.parse_args()
    start = time.perf_counter()
    import lifelines  # noqa: F401

    imported = (time.perf_counter() - start) * 1000
    from reports import survival
    from reports.disclosure import Policy

    policy = Policy(mode="perturb", min_n=5, sigma=2.5, key=b"benchmark")
    rng = random.Random(1)
    units = [survival.Bands(0, tuple(rng.randint(0, 400) for _ in range(6)), tuple(rng.randint(0, 400) for _ in range(6)),
                            {"early": {"cost": 3}, "late": {"cost": 9}}) for _ in range(args.units)]  # fmt: skip
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
    print(f"import lifelines: {imported:.0f} ms (once per process)")
    for label, times in (("curve, fresh (lifelines fit)", fresh), ("curve, same counts again (memoised)", again),
                         ("baseline: hand-written life table", baseline)):  # fmt: skip
        p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
        print(f"{label:<40} median {statistics.median(times):7.2f} ms  p95 {p95:7.2f} ms  ({len(times)} units)")


if __name__ == "__main__":
    main()
