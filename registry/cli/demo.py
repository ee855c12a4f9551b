"""`registry demo` (the newcomer's one command) and `registry seed-demo`: the demo community and its logins."""

from __future__ import annotations

import calendar
import resource
import sys
import time
from datetime import date, datetime

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from tqdm import tqdm
from werkzeug.serving import run_simple

from registry.accounts import auth
from registry.catalog.catalog import report_total
from registry.cli.common import VERBOSE
from registry.cli.database import init_database, publish
from registry.demo.logins import seed_demo_follows, seed_demo_moderation, seed_demo_own_history
from registry.demo.seed import seed_demo, today
from registry.platform.extensions import db
from registry.web import warmup

DEMO_HOST, DEMO_PORT = "127.0.0.1", 5000


DEMO_EXPERIENCES = 20_000


DEMO_RATINGS = 4_000


DEMO_ACCOUNTS = (
    # email, pseudonym, password, account role
    ("patient@demo.example", "demo-patient", "demo-patient-password", "patient"),
    ("researcher@demo.example", "demo-researcher", "demo-researcher-password", "researcher"),
    ("moderator@demo.example", "demo-moderator", "demo-moderator-password", "moderator"),
)


def _until(ctx, param, value: str | None):
    """--until as a date: YYYY-MM-DD, or YYYY-MM for that month's last day (today in this month)."""

    if value is None:
        return None
    for pattern in ("%Y-%m-%d", "%Y-%m"):
        try:
            parsed = datetime.strptime(value, pattern).date()
        except ValueError:
            continue
        if pattern == "%Y-%m":
            last = date(parsed.year, parsed.month, calendar.monthrange(parsed.year, parsed.month)[1])
            parsed = today() if parsed <= today() <= last else last
        return parsed
    raise click.BadParameter(f"{value!r} is not a date: give YYYY-MM-DD or YYYY-MM")


