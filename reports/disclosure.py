"""Disclosure control: the one module every published number passes through.

Method (see docs/privacy.md for the threat model and the measured trade-off): a noisy
measurement per *set of reports*, as in the cell key method of ONS and ABS TableBuilder, but
drawn for the whole view rather than per bin.

- Every experience and doctor rating carries a random report key, new at every save. A view (a
  reporting unit under some filters) is named by the sum of its reports' keys, which the
  maintained aggregates keep per cell, so any view's name costs one more column in its sum.
- Each published count of a view (its n, each answer code, each side-effect term) gets Gaussian
  noise of standard deviation ``sigma`` truncated to +-min_n (bounded, like the perturbation
  tables of the cell key method, so a unit with twice min_n reports is always shown), drawn from
  a keyed hash of (deployment key, view name, quantity) and rounded; negative results become 0. The same set of people therefore always gets
  the same numbers (the same view twice, two spellings of one filter, page = CSV = JSON), so
  asking again averages nothing away; and two views that differ by one person have wholly
  independent noise in every code, so their difference does not single out that person's answer
  (the classic per-bin cell key cancels exactly in every bin the person is not in).
- Appearance by true count: a view, a free-text term or anything else whose mere appearance tells
  that someone reported it appears only when at least ``min_n`` reports stand behind it by true
  count, and its protected count reaches ``min_n`` too (so no page prints a number under the
  threshold it states). This depends on its own counts only, never on another unit (no cascade).
  A view with no report is never shown, and says nothing that tells it apart from one with one
  to four reports.
- Numbers that agree (post-processing of protected counts only, so it costs no privacy): the
  number who answered a question is a protected count never above the view's protected n, and
  the answers' protected counts are rescaled onto it by largest remainders, so the parts add up
  exactly; a multiple-answer count (a stop reason, a side-effect term) is never above the n it
  is a share of.
- Shares are computed from these counts; their 95% interval is the Wilson interval widened
  (in quadrature) by the noise's standard deviation on the share, so intervals stay honest.
- ``exact`` mode (trusted, closed deployments and arithmetic tests) publishes true counts and
  hides views under ``min_n``, with no cascade either.

Pure: no Flask, no database. Callers pass true counts and key sums; this module returns what may
be published.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from statistics import NormalDist

from reports.stats import Z_95, as_share, wilson

MODES = ("perturb", "exact")
MOST = 2 / 3  # "most counts are off by k people or fewer": at least this share of them


@dataclass(frozen=True)
class Policy:
    """How numbers are protected in this deployment."""

    # These defaults are the deployment's too (registry/platform/settings.py reads them): one place for each.
    mode: str = "perturb"
    min_n: int = 5
    sigma: float = 2.5  # before truncation at +-min_n
    key: bytes = field(default=b"", repr=False)  # secret: never in a repr, a log or a cache key

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"disclosure mode must be one of {', '.join(MODES)}; got {self.mode!r}")
        if self.mode == "perturb" and not self.key:
            raise ValueError("perturbation needs a secret key")

    @property
    def noise_sd(self) -> float:
        """The standard deviation of the noise on one published count (0 when exact)."""
        return 0.0 if self.mode == "exact" else self.sigma

    def noise_people(self) -> tuple[int, int]:
        """How far a published count may be from the true one, in people: (most counts, at most); (0, 0) when exact.

        "Most" is the smallest k such that at least two counts in three are off by k people or fewer
        (the noise rounded, as published); "at most" is the truncation bound, min_n. The pages say it
        in words, derived from the policy rather than guessed (sigma 2.5, min_n 5: 2 and 5).
        """
        if self.mode == "exact":
            return 0, 0
        inside = 2 * _NORMAL.cdf(self.min_n / self.sigma) - 1  # the truncated normal's mass
        k = 0
        while k < self.min_n and (2 * _NORMAL.cdf((k + 0.5) / self.sigma) - 1) / inside < MOST:
            k += 1
        return k, self.min_n

    def view(self, key_sum: int, kind: str = "e") -> View:
        """The protected numbers of one view, named by the sum of its reports' keys."""
        return View(self, f"{kind}:{key_sum}")

    def shown(self, protected_n: int | None, true_n: int | None = None) -> bool:
        """Whether a view (or a term, a strength) with this protected count may appear.

        Its protected count must reach min_n, and so must its true count when the caller has it:
        appearance by true count, so that no one's lone report ever makes anything appear.
        """
        if protected_n is None or protected_n < self.min_n:
            return False
        return true_n is None or true_n >= self.min_n

    def shown_n(self, key_sum: int, true_n: int, kind: str = "e") -> int | None:
        """The protected n of the view of these reports when it may appear (shown()), else None."""
        n = self.view(key_sum, kind).n(true_n)
        return n if self.shown(n, true_n) else None

    def parts(self, total: int, parts: dict, kind: str = "e") -> dict:
        """The published sizes of the parts of a view (dose bands, years): they add up to its protected total.

        ``parts`` maps each part to its (true n, key sum): each part is a view of its own, whose
        protected n is then rescaled with the others' onto ``total`` by largest remainders, so the
        parts shown never add up to more than the view's n. A part appears (a size; otherwise None)
        when its true count and its rescaled one reach min_n. Exact mode keeps the true counts.
        """
        drawn = {part: self.view(key, kind).n(n) for part, (n, key) in parts.items()}
        fitted = drawn if self.mode == "exact" else apportion(drawn, total)
        return {part: fitted[part] if self.shown(fitted[part], parts[part][0]) else None for part in parts}


