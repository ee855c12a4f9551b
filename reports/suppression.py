"""Small-group suppression: the one place that decides whether a reporting unit may be shown.

A unit (a treatment for a condition, a condition, a doctor) with fewer than min_n reports under
the chosen filters is suppressed. A filtered view is also suppressed when the rest of its unit
(all reports minus the filtered ones) is below min_n, and when any cell of the unit's cross-table
over the filtered dimensions (role x sex, say, "not given" included) holds 1 to min_n - 1
reports: otherwise subtracting two filtered views (role=patient minus role=patient&sex=female)
could isolate a group smaller than min_n.
"""

from __future__ import annotations


def is_suppressed(n_view: int, n_unit: int, min_n: int, filtered: bool, cells=()) -> bool:
    """Whether a view with n_view reports (n_unit in its whole unit) must be hidden."""
    if n_view < min_n:
        return True
    if not filtered:
        return False
    return (n_unit - n_view) < min_n or any(0 < n < min_n for n in cells)


def suppressed_units(n_view: dict, n_unit: dict, min_n: int, filtered: bool, cells: dict | None = None) -> set:
    """Keys of the units of one report (e.g. a condition's treatments) that must be hidden.

    Primary suppression hides each small view (see is_suppressed). Because the report's total
    is public, the hidden units' sum would be learned by subtraction: while it is between 1 and
    min_n - 1, the smallest shown unit is hidden too (complementary suppression).
    """
    cells = cells or {}
    hidden = {
        key for key, n in n_view.items()
        if is_suppressed(n, n_unit.get(key, n), min_n, filtered, cells.get(key, ()))
    }  # fmt: skip
    shown = sorted((n, str(key), key) for key, n in n_view.items() if key not in hidden)
    while shown and 0 < sum(n_view[key] for key in hidden) < min_n:
        hidden.add(shown.pop(0)[2])
    return hidden


def public_count(n: int, min_n: int) -> int | None:
    """A unit's count as it may be shown: None (shown as "fewer than min_n") from 1 to min_n - 1."""
    return None if 0 < n < min_n else n
