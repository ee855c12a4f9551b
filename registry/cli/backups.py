"""`registry backup`, `registry restore` and `registry erasures replay`: a SQLite registry's backups, and the
deletions a restored backup must not bring back."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_migrate import upgrade
from tqdm import tqdm

from registry import MIGRATIONS
from registry.cli.common import private_files
from registry.contributions import rights
from registry.platform import backup, erasures
from registry.platform.extensions import db
from registry.reporting import report_upkeep


def _page_bar(bar):
    """A backup progress callback that moves a tqdm bar."""

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return update


def _sqlite_or_exit(url, file_name: str) -> Path:
    """The SQLite database file; for PostgreSQL, print the pg_dump/pg_restore commands and exit 2."""
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

    database = _sqlite_or_exit(db.engine.url, out.name)
    private_files()
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
    deletions: every deletion in the erasure journal (registry.platform.erasures) is made again afterwards.

    Safe while the app runs (the live database is overwritten through SQLite's own locks), but
    stop the app servers if you can: a submission sent during the restore may fail. Afterwards,
    `registry aggregates check` confirms the report counts. Restore instance/export_key from the
    same time, so that research pseudonyms stay the same.

    A PostgreSQL registry is restored with pg_restore: the command prints the exact command and
    exits with status 2.
    """

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
    click.echo(erasures.summary(rights.replay_erasures()))  # deletions made after the backup: made again
    click.echo("Run `registry aggregates check` to confirm the report counts.")


@click.group("erasures")
def erasures_group():
    """The erasure journal: deletions a restored backup must not bring back."""


@erasures_group.command("replay")
@with_appcontext
def replay_command():
    """Delete again everything the erasure journal says was deleted (run it after every pg_restore).

    `registry restore` does this itself. Rows already gone are left alone, so replaying twice
    changes nothing.
    """
    click.echo(f"Erasure journal: {erasures.journal_path()}")
    click.echo(erasures.summary(rights.replay_erasures()))
