"""Numbers in words a patient reads at a glance: "about 6 in 10; likely between 5 and 7 in 10".

One rounding rule everywhere: a share is first the whole percent shown beside it (half up, so
55% is always 55%), and "N in 10" is that percent rounded half up to tens (55% is always "about 6
in 10"). The interval's words round each end by the same rule, so they paraphrase it tightly (each
end within half a unit) and can never exclude the "about" figure (rounding keeps the order).
Shares near 0 or 1 are told in 100, where "0 in 10" would mislead. An interval wider than
MAX_SPAN says nothing a patient can use: the words then say "too few to say" instead.
"""

from __future__ import annotations

import html
import math

from scales.i18n import N_, format_number, format_percent, gettext, language, ngettext

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
    ("improved", N_("whether it helped")),
    ("severe", N_("severe side effects")),
    ("recommended", N_("recommending it")),
    ("not_covered", N_("insurance")),
)


def unclear(unit) -> list[str]:
    """The summary figures a unit has but whose interval is too wide to say anything (their names, in words)."""
    return [gettext(name) for attr, name in FIGURES if getattr(unit, attr, None) and not clear(getattr(unit, attr))]


def too_few(unit) -> bool:
    """A small group: none of its summary figures is clear, so it reads "N people reported; too few to say"."""
    return not any(clear(getattr(unit, attr, None)) for attr, _ in FIGURES)


def about(share: float) -> str:
    """ "about 6 in 10" (or "about 4 in 100" near the ends)."""
    base = _base(share)
    return gettext("about %(n)s in %(base)s", n=_in(share, base), base=base)


def likely(share: dict) -> str:
    """The 95% interval of a share ({"share", "low", "high"}) in words, on the same base as about()."""
    if not clear(share):
        return gettext("too few reports to say")
    base = _base(share["share"])
    low, high = _in(share["low"], base), _in(share["high"], base)
    if low == high:
        return gettext("likely about %(n)s in %(base)s", n=low, base=base)
    if low == 0:
        return gettext("likely no more than %(high)s in %(base)s", high=high, base=base)
    if high == base:
        return gettext("likely at least %(low)s in %(base)s", low=low, base=base)
    return gettext("likely between %(low)s and %(high)s in %(base)s", low=low, high=high, base=base)


def percent(x: float | None) -> str:
    """62% (62 % in Spanish: the reader's locale writes the sign); empty for no value.

    Every percent a page shows is written here, from whole_percent(): one rounding rule, one way of writing it.
    """
    return "" if x is None else format_percent(whole_percent(x) / 100)


def _bare(x: float) -> str:
    """A share's whole percent without its sign: the low end of "55-68%"."""
    return format_number(whole_percent(x))


def interval(share: dict | None) -> str:
    """ "62% (55-68%)": a share with its 95% interval, for tables whose heading says so."""
    if not share:
        return ""
    return f"{percent(share['share'])} ({_bare(share['low'])}-{percent(share['high'])})"


def count(n: int | None) -> str:
    """A count with thousands separators (as the reader's locale writes them)."""
    return "" if n is None else format_number(n)


def people(n: int) -> str:
    """ "1 person", "53 people"."""
    return ngettext("%(n)s person", "%(n)s people", n, n=count(n))


def detail(share: dict | None) -> str:
    """ "39%, likely 14-66%": the numbers behind the words, for the summary's small print."""
    if not share:
        return ""
    return gettext(
        "%(share)s, likely %(low)s-%(high)s",
        share=percent(share["share"]),
        low=_bare(share["low"]),
        high=percent(share["high"]),
    )


def noise(policy) -> str:
    """How far a number may be off, in people, from the disclosure policy; empty when numbers are exact."""
    most, at_most = policy.noise_people()
    if not at_most:
        return ""
    if most <= 1:
        return gettext(
            "To protect each person, numbers may be off by a person (never more than %(at_most)s).", at_most=at_most
        )
    if most == 2:
        return gettext(
            "To protect each person, numbers may be off by one or two people (never more than %(at_most)s).",
            at_most=at_most,
        )
    return gettext(
        "To protect each person, numbers may be off by up to %(most)s people (never more than %(at_most)s).",
        most=most,
        at_most=at_most,
    )


# A likely range wider than this (20 points) is what "too few reports" means beside a ranking.
FEW_SPAN = 0.2


def _rank_note(what: str, reports: str, n: int, few: bool, **values) -> str:
    """One note of rank_notes() as a whole sentence: "improved" among reports, "rated 9 or 10" among ratings."""
    values["n"] = count(n)
    if what == "improved" and reports == "reports":
        if few:
            return ngettext(
                "%(pct)s improved, from %(n)s report: promising, but too few reports to rank higher yet",
                "%(pct)s improved, from %(n)s reports: promising, but too few reports to rank higher yet",
                n,
                **values,
            )
        return ngettext(
            "%(pct)s improved, from %(n)s report, but its likely range starts at %(low)s, lower than those "
            "ranked above it",
            "%(pct)s improved, from %(n)s reports, but its likely range starts at %(low)s, lower than those "
            "ranked above it",
            n,
            **values,
        )
    if what == "rated 9 or 10" and reports == "ratings":
        if few:
            return ngettext(
                "%(pct)s rated 9 or 10, from %(n)s rating: promising, but too few ratings to rank higher yet",
                "%(pct)s rated 9 or 10, from %(n)s ratings: promising, but too few ratings to rank higher yet",
                n,
                **values,
            )
        return ngettext(
            "%(pct)s rated 9 or 10, from %(n)s rating, but its likely range starts at %(low)s, lower than those "
            "ranked above it",
            "%(pct)s rated 9 or 10, from %(n)s ratings, but its likely range starts at %(low)s, lower than those "
            "ranked above it",
            n,
            **values,
        )
    # Another ranking's words, given by its caller (already in the reader's language).
    if few:
        return gettext(
            "%(pct)s %(what)s, from %(n)s %(reports)s: promising, but too few %(reports)s to rank higher yet",
            what=what,
            reports=reports,
            **values,
        )
    return gettext(
        "%(pct)s %(what)s, from %(n)s %(reports)s, but its likely range starts at %(low)s, lower than those "
        "ranked above it",
        what=what,
        reports=reports,
        **values,
    )


