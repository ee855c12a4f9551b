"""Shares in words a patient reads at a glance: "about 6 in 10; likely between 5 and 7 in 10".

The words are rounded outwards from the interval (low down, high up), so they never claim more
certainty than the numbers. Shares near 0 or 1 are told in 100, where "0 in 10" would mislead.
"""

from __future__ import annotations

import math


def _base(share: float) -> int:
    return 10 if 0.1 <= share <= 0.9 else 100


def about(share: float) -> str:
    """ "about 6 in 10" (or "about 4 in 100" near the ends)."""
    base = _base(share)
    return f"about {round(share * base)} in {base}"


def likely(share: dict) -> str:
    """The 95% interval of a share ({"share", "low", "high"}) in words, on the same base as about()."""
    base = _base(share["share"])
    low, high = math.floor(share["low"] * base + 1e-9), math.ceil(share["high"] * base - 1e-9)
    if low == high:
        return f"likely about {low} in {base}"
    if low == 0 and high == base:
        return "too few reports to say how likely"
    if low == 0:
        return f"likely no more than {high} in {base}"
    if high == base:
        return f"likely at least {low} in {base}"
    return f"likely between {low} and {high} in {base}"


def percent(x: float | None) -> str:
    """62%; empty for no value."""
    return "" if x is None else f"{100 * x:.0f}%"


def interval(share: dict | None) -> str:
    """ "62% (55-68%)": a share with its 95% interval."""
    if not share:
        return ""
    return f"{percent(share['share'])} ({100 * share['low']:.0f}-{percent(share['high'])})"


def count(n: int | None) -> str:
    """A count with thousands separators."""
    return "" if n is None else f"{n:,}"


def detail(share: dict | None) -> str:
    """ "39%; 95% interval 14-66%": the numbers behind the words, for the summary's small print."""
    if not share:
        return ""
    return f"{percent(share['share'])}; 95% interval {100 * share['low']:.0f}-{percent(share['high'])}"
