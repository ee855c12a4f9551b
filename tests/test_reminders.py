"""The opt-in follow-up reminder mail (registry.contributions.reminders): setting, `registry remind-updates`, unsubscribe."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from registry.contributions import followups
from registry.models import Experience, FollowupReminder, User
from registry.platform.extensions import db
from registry.reporting import report_upkeep

LINK = re.compile(r"https://registry\.example(/\S+)")
NOW = datetime.now(timezone.utc)


@pytest.fixture
def pair(make):
    make.treatment("Sumatriptan")
    make.treatment("Topiramate")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate"])


def backdate(app, experience_id: int, days: int) -> None:
    with app.app_context():
        with report_upkeep.rewriting(db.session, [experience_id]):  # its counts move with it
            db.session.execute(
                update(Experience).where(Experience.id == experience_id).values(updated_at=NOW - timedelta(days=days))
            )
        db.session.commit()


def participant(app, make, email, opted_in=True, confirmed=True, due_days=120, **values):
    """A participant with one experience last updated due_days ago, opted in to reminders or not."""
    user_id = make.user(email=email, email_confirmed_at=NOW if confirmed else None)
    eid = make.experience(user_id=user_id, **values)
    backdate(app, eid, due_days)
    if opted_in:
        with app.app_context():
            followups.set_reminder(db.session.get(User, user_id), True)
            db.session.commit()
    return user_id, eid


def test_the_account_page_opts_in_and_out(client, auth, app):
    user_id = auth.login()
    page = client.get("/account").text
    assert 'id="reminders"' in page and 'action="/account/reminders"' in page
    assert client.post("/account/reminders", data={"reminders": "y"}).status_code == 302
    with app.app_context():
        assert db.session.get(FollowupReminder, user_id).enabled
    client.post("/account/reminders", data={})
    with app.app_context():
        assert not db.session.get(FollowupReminder, user_id).enabled


def test_the_reminder_setting_is_csrf_protected(app, auth, client):
    user_id = auth.login()
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/account/reminders", data={"reminders": "y"}).status_code == 400
    with app.app_context():
        assert db.session.get(FollowupReminder, user_id) is None


def test_help_explains_the_command(runner):
    result = runner.invoke(args=["remind-updates", "--help"])
    assert result.exit_code == 0
    assert "cron" in result.output and "--dry-run" in result.output and "three" in result.output


def test_without_a_mail_server_or_base_url_nothing_is_sent(runner, app, make, pair):
    participant(app, make, "a@example.org")
    assert runner.invoke(args=["remind-updates"]).exit_code != 0
    dry = runner.invoke(args=["remind-updates", "--dry-run"])
    assert dry.exit_code == 0 and "would mail 1 participant(s) about 1 experience(s)" in dry.output


def test_only_opted_in_confirmed_participants_with_due_experiences_are_mailed_once_per_period(
    mail_app, app, make, pair, inbox
):
    due_id, due_eid = participant(app, make, "due@example.org")
    participant(app, make, "notopted@example.org", opted_in=False)
    participant(app, make, "unconfirmed@example.org", confirmed=False)
    participant(app, make, "recent@example.org", due_days=10)
    participant(app, make, "stopped@example.org", stopped="2024-06")
    runner = mail_app.test_cli_runner()
    dry = runner.invoke(args=["remind-updates", "--dry-run"])
    assert "would mail 1 participant(s)" in dry.output and not inbox.messages
    result = runner.invoke(args=["remind-updates"])
    assert result.exit_code == 0, result.output
    assert "mailed 1 participant(s)" in result.output
    (message,) = inbox.wait(1)
    assert message["To"] == "due@example.org" and message["Subject"] == "How is your treatment working now?"
    text = message.get_body(("plain",)).get_content()
    assert "Sumatriptan for Migraine" in text and f"https://registry.example/experiences/{due_eid}/update" in text
    assert str(message["List-Unsubscribe"]).strip().startswith("<https://registry.example/reminders/stop/")
    again = runner.invoke(args=["remind-updates"])
    assert "mailed 0 participant(s)" in again.output and len(inbox.messages) == 1  # at most once per period
    with mail_app.app_context():
        row = db.session.get(FollowupReminder, due_id)
        row.last_sent_at = NOW - timedelta(days=100)
        db.session.commit()
    runner.invoke(args=["remind-updates"])
    assert len(inbox.wait(2)) == 2


def test_one_click_unsubscribe_needs_no_login_and_refuses_forged_links(mail_app, app, make, pair, inbox):
    user_id, _ = participant(app, make, "due@example.org")
    mail_app.test_cli_runner().invoke(args=["remind-updates"])
    (message,) = inbox.wait(1)
    stop = [m for m in LINK.findall(message.get_body(("plain",)).get_content()) if "/reminders/stop/" in m][0]
    assert stop in message.get_body(("html",)).get_content()
    assert message["List-Unsubscribe"].strip() == f"<https://registry.example{stop}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    client = mail_app.test_client()  # not logged in
    assert client.get(stop[:-3] + "xyz").status_code == 400
    assert client.post(stop[:-3] + "xyz").status_code == 400
    page = client.get(stop)  # a link scanner or a mail program's preview opens it: nothing changes
    assert page.status_code == 200 and "Stop reminder mails" in page.text
    with app.app_context():
        assert db.session.get(FollowupReminder, user_id).enabled
    mail_app.config["WTF_CSRF_ENABLED"] = True  # the mail program's one-click POST has no form token
    done = client.post(stop, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "No more reminders" in done.text
    with app.app_context():
        assert not db.session.get(FollowupReminder, user_id).enabled
    assert "mailed 0 participant(s)" in mail_app.test_cli_runner().invoke(args=["remind-updates"]).output


def test_the_unsubscribe_link_is_opaque_and_older_signed_links_still_work(mail_app, app, make, pair, inbox):
    from itsdangerous import URLSafeSerializer

    user_id, _ = participant(app, make, "due@example.org")
    mail_app.test_cli_runner().invoke(args=["remind-updates"])
    (message,) = inbox.wait(1)
    stop = [m for m in LINK.findall(message.get_body(("plain",)).get_content()) if "/reminders/stop/" in m][0]
    token = stop.rsplit("/", 1)[1]
    assert "." not in token and len(token) >= 40  # random, not a signed payload holding the account id
    legacy = URLSafeSerializer(mail_app.config["SECRET_KEY"], salt="registry-reminder-unsubscribe").dumps(
        {"u": user_id}
    )
    page = mail_app.test_client().post(f"/reminders/stop/{legacy}")  # mailed before the opaque tokens
    assert page.status_code == 200 and "No more reminders" in page.text
    with app.app_context():
        assert not db.session.get(FollowupReminder, user_id).enabled
