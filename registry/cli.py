"""The `registry` command: Flask's run/routes/shell plus the registry's own commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from werkzeug.serving import run_simple

from registry import __version__
from scales import ACCOUNT_ROLE

DEMO_HOST, DEMO_PORT = "127.0.0.1", 5000
DEMO_EXPERIENCES = 20_000
DEMO_RATINGS = 4_000
DEMO_ACCOUNTS = (
    # email, pseudonym, password, account role
    ("patient@demo.example", "demo-patient", "demo-patient-password", "patient"),
    ("researcher@demo.example", "demo-researcher", "demo-researcher-password", "researcher"),
    ("moderator@demo.example", "demo-moderator", "demo-moderator-password", "moderator"),
)


def _create_app():
    from registry import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
@click.version_option(__version__, "--version", prog_name="registry", message="%(prog)s %(version)s")
def cli():
    """The treatment-experience registry.

    Start here: `registry demo` serves a registry with a demo community on
    http://127.0.0.1:5000. `registry init` prepares a database for real use.
    """


def init_database(verbose: bool = False) -> dict[str, int]:
    """Create or upgrade the schema through migrations and load the starter catalog.

    Alembic logs each migration it runs only with verbose (registry/migrations/env.py reads
    MIGRATION_LOG_LEVEL): a first run is not sixteen lines of "Running upgrade".
    """
    from flask_migrate import upgrade

    from registry import MIGRATIONS, report_upkeep
    from registry.catalog import load_starter_catalog
    from registry.extensions import db

    current_app.config["MIGRATION_LOG_LEVEL"] = "INFO" if verbose else "WARNING"
    before = _revisions()
    upgrade(directory=str(MIGRATIONS))
    after = _revisions()
    if before and before != after:
        # Servers of the previous release keep writing, with their own upkeep, until the rollout ends:
        # releases check the report tables for a while (registry/report_upkeep.py, docs/deploy.md).
        report_upkeep.open_check(db.session, f"migrated {','.join(sorted(before))} -> {','.join(sorted(after))}")
        db.session.commit()
    added = load_starter_catalog()
    if report_upkeep.rebuild_if_missing(db.session):  # a registry upgraded from before the aggregates
        db.session.commit()
    publish()  # a registry upgraded from before releases shows its numbers at once
    return added


def publish():
    """Run a release and commit it (registry/release.py); returns its summary."""
    from registry import release, report_upkeep
    from registry.extensions import db

    # Within a window after an upgrade, the report tables are checked (and rebuilt if they differ) first.
    checked = report_upkeep.verify(db.session)
    db.session.commit()
    summary = release.run(db.session)
    db.session.commit()
    summary.upkeep = checked
    return summary


def _revisions() -> set[str]:
    """The database's migration revisions (none before its first migration)."""
    from sqlalchemy import inspect, text

    from registry.extensions import db

    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return set()
        return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


@click.command("release")
@with_appcontext
def release_command():
    """Publish new numbers: every view in which enough people changed something since it was last published.

    Pages, CSVs and the API read only published numbers. A view (a treatment under some "patients like
    me" filters, its dose, years and time on treatment, a doctor for a condition) gets new numbers only
    when at least REGISTRY_REPORT_MIN_N distinct participants changed in it, and at most
    REGISTRY_RELEASE_BUDGET times a year; every other view keeps its numbers exactly. Run it from a
    timer (hourly or nightly; docs/deploy.md). Safe to run at any time and from several servers.
    """
    summary = publish()
    if summary.upkeep and summary.upkeep["rebuilt"]:
        click.echo("The report tables differed from the raw rows after the upgrade: rebuilt them first.")
    click.echo(
        f"Release {summary.id}: {summary.views:,} views got new numbers, {summary.pending:,} wait for more "
        f"changes, {summary.frozen:,} reached this year's budget ({summary.seconds:.1f} s)."
    )


VERBOSE = click.option("--verbose", is_flag=True, help="Log each database migration as it runs.")


