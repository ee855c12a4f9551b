"""Backups and restores (registry.platform.backup, `registry backup`, `registry restore`)."""

import sqlite3

import pytest
import sqlalchemy as sa

from registry import MIGRATIONS
from registry.app import create_app
from registry.models import DoctorRating, Experience, User
from registry.platform.extensions import db


def sqlite_only(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's backup API; PostgreSQL is backed up with pg_dump")


@pytest.fixture
def rows(make, app):
    """Participants, experiences with their long tables, a doctor rating, consent, aggregates."""
    from registry.accounts import auth
    from registry.models import Doctor

    sqlite_only(app)
    make.treatment("Sumatriptan")
    make.treatment("Topiramate")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate"])
    for i in range(8):
        make.experience(
            treatment=("sumatriptan", "topiramate")[i % 2],
            side_effects=["nausea", f"term {i % 3}"],
            stop_reasons=["cost"] if i % 2 else [],
            stopped="2024-06" if i % 2 else None,
            tips=f"tip {i}",
            birth_year=1960 + i,
        )
    with app.app_context():
        first = db.session.scalar(sa.select(User).order_by(User.id))
        auth.set_consent(first, True)
        doctor = Doctor(name="Dr A", name_key="dr a", specialty="Neurology", city="Oslo", city_key="oslo", country="NO")
        db.session.add(doctor)
        db.session.flush()
        db.session.add(
            DoctorRating(
                user_id=first.id,
                doctor_id=doctor.id,
                condition_id=db.session.scalar(sa.select(Experience.condition_id)),
                last_visit="2025-01",
                overall=9,
                explained_clearly="always",
                listened_carefully="always",
                showed_respect="usually",
                spent_enough_time="sometimes",
                knowledge=4,
                would_recommend="definitely_yes",
            )
        )
        db.session.commit()


def snapshot(app) -> dict[str, list]:
    """Every row of every table (the report data versions aside: a restore moves them on purpose)."""
    with app.app_context():
        return {
            table.name: sorted(map(repr, db.session.execute(sa.select(table)).all()))
            for table in db.metadata.sorted_tables
            if table.name != "report_version"
        }


def versions(app) -> dict[int, int]:
    from registry.models import report_version

    with app.app_context():
        return dict(db.session.execute(sa.select(report_version.c.condition_id, report_version.c.version)).all())


def test_restore_brings_back_every_row(app, runner, rows, tmp_path):
    from registry.contributions import experiences, rights
    from registry.reporting import report_upkeep

    before, versions_before = snapshot(app), versions(app)
    assert len(before["experience"]) == 8 and len(before["report_cell"]) > 0 and len(before["consent_event"]) == 1
    file = tmp_path / "backups" / "registry.sqlite"
    result = runner.invoke(args=["backup", "--out", str(file)])
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output and "export_key" in result.output
    with sqlite3.connect(file) as check:  # one self-contained file, not WAL
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    check.close()
    assert runner.invoke(args=["backup", "--out", str(file)]).exit_code == 1  # no silent overwrite
    assert runner.invoke(args=["backup", "--out", str(file), "--force"]).exit_code == 0

    with app.app_context():  # what happens after a backup: deletions, edits, new rows
        experiences.delete(db.session.scalar(sa.select(Experience).order_by(Experience.id.desc())))
        rights.delete_account(db.session.scalar(sa.select(User).order_by(User.id)))
        with report_upkeep.bulk_write():  # tips are not counted
            db.session.execute(sa.update(Experience).values(tips="changed"))
        db.session.commit()
    runner.invoke(args=["users", "create", "new@example.org", "--password-stdin"], input="a new password\n")
    assert snapshot(app) != before

    result = runner.invoke(args=["restore", str(file)], input="n\n")
    assert result.exit_code == 1 and "Everything written since the backup will be lost" in result.output
    assert snapshot(app) != before  # declined: nothing replaced

    result = runner.invoke(args=["restore", str(file)], input="y\n")
    assert result.exit_code == 0, result.output
    assert snapshot(app) == before
    with app.app_context():
        assert report_upkeep.check(db.session) == []
        assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email == "new@example.org")) == 0
    # Data versions move past every version the replaced data had, so no stale report is served.
    assert all(versions(app)[c] > max(versions_before.values()) + 1 for c in versions_before)


