"""The registry command (registry.__main__) and its command groups (registry.cli)."""

import click
import pytest
from sqlalchemy import func, select

from registry.__main__ import cli
from registry.cli import demo as demo_cli
from registry.cli.demo import DEMO_ACCOUNTS
from registry.models import Condition, Treatment, User
from registry.platform.extensions import db


def counts(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count(Condition.id))),
            db.session.scalar(select(func.count(Treatment.id))),
        )


def test_init_twice_changes_nothing_the_second_time(runner, app):
    first = runner.invoke(args=["init"])
    assert first.exit_code == 0, first.output
    conditions, treatments = counts(app)
    assert conditions >= 40 and treatments >= 300
    second = runner.invoke(args=["init"])
    assert second.exit_code == 0 and "already up to date, nothing added" in second.output
    assert counts(app) == (conditions, treatments)


def test_users_create_reads_password_from_stdin(runner, app):
    result = runner.invoke(
        args=["users", "create", "Res@Example.org", "--role", "researcher", "--password-stdin"],
        input="a long password\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert (user.email, user.account_role) == ("res@example.org", "researcher")
        assert user.check_password("a long password") and "@" not in user.pseudonym


def test_users_create_prompts_for_password(runner, app):
    result = runner.invoke(args=["users", "create", "p@example.org"], input="a long password\na long password\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(User.account_role)) == "patient"


@pytest.mark.parametrize(
    "args, password, message",
    [
        (["--role", "king"], "a long password", "Invalid value for '--role'"),
        ([], "short", "at least 10 characters"),
    ],
)
def test_users_create_rejects_bad_input(runner, app, args, password, message):
    result = runner.invoke(args=["users", "create", "x@example.org", *args, "--password-stdin"], input=password + "\n")
    assert result.exit_code != 0 and message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0


def test_users_create_rejects_a_duplicate_email(runner, make, app):
    make.user(email="x@example.org")
    result = runner.invoke(args=["users", "create", "X@example.org", "--password-stdin"], input="a long password\n")
    assert result.exit_code == 1 and "already exists" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_users_set_role(runner, make, app):
    make.user(email="m@example.org")
    assert runner.invoke(args=["users", "set-role", "m@example.org", "moderator"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(User.account_role)) == "moderator"
    unknown = runner.invoke(args=["users", "set-role", "nobody@example.org", "admin"])
    assert unknown.exit_code == 1 and "no account" in unknown.output
    bad_role = runner.invoke(args=["users", "set-role", "m@example.org", "king"])
    assert bad_role.exit_code == 2


def test_demo_prepares_the_registry_and_serves_it(runner, app, monkeypatch):
    served = {}
    monkeypatch.setattr(demo_cli, "run_simple", lambda host, port, app, **kw: served.update(host=host, port=port))
    app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True  # as in production
    result = runner.invoke(args=["demo", "--port", "5051"])
    assert result.exit_code == 0, result.output
    assert not app.config["SESSION_COOKIE_SECURE"] and not app.config["REMEMBER_COOKIE_SECURE"]  # plain http
    assert served["host"] == "127.0.0.1" and served["port"] == 5051
    assert "http://127.0.0.1:5051/" in result.output
    # A quiet first run: no migration log, the seeding's progress as lines (the output is not a terminal).
    assert "[alembic" not in result.output and "INFO" not in result.output
    assert "Seeding: 100% (20,000 of 20,000 experiences)" in result.output
    for email, _, password, _ in DEMO_ACCOUNTS:
        assert email in result.output and password in result.output
    assert counts(app)[0] >= 40
    assert app.config["DEMO"]
    client = app.test_client()
    assert "the community and its reports are synthetic" in client.get("/").text
    login = client.post("/login", data={"email": DEMO_ACCOUNTS[0][0], "password": DEMO_ACCOUNTS[0][2]})
    assert login.status_code == 302
    # The demo moderator finds flagged and held tips waiting.
    client.post("/logout")
    assert (
        client.post("/login", data={"email": DEMO_ACCOUNTS[2][0], "password": DEMO_ACCOUNTS[2][2]}).status_code == 302
    )
    queue = client.get("/moderation").text
    assert "Flagged as <strong>misinformation</strong>" in queue and "example-miracle-cure.biz" in queue


def test_init_logs_the_migrations_only_when_asked(runner, app):
    quiet = runner.invoke(args=["init"])
    assert quiet.exit_code == 0 and "Database ready" in quiet.output
    assert "[alembic" not in quiet.output and "INFO" not in quiet.output
    verbose = runner.invoke(args=["init", "--verbose"])
    assert verbose.exit_code == 0 and "INFO  [alembic.runtime.migration]" in verbose.output


def test_seed_demo_shows_its_progress_off_a_terminal(runner, make):
    make.treatment("Sumatriptan")
    make.treatment("Topiramate")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate"])
    result = runner.invoke(args=["seed-demo", "--experiences", "3000", "--batch-size", "1000", "--until", "2026-09"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Seeding: ")]
    percents = [int(line.split()[1].rstrip("%")) for line in lines]
    assert len(lines) >= 3 and percents == sorted(set(percents))  # a line per batch, each further on
    assert lines[-1] == "Seeding: 100% (3,000 of 3,000 experiences)"
    assert "\r" not in result.output  # lines, not a bar redrawn in place


def test_seeding_progress_prints_one_line_per_tenth_reached():
    from click.testing import CliRunner

    @click.command()
    def steps():
        with demo_cli.SeedingProgress(20_000) as progress:
            for n in (500, 1_500, 9_000, 9_000):
                progress(n)

    output = CliRunner().invoke(steps).output.splitlines()
    assert output == [
        "Seeding: 10% (2,000 of 20,000 experiences)",
        "Seeding: 50% (11,000 of 20,000 experiences)",
        "Seeding: 100% (20,000 of 20,000 experiences)",
    ]


def test_demo_help_names_the_port_and_the_last_day(runner):
    text = runner.invoke(args=["demo", "--help"]).output
    assert "--port" in text and "--until" in text and "--verbose" in text


def test_registry_command_lists_its_commands(monkeypatch, tmp_path):
    from click.testing import CliRunner

    monkeypatch.setenv("REGISTRY_DATABASE_URL", f"sqlite:///{tmp_path}/cli.sqlite")
    monkeypatch.setenv("REGISTRY_SECRET_KEY", "cli-test")
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ["init", "users", "demo", "run", "routes", "shell", "db"]:
        assert f"  {command} " in result.output


def test_init_on_a_missing_database_says_what_to_do(app):
    from registry.app import create_app

    keys = ("TESTING", "SECRET_KEY", "EXPORT_KEY", "DISCLOSURE_KEY")
    missing = create_app(
        {
            **{k: app.config[k] for k in keys},
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://registry@127.0.0.1:1/registry",
        }
    )
    result = missing.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Cannot reach the database at postgresql+psycopg://registry@127.0.0.1:1/registry" in result.output
    assert "create the role and the database first" in result.output


@pytest.fixture
def restore_umask():
    import os

    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


def test_export_files_are_private(runner, tmp_path, restore_umask, make):
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])
    make.experience()
    out = tmp_path / "export"
    result = runner.invoke(args=["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = list(out.iterdir())
    assert files and (out.stat().st_mode & 0o777) == 0o700
    assert {oct(f.stat().st_mode & 0o777) for f in files} == {"0o600"}


def test_serve_without_gunicorn_says_how_to_install_it(monkeypatch):
    import importlib.util

    from click.testing import CliRunner

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gunicorn" else real(name, *a))
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1 and 'pip install "treatment-registry[server]"' in result.output


def test_users_list_shows_accounts_and_is_audited(runner, make, app):
    from registry.models import AuditEvent

    make.user(email="a@example.org")
    make.user(email="m@example.org", role="moderator")
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0, result.output
    assert "a@example.org" in result.output and "m@example.org" in result.output and "2 accounts." in result.output
    only = runner.invoke(args=["users", "list", "--role", "moderator"])
    assert "a@example.org" not in only.output and "1 account." in only.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "user.list")) == 2


def test_users_set_password_ends_every_session_and_is_audited(runner, make, app):
    from registry.models import AuditEvent

    make.user(email="a@example.org")
    browser = app.test_client()
    assert (
        browser.post("/login", data={"email": "a@example.org", "password": "correct horse battery"}).status_code == 302
    )
    short = runner.invoke(args=["users", "set-password", "a@example.org", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 10" in short.output
    result = runner.invoke(
        args=["users", "set-password", "A@example.org", "--password-stdin"], input="a new long password\n"
    )
    assert result.exit_code == 0, result.output
    assert browser.get("/account").status_code == 302
    assert (
        app.test_client().post("/login", data={"email": "a@example.org", "password": "a new long password"}).status_code
        == 302
    )
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password"))
        assert event.actor_label.startswith("cli:") and event.changes == {"by_operator": True}


def test_users_disable_keeps_the_data_and_enable_undoes_it(runner, make, app):
    from registry.models import AuditEvent, Experience

    make.condition("Migraine", "G43")
    make.treatment("Sumatriptan")
    user_id = make.user(email="a@example.org")
    make.experience(user_id=user_id)
    assert runner.invoke(args=["users", "disable", "a@example.org"]).exit_code == 0
    assert "disabled already" in runner.invoke(args=["users", "disable", "a@example.org"]).output
    assert "disabled" in runner.invoke(args=["users", "list", "--disabled"]).output
    with app.app_context():
        assert db.session.scalar(select(func.count(Experience.id))) == 1
    assert runner.invoke(args=["users", "enable", "a@example.org"]).exit_code == 0
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("user.%able"))).all()
        assert actions == ["user.disable", "user.enable"]


def test_users_delete_goes_through_the_data_rights_path(runner, make, app):
    from registry.models import AuditEvent, Experience
    from registry.reporting import report_upkeep

    make.condition("Migraine", "G43")
    make.treatment("Sumatriptan")
    user_id = make.user(email="a@example.org")
    make.experience(user_id=user_id)
    make.experience()  # someone else's stays
    kept = runner.invoke(args=["users", "delete", "a@example.org"], input="n\n")
    assert kept.exit_code == 1 and "1 experiences" in kept.output
    result = runner.invoke(args=["users", "delete", "a@example.org", "--yes"])
    assert result.exit_code == 0 and "Deleted a@example.org with 1 experiences" in result.output
    with app.app_context():
        assert db.session.get(User, user_id) is None
        assert db.session.scalar(select(func.count(Experience.id))) == 1
        assert report_upkeep.check(db.session) == []  # the report counts lost the answers in the same transaction
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.delete"))
        assert event.actor_label.startswith("cli:") and event.changes["by_operator"] is True
    assert runner.invoke(args=["users", "delete", "a@example.org", "--yes"]).exit_code == 1  # no account now


def test_users_created_by_the_operator_come_confirmed(runner, app):
    runner.invoke(args=["users", "create", "c@example.org", "--password-stdin"], input="a long password\n")
    with app.app_context():
        assert db.session.scalar(select(User)).email_confirmed_at is not None