@click.command("init")
@VERBOSE
@with_appcontext
def init_command(verbose: bool):
    """Create or upgrade the database and load the starter catalog (safe to run again)."""
    from sqlalchemy.exc import OperationalError

    try:
        added = init_database(verbose)
    except OperationalError as error:
        raise click.ClickException(
            f"Cannot reach the database at {_safe_db_url()}: {error.orig}\n"
            "Check REGISTRY_DATABASE_URL; on PostgreSQL, create the role and the database first "
            "(docs/deploy.md, step 1)."
        ) from None
    click.echo(f"Database ready at {_safe_db_url()}.")
    if any(added.values()):
        click.echo(
            f"Starter catalog: added {added['conditions']} conditions, {added['treatments']} treatments, "
            f"{added['links']} condition-treatment links."
        )
    else:
        click.echo("Starter catalog: already up to date, nothing added.")
    from registry import vocab

    # Built once per release of the vocabularies (about 20 s), shared read-only by every server process.
    click.echo(f"Search vocabularies ready at {vocab.ensure_built()}.")


def _safe_db_url() -> str:
    from registry.extensions import db

    return db.engine.url.render_as_string(hide_password=True)


@click.group("users")
def users_group():
    """Manage accounts: create, list, set a password or role, disable, enable, delete (each on the audit trail)."""


def _user_or_fail(email: str):
    from registry import auth

    user = auth.find_user(email)
    if user is None:
        raise click.ClickException(f"no account with the email {auth.normalize_email(email)}")
    return user


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_group.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(ACCOUNT_ROLE.codes),
    default="patient",
    show_default=True,
    help="What the account may do.",
)
@click.option("--pseudonym", help="Public name; a random one is chosen when omitted.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(email: str, role: str, pseudonym: str | None, password_stdin: bool):
    """Create an account with EMAIL (the password is prompted for)."""
    from registry import auth
    from registry.extensions import db

    password = _read_password(password_stdin)
    try:
        # An operator vouches for the address: the account comes confirmed.
        user = auth.create_user(email, password, pseudonym or auth.unique_pseudonym(email), role, confirmed=True)
        db.session.commit()
    except ValueError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.email} as {user.account_role} (public name {user.pseudonym}).")


@users_group.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ACCOUNT_ROLE.codes))
@with_appcontext
def users_set_role(email: str, role: str):
    """Give the account with EMAIL the ROLE."""
    from registry import auth
    from registry.extensions import db

    user = _user_or_fail(email)
    auth.set_role(user, role)
    db.session.commit()
    click.echo(f"{user.email} is now {role}.")


@users_group.command("list")
@click.option("--role", type=click.Choice(ACCOUNT_ROLE.codes), help="Only accounts with this role.")
@click.option("--disabled", is_flag=True, help="Only disabled accounts.")
@with_appcontext
def users_list(role: str | None, disabled: bool):
    """List accounts: email, role, whether the address is confirmed, disabled, created, devices logged in.

    Listing shows participants' addresses, so it goes on the audit trail.
    """
    from sqlalchemy import func, select

    from registry import audit
    from registry.extensions import db
    from registry.models import User, UserSession

    sessions = select(UserSession.user_id, func.count().label("n")).group_by(UserSession.user_id).subquery()
    query = (
        select(User, func.coalesce(sessions.c.n, 0))
        .outerjoin(sessions, sessions.c.user_id == User.id)
        .order_by(User.id)
    )
    if role:
        query = query.where(User.account_role == role)
    if disabled:
        query = query.where(User.disabled_at.is_not(None))
    rows = db.session.execute(query).all()
    audit.record("user.list", "user", None, {"role": role, "disabled": disabled, "count": len(rows)})
    db.session.commit()
    click.echo(f"{'id':>6}  {'email':<36} {'role':<10} {'confirmed':<9} {'state':<8} {'created':<10} devices")
    for user, devices in rows:
        click.echo(
            f"{user.id:>6}  {user.email:<36} {user.account_role:<10} {'yes' if user.email_confirmed else 'no':<9} "
            f"{'disabled' if user.disabled_at else 'active':<8} {user.created_at:%Y-%m-%d} {devices:>7}"
        )
    click.echo(f"{len(rows):,} account{'s' if len(rows) != 1 else ''}.")


@users_group.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_set_password(email: str, password_stdin: bool):
    """Set a new password for the account with EMAIL (prompted); every device it is logged in on is logged out."""
    from registry import audit, auth
    from registry.extensions import db

    user = _user_or_fail(email)
    password = _read_password(password_stdin)
    if len(password) < auth.MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"the password must have at least {auth.MIN_PASSWORD_LENGTH} characters")
    auth.change_password(user, password, keep_current=False)
    audit.record("user.password", "user", user.id, {"by_operator": True})
    db.session.commit()
    click.echo(f"New password set for {user.email}; every device was logged out.")


