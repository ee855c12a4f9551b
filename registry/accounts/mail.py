"""Mail to participants (Flask-Mailman) through a durable outbox: reset, confirmation, notices, reminders.

Every mail has a plain-text and an HTML body from templates/mail/<name>.txt and .html. Links are
built from REGISTRY_BASE_URL when set (the address participants know), else from the request's
host (behind a proxy, REGISTRY_PROXY_FIX makes that the public one).

A mail is written in its recipient's language (language_for): the one chosen on their account, else the
one the request that sends it reads (someone who just registered, or asked for a link, in Spanish), else
English. Callers give the subject as its English source (marked with N_); message() translates it.

A mail is rendered in the request and written to the database's outbox (table mail_outbox) in a
committed transaction before the page answers; a thread then hands it to the mail server. A mail
the server refuses for now, or that a restart interrupts, stays in the outbox and is tried again
with growing pauses (RETRY_DELAYS) by every app worker's background drain (REGISTRY_MAIL_DRAIN_INTERVAL
seconds, 60 by default) and by `registry mail send`; a mail sent is deleted (its link is a secret).
After the last try, or a permanent refusal (a 5xx answer), it is kept as failed: `registry mail status`
and /health count them, `registry mail retry` queues them again. Several workers and servers may
drain at once: each mail is claimed by one conditional UPDATE before it is sent.

A reset asked for an address with no account writes a decoy (a row without a recipient), so both
answers cost the same work; drains drop decoys without sending anything.
"""

from __future__ import annotations

import os
import smtplib
import threading
import time
from datetime import datetime, timedelta, timezone

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale, get_locale
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from registry.models import OutboxMail
from registry.platform import i18n
from registry.platform.database import now_utc
from registry.platform.extensions import db, mail
from scales.i18n import gettext

# Pause before each next try: after the 1st failure 1 minute, ..., the 7th failure gives up (about 10 hours in all).
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
CLAIM_FOR = timedelta(minutes=5)  # a drain that dies while sending frees its mails after this
FAILED_KEPT = timedelta(days=30)  # failed mails are deleted after this (they may hold a link)
DRAIN_BATCH = 100


def available() -> bool:
    """Whether this registry can send mail (a server is configured, or the console in demo and debug)."""
    return bool(current_app.config.get("MAIL_BACKEND"))


def link(endpoint: str, **values) -> str:
    """An absolute link for a mail."""
    base = current_app.config.get("BASE_URL")
    if base:
        return str(base).rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def language_for(user=None, from_request: bool = True) -> str:
    """The language of a mail to user: their account's, else the current request's (from_request), else English."""
    offered = i18n.codes()
    chosen = getattr(user, "locale", None)
    if chosen in offered:
        return chosen
    if from_request and has_request_context():
        reading = get_locale()
        if reading is not None and str(reading) in offered:
            return str(reading)
    return i18n.DEFAULT


def message(to: str, subject: str, template: str, language: str | None = None, **context) -> EmailMultiAlternatives:
    """The mail, with its text and HTML bodies rendered from templates/mail/ (needs an app context only).

    subject is the English source (N_); the subject and both bodies are written in language (by default
    language_for the context's user).
    """
    with force_locale(language or language_for(context.get("user"))):
        msg = EmailMultiAlternatives(
            subject=gettext(subject),
            body=render_template(f"mail/{template}.txt", **context),
            from_email=current_app.config["MAIL_DEFAULT_SENDER"],
            to=[to],
        )
        msg.attach_alternative(render_template(f"mail/{template}.html", **context), "text/html")
    return msg


def enqueue(msg: EmailMultiAlternatives, recipient: str | None) -> OutboxMail:
    """Put a built mail in the outbox (the caller commits, in the transaction of what the mail is about)."""
    html = next((content for content, kind in msg.alternatives if kind == "text/html"), None)
    row = OutboxMail(
        recipient=recipient,
        subject=msg.subject[:200],
        body_text=msg.body,
        body_html=html,
        headers=dict(msg.extra_headers),
        next_attempt_at=now_utc(),
    )
    db.session.add(row)
    return row


