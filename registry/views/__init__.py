"""Blueprints, one per area; each view parses, calls the domain and renders."""

from __future__ import annotations

from flask import abort, request
from werkzeug.routing import IntegerConverter

from registry.database import MAX_ID

MAX_PAGE = 100_000


def page_arg() -> int:
    """The ?page= number, clamped to 1..MAX_PAGE (so no huge offset ever reaches the database)."""
    page = request.args.get("page", 1, type=int)
    return min(max(page or 1, 1), MAX_PAGE)


class BoundedIntConverter(IntegerConverter):
    """<int:...> limited to what a database integer holds: a larger id is a 404, not an overflow."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)  # the same bound as registry.database.parse_id for query strings
        super().__init__(map, *args, **kwargs)


def reject_nul_bytes():
    """Refuse text with NUL characters before it reaches a database that cannot store them."""
    if "\x00" in request.path or any("\x00" in v for v in request.args.values()) or (
        request.method == "POST" and any("\x00" in v for _, v in request.form.items(multi=True))
    ):
        abort(400, "Text may not contain NUL characters.")


def flash_text_state(row, noun: str) -> None:
    """Tell the author at once when their tip or comment waits for a moderator."""
    from flask import flash

    if row.text_state == "held":
        flash(f"Your {noun} is not public yet: {row.text_reason} A moderator will look at it soon.", "info")
