"""The erasure journal: deletions that a restored backup must not bring back.

A backup holds everyone who was there when it was taken. Every deletion of an account, an experience
or a doctor rating is therefore also appended to a journal outside the database, the file
REGISTRY_ERASURE_JOURNAL (by default erasures.jsonl in the instance folder; on several app servers, a
path they share), once its transaction commits. `registry restore` replays the journal after
restoring, and `registry erasures replay` does so after a pg_restore: every deletion made after the
backup is made again (deletions from before it find nothing left to delete).

A line names the row by its id and creation time (the time guards against an id used again by a
newer row), never by a name, an address or an answer: the journal itself holds no health data.
"""

from __future__ import annotations

import json
import os
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

KINDS = ("account", "experience", "rating")
# Set while registry.contributions.rights.replay_erasures deletes again: those deletions are journaled already.
replaying: ContextVar[bool] = ContextVar("erasures_replaying", default=False)


def journal_path(app=None) -> Path | None:
    """Where this registry's erasure journal is (None under tests that set no journal of their own)."""
    app = app or current_app
    configured = app.config.get("ERASURE_JOURNAL")
    if configured:
        return Path(configured)
    return None if app.testing else Path(app.instance_path) / "erasures.jsonl"


def stamp(value: datetime | None) -> str | None:
    """A creation time as the journal writes it (UTC, ISO 8601), naive times read as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")


def record(session, kind: str, row_id: int, created_at: datetime | None) -> None:
    """Journal a deletion once session commits (nothing when it rolls back, or while replaying)."""
    path = journal_path()
    if replaying.get() or path is None:
        return
    entry = {
        "at": stamp(datetime.now(timezone.utc)),
        "kind": kind,
        "id": row_id,
        "created": stamp(created_at),
    }
    session.info.setdefault("erasures", []).append((str(path), entry))


def _append(path: str, entries: list[dict]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in entries).encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


@event.listens_for(Session, "after_commit")
def _write_committed(session) -> None:
    pending = session.info.pop("erasures", None)
    if not pending:
        return
    by_path: dict[str, list[dict]] = {}
    for path, entry in pending:
        by_path.setdefault(path, []).append(entry)
    for path, entries in by_path.items():
        try:
            _append(path, entries)
        except OSError:
            # The deletion stands; only its protection against a restore is missing: say so loudly.
            current_app.logger.exception(
                "Could not write %d deletion(s) to the erasure journal %s: a restore would bring them back",
                len(entries),
                path,
            )


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction: nothing of it was committed
        session.info.pop("erasures", None)


def entries(path: Path | None) -> list[dict]:
    """The journal's deletions, oldest first (a damaged line is skipped, and said)."""
    if path is None or not path.exists():
        return []
    found = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if entry["kind"] in KINDS and isinstance(entry["id"], int):
                found.append(entry)
                continue
        except (ValueError, KeyError, TypeError):
            pass
        current_app.logger.warning("Erasure journal %s: line %d is not a deletion; skipped", path, number)
    return found


def summary(done: dict[str, int]) -> str:
    total = sum(done.values())
    if not total:
        return "No deletion made after the backup had to be made again."
    parts = ", ".join(f"{n} {kind}(s)" for kind, n in done.items() if n)
    return f"Made again {total} deletion(s) from the erasure journal that the backup predates: {parts}."