def send(to: str | None, subject: str, template: str, language: str | None = None, **context) -> None:
    """Render one mail, commit it to the outbox, and have it sent (on a thread unless MAIL_ASYNC is off).

    subject is the English source (N_), written like the bodies in language (by default language_for the
    context's user). Commits the session: call it after the change the mail is about is ready to commit.
    Never raises for the mail server: a failure leaves the mail in the outbox for the next try.
    """
    if not available():
        return
    context.setdefault("site", current_app.config.get("BASE_URL") or url_for("main.index", _external=True))
    row = enqueue(message(to or "nobody@invalid", subject, template, language, **context), to)
    db.session.commit()
    _dispatch(row.id)


def decoy(subject: str, template: str, language: str | None = None, **context) -> None:
    """Do the work of send() without sending: for an address with no account, so both cost the same time."""
    send(None, subject, template, language, **context)


def _on_thread(app) -> bool:
    """Whether a mail is sent on a thread (MAIL_ASYNC). Not under tests: a thread writing to the database
    after the answer would race the tests' table resets; the mail still goes through the outbox."""
    return bool(app.config["MAIL_ASYNC"]) and not app.testing


def _dispatch(mail_id: int) -> None:
    """Send one queued mail now: on a thread after the answer (MAIL_ASYNC), else before it."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if _on_thread(app):
        threading.Thread(target=_drain_in_context, args=(app, [mail_id]), name="mail-send", daemon=True).start()
    else:
        drain(ids=[mail_id])


def _drain_in_context(app, ids: list[int] | None = None) -> None:
    with app.app_context():
        try:
            drain(ids=ids)
        except Exception:  # noqa: BLE001 - a thread must not die loudly: the mail stays queued
            app.logger.exception("The mail outbox could not be drained; its mails stay queued")
        finally:
            db.session.remove()


def _claim(mail_id: int, now: datetime) -> datetime | None:
    """Mark one due mail as being sent by this drain, for CLAIM_FOR from the moment it is claimed (not
    from the drain's start: a long drain's late mails would be claimed already expired, free for another
    drain to send too); the claim's end, or None when another drain has it or it is gone."""
    now = max(now, now_utc())
    until = now + CLAIM_FOR
    claimed = db.session.execute(
        update(OutboxMail)
        .where(
            OutboxMail.id == mail_id,
            OutboxMail.failed_at.is_(None),
            or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
        )
        .values(claimed_until=until)
    )
    db.session.commit()
    return until if claimed.rowcount == 1 else None


def _rebuilt(row: OutboxMail) -> EmailMultiAlternatives:
    msg = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body_text,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[row.recipient],
        headers=dict(row.headers or {}),
    )
    if row.body_html is not None:
        msg.attach_alternative(row.body_html, "text/html")
    return msg


def _permanent(error: Exception) -> bool:
    """A refusal that no retry can change (5xx: no such mailbox, message refused; an address the mail
    library cannot write, a ValueError)."""
    if isinstance(error, ValueError):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def _describe(error: Exception) -> str:
    """The failure for the outbox and the log: its kind and code, never the address or the mail."""
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__} {error.smtp_code}"[:200]
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return f"SMTPRecipientsRefused {sorted({code for code, _ in error.recipients.values()})}"[:200]
    return type(error).__name__[:200]


def _failed(mail_id: int, error: Exception, now: datetime, result: DrainResult) -> None:
    """Record a failed try (retried later, or given up), count it in result and log it."""
    row = db.session.get(OutboxMail, mail_id)
    if row is None:
        return
    row.attempts += 1
    row.last_error = _describe(error)
    row.claimed_until = None
    given_up = _permanent(error) or row.attempts >= MAX_ATTEMPTS
    if given_up:
        row.failed_at = now
    else:
        row.next_attempt_at = now + RETRY_DELAYS[row.attempts - 1]
    attempts = row.attempts
    db.session.commit()
    result["failed" if given_up else "retrying"] += 1
    current_app.logger.warning(
        "Mail %s not sent (%s, try %s); %s",
        mail_id,
        _describe(error),
        attempts,
        "given up" if given_up else "it stays queued",
    )


def _unclaim(mail_id: int, claim: datetime) -> None:
    """Free a mail this drain claimed but did not finish (it stopped on an error)."""
    db.session.rollback()
    db.session.execute(
        update(OutboxMail).where(OutboxMail.id == mail_id, OutboxMail.claimed_until == claim).values(claimed_until=None)
    )
    db.session.commit()


class DrainResult(dict):
    """Counts of one drain: sent, retrying (failed this time, tried again later), failed (given up), decoys."""

    def __init__(self):
        super().__init__(sent=0, retrying=0, failed=0, decoys=0)


