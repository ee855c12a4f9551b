"""Text screening: the state a tip or comment takes as its author saves it (public or held for review).

Every save of free text passes here (registry.contributions.experiences, registry.contributions.ratings): text with contact
details, and any new text of a participant one of whose texts a moderator hid, waits for review.
"""

from __future__ import annotations

from forms.text import contact_details
from registry.contributions import moderation
from registry.models import Experience, User
from registry.platform.database import now_utc
from registry.platform.extensions import db

# Which kind of moderated text each column holds.
TEXT_KIND_OF = {column: kind for kind, (_, column) in moderation.TEXT_KINDS.items()}


def screen_text(row, old_text: str | None) -> None:
    """Set a tip's or comment's state after its author saved it.

    New text with contact details is held for review, and so is any new text of a participant
    one of whose texts a moderator hid. Unchanged text keeps its state; a hidden text stays
    hidden while it is empty, so that emptying it and typing it again does not make it public.
    """
    column = "tips" if isinstance(row, Experience) else "comment"
    text = getattr(row, column)
    if not text:
        if row.text_state != "hidden":
            row.text_state, row.text_reason = "public", None
        if row.id is not None:  # the flagged words are gone
            moderation.close_flags(TEXT_KIND_OF[column], [row.id], "gone")
        return
    if text == old_text and row.text_state is not None:
        return
    found = contact_details(text)
    author = row.user if row.user is not None else db.session.get(User, row.user_id)
    if found:
        row.text_state = "held"
        row.text_reason = f"Held for review because it seems to contain {' and '.join(found)}."
    elif row.text_state == "hidden":
        row.text_state = "held"
        row.text_reason = "Edited after a moderator hid it; waiting for review."
    elif author is not None and author.text_on_review:
        row.text_state = "held"
        row.text_reason = "Waiting for review: a moderator hid an earlier text of yours."
    else:
        row.text_state, row.text_reason = "public", None
        if isinstance(row, Experience):  # public as of its save (an imported report's own date)
            row.tips_published_at = row.updated_at or now_utc()
