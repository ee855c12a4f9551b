"""Staying on a treatment: survival curves (the share still on it by months) from protected band counts.

The published curve is computed from counts that went through reports.disclosure, never from
people's own durations, so it cannot show a step of one person (docs/privacy.md, "Time on
treatment"):

- Reports with a start month are grouped in six bands of months on treatment, [0, 1), [1, 3),
  [3, 6), [6, 12), [12, 24) and 24 or more. Per band, the number who stopped in it (an event) and
  the number still using it whose report falls in it (censored at the report's last update, not
  counted as stopped) are each a protected count of ONE view per unit, named by the key sum of the
  unit's reports with a start month (the experiences' kind, "e"); stop reasons before and after 3 months likewise.
- A unit's curve is shown when the view's protected n reaches twice min_n: the noise is bounded by
  min_n, so a drawn curve always rests on at least min_n real people.
- The curve is the actuarial life table (the Kaplan-Meier estimator on grouped data): those still
  using in a band are at risk for half of it, so someone who started two weeks ago is not counted
  as having stayed a month. It is the Kaplan-Meier estimate with durations at band edges and the
  protected counts as weights (half of a band's censored at its middle, half at its end, events at
  its end), computed here (lifelines, which the tests check it against, costs a worker some 60 MB
  and 2 s to import). The 95% band is the exponential Greenwood interval, widened in
  quadrature by the noise (delta method on log S over every protected count).

Pure: frames and plain values in, dataclasses out; no Flask, no database.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import pandas as pd

from reports.disclosure import Policy, apportion, share
from reports.stats import Z_95, wilson

# Months on treatment: [start, end) of each band; the last is open (24 or more).
BANDS: tuple[tuple[int, int | None], ...] = ((0, 1), (1, 3), (3, 6), (6, 12), (12, 24), (24, None))
BAND_NAMES = ("0_1", "1_3", "3_6", "6_12", "12_24", "24+")
MILESTONES = (1, 3, 6, 12, 24)  # the curve is read at the end of each closed band
EARLY_MONTHS = 3  # stops before this many months are "early" (side effects), later ones "late"
PERIODS = ("early", "late")
# The experiences' view kind: when every report of a unit gave a start month, the time view is the
# unit's own view (same key sum), so its n is the page's n, never a second draw to average.
KIND = "e"
OPEN_END = 60.0  # where the open band's people are placed: after every milestone
REASON_PREFIX = "stop_reasons__"


def band_of(months: int) -> int:
    """The index of the band holding a whole number of months on treatment."""
    for i, (start, end) in enumerate(BANDS):
        if end is None or months < end:
            return i
    raise AssertionError("unreachable: the last band is open")


@dataclass(frozen=True)
class TrueBands:
    """One unit's true counts by band (never published: protect() them first)."""

    n: int
    key_sum: int
    stopped: tuple[int, ...]
    using: tuple[int, ...]
    reasons: dict[str, tuple[int, int]]  # stop reason -> (early stops giving it, late stops giving it)


@dataclass(frozen=True)
class Bands:
    """One unit's band counts as they may be published (every number protected; the bands add up to n)."""

    n: int
    stopped: tuple[int, ...]
    using: tuple[int, ...]
    reasons: dict[str, dict[str, int]]  # period ("early", "late") -> reason -> protected count
    reason_periods: tuple[str, ...] = PERIODS  # periods with at least min_n stops by true count

    @property
    def stops(self) -> dict[str, int]:
        """Protected stops per period: the bases of the stop reasons."""
        early = sum(d for (start, _), d in zip(BANDS, self.stopped) if start < EARLY_MONTHS)
        return {"early": early, "late": sum(self.stopped) - early}


