"""Blueprints, one per area; each view parses, calls the domain and renders. The helpers views share."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, request
from sqlalchemy import select

from registry.contributions import screening
from registry.models import Condition, Treatment
from registry.platform.extensions import db
from reports.filters import FilterError, Filters, parse_filters
from scales.i18n import N_
from scales.i18n import gettext as _

MAX_PAGE = 100_000


def page_arg() -> int:
    """The ?page= number, clamped to 1..MAX_PAGE (so no huge offset ever reaches the database)."""
    page = request.args.get("page", 1, type=int)
    return min(max(page or 1, 1), MAX_PAGE)


def filters_arg() -> Filters:
    """The "patients like me" filters of the query string; a bad code is a 400 with its message."""
    try:
        return parse_filters(request.args)
    except FilterError as error:
        abort(400, str(error))


def condition_or_404(slug: str, described: bool = False) -> Condition:
    """The condition with this slug, or a 404 (described: its message names the slug, as the API's do)."""
    return db.first_or_404(
        select(Condition).where(Condition.slug == slug),
        description=_("No condition %(slug)s.", slug=repr(slug)) if described else None,
    )


def treatment_or_404(slug: str, described: bool = False) -> Treatment:
    return db.first_or_404(
        select(Treatment).where(Treatment.slug == slug),
        description=_("No treatment %(slug)s.", slug=repr(slug)) if described else None,
    )


# What the author is told when their text waits for a moderator, by the text's kind.
HELD_MESSAGES = {
    "tip": N_("Your tip is not public yet: %(reason)s A moderator will look at it soon."),
    "comment": N_("Your comment is not public yet: %(reason)s A moderator will look at it soon."),
}


def flash_text_state(row, noun: str) -> None:
    """Tell the author at once when their tip (noun "tip") or comment ("comment") waits for a moderator."""
    if row.text_state == "held":
        flash(_(HELD_MESSAGES[noun], reason=screening.reason_text(row.text_reason)), "info")


def same_site_path(target: str, default: str) -> str:
    """target when it is a path on this site ("/conditions/migraine?x=1"), else default: never another host."""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and not parts.scheme:
        return target
    return default