def rank_notes(ranked: list[tuple[str, dict | None, int]], what: str = "improved", reports: str = "reports") -> dict:
    """Words beside the surprising rows of a ranking by the interval's low end: key -> note.

    ``ranked`` is (key, share, n) in ranking order. A row whose shown percent is above that of a row
    ranked before it is there because its interval is wider. Few reports (a range wider than
    ``FEW_SPAN``): "86% improved, from 7 reports: promising, but too few reports to rank higher yet";
    many, but fewer than those above: "52% improved, from 826 reports, but its likely range starts at
    48%, lower than those ranked above it" (826 reports are not "too few"). ``what`` and ``reports``
    name the ranking: "improved" among "reports" (treatments), "rated 9 or 10" among "ratings"
    (doctors); each has its own whole sentences in every language.
    """
    notes, best_above = {}, None
    for key, share, n in ranked:
        if not share:
            continue
        pct = whole_percent(share["share"])
        if best_above is not None and pct > best_above:
            few = share["high"] - share["low"] > FEW_SPAN
            notes[key] = _rank_note(what, reports, n, few, pct=percent(share["share"]), low=percent(share["low"]))
        best_above = pct if best_above is None else min(best_above, pct)
    return notes


def _difference(a: dict, b: dict) -> tuple[float, float]:
    """a's share minus b's, and the half-width of its 95% interval (the two halves added in quadrature)."""
    half = math.hypot((a["high"] - a["low"]) / 2, (b["high"] - b["low"]) / 2)
    return a["share"] - b["share"], half


def compare(units: list) -> str:
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
        sentences = [gettext("Too few reports yet to say which did better.")]
        if shown:
            sentences.append(
                gettext(
                    "Only %(name)s has enough to say: %(about)s improved.",
                    name=shown[0].name,
                    about=about(shown[0].improved["share"]),
                )
            )
        return " ".join(sentences)
    first, second = shown[0], shown[1]
    a, b = first.improved, second.improved
    points = whole_percent(a["share"]) - whole_percent(b["share"])
    if points == 0:
        return gettext(
            "%(first)s and %(second)s did about as well: %(about)s improved with each.",
            first=first.name,
            second=second.name,
            about=about(a["share"]),
        )
    difference, half = _difference(a, b)
    lead = ngettext(
        "%(first)s did better: %(about_first)s improved, against %(about_second)s with %(second)s "
        "(%(num)s percentage point more).",
        "%(first)s did better: %(about_first)s improved, against %(about_second)s with %(second)s "
        "(%(num)s percentage points more).",
        points,
        first=first.name,
        second=second.name,
        about_first=about(a["share"]),
        about_second=about(b["share"]),
    )
    if difference - half > 0:
        return f"{lead} " + gettext("The difference is clear: it is larger than the uncertainty of either.")
    return f"{lead} " + gettext(
        "But the difference is within the uncertainty: more reports could still change the order."
    )


# --- words kept for every reader ----------------------------------------------------------------


def amount_text(amount: float) -> str:
    """50, 2.5, 0.25, 1,000: an amount as an English reader writes it (6 significant digits)."""
    return f"{amount:,.6g}" if amount >= 1000 else f"{amount:.6g}"


def amount(value: float) -> str:
    """An amount as the reader's locale writes it, with amount_text()'s digits: 2.5 -> "2,5" in Spanish."""
    text = amount_text(value)
    if "e" in text or language() == "en":
        return text
    digits = len(text.split(".")[1]) if "." in text else 0
    return format_number(float(text.replace(",", "")), digits)


def _english(value) -> str:
    return amount_text(value) if isinstance(value, float) else str(value)


def shown(value):
    """A Phrase in the reader's language; any other value as it is."""
    return value.shown() if isinstance(value, Phrase) else value


def _shown(value):
    return amount(value) if isinstance(value, float) else shown(value)


class Phrase(str):
    """Words kept in English (the string itself) that a page shows in the reader's language.

    For words made once and kept for every reader, as a cached report's labels ("100 to under 150",
    "mg a day"): the JSON, the CSV, comparisons and tests read the English string; a template shows
    it translated (Jinja calls __html__), and charts call shown(). The message and its variables
    travel with the words (and through the cache's pickles). A variable is a string, a Phrase
    (translated in turn) or an amount, a float, written as the reader's locale writes numbers.
    """

    message: str
    variables: dict

    def __new__(cls, message: str, **variables):
        english = message % {k: _english(v) for k, v in variables.items()} if variables else message
        self = super().__new__(cls, english)
        self.message, self.variables = message, variables
        return self

    def __reduce__(self):
        return _phrase, (self.message, self.variables)

    def shown(self) -> str:
        """The words in the reader's language."""
        if language() == "en":
            return str(self)
        return gettext(self.message, **{k: _shown(v) for k, v in self.variables.items()})

    def __html__(self) -> str:
        return html.escape(self.shown())


def _phrase(message: str, variables: dict) -> Phrase:
    return Phrase(message, **variables)