@users_group.command("disable")
@click.argument("email")
@with_appcontext
def users_disable(email: str):
    """Stop the account with EMAIL from logging in and end its sessions; nothing it wrote is deleted."""
    from registry import audit, auth
    from registry.extensions import db

    user = _user_or_fail(email)
    if not auth.set_disabled(user, True):
        click.echo(f"{user.email} is disabled already.")
        return
    audit.record("user.disable", "user", user.id)
    db.session.commit()
    click.echo(
        f"{user.email} is disabled: it cannot log in, and every device was logged out. "
        "Its experiences and ratings still count; `registry users enable` undoes this."
    )


@users_group.command("enable")
@click.argument("email")
@with_appcontext
def users_enable(email: str):
    """Let a disabled account with EMAIL log in again."""
    from registry import audit, auth
    from registry.extensions import db

    user = _user_or_fail(email)
    if not auth.set_disabled(user, False):
        click.echo(f"{user.email} is not disabled.")
        return
    audit.record("user.enable", "user", user.id)
    db.session.commit()
    click.echo(f"{user.email} can log in again.")


@users_group.command("delete")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def users_delete(email: str, yes: bool):
    """Delete the account with EMAIL and everything in it, as the participant's own deletion does.

    Their experiences and ratings leave every count, report and later export in the same transaction.
    """
    from sqlalchemy import func, select

    from registry import rights
    from registry.extensions import db
    from registry.models import DoctorRating, Experience

    user = _user_or_fail(email)
    n_exp = db.session.scalar(select(func.count()).where(Experience.user_id == user.id))
    n_rat = db.session.scalar(select(func.count()).where(DoctorRating.user_id == user.id))
    if not yes:
        click.confirm(
            f"Delete {user.email} ({user.pseudonym}) with {n_exp} experiences and {n_rat} doctor ratings, for good?",
            abort=True,
        )
    address = user.email
    counts = rights.delete_account(user, by_operator=True)
    db.session.commit()
    click.echo(
        f"Deleted {address} with {counts['experiences']} experiences and {counts['ratings']} doctor ratings; "
        "they no longer count anywhere."
    )


def _until(ctx, param, value: str | None):
    """--until as a date: YYYY-MM-DD, or YYYY-MM for that month's last day (today in this month)."""
    import calendar
    from datetime import date, datetime

    from registry.demo import today

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
            from tqdm import tqdm

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
    from registry import auth
    from registry.extensions import db

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
    import resource
    import time

    from registry.demo import seed_demo

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


@click.command("export")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory to write the CSV files and datapackage.json into.",
)
@click.option("--condition", "conditions", multiple=True, metavar="SLUG", help="Only this condition (repeatable).")
@click.option("--treatment", "treatments", multiple=True, metavar="SLUG", help="Only this treatment (repeatable).")
@click.option("--since", type=click.DateTime(["%Y-%m"]), help="Only reports from this month on (YYYY-MM).")
@click.option("--until", type=click.DateTime(["%Y-%m"]), help="Only reports up to this month (YYYY-MM).")
@click.option("--with-text", is_flag=True, help="Include tips, comments and participants' own side-effect terms.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
    help="CSV files, or the same tables as Parquet (typed columns, codes as categoricals).",
)
@click.option(
    "--labelled",
    is_flag=True,
    help="Also write each table as a Stata .dta and an SPSS .sav file with value and variable labels.",
)
@with_appcontext
def export_command(out: Path, conditions, treatments, since, until, with_text: bool, fmt: str, labelled: bool):
    """Write the de-identified research export (consenting participants only) into --out.

    The files are those of the web download: experiences.csv, the long tables, doctor_ratings.csv,
    the catalog, and datapackage.json (a Frictionless Data Package: the codebook). Logged.
    With --format parquet, each table is a .parquet file instead, described by the same datapackage.json.
    """
    import getpass

    from sqlalchemy import select
    from tqdm import tqdm

    from registry import export
    from registry.extensions import db
    from registry.models import Condition, Treatment

    for model, slugs, label in ((Condition, conditions, "condition"), (Treatment, treatments, "treatment")):
        known = set(db.session.scalars(select(model.slug).where(model.slug.in_(slugs))))
        unknown = [slug for slug in slugs if slug not in known]
        if unknown:
            raise click.BadParameter(f"no {label} {', '.join(unknown)}", param_hint=f"--{label}")
    req = export.ExportRequest(
        conditions=tuple(conditions),
        treatments=tuple(treatments),
        since=since.strftime("%Y-%m") if since else None,
        until=until.strftime("%Y-%m") if until else None,
        with_text=with_text,
    )
    _private_files()
    log = export.start_log(None, f"cli:{getpass.getuser()}", req, fmt, labelled)
    db.session.commit()
    with tqdm(unit="rows", unit_scale=True, desc="Exporting", disable=None) as bar:
        last = {"n": 0}

        def progress(n):
            bar.update(max(n - last["n"], 0) if n >= last["n"] else n)
            last["n"] = n

        counts = export.export_to_directory(
            out, req, current_app.config["EXPORT_KEY"], progress=progress, fmt=fmt, labelled=labelled
        )
    export.finish_log(log.id, counts)
    for name, n in counts.items():
        click.echo(f"  {name}.{fmt}: {n:,} rows")
    click.echo(
        f"Wrote the export to {out} (datapackage.json describes every file; data_dictionary.csv in REDCap's layout"
        + (", a .dta and a .sav file per table" if labelled else "")
        + ")."
    )


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
    from registry.catalog import report_total
    from registry.demo import seed_demo

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
    from registry import auth
    from registry.demo_accounts import seed_demo_follows, seed_demo_moderation, seed_demo_own_history

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
    from registry.app import _preload_vocabularies

    _preload_vocabularies(app, serving=True)  # the first search as fast as later ones
    # Flask ignores app.run() inside a CLI command; serve with Werkzeug directly.
    run_simple(host, port, app, threaded=True)