def due_ids(now: datetime, limit: int = DRAIN_BATCH) -> list[int]:
    """The mails due for a try now, oldest first."""
    return list(
        db.session.scalars(
            select(OutboxMail.id)
            .where(
                OutboxMail.failed_at.is_(None),
                OutboxMail.next_attempt_at <= now,
                or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
            )
            .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
            .limit(limit)
        )
    )


def drain(ids: list[int] | None = None, now: datetime | None = None) -> DrainResult:
    """Send the due mails (or the given ones) on one connection; record failures for a later try.

    A failure to reach the server at all ends the drain: the other mails wait for the next one
    instead of each waiting out the connection timeout.
    """
    now = now or now_utc()
    result = DrainResult()
    if ids is None:
        db.session.execute(delete(OutboxMail).where(OutboxMail.failed_at < now - FAILED_KEPT))
        db.session.commit()
        ids = due_ids(now)
    if not ids:
        return result
    connection = None
    held = None  # (id, claim) of the mail being sent, freed if the drain stops on it
    try:
        for mail_id in ids:
            claim = _claim(mail_id, now)
            if claim is None:
                continue
            held = (mail_id, claim)
            row = db.session.get(OutboxMail, mail_id)
            if row is None:
                continue
            if row.recipient is None:
                db.session.delete(row)
                db.session.commit()
                held = None
                result["decoys"] += 1
                continue
            msg = _rebuilt(row)
            db.session.rollback()  # no transaction held open while the mail server answers
            if connection is None:
                connection = mail.get_connection(backend=current_app.config["MAIL_BACKEND"])
            msg.connection = connection
            try:
                msg.send()
            except (smtplib.SMTPException, OSError, ValueError) as error:
                held = None
                _failed(mail_id, error, now, result)
                if not isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused | ValueError):
                    break  # the server cannot be reached: the rest waits for the next drain
                continue
            held = None  # sent: should its deletion fail, the claim keeps it from going out again at once
            db.session.execute(delete(OutboxMail).where(OutboxMail.id == mail_id))
            db.session.commit()
            result["sent"] += 1
    finally:
        if connection is not None:
            try:
                connection.close()
            except (smtplib.SMTPException, OSError):
                pass
        if held is not None:  # the drain stopped on a mail it had claimed: free it for the next one
            _unclaim(*held)
    return result


def outbox_state() -> dict:
    """Counts for /health and /metrics: queued (waiting, including retries), retrying, failed, oldest wait."""
    now = now_utc()
    waiting = and_(OutboxMail.recipient.is_not(None), OutboxMail.failed_at.is_(None))
    queued, retrying, oldest = db.session.execute(
        select(
            func.count(OutboxMail.id),
            func.count(OutboxMail.id).filter(OutboxMail.attempts > 0),
            func.min(OutboxMail.created_at),
        ).where(waiting)
    ).one()
    failed = db.session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.failed_at.is_not(None)))
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=timezone.utc)
    return {
        "queued": queued,
        "retrying": retrying,
        "failed": failed or 0,
        "oldest_seconds": round((now - oldest).total_seconds()) if oldest is not None else 0,
    }


def health() -> dict:
    """outbox_state() for /health, or {"state": "unknown"} when the database cannot say."""
    try:
        state = outbox_state()
    except SQLAlchemyError:
        db.session.rollback()
        return {"state": "unknown"}
    state["state"] = "failing" if state["failed"] or state["retrying"] else "ok"
    return state


# --- the background drain of each app worker ---------------------------------------------------


def start_drainer(app) -> None:
    """Start this process's background drain once (after a fork too), unless turned off or under tests."""
    interval = app.config.get("MAIL_DRAIN_INTERVAL", None if app.testing else 60)
    if not interval or not app.config.get("MAIL_BACKEND"):
        return
    state = app.extensions.setdefault("mail_drainer", {})
    if state.get("pid") == os.getpid():
        return
    with state.setdefault("lock", threading.Lock()):
        if state.get("pid") == os.getpid():
            return
        state["pid"] = os.getpid()
        threading.Thread(target=_drain_forever, args=(app, float(interval)), name="mail-drain", daemon=True).start()


def _drain_forever(app, interval: float) -> None:
    while True:
        time.sleep(interval)
        _drain_in_context(app)


def install_drain(app) -> None:
    """Each worker's first request starts its background drain of the outbox."""
    app.before_request(lambda: start_drainer(app))
