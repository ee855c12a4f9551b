"""Outcomes of one slice of a treatment's reports (a dose band, a year), protected like every view.

Shared by reports/dose.py and reports/trends.py. Pure: a slice's true counts and key sum in, a
dataclass of protected numbers out. A slice is a set of experiences like any other view, so it
is named by its key sum with the experiences' own kind ("e"): the same set of people gets the
same numbers here as anywhere else (a year holding all of a treatment's reports shows exactly
the treatment page's numbers), and no set ever gets a second, independent draw of noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import scales
from reports.disclosure import Policy, View, mean, share
from reports.stats import Z_95

# What "improved" and "severe side effects" mean on every page (reports/outcomes.py reads the same scales).
KNOWN_EFFECT_CODES = tuple(c for c in scales.EFFECTIVENESS.codes if c != scales.UNKNOWN_EFFECT_CODE)
SATISFACTION_CODES = tuple(str(n) for n in range(scales.SATISFACTION_MIN, scales.SATISFACTION_MAX + 1))
FIELDS = {
    "effectiveness": scales.EFFECTIVENESS.codes,
    "side_effect_severity": scales.SIDE_EFFECT_SEVERITY.codes,
    "satisfaction": SATISFACTION_CODES,
}
# The slice columns read here: "field__code", as report_slice names them.
COUNT_NAMES = [f"{field}__{code}" for field, codes in FIELDS.items() for code in codes]
SUMMED = ["n", "key_sum", *COUNT_NAMES]


def mean_interval(policy: Policy, histogram: dict[str, int]) -> dict | None:
    """The mean of integer codes under protected counts with a 95% interval widened for the noise.

    Normal approximation: mean +- 1.96 * standard error (sample standard deviation of the
    protected histogram over sqrt(N)). Each code's protected count carries independent noise
    of sd sigma, which moves the mean by sigma * sqrt(sum_c (c - mean)^2) / N (first order);
    the two are added in quadrature, as share() does for shares. Clamped to the scale's ends.
    """
    total = sum(histogram.values())
    centre = mean(histogram)
    if centre is None:
        return None
    exact = sum(int(c) * n for c, n in histogram.items()) / total
    spread = sum(n * (int(c) - exact) ** 2 for c, n in histogram.items())
    se = math.sqrt(spread / (total - 1) / total) if total > 1 else float("inf")
    noise = policy.noise_sd * math.sqrt(sum((int(c) - exact) ** 2 for c in histogram)) / total
    half = Z_95 * math.hypot(se, noise) if math.isfinite(se) else float("inf")
    codes = [int(c) for c in histogram]
    low, high = max(min(codes), exact - half), min(max(codes), exact + half)
    return {"mean": centre, "low": round(low, 2), "high": round(high, 2)}


@dataclass
class Outcomes:
    """One slice: its protected n and outcomes, or only that it has too few reports to show."""

    label: str
    n: int | None  # protected; None when hidden
    improved: dict | None = None
    severe: dict | None = None
    satisfaction: dict | None = None  # {"mean", "low", "high"}

    @property
    def shown(self) -> bool:
        return self.n is not None

    def as_json(self) -> dict:
        if not self.shown:
            return {"label": self.label, "suppressed": True}
        return {
            "label": self.label,
            "suppressed": False,
            "n": self.n,
            "improved": self.improved,
            "severe_side_effects": self.severe,
            "satisfaction": self.satisfaction,
        }


def outcomes(policy: Policy, label: str, sums: dict) -> Outcomes:
    """A slice's protected outcomes from its true sums (n, key_sum and the count columns)."""
    view: View = policy.view(int(sums["key_sum"]))
    n = view.n(int(sums["n"]))
    if not policy.shown(n):
        return Outcomes(label, None)
    dists = {
        field: view.distribution(field, {code: int(sums.get(f"{field}__{code}", 0)) for code in codes})
        for field, codes in FIELDS.items()
    }
    return Outcomes(
        label,
        n,
        improved=share(policy, dists["effectiveness"], scales.IMPROVED_CODES, KNOWN_EFFECT_CODES),
        severe=share(policy, dists["side_effect_severity"], scales.SEVERE_CODES),
        satisfaction=mean_interval(policy, dists["satisfaction"]),
    )


def protected_count(policy: Policy, sums: dict | None) -> int | None:
    """A set's protected number of reports when it reaches min_n, else None (none and a few alike)."""
    if not sums:
        return None
    n = policy.view(int(sums["key_sum"])).n(int(sums["n"]))
    return n if policy.shown(n) else None


def add(total: dict, sums: dict) -> dict:
    """Add one row's sums into total (in place) and return it."""
    for name in SUMMED:
        total[name] = total.get(name, 0) + int(sums.get(name, 0))
    return total


def by_bucket(frame, axis: str) -> dict[str, dict]:
    """Bucket -> summed counts of one axis's rows of a slice frame (several conditions' rows of a bucket add up)."""
    result: dict[str, dict] = {}
    if frame is None or len(frame) == 0:
        return result
    # Plain lists, not DataFrame records: a unit's slices are a few dozen rows, and pandas' per-row cost dominates.
    axes, buckets = frame["axis"].tolist(), frame["bucket"].tolist()
    columns = [frame[name].tolist() for name in SUMMED]
    for i, (row_axis, bucket) in enumerate(zip(axes, buckets)):
        if row_axis != axis:
            continue
        bucket, row = str(bucket), [int(column[i]) for column in columns]
        total = result.get(bucket)
        if total is None:
            result[bucket] = dict(zip(SUMMED, row))
        else:
            for name, value in zip(SUMMED, row):
                total[name] += value
    return result
