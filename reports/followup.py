"""Follow-ups in reports: "after N months on it" from each experience's dated history, and "what's new".

Pure: frames and plain values in, dataclasses out (the registry side reads the database).
Every published number passes through reports.disclosure, each kind of view with a kind of its own,
so that its noise never coincides with another view's over the same reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

import scales
from reports.disclosure import Policy, mean, share

HORIZONS = (3, 6, 12)  # months on a treatment that the treatment page reads
POINT_COLUMNS = [
    "experience_id",
    "started",
    "month",
    "report_key",
    "stopped",
    "effectiveness",
    "side_effect_severity",
    "satisfaction",
    "would_recommend",
]
KNOWN_EFFECT_CODES = tuple(c for c in scales.EFFECTIVENESS.codes if c != scales.UNKNOWN_EFFECT_CODE)
STILL_USING_CODES = ("yes", "no")
SATISFACTION_CODES = tuple(str(v) for v in range(scales.SATISFACTION_MIN, scales.SATISFACTION_MAX + 1))


def tolerance(months: int) -> int:
    """How far (in months) a history point may lie from the horizon: a quarter of it, at least one."""
    return max(1, math.ceil(months / 4))


def month_index(month: str | None) -> int | None:
    """Months since year 0 of a YYYY-MM answer (None for none)."""
    if not month:
        return None
    year, mon = month.split("-")
    return int(year) * 12 + int(mon) - 1


def view_kind(months: int) -> str:
    """The disclosure kind of an "after N months" view (its own noise, never an experience view's)."""
    return f"after{months}m"


@dataclass
class HorizonReport:
    """What people reported about N months after they started, or that too few did to show."""

    months: int
    tolerance: int
    n: int
    suppressed: bool
    effectiveness: dict[str, int] = field(default_factory=dict)
    still_using: dict[str, int] = field(default_factory=dict)
    improved: dict | None = None
    still_using_share: dict | None = None
    severe: dict | None = None
    satisfaction_mean: float | None = None


def _months(texts: pd.Series) -> pd.Series:
    """month_index of a column of YYYY-MM answers (NaN for none): each distinct month parsed once."""
    return texts.map({text: month_index(text) for text in texts.dropna().unique()}).astype(float)


def _timed(points: pd.DataFrame) -> pd.DataFrame:
    """The points that have a start month, with months since the start ("since") and to the stop ("ran").

    Computed once per page for every horizon: a Python call per row and horizon cost more than the
    rest of the page for a large treatment.
    """
    if "since" in points.columns:
        return points
    frame = points[points["started"].notna()].copy()
    start = _months(frame["started"])
    frame["since"] = _months(frame["month"]) - start
    frame["ran"] = _months(frame["stopped"]) - start  # NaN: still using at that point
    return frame


def nearest_points(points: pd.DataFrame, months: int) -> pd.DataFrame:
    """Per experience, its history point nearest to started + months, within tolerance(months).

    A tie goes to the later point (the newer answer; within a month, the one given later in
    ``points``, which lists each history oldest first). Points without a start month are left out.
    """
    frame = _timed(points)
    if frame.empty:
        return frame
    frame = frame.assign(distance=(frame["since"] - months).abs())
    frame = frame[frame["distance"] <= tolerance(months)]
    # Reversed, then a stable sort: of two points in the same month, the one given later (newer) wins.
    frame = frame.iloc[::-1].sort_values(
        ["experience_id", "distance", "since"], ascending=[True, True, False], kind="stable"
    )
    return frame.drop_duplicates("experience_id", keep="first")


def _counts(column: pd.Series, codes) -> dict[str, int]:
    found = column.dropna().astype(str).value_counts().to_dict()
    return {code: int(found.get(code, 0)) for code in codes}


def horizon_report(points: pd.DataFrame, months: int, policy: Policy, *, bound: int | None = None) -> HorizonReport:
    """The protected numbers of the experiences' answers nearest to `months` after their start.

    The view is named by the sum of the chosen points' report keys (each the experience's key as
    saved with those answers), under a kind of its own per horizon. Its people are part of the
    treatment's: ``bound``, the treatment's protected n as its page shows it, caps its n.
    """
    chosen = nearest_points(points, months)
    true_n = len(chosen)
    key_sum = sum(int(k) for k in chosen["report_key"].tolist()) if true_n else 0
    view = policy.view(key_sum, kind=view_kind(months))
    n = view.n(true_n) if bound is None else min(view.n(true_n), bound)
    if not policy.shown(n, true_n):
        return HorizonReport(months, tolerance(months), 0, True)
    # Every part adds up to its protected number who answered, never above n.
    effect = view.distribution("effectiveness", _counts(chosen["effectiveness"], scales.EFFECTIVENESS.codes), n)
    severity = view.distribution(
        "side_effect_severity", _counts(chosen["side_effect_severity"], scales.SIDE_EFFECT_SEVERITY.codes), n
    )
    # Still using N months in: no stop month at that point, or a stop at least N months after the start.
    still = chosen["ran"].isna() | (chosen["ran"] >= months)
    using = view.distribution("still_using", {"yes": int(still.sum()), "no": int((~still).sum())}, n)
    satisfaction = _counts(chosen["satisfaction"].dropna().astype(int), SATISFACTION_CODES)
    satisfaction = view.distribution("satisfaction", satisfaction, n)
    return HorizonReport(
        months=months,
        tolerance=tolerance(months),
        n=n,
        suppressed=False,
        effectiveness=effect,
        still_using=using,
        improved=share(policy, effect, scales.IMPROVED_CODES, KNOWN_EFFECT_CODES),
        still_using_share=share(policy, using, ("yes",)),
        severe=share(policy, severity, scales.SEVERE_CODES),
        satisfaction_mean=mean(satisfaction),
    )


def horizons_report(
    points: pd.DataFrame, policy: Policy, horizons=HORIZONS, *, bound: int | None = None
) -> list[HorizonReport]:
    """One HorizonReport per horizon (3, 6 and 12 months by default), each at most ``bound`` people."""
    timed = _timed(points)
    return [horizon_report(timed, months, policy, bound=bound) for months in horizons]


# --- what's new for a followed condition ------------------------------------------------------

NEW_REPORTS_KIND = "new"


@dataclass
class NewReports:
    """The number of reports added since a moment, protected; hidden under min_n (a few, or none)."""

    n: int
    shown: bool


def published_growth(policy: Policy, grown: int) -> NewReports:
    """New reports as the growth of a published total (already protected): shown from min_n, else "a few, or none"."""
    return NewReports(grown, True) if grown >= policy.min_n else NewReports(0, False)


def new_reports(policy: Policy, true_n: int, key_sum: int) -> NewReports:
    """The protected count of a set of new reports, named by their key sum under a kind of its own."""
    n = policy.view(key_sum, kind=NEW_REPORTS_KIND).n(true_n)
    return NewReports(n, True) if policy.shown(n, true_n) else NewReports(0, False)  # hidden: never a number


@dataclass
class RankingMove:
    """One treatment's change between two published rankings: entered, up, down or left."""

    slug: str
    name: str
    change: str  # "entered" | "up" | "down" | "left"
    place: int | None  # its place now (1 = first); None when it left
    places: int = 0  # how many places it moved


def ranking_moves(
    before: list[str], now: list[tuple[str, str]], names: dict[str, str] | None = None
) -> list[RankingMove]:
    """Moves between the published ranking seen before (slugs) and now ((slug, name) in order).

    Only published rankings are compared (each already protected), never the counts behind them.
    """
    names = {**(names or {}), **dict(now)}
    old = {slug: i for i, slug in enumerate(before)}
    moves = []
    for i, (slug, name) in enumerate(now):
        if slug not in old:
            moves.append(RankingMove(slug, name, "entered", i + 1))
        elif old[slug] != i:
            moves.append(RankingMove(slug, name, "up" if i < old[slug] else "down", i + 1, abs(old[slug] - i)))
    current = {slug for slug, _ in now}
    moves += [RankingMove(slug, names.get(slug, slug), "left", None) for slug in before if slug not in current]
    return moves
