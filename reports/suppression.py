"""Small-group suppression: the one place that decides whether a reporting unit may be shown.

A unit (a treatment for a condition, a condition, a doctor) with fewer than min_n reports under
the chosen filters is suppressed. A filtered view is also suppressed when the rest of its unit
(all reports minus the filtered ones) is below min_n, so that subtracting two views cannot
reveal a small group.
"""

from __future__ import annotations


def is_suppressed(n_filtered: int, n_unit: int, min_n: int, filtered: bool) -> bool:
    """Whether a unit with n_filtered reports in view (n_unit in all) must be hidden."""
    if n_filtered < min_n:
        return True
    return filtered and (n_unit - n_filtered) < min_n


def suppressed_message(min_n: int) -> str:
    return f"fewer than {min_n} reports"