@click.group("aggregates")
def aggregates_group():
    """Rebuild or check the report aggregates kept current by every write."""


@aggregates_group.command("rebuild")
@with_appcontext
def aggregates_rebuild():
    """Recompute every report aggregate from the raw experiences."""
    from registry import report_upkeep
    from registry.extensions import db

    counts = report_upkeep.rebuild(db.session)
    db.session.commit()
    click.echo(
        f"Rebuilt {counts['report_cell']:,} report cells, {counts['report_term']:,} term counts "
        f"and {counts['report_slice']:,} time, dose and year slices."
    )


@aggregates_group.command("check")
@click.option(
    "--repair",
    is_flag=True,
    help="Rebuild the aggregates when they differ, and end the checks an upgrade started (docs/deploy.md).",
)
@with_appcontext
def aggregates_check(repair: bool):
    """Compare the maintained aggregates with a fresh computation; exit 1 on any difference."""
    from registry import report_upkeep
    from registry.extensions import db

    if repair:
        done = report_upkeep.verify(db.session, repair_now=True)
        db.session.commit()
        click.echo(
            "The aggregates differed from the raw rows: rebuilt them."
            if done["rebuilt"]
            else "The aggregates match the raw rows."
        )
        if done["closed"]:
            click.echo(f"Ended {done['closed']} check window(s) opened by an upgrade.")
        return
    problems = report_upkeep.check(db.session)
    if problems:
        for line in problems:
            click.echo(line, err=True)
        raise click.ClickException(f"the aggregates differ from the raw rows ({len(problems)} shown)")
    click.echo("The aggregates match the raw rows.")


def _page_bar(bar):
    """A backup progress callback that moves a tqdm bar."""

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return update


def _sqlite_or_exit(url, file_name: str) -> Path:
    """The SQLite database file; for PostgreSQL, print the pg_dump/pg_restore commands and exit 2."""
    from registry import backup

    try:
        database = backup.sqlite_path(url)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    if database is None:
        click.echo(backup.postgres_instructions(url, file_name), err=True)
        click.get_current_context().exit(2)
    return database


@click.command("backup")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The backup file to write (one SQLite file).",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@with_appcontext
def backup_command(out: Path, force: bool):
    """Back up a SQLite registry into one file, safely while the app runs.

    Uses SQLite's online backup API: the file is one consistent snapshot, and the app keeps
    serving and writing meanwhile. Restore it with `registry restore FILE`. Keep
    instance/secret_key and instance/export_key with the backups: the research export's
    pseudonymous ids depend on the export key.

    A PostgreSQL registry is backed up with pg_dump: the command prints the exact pg_dump and
    pg_restore commands and exits with status 2.
    """
    from tqdm import tqdm

    from registry import backup
    from registry.extensions import db

    database = _sqlite_or_exit(db.engine.url, out.name)
    _private_files()
    if out.exists() and not force:
        raise click.ClickException(f"{out} exists: choose another file, or add --force to overwrite it")
    if out.resolve() == database:
        raise click.ClickException("--out is the database itself: choose another file")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tqdm(unit="page", unit_scale=True, desc="Backing up", disable=None) as bar:
        try:
            backup.backup(database, out, progress=_page_bar(bar))
        except backup.BackupError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"Backed up {database} to {out} ({out.stat().st_size / 1e6:,.1f} MB).")
    click.echo("Keep instance/secret_key and instance/export_key safe as well: the backup does not hold them.")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the database without asking first.")
