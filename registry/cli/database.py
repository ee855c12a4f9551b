"""`registry init`, `registry release` and `registry aggregates rebuild|check`: the database, its migrations,
its report tables and the releases of published numbers."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError

from registry import MIGRATIONS
from registry.catalog import vocab
from registry.catalog.catalog import load_starter_catalog
from registry.cli.common import VERBOSE
from registry.platform.extensions import db
from registry.reporting import release, report_upkeep


def init_database(verbose: bool = False) -> dict[str, int]:
    """Create or upgrade the schema through migrations and load the starter catalog.

    Alembic logs each migration it runs only with verbose (registry/migrations/env.py reads
    MIGRATION_LOG_LEVEL): a first run is not sixteen lines of "Running upgrade".
    """

    current_app.config["MIGRATION_LOG_LEVEL"] = "INFO" if verbose else "WARNING"
    before = _revisions()
    upgrade(directory=str(MIGRATIONS))
    after = _revisions()
    if before and before != after:
        # Servers of the previous release keep writing, with their own upkeep, until the rollout ends:
        # releases check the report tables for a while (registry/reporting/report_upkeep.py, docs/deploy.md).
        report_upkeep.open_check(db.session, f"migrated {','.join(sorted(before))} -> {','.join(sorted(after))}")
        db.session.commit()
    added = load_starter_catalog()
    if report_upkeep.rebuild_if_missing(db.session):  # a registry upgraded from before the aggregates
        db.session.commit()
    publish()  # a registry upgraded from before releases shows its numbers at once
    return added


def publish():
    """Run a release and commit it (registry/reporting/release.py); returns its summary."""
    # Within a window after an upgrade, the report tables are checked (and rebuilt if they differ) first.
    checked = report_upkeep.verify(db.session)
    db.session.commit()
    summary = release.run(db.session)
    db.session.commit()
    summary.upkeep = checked
    return summary


def _revisions() -> set[str]:
    """The database's migration revisions (none before its first migration)."""

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


@click.command("init")
@VERBOSE
@with_appcontext
def init_command(verbose: bool):
    """Create or upgrade the database and load the starter catalog (safe to run again)."""
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
    # Built once per release of the vocabularies (about 20 s), shared read-only by every server process.
    click.echo(f"Search vocabularies ready at {vocab.ensure_built()}.")


def _safe_db_url() -> str:
    return db.engine.url.render_as_string(hide_password=True)


@click.group("aggregates")
def aggregates_group():
    """Rebuild or check the report aggregates kept current by every write."""


@aggregates_group.command("rebuild")
@with_appcontext
def aggregates_rebuild():
    """Recompute every report aggregate from the raw experiences."""
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
