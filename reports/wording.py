"""Numbers in words a patient reads at a glance: "about 6 in 10; likely between 5 and 7 in 10".

One rounding rule everywhere: a share is first the whole percent shown beside it (half up, so
55% is always 55%), and "N in 10" is that percent rounded half up to tens (55% is always "about 6
in 10"). The interval's words round each end by the same rule, so they paraphrase it tightly (each
end within half a unit) and can never exclude the "about" figure (rounding keeps the order).
Shares near 0 or 1 are told in 100, where "0 in 10" would mislead. An interval wider than
MAX_SPAN says nothing a patient can use: the words then say "too few to say" instead.
"""

from __future__ import annotations

import math

# An interval spanning more than half of everyone (say 20-75%, "between 2 and 8 in 10") fits nearly
# any answer: its words would tell a patient nothing they can act on. With the protection noise that
# is a group of fewer than about 30 answers (the Wilson interval and the noise add about equally
# there), the first groups a reader calls small; 0 of 5 exact answers (0-43%) still reads
# "likely no more than 43 in 100", which is what those five said.
MAX_SPAN = 0.5


def whole_percent(x: float) -> int:
    """A share as the whole percent shown: rounded half up (0.555 -> 56, 0.545 -> 55), never to even."""
    return math.floor(100 * x + 0.5 + 1e-9)


def _base(share: float) -> int:
    return 10 if 10 <= whole_percent(share) <= 90 else 100


def _in(share: float, base: int) -> int:
    """A share in tenths or hundredths, from its shown percent: 55% -> 6 in 10, 54% -> 5 in 10."""
    pct = whole_percent(share)
    return pct if base == 100 else (pct + 5) // 10


def clear(share: dict | None) -> bool:
    """Whether an interval is narrow enough for its words to tell a patient something."""
    return bool(share) and share["high"] - share["low"] <= MAX_SPAN


# The summary's figures (a UnitReport's attributes), as a sentence names them when too few answered.
FIGURES = (
    ("improved", "whether it helped"),
    ("severe", "severe side effects"),
    ("recommended", "recommending it"),
    ("not_covered", "insurance"),
)


def unclear(unit) -> list[str]:
    """The summary figures a unit has but whose interval is too wide to say anything (their names)."""
    return [name for attr, name in FIGURES if getattr(unit, attr, None) and not clear(getattr(unit, attr))]


def too_few(unit) -> bool:
    """A small group: none of its summary figures is clear, so it reads "N people reported; too few to say"."""
    return not any(clear(getattr(unit, attr, None)) for attr, _ in FIGURES)


def about(share: float) -> str:
    """ "about 6 in 10" (or "about 4 in 100" near the ends)."""
    base = _base(share)
    return f"about {_in(share, base)} in {base}"


def likely(share: dict) -> str:
    """The 95% interval of a share ({"share", "low", "high"}) in words, on the same base as about()."""
    if not clear(share):
        return "too few reports to say"
    base = _base(share["share"])
    low, high = _in(share["low"], base), _in(share["high"], base)
    if low == high:
        return f"likely about {low} in {base}"
    if low == 0:
        return f"likely no more than {high} in {base}"
    if high == base:
        return f"likely at least {low} in {base}"
    return f"likely between {low} and {high} in {base}"


def percent(x: float | None) -> str:
    """62%; empty for no value."""
    return "" if x is None else f"{whole_percent(x)}%"


def interval(share: dict | None) -> str:
    """ "62% (55-68%)": a share with its 95% interval, for tables whose heading says so."""
    if not share:
        return ""
    return f"{percent(share['share'])} ({whole_percent(share['low'])}-{percent(share['high'])})"


def count(n: int | None) -> str:
    """A count with thousands separators."""
    return "" if n is None else f"{n:,}"


def people(n: int) -> str:
    """ "1 person", "53 people"."""
    return f"{count(n)} {'person' if n == 1 else 'people'}"


def detail(share: dict | None) -> str:
    """ "39%, likely 14-66%": the numbers behind the words, for the summary's small print."""
    if not share:
        return ""
    return f"{percent(share['share'])}, likely {whole_percent(share['low'])}-{percent(share['high'])}"


def noise(policy) -> str:
    """How far a number may be off, in people, from the disclosure policy; empty when numbers are exact."""
    most, at_most = policy.noise_people()
    if not at_most:
        return ""
    if most <= 1:
        by = "a person"
    elif most == 2:
        by = "one or two people"
    else:
        by = f"up to {most} people"
    return f"To protect each person, numbers may be off by {by} (never more than {at_most})."


# A likely range wider than this (20 points) is what "too few reports" means beside a ranking.
FEW_SPAN = 0.2


def rank_notes(ranked: list[tuple[str, dict | None, int]], what: str = "improved", reports: str = "reports") -> dict:
    """Words beside the surprising rows of a ranking by the interval's low end: key -> note.

    ``ranked`` is (key, share, n) in ranking order. A row whose shown percent is above that of a row
    ranked before it is there because its interval is wider. Few reports (a range wider than
    ``FEW_SPAN``): "86% improved, from 7 reports: promising, but too few reports to rank higher yet";
    many, but fewer than those above: "52% improved, from 826 reports, but its likely range starts at
    48%, lower than those ranked above it" (826 reports are not "too few").
    """
    notes, best_above = {}, None
    for key, share, n in ranked:
        if not share:
            continue
        pct = whole_percent(share["share"])
        if best_above is not None and pct > best_above:
            if share["high"] - share["low"] > FEW_SPAN:
                why = f": promising, but too few {reports} to rank higher yet"
            else:
                why = (
                    f", but its likely range starts at {whole_percent(share['low'])}%, lower than those ranked above it"
                )
            notes[key] = f"{pct}% {what}, from {count(n)} {reports}{why}"
        best_above = pct if best_above is None else min(best_above, pct)
    return notes


def _difference(a: dict, b: dict) -> tuple[float, float]:
    """a's share minus b's, and the half-width of its 95% interval (the two halves added in quadrature)."""
    half = math.hypot((a["high"] - a["low"]) / 2, (b["high"] - b["low"]) / 2)
    return a["share"] - b["share"], half


def compare(units: list, what: str = "improved") -> str:
    """The compare page's opening in words: which treatment did better, by how much, how sure.

    ``units`` have .name and .improved ({"share", "low", "high"} or None); among those clear enough
    to put in words, the highest shown percent is set against the next. Sure when the difference's
    interval excludes 0. A unit too small to say is never put in words here either.
    """
    told = [u for u in units if u.improved]
    shown = sorted((u for u in told if clear(u.improved)), key=lambda u: -whole_percent(u.improved["share"]))
    if len(shown) < 2:
        if len(told) < 2:
            return ""
        only = f" Only {shown[0].name} has enough to say: {about(shown[0].improved['share'])} {what}." if shown else ""
        return f"Too few reports yet to say which did better.{only}"
    first, second = shown[0], shown[1]
    a, b = first.improved, second.improved
    points = whole_percent(a["share"]) - whole_percent(b["share"])
    if points == 0:
        return f"{first.name} and {second.name} did about as well: {about(a['share'])} {what} with each."
    difference, half = _difference(a, b)
    lead = (
        f"{first.name} did better: {about(a['share'])} {what}, against {about(b['share'])} with {second.name} "
        f"({points} percentage points more)."
    )
    if difference - half > 0:
        return f"{lead} The difference is clear: it is larger than the uncertainty of either."
    return f"{lead} But the difference is within the uncertainty: more reports could still change the order."
