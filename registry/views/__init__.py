"""Blueprints, one per area; each view parses, calls the domain and renders. The helpers views share."""

from __future__ import annotations

from flask import flash, request

MAX_PAGE = 100_000


def page_arg() -> int:
    """The ?page= number, clamped to 1..MAX_PAGE (so no huge offset ever reaches the database)."""
    page = request.args.get("page", 1, type=int)
    return min(max(page or 1, 1), MAX_PAGE)


def flash_text_state(row, noun: str) -> None:
    """Tell the author at once when their tip or comment waits for a moderator."""
    if row.text_state == "held":
        flash(f"Your {noun} is not public yet: {row.text_reason} A moderator will look at it soon.", "info")
