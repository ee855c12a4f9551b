"""`registry mail send|status|retry` (the durable outbox) and `registry remind-updates` (the opt-in reminders)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select, update

from registry.accounts import mail
from registry.contributions import reminders
from registry.models import OutboxMail
from registry.platform.database import now_utc
from registry.platform.extensions import db


@click.group("mail")
def mail_group():
    """The mail outbox: send what is due, see what waits or failed, queue failed mail again."""


@mail_group.command("send")
@with_appcontext
def send_command():
    """Send every mail that is due now (meant for a timer; the app's workers also do it every minute).

    Exits 1 when a mail failed this time (it stays queued and is tried again later, unless given up).
    """
    if not mail.available():
        raise click.ClickException("No mail server is configured (REGISTRY_MAIL_SERVER); nothing was sent.")
    total = mail.DrainResult()
    while True:
        result = mail.drain()
        for key in total:
            total[key] += result[key]
        if result["sent"] + result["decoys"] == 0 or result["retrying"] or result["failed"]:
            break
    state = mail.outbox_state()
    click.echo(
        f"sent {total['sent']} mail(s); {total['retrying']} failed and will be tried again, "
        f"{total['failed']} given up; {state['queued']} queued, {state['failed']} failed in all."
    )
    if total["retrying"] or total["failed"]:
        raise SystemExit(1)


@mail_group.command("status")
@with_appcontext
def status_command():
    """How many mails wait, are being retried, or failed for good (exit 1 when any failed)."""
    state = mail.outbox_state()
    click.echo(
        f"queued {state['queued']} (retrying {state['retrying']}, oldest {state['oldest_seconds']} s); "
        f"failed {state['failed']}"
    )
    for error, count in db.session.execute(
        select(OutboxMail.last_error, func.count(OutboxMail.id))
        .where(OutboxMail.last_error.is_not(None))
        .group_by(OutboxMail.last_error)
    ):
        click.echo(f"  {count} x {error}")
    if state["failed"]:
        raise SystemExit(1)


@mail_group.command("retry")
@with_appcontext
def retry_command():
    """Queue every failed mail again (after fixing the mail settings); `registry mail send` then sends them."""
    changed = db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.failed_at.is_not(None))
        .values(failed_at=None, attempts=0, next_attempt_at=now_utc(), claimed_until=None)
    ).rowcount
    db.session.commit()
    click.echo(f"queued {changed} failed mail(s) again.")


@click.command("remind-updates")
@click.option("--dry-run", is_flag=True, help="Count who would get a reminder; send nothing and change nothing.")
@with_appcontext
def remind_updates_command(dry_run: bool):
    """Mail opted-in participants whose experiences need an update (meant for cron, e.g. daily).

    A participant gets a reminder when they ticked "mail me a reminder" on their account page,
    their address is confirmed, they still use a treatment whose experience was not updated for
    three months, and they were not reminded in the last three months. Each mail lists those
    experiences with a link to a short update form, and a one-click unsubscribe link.

    Needs a mail server (REGISTRY_MAIL_SERVER) and REGISTRY_BASE_URL (links in the mail point there).
    Exits 2 when either is missing (except with --dry-run).
    """
    base = current_app.config.get("BASE_URL")
    if not dry_run and not mail.available():
        raise click.ClickException("No mail server is configured (REGISTRY_MAIL_SERVER); nothing was sent.")
    if not dry_run and not base:
        click.echo("Error: set REGISTRY_BASE_URL: the links in the mail must point to this registry.", err=True)
        raise SystemExit(2)
    with current_app.test_request_context(base_url=base or "http://localhost/"):
        outcome = reminders.send_reminders(dry_run)
    verb = "would mail" if dry_run else "mailed"
    click.echo(
        f"{verb} {outcome.participants if dry_run else outcome.sent} participant(s) about "
        f"{outcome.experiences} experience(s) due for an update."
    )
    if outcome.failed:
        click.echo(
            f"{outcome.failed} mail(s) could not be sent now (see the log and `registry mail status`); "
            "they stay in the outbox and are tried again.",
            err=True,
        )
        raise SystemExit(1)