def test_backup_during_writes_is_consistent(app, rows, tmp_path):
    from registry.platform import backup

    database = backup.sqlite_path(app.config["SQLALCHEMY_DATABASE_URI"])
    writer = sqlite3.connect(database, isolation_level=None)
    seen = []

    def write_meanwhile(done, total):
        seen.append((done, total))
        writer.execute("UPDATE experience SET tips = 'written during the backup'")

    backup.PAGES_PER_STEP, saved = 1, backup.PAGES_PER_STEP
    try:
        backup.backup(database, tmp_path / "b.sqlite", progress=write_meanwhile)
    finally:
        backup.PAGES_PER_STEP = saved
        writer.close()
    assert len(seen) > 1 and seen[-1][0] == seen[-1][1]  # progress by step, up to every page
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)  # the writes never restarted it
    with sqlite3.connect(tmp_path / "b.sqlite") as copy:
        tips = {tip for (tip,) in copy.execute("SELECT tips FROM experience")}
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    copy.close()
    assert "written during the backup" not in tips  # the snapshot of the moment the backup began


def test_restore_refuses_what_is_not_a_restorable_backup(app, runner, rows, tmp_path):
    before = snapshot(app)
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    future = tmp_path / "future.sqlite"
    assert runner.invoke(args=["backup", "--out", str(future)]).exit_code == 0
    connection = sqlite3.connect(future)
    with connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    connection.close()
    for file, message in (
        (text, "is not a SQLite database"),
        (other, "is not a registry database"),
        (future, "unknown to this code"),
        (tmp_path / "missing.sqlite", "there is no file"),
    ):
        result = runner.invoke(args=["restore", "--yes", str(file)])
        assert result.exit_code == 1 and message in result.output, result.output
    assert snapshot(app) == before


def test_an_older_backup_is_migrated_up(tmp_path):
    from flask_migrate import upgrade

    from registry.platform import backup

    def make_app(name):
        return create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "k",
                "EXPORT_KEY": "k",
                "WTF_CSRF_ENABLED": False,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / name}",
            }
        )

    old, new = make_app("old.sqlite"), make_app("new.sqlite")
    try:
        with old.app_context():
            upgrade(directory=str(MIGRATIONS), revision="0005")  # before data versions, moderation and audit
            with db.engine.begin() as connection:
                connection.execute(
                    sa.text(
                        "INSERT INTO user (email, pseudonym, pseudonym_key, password_hash, account_role, session_token, "
                        "created_at) VALUES ('old@example.org', 'old', 'old', '!', 'patient', 't', '2025-01-01')"
                    )
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO condition (slug, name, name_key, created_at) "
                        "VALUES ('migraine', 'Migraine', 'migraine', '2025-01-01')"
                    )
                )
            db.engine.dispose()
        backup.backup(tmp_path / "old.sqlite", tmp_path / "old-backup.sqlite")
        with new.app_context():
            upgrade(directory=str(MIGRATIONS))
            db.engine.dispose()
        result = new.test_cli_runner().invoke(args=["restore", "--yes", str(tmp_path / "old-backup.sqlite")])
        assert result.exit_code == 0, result.output
        assert "The backup is at migration 0005; migrating it up" in result.output
        with new.app_context():
            head = backup.known_revisions(MIGRATIONS)[-1]
            assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == head
            assert db.session.scalar(sa.select(User.email)) == "old@example.org"
            assert db.session.scalar(sa.text("SELECT version FROM report_version")) == 1
    finally:
        for app in (old, new):
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def test_postgresql_is_pointed_to_pg_dump(app, runner):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from registry.platform import backup

        text = backup.postgres_instructions("postgresql+psycopg://registry:s3cret@db.internal:5432/registry", "r.dump")
    else:
        result = runner.invoke(args=["backup", "--out", "registry.dump"])
        assert result.exit_code == 2
        assert runner.invoke(args=["restore", "--yes", "registry.dump"]).exit_code == 2
        text = result.output
    assert "pg_dump --format=custom --file=" in text and "pg_restore --clean --if-exists" in text
    assert "(umask 077; pg_dump" in text  # the dump is written private
    assert "postgresql://" in text and "+psycopg" not in text and "s3cret" not in text
