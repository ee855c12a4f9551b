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


def suppressed_units(n_filtered: dict, n_unit: dict, min_n: int, filtered: bool) -> set:
    """Keys of the units of one report (e.g. a condition's treatments) that must be hidden.

    Primary suppression hides each small unit (and each filtered view whose complement is
    small). Because the report's total is public, the hidden units' sum would be learned by
    subtraction: while it is between 1 and min_n - 1, the smallest shown unit is hidden too
    (complementary suppression, as statistical agencies do).
    """
    hidden = {key for key, n in n_filtered.items() if is_suppressed(n, n_unit.get(key, n), min_n, filtered)}
    shown = sorted((n, str(key), key) for key, n in n_filtered.items() if key not in hidden)
    while shown and 0 < sum(n_filtered[key] for key in hidden) < min_n:
        hidden.add(shown.pop(0)[2])
    return hidden