def true_bands(frame: pd.DataFrame, by: str = "treatment_id") -> dict[int, TrueBands]:
    """Per value of ``by``, the true band counts of report_slice rows of the axes "using" and "stopped"."""
    codes = [c[len(REASON_PREFIX) :] for c in frame.columns if c.startswith(REASON_PREFIX)]
    columns = [by, "axis", "bucket", "n", "key_sum", *(REASON_PREFIX + code for code in codes)]
    units: dict[int, dict] = {}
    # Plain tuples of the few columns read: a wide frame's groupby and named rows cost more than the sums.
    for unit, axis, bucket, n, key, *reasons in frame[columns].itertuples(index=False, name=None):
        if axis not in ("using", "stopped"):
            continue
        sums = units.get(unit)
        if sums is None:
            sums = units[unit] = {
                "key": 0,
                "stopped": [0] * len(BANDS),
                "using": [0] * len(BANDS),
                "reasons": [[0, 0] for _ in codes],
            }
        band = band_of(int(bucket))
        sums[axis][band] += int(n)
        sums["key"] += int(key)  # Python ints: a sum of 40-bit keys
        if axis == "stopped":
            period = 0 if BANDS[band][0] < EARLY_MONTHS else 1
            for counts, k in zip(sums["reasons"], reasons):
                counts[period] += int(k)
    return {
        int(unit): TrueBands(
            sum(s["stopped"]) + sum(s["using"]),
            s["key"],
            tuple(s["stopped"]),
            tuple(s["using"]),
            {code: tuple(c) for code, c in zip(codes, s["reasons"])},
        )
        for unit, s in units.items()
    }


def protect(policy: Policy, true: TrueBands, bound: int | None = None) -> Bands:
    """The unit's band counts through its one time view: every count protected, once.

    Every report of the view is in exactly one band, so the protected band counts are rescaled
    onto the protected n by largest remainders (reports.disclosure.apportion): the curve's people
    at risk at the start are the n the page prints. Stop reasons are shown for a period only when
    at least min_n people stopped in it by true count. ``bound`` is the unit's protected n as its page
    shows it: the people with a start month are part of it, so never more.
    """
    view = policy.view(true.key_sum, KIND)
    n = view.n(true.n) if bound is None else min(view.n(true.n), bound)
    drawn = {
        **{
            ("stopped", i): view.count(f"stopped@{name}", d)
            for i, (name, d) in enumerate(zip(BAND_NAMES, true.stopped))
        },
        **{("using", i): view.count(f"using@{name}", c) for i, (name, c) in enumerate(zip(BAND_NAMES, true.using))},
    }
    parts = drawn if policy.mode == "exact" else apportion(drawn, n)
    true_stops = {
        period: sum(d for (start, _), d in zip(BANDS, true.stopped) if (start < EARLY_MONTHS) == (period == "early"))
        for period in PERIODS
    }
    return Bands(
        n=n,
        stopped=tuple(parts[("stopped", i)] for i in range(len(BANDS))),
        using=tuple(parts[("using", i)] for i in range(len(BANDS))),
        reasons={
            period: {
                code: view.count(f"stop_reasons={code}@{period}", counts[i]) for code, counts in true.reasons.items()
            }
            for i, period in enumerate(PERIODS)
        },
        reason_periods=tuple(period for period in PERIODS if true_stops[period] >= policy.min_n),
    )


# --- the curve ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """The share still on the treatment at ``months``, its 95% band, and how many were at risk in the band before."""

    months: int
    share: float | None
    low: float | None
    high: float | None
    at_risk: float  # protected people on it at the start of the band ending here (less half its censored)
    stopped: int  # protected stops in that band
    still_using: int  # protected people still using it whose reports fall in that band

    def as_json(self) -> dict:
        return {
            "months": self.months,
            "share": self.share,
            "low": self.low,
            "high": self.high,
            "at_risk": round(self.at_risk, 1),
            "stopped": self.stopped,
            "still_using": self.still_using,
        }


@dataclass
class Curve:
    """A unit's time on treatment: its curve at the milestones, median, and stop reasons early and late."""

    n: int
    suppressed: bool
    points: list[Point] = field(default_factory=list)
    median: dict | None = None  # {"months": m or None (not reached by 24), "low", "high"}
    reasons: dict[str, dict] = field(default_factory=dict)  # period -> {"stops": n, "reasons": {code: share dict}}
    open_band: dict = field(default_factory=dict)  # 24 months or more: {"stopped", "still_using"}

    def as_json(self) -> dict:
        """The API's shape (registry/web/openapi.py TIME_CURVE)."""
        if self.suppressed:
            return {"suppressed": True}
        return {
            "n": self.n,
            "suppressed": False,
            "bands": [p.as_json() for p in self.points],
            "open_band": self.open_band,
            "median": self.median,
            "stop_reasons": self.reasons,
        }