@with_appcontext
def restore_command(file: Path, yes: bool):
    """Replace this SQLite registry's database with the backup FILE.

    FILE must be a registry database written by `registry backup` (or a copy of one) whose
    migration revision this code knows; a backup from an older version of the registry is
    migrated up after restoring, one from a newer version is refused. Everything written since
    the backup was taken is lost, so the command asks first (--yes skips the question), except
    deletions: every deletion in the erasure journal (registry.erasures) is made again afterwards.

    Safe while the app runs (the live database is overwritten through SQLite's own locks), but
    stop the app servers if you can: a submission sent during the restore may fail. Afterwards,
    `registry aggregates check` confirms the report counts. Restore instance/export_key from the
    same time, so that research pseudonyms stay the same.

    A PostgreSQL registry is restored with pg_restore: the command prints the exact command and
    exits with status 2.
    """
    from flask_migrate import upgrade
    from tqdm import tqdm

    from registry import MIGRATIONS, backup, report_upkeep
    from registry.extensions import db

    database = _sqlite_or_exit(db.engine.url, file.name)
    try:
        revision, older = backup.check_restorable(file, MIGRATIONS)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    if file.resolve() == database:
        raise click.ClickException("FILE is the database itself: nothing to restore")
    if not yes:
        click.confirm(
            f"Replace the database {database} with the backup {file}? "
            "Everything written since the backup will be lost.",
            abort=True,
        )
    versions_before = backup.max_report_version(database)
    db.session.remove()
    db.engine.dispose()  # no pooled connection of ours holds the old database open
    with tqdm(unit="page", unit_scale=True, desc="Restoring", disable=None) as bar:
        try:
            backup.restore(file, database, progress=_page_bar(bar))
        except backup.BackupError as error:
            raise click.ClickException(str(error)) from None
    db.engine.dispose()
    if older:
        click.echo(f"The backup is at migration {revision}; migrating it up to this code's.")
        upgrade(directory=str(MIGRATIONS))
    report_upkeep.rebuild_if_missing(db.session)
    backup.invalidate_report_caches(db.session, versions_before)
    db.session.commit()
    click.echo(f"Restored {database} from {file}.")
    from registry import erasures  # deletions made after the backup: made again

    click.echo(erasures.summary(erasures.replay()))
    click.echo("Run `registry aggregates check` to confirm the report counts.")


def _private_files() -> None:
    """Files and folders this command writes are its owner's alone (health data, even de-identified)."""
    import os

    os.umask(0o077)


@click.command("serve", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve_command(gunicorn_args):
    """Serve the registry with gunicorn and the packaged configuration (registry/gunicorn_conf.py).

    Settings come from the environment (REGISTRY_BIND, REGISTRY_WORKERS, REGISTRY_THREADS,
    REGISTRY_PROXY_IPS, and the app's own); any further arguments go to gunicorn as they are,
    e.g. `registry serve --workers 2`. Needs the server extra: pip install "treatment-registry[server]".
    """
    import importlib.util
    import os

    if importlib.util.find_spec("gunicorn") is None:
        raise click.ClickException('gunicorn is not installed: pip install "treatment-registry[server]"')
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:registry.gunicorn_conf", *gunicorn_args]
    os.execv(sys.executable, argv)


def register_commands(app: Flask) -> None:
    """Attach the registry's commands to app.cli."""
    app.cli.add_command(init_command)
    app.cli.add_command(users_group)
    app.cli.add_command(demo_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(release_command)
    app.cli.add_command(export_command)
    app.cli.add_command(aggregates_group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    from registry import cli_interchange

    cli_interchange.register(app)
    from registry import reminders  # follow-ups: `registry remind-updates`

    reminders.register(app)
    from registry import mail  # `registry mail send|status|retry`, and each worker's background drain

    mail.register(app)
    from registry import erasures  # `registry erasures replay`

    erasures.register(app)


cli.add_command(serve_command)  # on the group itself: serving needs no app in this process


if __name__ == "__main__":
    cli()
