"""The opt-in reminder mail: "how is it working now?" for experiences still in use and not updated in three months.

`registry remind-updates` (meant for cron, e.g. daily) mails each participant who opted in on their
account page, at most once per three months; each mail carries a one-click unsubscribe link that
needs no log-in and a List-Unsubscribe header. The link holds an opaque random token (stored hashed,
like a reset link's: registry.accounts.auth) that never expires; links mailed before these tokens, signed
payloads holding the account's id, keep working.
Each reminder is written in the participant's language (their account's, else English: a command has no
reader). Each reminder goes to the mail outbox (registry.accounts.mail) in the transaction that marks the participant
reminded, so a crash never mails anyone twice nor loses a reminder; the command then sends what is due,
and a mail the server refuses now is tried again later by the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel import Locale
from babel.dates import format_date
from flask import current_app
from flask_babel import force_locale, get_locale
from itsdangerous import BadSignature, URLSafeSerializer

from registry.accounts import auth, mail
from registry.contributions import followups
from registry.models import User
from registry.platform import i18n
from registry.platform.extensions import db
from scales.i18n import N_

SUBJECT = N_("How is your treatment working now?")


def _legacy_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="registry-reminder-unsubscribe")


def unsubscribe_token(user: User) -> str:
    """The opaque token of a participant's unsubscribe link (it never expires: stopping mail stays possible)."""
    return auth.unsubscribe_token(user)


def user_for_unsubscribe(token: str) -> User | None:
    """The account an unsubscribe link is for, or None when it is unknown, forged or altered."""
    user = auth.user_for_unsubscribe(token)
    if user is not None or "." not in token:
        return user
    try:  # a link mailed before the opaque tokens
        return db.session.get(User, int(_legacy_serializer().loads(token)["u"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


@dataclass
class Outcome:
    participants: int = 0
    experiences: int = 0
    sent: int = 0
    failed: int = 0


def _month(when) -> str:
    """A month in the language forced for the mail: "December 2026", "diciembre de 2026"."""
    locale = get_locale() or Locale.parse(i18n.DEFAULT)
    return format_date(when, locale.datetime_skeletons["yMMMM"], locale=locale)


def _reminder(user: User, due: list) -> "mail.EmailMultiAlternatives":
    stop = mail.link("followups.unsubscribe", token=unsubscribe_token(user))
    language = mail.language_for(user, from_request=False)  # a command's request context reads nobody's language
    with force_locale(language):
        items = [
            {
                "treatment": e.treatment.name,
                "condition": e.condition.name,
                "updated": _month(e.updated_at),
                "url": mail.link("followups.update", experience_id=e.id),
            }
            for e in due
        ]
    site = current_app.config.get("BASE_URL")
    msg = mail.message(
        user.email,
        SUBJECT,
        "followup_reminder",
        language,
        user=user,
        items=items,
        unsubscribe=stop,
        mine=mail.link("experiences.mine"),
        site=site,
    )
    msg.extra_headers["List-Unsubscribe"] = f"<{stop}>"
    msg.extra_headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058: the program POSTs
    return msg


def send_reminders(dry_run: bool = False) -> Outcome:
    """Queue a reminder for every participant due one, then send what is due (needs a request context for links).

    `sent` counts the reminders queued; `failed` those the mail server did not take now (they stay in
    the outbox and are tried again).
    """
    outcome = Outcome()
    recipients = followups.reminder_recipients()
    outcome.participants = len(recipients)
    outcome.experiences = sum(len(due) for _, due in recipients)
    if dry_run or not recipients:
        return outcome
    for user, due in recipients:
        try:
            msg = _reminder(user, due)
        except Exception:  # noqa: BLE001 - one mail that cannot be built must not stop the others
            db.session.rollback()
            current_app.logger.exception("Could not build the reminder to participant %s", user.id)
            outcome.failed += 1
            continue
        mail.enqueue(msg, user.email)
        followups.mark_reminded(user)
        db.session.commit()  # the mail and the mark together: never twice, never lost
        outcome.sent += 1
    drained = mail.drain()
    outcome.failed += drained["retrying"] + drained["failed"]
    return outcome
