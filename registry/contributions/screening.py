"""Text screening: the state a tip or comment takes as its author saves it (public or held for review).

Every save of free text passes here (registry.contributions.experiences, registry.contributions.ratings): text with contact
details, and any new text of a participant one of whose texts a moderator hid, waits for review.

The reason a text is held is stored in English (moderators and exports read it as stored);
reason_text() puts it in the reader's language for the author.
"""

from __future__ import annotations

import re

from babel.lists import format_list

from forms.text import contact_details
from registry.contributions import moderation
from registry.models import Experience, User
from registry.platform.database import now_utc
from registry.platform.extensions import db
from scales import i18n
from scales.i18n import N_
from scales.i18n import gettext as _

# Which kind of moderated text each column holds.
TEXT_KIND_OF = {column: kind for kind, (_model, column) in moderation.TEXT_KINDS.items()}

# The reasons a text is held, as stored (English); %(what)s is the kinds of contact details, joined by " and ".
CONTACT_DETAILS = N_("Held for review because it seems to contain %(what)s.")
EDITED_AFTER_HIDING = N_("Edited after a moderator hid it; waiting for review.")
EARLIER_TEXT_HIDDEN = N_("Waiting for review: a moderator hid an earlier text of yours.")
# The kinds of contact details forms.text.contact_details names.
CONTACT_KINDS = {
    "an email address": N_("an email address"),
    "a link": N_("a link"),
    "a phone number": N_("a phone number"),
}
_CONTACT_REASON = re.compile(re.escape(CONTACT_DETAILS).replace(re.escape("%(what)s"), "(.+)"))


def reason_text(reason: str | None) -> str | None:
    """A stored reason in the reader's language (as stored when English, or a reason it does not know)."""
    if not reason or i18n.language() == "en":
        return reason
    if reason in (EDITED_AFTER_HIDING, EARLIER_TEXT_HIDDEN):
        return _(reason)
    found = _CONTACT_REASON.fullmatch(reason)
    kinds = found.group(1).split(" and ") if found else []
    if not kinds or any(kind not in CONTACT_KINDS for kind in kinds):
        return reason
    return _(CONTACT_DETAILS, what=format_list([_(CONTACT_KINDS[kind]) for kind in kinds], locale=i18n.locale()))


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
        row.text_reason = CONTACT_DETAILS % {"what": " and ".join(found)}
    elif row.text_state == "hidden":
        row.text_state = "held"
        row.text_reason = EDITED_AFTER_HIDING
    elif author is not None and author.text_on_review:
        row.text_state = "held"
        row.text_reason = EARLIER_TEXT_HIDDEN
    else:
        row.text_state, row.text_reason = "public", None
        if isinstance(row, Experience):  # public as of its save (an imported report's own date)
            row.tips_published_at = row.updated_at or now_utc()
