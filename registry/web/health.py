"""The health of one app server: its database, the migration it runs on, and the report cache."""

from __future__ import annotations

from functools import lru_cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from registry import MIGRATIONS, __version__
from registry.accounts import mail
from registry.platform.extensions import cache, db


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def migration_heads() -> frozenset[str]:
    """The revisions this code's migrations end at."""
    return frozenset(_scripts().get_heads())


def known_revisions() -> frozenset[str]:
    """Every revision this code knows (a database at none of them was migrated by a newer release)."""
    return frozenset(script.revision for script in _scripts().walk_revisions())


def version() -> str:
    """This release's version (registry/__init__.py, the top entry of CHANGELOG.md)."""

    return __version__


def cache_state() -> tuple[str, int]:
    """("ok" | "off" | "degraded", failed cache calls in this worker). "off": no shared cache configured."""
    backend = cache.cache
    if not hasattr(backend, "ping"):
        return "off", 0
    # While a recent failure keeps Redis untried, say so without waiting on it again.
    healthy = not backend.is_down and backend.ping()
    return ("ok" if healthy else "degraded"), backend.errors


def _read_revisions() -> tuple[str, set[str] | None]:
    """("ok", the database's revisions), ("ok", None) when it was never migrated, ("unreachable", None), or
    ("ok", {UNKNOWN}) when it answers but its revisions cannot be read: see migration_state()."""
    for _attempt in (1, 2):  # a connection the database dropped fails once; the pool then replaces it
        try:
            return "ok", set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
        except SQLAlchemyError:
            db.session.rollback()
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return "unreachable", None
    try:
        migrated = inspect(db.session.connection()).has_table("alembic_version")
    except SQLAlchemyError:
        db.session.rollback()
        return "ok", {UNKNOWN}
    return "ok", (None if not migrated else {UNKNOWN})


UNKNOWN = "?"  # the revisions could not be read, though the database answers


def migration_state(revisions: set[str] | None) -> str:
    """ "current", "ahead" (a newer release migrated it), "behind" (run `registry init`), or "unknown":
    a read that failed is no fact about the schema (issue 26: right after an outage, a failed read said
    "behind")."""
    if revisions is not None and UNKNOWN in revisions:
        return "unknown"
    if revisions == set(migration_heads()):
        return "current"
    if revisions and not revisions & known_revisions():
        return "ahead"
    return "behind"


def check() -> tuple[dict, bool]:
    """The health report and whether this server can serve: the database answers and is migrated.

    A database ahead of this code (a newer release migrated it, as in a rolling upgrade) still
    serves: migrations only add. A state that cannot be read ("unknown", the database unreachable or
    answering but not its revisions) does not serve until a later check reads it.
    """
    report = {
        "status": "ok",
        "version": version(),
        "database": "ok",
        "migration": None,
        "migration_head": ",".join(sorted(migration_heads())),
        "migration_state": "unknown",
    }
    try:
        report["database"], revisions = _read_revisions()
    finally:
        try:
            db.session.remove()
        except SQLAlchemyError:
            db.session.registry.clear()
    if report["database"] == "ok":
        report["migration_state"] = migration_state(revisions)
        if report["migration_state"] != "unknown":
            report["migration"] = ",".join(sorted(revisions or ())) or None
    healthy = report["database"] == "ok" and report["migration_state"] in ("current", "ahead")
    report["cache"], report["cache_errors"] = cache_state()
    # Mail waiting, retried or given up (registry.accounts.mail's outbox); it never makes a server unhealthy.
    report["mail"] = mail.health() if report["database"] == "ok" else {"state": "unknown"}
    if not healthy:
        report["status"] = "unavailable"
    return report, healthy