def _weights(bands: Bands) -> list[tuple[float, int, float]]:
    """(duration, event, weight) rows: the life table as weighted rows of people."""
    rows = []
    for (start, end), d, c in zip(BANDS, bands.stopped, bands.using):
        if end is None:  # after every milestone: at risk through 24 months, nothing more is read
            rows += [(OPEN_END, 1, d), (OPEN_END, 0, c)]
            continue
        rows += [(float(end), 1, d), ((start + end) / 2, 0, c / 2), (float(end), 0, c / 2)]
    return [r for r in rows if r[2] > 0]


def kaplan_meier(rows, times) -> list[tuple[float, float]]:
    """(S, Greenwood's variance of log S) at each time, by the Kaplan-Meier estimator on weighted rows.

    At a time with both stops and censored people, the censored are still at risk (they left after
    it), as in lifelines' KaplanMeierFitter, which tests/test_survival.py checks this against. The
    variance is inf once everyone at risk stopped (S = 0).
    """
    rows = sorted(rows)
    at_risk = float(sum(w for _, _, w in rows))
    s, greenwood, i, result = 1.0, 0.0, 0, []
    steps = []  # (time, S, variance) after each time with an event or a censoring
    while i < len(rows):
        t = rows[i][0]
        deaths = leaving = 0.0
        while i < len(rows) and rows[i][0] == t:
            deaths += rows[i][2] if rows[i][1] else 0.0
            leaving += rows[i][2]
            i += 1
        if deaths:
            if deaths >= at_risk:
                s, greenwood = 0.0, math.inf
            else:
                s *= 1 - deaths / at_risk
                greenwood += deaths / (at_risk * (at_risk - deaths))
        steps.append((t, s, greenwood))
        at_risk -= leaving
    for time in times:
        last = (1.0, 0.0)
        for t, value, variance in steps:
            if t > time:
                break
            last = (value, variance)
        result.append(last)
    return result


def life_table_log(stopped, using) -> list[float | None]:
    """log S at each milestone by the actuarial life table (None once nobody is left at risk).

    Used for the noise's effect on the band (its derivatives) and in tests; the published curve
    itself comes from kaplan_meier.
    """
    at_risk, log_s, result = float(sum(stopped) + sum(using)), 0.0, []
    for (_, end), d, c in zip(BANDS, stopped, using):
        if end is None:
            break
        effective = at_risk - c / 2
        if log_s is None or effective <= 0:
            log_s = None
        elif d >= effective:
            log_s = -math.inf
        else:
            log_s += math.log1p(-d / effective)
        result.append(log_s)
        at_risk -= d + c
    return result


def _noise_variances(bands: Bands, sd: float) -> list[float]:
    """Per milestone, the variance the counts' noise adds to log S (delta method, central differences)."""
    if not sd:
        return [0.0] * len(MILESTONES)
    counts = [*bands.stopped, *bands.using]
    k = len(BANDS)
    total = [0.0] * len(MILESTONES)
    for i in range(len(counts)):
        up, down = list(counts), list(counts)
        up[i] += 0.5
        down[i] = max(0.0, down[i] - 0.5)
        step = up[i] - down[i]
        high, low = life_table_log(up[:k], up[k:]), life_table_log(down[:k], down[k:])
        for m, (a, b) in enumerate(zip(high, low)):
            if a is None or b is None or math.isinf(a) or math.isinf(b):
                continue
            total[m] += ((a - b) / step) ** 2
    return [sd * sd * v for v in total]


