"""Backups of a SQLite registry with SQLite's online backup API, and their restoring.

The backup API copies the database page by page while the app keeps running: the copy is one
consistent snapshot, and no file copy can see a half-written page. PostgreSQL has its own tools
(pg_dump, pg_restore); `postgres_instructions` prints the commands.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

PAGES_PER_STEP = 1024  # 4 MB at the default page size: progress moves, each step stays short

Progress = Callable[[int, int], None]  # (pages copied, pages in all)


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def sqlite_path(url: str | URL) -> Path | None:
    """The database file of a SQLite URL; None for another database."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database).resolve()


def postgres_instructions(url: str | URL, file: str = "registry.dump") -> str:
    """What to run instead for a PostgreSQL registry (the URL without its password)."""
    url = make_url(url)
    # libpq's URL: no SQLAlchemy driver suffix, and no password on a command line or in a shell history.
    libpq = URL.create("postgresql", url.username, None, url.host, url.port, url.database, url.query)
    libpq = libpq.render_as_string(hide_password=False)
    return (
        "This registry uses PostgreSQL: back it up and restore it with PostgreSQL's own tools,\n"
        "which take a consistent snapshot while the app runs (set PGPASSWORD or use ~/.pgpass):\n"
        f"  (umask 077; pg_dump --format=custom --file={file} '{libpq}')    # a private file: health data\n"
        f"  pg_restore --clean --if-exists --no-owner --dbname='{libpq}' {file}\n"
        "Then run `registry init` (migrations up, if the dump is older), `registry erasures replay` (deletions\n"
        "made after the dump are made again) and `registry aggregates check`."
    )


def _copy(source: sqlite3.Connection, target: sqlite3.Connection, progress: Progress | None) -> int:
    """Copy source into target page by page inside one read snapshot of the source; return the pages."""
    pages = {"total": 0}

    def step(status, remaining, total):
        pages["total"] = total
        if progress is not None:
            progress(total - remaining, total)

    # A read transaction held across every step pins one snapshot (WAL: writers go on meanwhile),
    # so a write during a long backup neither restarts it nor makes it inconsistent.
    source.execute("BEGIN")
    source.execute("SELECT count(*) FROM sqlite_master").fetchone()
    try:
        source.backup(target, pages=PAGES_PER_STEP, progress=step)
    finally:
        source.execute("COMMIT")
    return pages["total"]


def backup(database: Path, out: Path, progress: Progress | None = None) -> int:
    """Write a consistent copy of the SQLite database to out (atomically); return its size in pages."""
    if not database.exists():
        raise BackupError(f"there is no database at {database}")
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, isolation_level=None)
    target = sqlite3.connect(partial, isolation_level=None)
    try:
        pages = _copy(source, target, progress)
        # One self-contained file: not WAL, which would need its -wal and -shm files beside it.
        target.execute("PRAGMA journal_mode=DELETE")
    except BaseException:
        target.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    target.close()
    os.replace(partial, out)  # a reader of out never sees half a backup
    return pages


def revision_of(path: Path) -> str:
    """The migration revision of a registry backup; BackupError when it is not one."""
    if not path.is_file():
        raise BackupError(f"there is no file at {path}")
    with path.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise BackupError(f"{path} is not a SQLite database")
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(f"{path} is damaged (PRAGMA quick_check fails)")
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"alembic_version", "user", "experience"} <= tables:
            raise BackupError(f"{path} is not a registry database (no alembic_version, user or experience table)")
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} cannot be read as a SQLite database: {error}") from None
    finally:
        connection.close()
    if row is None:
        raise BackupError(f"{path} has no migration revision in alembic_version")
    return row[0]


def known_revisions(migrations: Path) -> list[str]:
    """The code's migration revisions, oldest first."""
    # Imported here because only a restore reads the migration scripts: 170 ms and 10 MB a worker.
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrations))
    script = ScriptDirectory.from_config(config)
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def check_restorable(path: Path, migrations: Path) -> tuple[str, bool]:
    """(the backup's revision, whether it is older than the code's); BackupError if it cannot be restored."""
    revision = revision_of(path)
    revisions = known_revisions(migrations)
    if revision not in revisions:
        raise BackupError(
            f"{path} was written by another version of the registry (migration {revision}, unknown to this code, "
            f"whose newest is {revisions[-1]}): restore it with the version that wrote it, or upgrade the code first"
        )
    return revision, revision != revisions[-1]


def restore(path: Path, database: Path, progress: Progress | None = None) -> int:
    """Replace the SQLite database's content with the backup's; return the pages copied.

    The backup API writes through the live database's own locks and journal, so connections that
    the app holds see the restored data at their next transaction, and no stale -wal file survives.
    """
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    target = sqlite3.connect(database, isolation_level=None, timeout=30)
    try:
        return _copy(source, target, progress)
    except sqlite3.OperationalError as error:
        raise BackupError(f"could not write {database}: {error}") from None
    finally:
        source.close()
        target.close()


def max_report_version(database: Path) -> int:
    """The highest data version of any condition in a SQLite registry (0 if none yet)."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return connection.execute("SELECT coalesce(max(version), 0) FROM report_version").fetchone()[0]
    except sqlite3.OperationalError:  # a registry from before the data versions
        return 0
    finally:
        connection.close()


def invalidate_report_caches(session, versions_before: int) -> None:
    """Move every condition's data version past any version the replaced data had (the caller commits).

    Report caches are keyed by data version; a restore brings back older versions, which cached
    entries of the replaced data may already carry (in Redis, shared by every server).
    """

    jump = versions_before + 1
    session.execute(text("UPDATE report_version SET version = version + :jump"), {"jump": jump})
    session.execute(
        text(
            "INSERT INTO report_version (condition_id, version) SELECT id, :jump FROM condition "
            "WHERE id NOT IN (SELECT condition_id FROM report_version)"
        ),
        {"jump": jump},
    )