_NORMAL = NormalDist()


def _truncated_normal(key: bytes, message: str, bound: float) -> float:
    """A standard normal value within +-bound, fixed by (key, message): inverse CDF of a keyed BLAKE2b digest."""
    digest = hashlib.blake2b(message.encode(), key=key[:64], digest_size=8).digest()
    u = ((int.from_bytes(digest, "big") >> 11) + 0.5) / 2.0**53  # (0, 1), never an end
    low = _NORMAL.cdf(-bound)
    return _NORMAL.inv_cdf(low + u * (1.0 - 2.0 * low))


class View:
    """The published numbers of one set of reports: every quantity noised once, the same every time.

    Once n() has published the view's size, every part drawn from the view agrees with it:
    a question's number who answered is never above it, and so on (see distribution()).
    """

    def __init__(self, policy: Policy, name: str):
        self.policy = policy
        self.name = name
        self.published_n: int | None = None  # set by n(): what every part is bounded by

    def count(self, quantity: str, true: int) -> int:
        """A count as it may be published (true in exact mode)."""
        if self.policy.mode == "exact":
            return int(true)
        policy = self.policy
        noise = policy.sigma * _truncated_normal(policy.key, f"{self.name}|{quantity}", policy.min_n / policy.sigma)
        return max(0, round(true + noise))

    def n(self, true: int) -> int:
        """The view's number of reports as published; 0 stays 0 (an empty view is simply not shown)."""
        self.published_n = 0 if true <= 0 else self.count("n", true)
        return self.published_n

    def _bound(self, n: int | None) -> int | None:
        return self.published_n if n is None else n

    def answered(self, field: str, true: int, n: int | None = None) -> int:
        """How many answered a question, as published: a protected count, never above the view's n.

        ``n`` is the view's protected n (by default the one n() published; no bound before it).
        """
        answered = self.count(f"{field}:answered", true)
        bound = self._bound(n)
        return answered if bound is None else min(answered, bound)

    def distribution(self, field: str, counts: dict[str, int], n: int | None = None) -> dict[str, int]:
        """Code -> protected count of a one-answer question, adding up exactly to the protected number who answered.

        Every code is kept (zeros are noised too: a 0 would name the answer). Each code's protected
        count (non-negative) is rescaled onto answered() by largest remainders, so a page never
        says that more people answered than reported, nor shows parts that miss their total.
        Post-processing of protected counts only; the shares they give are those of the drawn
        counts (to rounding), so the noise and its widening of the intervals are unchanged.
        Exact mode publishes the true counts, which add up by themselves.
        """
        if self.policy.mode == "exact":
            return {code: int(c) for code, c in counts.items()}
        drawn = {code: self.count(f"{field}={code}", c) for code, c in counts.items()}
        return apportion(drawn, self.answered(field, sum(counts.values()), n))

    def multiple(self, field: str, counts: dict[str, int], n: int | None = None) -> dict[str, int]:
        """Code -> protected count of a question with several answers allowed, each at most the view's n."""
        bound = self._bound(n)
        drawn = {code: self.count(f"{field}={code}", c) for code, c in counts.items()}
        return drawn if bound is None else {code: min(c, bound) for code, c in drawn.items()}

    def term(self, field: str, term: str, true: int, n: int | None = None) -> int:
        """One free-text term's protected count, at most the view's n (whether it may appear: Policy.shown)."""
        protected = self.count(f"{field}~{term}", true)
        bound = self._bound(n)
        return protected if bound is None else min(protected, bound)

    def terms(self, field: str, counts: dict[str, int], n: int | None = None) -> dict[str, int]:
        """Free-text terms that at least min_n reporters gave (true count), with their protected counts.

        A rare term can identify, so a term appears by its true count, never by its noise: a term
        one person wrote never appears. Its protected count must reach min_n too (a page never shows
        a count under the threshold it states) and is never above the view's n.
        """
        min_n = self.policy.min_n
        protected = {term: self.term(field, term, c, n) for term, c in counts.items() if c >= min_n}
        return {term: c for term, c in protected.items() if c >= min_n}