def curve(policy: Policy, bands: Bands) -> Curve:
    """The share still on it at 1, 3, 6, 12 and 24 months with a 95% band, the median and stop reasons by time."""
    if bands.n < 2 * policy.min_n or not sum(bands.stopped) + sum(bands.using):  # stricter than a unit's min_n
        return Curve(bands.n, True)
    table = _life_table(bands.stopped, bands.using, policy.noise_sd)
    at_risk = float(sum(bands.stopped) + sum(bands.using))
    points = []
    for months, d, c, (s, low, high) in zip(MILESTONES, bands.stopped, bands.using, table):
        points.append(Point(months, s, low, high, max(at_risk - c / 2, 0.0), d, c))
        at_risk -= d + c
    return Curve(
        n=bands.n,
        suppressed=False,
        points=points,
        median=_median(points),
        reasons=_reasons(policy, bands),
        open_band={"stopped": bands.stopped[-1], "still_using": bands.using[-1]},
    )


@functools.lru_cache(maxsize=4096)
def _life_table(stopped: tuple[int, ...], using: tuple[int, ...], noise_sd: float) -> tuple:
    """(share, low, high) at each milestone, from the Kaplan-Meier fit of protected counts widened for their noise.

    Memoised on the protected counts (public numbers, no secret): the same counts always give the
    same curve.
    """
    bands = Bands(0, stopped, using, {})
    fit = kaplan_meier(_weights(bands), [float(m) for m in MILESTONES])
    noise = _noise_variances(bands, noise_sd)
    at_risk, result = float(sum(stopped) + sum(using)), []
    for i, (d, c) in enumerate(zip(stopped, using)):
        if i == len(MILESTONES):
            break
        effective = at_risk - c / 2
        at_risk -= d + c
        if effective <= 0:
            result.append((None, None, None))
            continue
        s, variance = fit[i]
        low, high = _widen(s, variance, noise[i], effective)
        result.append((round(s, 4), round(low, 4), round(high, 4)))
    return tuple(result)


def _widen(s: float, variance: float, noise_var: float, effective: float) -> tuple[float, float]:
    """The exponential (log-log) Greenwood band, as lifelines draws it, widened in quadrature by the
    noise's variance on log S: s ** exp(+-h) with h = z * se(log S) / |log S|."""
    if s >= 1.0:  # no stop yet: Greenwood has no width; the share with no failure among those at risk
        interval = wilson(round(effective), round(effective))
        floor = interval[1] if interval else 0.0
        return max(0.0, floor - Z_95 * math.sqrt(noise_var)), 1.0
    if s <= 0.0 or math.isinf(variance):
        return 0.0, 1.0
    log_s = math.log(s)
    h = Z_95 * math.sqrt(variance + noise_var) / abs(log_s)
    return s ** math.exp(h), s ** math.exp(-h)


def _median(points: list[Point]) -> dict:
    """The first milestone by which half had stopped, and its 95% interval: where the band's edges reach one half.

    None when not reached by 24 months (for "high": the band's upper edge stays above one half).
    """

    def first(values) -> int | None:
        return next((p.months for p, v in zip(points, values) if v is not None and v <= 0.5), None)

    return {
        "months": first(p.share for p in points),
        "low": first(p.low for p in points),
        "high": first(p.high for p in points),
    }


def _reasons(policy: Policy, bands: Bands) -> dict[str, dict]:
    """Per period with at least min_n stops (true and protected), each reason's share of those stops with its interval.

    A reason's count is at most the period's stops: a share of them never passes 100%.
    """

    result = {}
    for period, stops in bands.stops.items():
        if stops < policy.min_n or period not in bands.reason_periods:
            continue
        result[period] = {
            "stops": stops,
            "reasons": {
                code: share(policy, {"yes": min(k, stops), "no": max(stops - k, 0)}, ("yes",))
                for code, k in bands.reasons[period].items()
            },
        }
    return result


def unit_curves(
    policy: Policy, frame: pd.DataFrame, by: str = "treatment_id", *, bounds: dict[int, int] | None = None
) -> dict[int, Curve]:
    """Per unit in a report_slice frame, its protected time-on-treatment curve (or that it is suppressed).

    ``bounds``: per unit, its protected n as its page shows it, which its curve's n never passes.
    """
    bounds = bounds or {}
    return {
        unit: curve(policy, protect(policy, true, bounds.get(unit))) for unit, true in true_bands(frame, by).items()
    }
