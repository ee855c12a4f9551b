"""Small statistics: the Wilson score interval for a share."""

from __future__ import annotations

import math

Z_95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float, float] | None:
    """(share, low, high) of successes among n with the 95% Wilson score interval; None when n is 0."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # Clamped around p: at 0 or n successes rounding would otherwise put a bound a hair past the share.
    return p, max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def share_dict(successes: int, n: int) -> dict | None:
    """A share as the API shows it: {"share", "low", "high"}, rounded to 4 places."""
    interval = wilson(successes, n)
    return None if interval is None else as_share(*interval)


def as_share(share: float, low: float, high: float) -> dict:
    """{"share", "low", "high"} rounded to 4 places: the one form every published share takes."""
    return {"share": round(share, 4), "low": round(low, 4), "high": round(high, 4)}
