"""The erasure journal (registry.platform.erasures): deletions made after a backup stay made after a restore."""

import json

import pytest
import sqlalchemy as sa

from registry.models import AuditEvent, Experience, User
from registry.platform.extensions import db


@pytest.fixture
def journal(app, tmp_path):
    path = tmp_path / "journal" / "erasures.jsonl"
    app.config["ERASURE_JOURNAL"] = str(path)
    return path


def sqlite_only(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("registry restore is SQLite's; PostgreSQL replays after pg_restore")


def people(make):
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])
    for i in range(6):
        make.experience(treatment="sumatriptan", side_effects=["nausea"], tips=f"tip {i}", birth_year=1970 + i)


def test_a_deletion_after_the_backup_stays_made_after_the_restore(app, runner, make, journal, tmp_path):
    from registry.contributions import rights
    from registry.reporting import report_upkeep

    sqlite_only(app)
    people(make)
    file = tmp_path / "backup.sqlite"
    assert runner.invoke(args=["backup", "--out", str(file)]).exit_code == 0
    with app.app_context():
        gone = db.session.scalar(sa.select(User).order_by(User.id))
        gone_id, gone_email = gone.id, gone.email
        rights.delete_account(gone)
        other = db.session.scalar(sa.select(Experience).order_by(Experience.id.desc()))
        other_id = other.id
        from registry.contributions import experiences

        experiences.delete(other)
        db.session.commit()
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(e["kind"], e["id"]) for e in lines][-2:] == [("account", gone_id), ("experience", other_id)]
    assert gone_email not in journal.read_text() and oct(journal.stat().st_mode)[-3:] == "600"

    result = runner.invoke(args=["restore", "--yes", str(file)])
    assert result.exit_code == 0, result.output
    assert "Made again 3 deletion(s)" in result.output  # the account, its experience, the other experience
    with app.app_context():
        assert db.session.get(User, gone_id) is None
        assert db.session.scalar(sa.select(sa.func.count()).where(User.email == gone_email)) == 0
        assert db.session.get(Experience, other_id) is None
        assert db.session.scalar(sa.select(sa.func.count(Experience.id))) == 4
        assert report_upkeep.check(db.session) == []  # the counts lost them too
        assert db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "account.delete")
        )  # the trail has the deletion again
    # Replaying again changes nothing, and the journal does not grow from a replay.
    size = journal.stat().st_size
    again = runner.invoke(args=["erasures", "replay"])
    assert again.exit_code == 0 and "No deletion" in again.output and journal.stat().st_size == size


def test_a_rolled_back_deletion_is_not_journaled(app, make, journal):
    from registry.contributions import rights

    people(make)
    with app.app_context():
        rights.delete_account(db.session.scalar(sa.select(User).order_by(User.id)))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 6
    assert not journal.exists()


def test_an_id_held_by_a_newer_row_is_left_alone(app, runner, make, journal):
    people(make)
    with app.app_context():
        user = db.session.scalar(sa.select(User).order_by(User.id))
        journal.parent.mkdir(parents=True)
        entry = {
            "at": "2026-01-02T00:00:00+00:00",
            "kind": "account",
            "id": user.id,
            "created": "2020-01-01T00:00:00+00:00",
        }
        journal.write_text(json.dumps(entry) + "\nnot json\n")
    result = runner.invoke(args=["erasures", "replay"])
    assert result.exit_code == 0 and "No deletion" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 6


def test_postgresql_restores_are_told_to_replay():
    from registry.platform import backup

    assert "registry erasures replay" in backup.postgres_instructions("postgresql+psycopg://u:p@h/db")
