"""The health of one app server: its database, the migration it runs on, and the report cache."""

from __future__ import annotations

from functools import lru_cache
from importlib import metadata

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from registry import MIGRATIONS, mail
from registry.extensions import cache, db


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
    try:
        return metadata.version("treatment-registry")
    except metadata.PackageNotFoundError:
        return "unknown"


def cache_state() -> tuple[str, int]:
    """("ok" | "off" | "degraded", failed cache calls in this worker). "off": no shared cache configured."""
    backend = cache.cache
    if not hasattr(backend, "ping"):
        return "off", 0
    # While a recent failure keeps Redis untried, say so without waiting on it again.
    healthy = not backend.is_down and backend.ping()
    return ("ok" if healthy else "degraded"), backend.errors


def check() -> tuple[dict, bool]:
    """The health report and whether this server can serve: the database answers and is migrated.

    A database ahead of this code (a newer release migrated it, as in a rolling upgrade) still
    serves: migrations only add.
    """
    report = {
        "status": "ok",
        "version": version(),
        "database": "ok",
        "migration": None,
        "migration_head": ",".join(sorted(migration_heads())),
    }
    healthy = True
    try:
        revisions = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
        report["migration"] = ",".join(sorted(revisions)) or None
    except SQLAlchemyError:
        db.session.rollback()
        revisions = None
        try:  # reachable but never migrated, or unreachable?
            db.session.execute(text("SELECT 1"))
            report["migration"] = None
        except SQLAlchemyError:
            db.session.rollback()
            report["database"] = "unreachable"
            healthy = False
    finally:
        db.session.remove()
    if healthy:
        if revisions == set(migration_heads()):
            report["migration_state"] = "current"
        elif revisions and not revisions & known_revisions():
            report["migration_state"] = "ahead"
        else:
            report["migration_state"] = "behind"  # run `registry init`
            healthy = False
    report["cache"], report["cache_errors"] = cache_state()
    # Mail waiting, retried or given up (registry.mail's outbox); it never makes a server unhealthy.
    report["mail"] = mail.health() if report["database"] == "ok" else {"state": "unknown"}
    if not healthy:
        report["status"] = "unavailable"
    return report, healthy