def apportion(parts: dict[str, int], total: int) -> dict[str, int]:
    """Non-negative parts rescaled to add up to exactly ``total``, by largest remainders (Hamilton's method).

    Each part gets the floor of its quota (part * total / sum) and the units left over go to the
    largest remainders, ties to the larger part, then to the earlier code. When every part is 0
    there is nothing to rescale and every part stays 0 (the total published is then 0).
    """
    whole = sum(parts.values())
    if whole <= 0 or total <= 0:
        return dict.fromkeys(parts, 0)
    result, remainders = {}, []
    for i, (code, part) in enumerate(parts.items()):
        quota, remainder = divmod(part * total, whole)  # integers: no rounding error at any size
        result[code] = quota
        remainders.append((-remainder, -part, i, code))
    for _, _, _, code in sorted(remainders)[: total - sum(result.values())]:
        result[code] += 1
    return result


def share(
    policy: Policy,
    dist: dict[str, int],
    success: tuple[str, ...],
    base: tuple[str, ...] | None = None,
    *,
    noise_sd: float | None = None,
) -> dict | None:
    """A share of protected counts, {"share", "low", "high"}, its interval widened for the noise.

    ``success`` codes over ``base`` codes (every code when None). Each protected count carries
    independent noise of sd sigma, so the share's noise variance is about
    sigma^2 (k_s (1-p)^2 + k_f p^2) / K^2 for k_s success codes and k_f other codes in a base of K.
    ``noise_sd`` replaces sigma for counts that are sums of several protected counts (a sum of g
    carries sigma * sqrt(g)).
    """
    base = tuple(dist) if base is None else base
    successes = sum(dist[c] for c in success)
    known = sum(dist[c] for c in base)
    interval = wilson(successes, known)
    if interval is None:
        return None
    p, low, high = interval
    sd = policy.noise_sd if noise_sd is None else noise_sd
    if sd:
        k_s, k_f = len(success), len(base) - len(success)
        spread = Z_95 * sd * math.sqrt(k_s * (1 - p) ** 2 + k_f * p**2) / known
        low = max(0.0, p - math.hypot(p - low, spread))
        high = min(1.0, p + math.hypot(high - p, spread))
    return as_share(p, low, high)


def mean(histogram: dict[str, int]) -> float | None:
    """The mean of integer codes under protected counts (None when nothing is left)."""
    total = sum(histogram.values())
    if not total:
        return None
    return round(sum(int(code) * n for code, n in histogram.items()) / total, 2)