class SeedingProgress:
    """A progress callback for seed_demo: a bar on a terminal, else a line each time another tenth is done.

    Logs and pipes (a container's output, CI) get "Seeding: 40% (8,000 of 20,000 experiences)" lines
    instead of a bar redrawn with carriage returns, or nothing (tqdm's choice off a terminal).
    """

    def __init__(self, total: int, label: str = "Seeding"):
        self.total, self.label, self.done, self.tenths, self.bar = total, label, 0, 0, None

    def __enter__(self):
        if sys.stdout.isatty():
            self.bar = tqdm(total=self.total, unit="exp", unit_scale=True, desc=self.label)
        return self

    def __call__(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        tenths = min(10, self.done * 10 // max(self.total, 1))
        if tenths > self.tenths:  # a batch may cover several tenths: one line for them
            self.tenths = tenths
            click.echo(f"{self.label}: {tenths * 10}% ({self.done:,} of {self.total:,} experiences)")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False


def ensure_demo_accounts() -> list[tuple[str, str, str]]:
    """Create the demo accounts that are missing; return (email, password, role) of each."""
    for email, pseudonym, password, role in DEMO_ACCOUNTS:
        if auth.find_user(email) is None:
            user = auth.create_user(email, password, pseudonym, role, confirmed=True)
            user.birth_year, user.sex, user.country = 1980, "female", "US"
            auth.set_consent(user, True)
    db.session.commit()
    return [(email, password, role) for email, _, password, role in DEMO_ACCOUNTS]


@click.command("seed-demo")
@click.option(
    "--experiences",
    "n_experiences",
    type=click.IntRange(1, 50_000_000),
    required=True,
    help="How many treatment experiences to add.",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Random seed: the same seed gives the same community."
)
@click.option(
    "--until",
    callback=_until,
    metavar="DATE",
    help="Last day of the ten years of reports, nothing dated after it (YYYY-MM-DD, or YYYY-MM for the "
    "month's last day; default today).",
)
@click.option(
    "--doctor-ratings",
    type=click.IntRange(0, 10_000_000),
    default=0,
    show_default=True,
    help="About how many ratings of demo doctors the same members give.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1_000, 200_000),
    default=25_000,
    show_default=True,
    help="Experiences per transaction.",
)
@with_appcontext
def seed_demo_command(n_experiences: int, seed: int, until, batch_size: int, doctor_ratings: int):
    """Add a realistic demo community of members and their treatment experiences.

    Deterministic for a given --seed and --until. Uses bulk inserts; memory stays flat.
    Run `registry init` first (the community reports on the starter catalog).
    """

    started = time.perf_counter()
    with SeedingProgress(n_experiences) as progress:
        try:
            added = seed_demo(
                n_experiences,
                seed,
                until=until,
                batch_size=batch_size,
                progress=progress,
                doctor_ratings=doctor_ratings,
            )
        except RuntimeError as error:
            raise click.ClickException(str(error)) from None
    seeded = time.perf_counter() - started
    summary = publish()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    click.echo(
        f"Added {added['experiences']:,} experiences by {added['users']:,} members "
        f"({added['side_effects']:,} side effects, {added['stop_reasons']:,} stop reasons, "
        f"{added['experience_updates']:,} follow-up history points, "
        f"{added['doctor_ratings']:,} ratings of {added['doctors']:,} doctors) "
        f"in {seeded:.1f} s: {added['experiences'] / seeded:,.0f} experiences/s, peak memory {peak_mb:,.0f} MB."
    )
    click.echo(f"Published {summary.views:,} views in {summary.seconds:.1f} s (all done in {seconds:.1f} s).")


@click.command("demo")
@click.option("--host", default=DEMO_HOST, show_default=True, help="Address to serve on.")
@click.option(
    "--port", default=DEMO_PORT, show_default=True, type=int, help="Port to serve on (another if 5000 is taken)."
)
@click.option(
    "--until",
    callback=_until,
    metavar="DATE",
    help="Last day of the demo community's reports when it is first made (YYYY-MM-DD or YYYY-MM; default today).",
)
@VERBOSE
@with_appcontext
def demo_command(host: str, port: int, until, verbose: bool):
    """Prepare a registry with demo accounts and serve it (the newcomer's one command)."""
    init_database(verbose)
    if report_total() == 0:
        click.echo(f"Adding a demo community of {DEMO_EXPERIENCES:,} experiences (once)...")
        with SeedingProgress(DEMO_EXPERIENCES) as progress:
            seed_demo(DEMO_EXPERIENCES, seed=1, until=until, doctor_ratings=DEMO_RATINGS, progress=progress)
        click.echo("Publishing its numbers...")
        # Published before the logins follow conditions: a follow keeps the published ranking as it was
        # seen, and one kept before any release made every treatment "enter the ranking" on the first visit.
        publish()
    accounts = ensure_demo_accounts()
    seed_demo_moderation(auth.find_user(DEMO_ACCOUNTS[0][0]))
    seed_demo_follows([auth.find_user(email) for email, *_ in DEMO_ACCOUNTS])
    seed_demo_own_history(auth.find_user(DEMO_ACCOUNTS[0][0]))
    click.echo("")
    click.echo(f"The registry is running at http://{host}:{port}/  (Ctrl+C stops it)")
    click.echo("Demo logins (for this local demo only):")
    for email, password, role in accounts:
        click.echo(f"  {role:<10} {email:<26} password: {password}")
    click.echo("")
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    app.config["DEMO"] = True  # every page says that the community is synthetic
    app.config["RELEASE"] = "auto"  # one process, no timer: a release before a page whenever reports moved
    publish()
    if not app.config["MAIL_BACKEND"]:  # no mail server: reset and confirmation mails appear here
        app.config["MAIL_BACKEND"] = "console"
        click.echo("Mails (password reset, address confirmation) are printed here.")
    # The demo serves plain HTTP on this machine: HTTPS-only cookies would never come back.
    app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = False
    warmup.start(app, serving=True)  # the first search as fast as later ones
    # Flask ignores app.run() inside a CLI command; serve with Werkzeug directly.
    run_simple(host, port, app, threaded=True)
