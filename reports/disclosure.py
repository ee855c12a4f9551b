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
- A view is shown when its protected n reaches ``min_n``; this depends on its own count only,
  never on another unit (no cascade). A view with no report is never shown, and says nothing
  that tells it apart from one with one to four reports.
- Shares are computed from protected counts; their 95% interval is the Wilson interval widened
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

from reports.stats import Z_95, wilson

MODES = ("perturb", "exact")
DEFAULT_SIGMA = 2.5


@dataclass(frozen=True)
class Policy:
    """How numbers are protected in this deployment."""

    mode: str = "perturb"
    min_n: int = 5
    sigma: float = DEFAULT_SIGMA  # before truncation at +-min_n
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

    def view(self, key_sum: int, kind: str = "e") -> View:
        """The protected numbers of one view, named by the sum of its reports' keys."""
        return View(self, f"{kind}:{key_sum}")

    def shown(self, protected_n: int | None) -> bool:
        """Whether a view with this protected count may be shown."""
        return protected_n is not None and protected_n >= self.min_n


_NORMAL = NormalDist()


def _truncated_normal(key: bytes, message: str, bound: float) -> float:
    """A standard normal value within +-bound, fixed by (key, message): inverse CDF of a keyed BLAKE2b digest."""
    digest = hashlib.blake2b(message.encode(), key=key[:64], digest_size=8).digest()
    u = ((int.from_bytes(digest, "big") >> 11) + 0.5) / 2.0**53  # (0, 1), never an end
    low = _NORMAL.cdf(-bound)
    return _NORMAL.inv_cdf(low + u * (1.0 - 2.0 * low))


class View:
    """The published numbers of one set of reports: every quantity noised once, the same every time."""

    def __init__(self, policy: Policy, name: str):
        self.policy = policy
        self.name = name

    def count(self, quantity: str, true: int) -> int:
        """A count as it may be published (true in exact mode)."""
        if self.policy.mode == "exact":
            return int(true)
        policy = self.policy
        noise = policy.sigma * _truncated_normal(policy.key, f"{self.name}|{quantity}", policy.min_n / policy.sigma)
        return max(0, round(true + noise))

    def n(self, true: int) -> int:
        """The view's number of reports as published; 0 stays 0 (an empty view is simply not shown)."""
        return 0 if true <= 0 else self.count("n", true)

    def distribution(self, field: str, counts: dict[str, int]) -> dict[str, int]:
        """Code -> protected count, every code kept (zeros are noised too: a 0 would name the answer)."""
        return {code: self.count(f"{field}={code}", n) for code, n in counts.items()}

    def terms(self, field: str, counts: dict[str, int]) -> dict[str, int]:
        """Free-text-like terms: protected counts, only terms reaching min_n (a rare term can identify)."""
        protected = {term: self.count(f"{field}~{term}", n) for term, n in counts.items()}
        return {term: n for term, n in protected.items() if n >= self.policy.min_n}


def share(
    policy: Policy, dist: dict[str, int], success: tuple[str, ...], base: tuple[str, ...] | None = None
) -> dict | None:
    """A share of protected counts, {"share", "low", "high"}, its interval widened for the noise.

    ``success`` codes over ``base`` codes (every code when None). Each protected count carries
    independent noise of sd sigma, so the share's noise variance is about
    sigma^2 (k_s (1-p)^2 + k_f p^2) / K^2 for k_s success codes and k_f other codes in a base of K.
    """
    base = tuple(dist) if base is None else base
    successes = sum(dist[c] for c in success)
    known = sum(dist[c] for c in base)
    interval = wilson(successes, known)
    if interval is None:
        return None
    p, low, high = interval
    sd = policy.noise_sd
    if sd:
        k_s, k_f = len(success), len(base) - len(success)
        spread = Z_95 * sd * math.sqrt(k_s * (1 - p) ** 2 + k_f * p**2) / known
        low = max(0.0, p - math.hypot(p - low, spread))
        high = min(1.0, p + math.hypot(high - p, spread))
    return {"share": round(p, 4), "low": round(low, 4), "high": round(high, 4)}


def mean(histogram: dict[str, int]) -> float | None:
    """The mean of integer codes under protected counts (None when nothing is left)."""
    total = sum(histogram.values())
    if not total:
        return None
    return round(sum(int(code) * n for code, n in histogram.items()) / total, 2)
