"""Mail through a real SMTP server on 127.0.0.1 (registry.accounts.mail): reset, confirmation, address change."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from registry.app import create_app
from registry.models import AuditEvent, User
from registry.platform.extensions import db

PASSWORD = "correct horse battery"
LINK = re.compile(r"https://registry\.example(/\S+)")


def link_in(message) -> str:
    """The path of the link in the mail's text body (the HTML body carries the same one)."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    path = LINK.search(text).group(1)
    assert f"https://registry.example{path}" in html
    return path


def login(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def test_reset_mail_is_sent_and_followed_and_ends_every_session(mail_app, make, inbox):
    make.user(email="ana@example.org")
    other_device = mail_app.test_client()
    assert login(other_device, "ana@example.org").status_code == 302
    client = mail_app.test_client()
    assert "Forgot your password?" in client.get("/login").text
    answer = client.post("/password/forgot", data={"email": "Ana@Example.org"})
    assert answer.status_code == 302
    [message] = inbox.wait(1)
    assert message["To"] == "ana@example.org" and message["From"] == "registry@registry.example"
    assert message["Subject"] == "Set a new password"
    path = link_in(message)
    form = client.get(path)
    assert "member1" in form.text and form.headers["Cache-Control"] == "no-store"  # whose account; not cached
    done = client.post(path, data={"password": "a brand new password", "confirm": "a brand new password"})
    assert done.status_code == 302 and done.location.endswith("/account")
    assert client.get("/account").status_code == 200  # logged in with the new password
    assert other_device.get("/account").status_code == 302  # the other device is logged out
    assert login(mail_app.test_client(), "ana@example.org", "a brand new password").status_code == 302
    # single use: the same link is dead once used
    again = mail_app.test_client().get(path)
    assert again.status_code == 400 and "not valid any more" in again.text
    with mail_app.app_context():
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "user.password"))


def test_the_answer_is_the_same_for_unknown_addresses(mail_app, make, inbox):
    make.user(email="ana@example.org")
    client = mail_app.test_client()
    known = client.post("/password/forgot", data={"email": "ana@example.org"}, follow_redirects=True)
    unknown = client.post("/password/forgot", data={"email": "nobody@example.org"}, follow_redirects=True)
    strip = lambda page: page.text.replace("ana@example.org", "X").replace("nobody@example.org", "X")  # noqa: E731
    assert strip(known) == strip(unknown) and known.status_code == unknown.status_code == 200
    inbox.wait(1)
    assert [m["To"] for m in inbox.messages] == ["ana@example.org"]  # nothing went to the unknown address


def test_a_reset_link_expires_after_an_hour_and_dies_with_a_password_change(mail_app, make, inbox, monkeypatch):
    user_id = make.user(email="ana@example.org")
    client = mail_app.test_client()
    assert client.post("/password/forgot", data={"email": "ana@example.org"}).status_code == 302
    path = link_in(inbox.wait(1)[0])
    assert client.get(path).status_code == 200
    from registry.accounts import auth

    monkeypatch.setattr(auth, "RESET_MAX_AGE", -1)  # as if an hour had passed
    assert client.get(path).status_code == 400
    monkeypatch.undo()
    with mail_app.app_context():  # the password changes another way: the link dies
        auth.change_password(db.session.get(User, user_id), "changed elsewhere 123")
        db.session.commit()
    response = client.post(path, data={"password": "a brand new password", "confirm": "a brand new password"})
    assert response.status_code == 400
    assert login(mail_app.test_client(), "ana@example.org", "a brand new password").status_code == 200  # not set


def test_a_forged_or_altered_link_is_refused(mail_app, make, inbox):
    make.user(email="ana@example.org")
    client = mail_app.test_client()
    assert client.post("/password/forgot", data={"email": "ana@example.org"}).status_code == 302
    path = link_in(inbox.wait(1)[0])
    assert client.get(path[:-3] + "abc").status_code == 400
    assert client.get("/password/reset/not-a-token").status_code == 400


def test_registration_mails_a_confirmation_link(mail_app, inbox):
    client = mail_app.test_client()
    assert (
        client.post(
            "/register",
            data={
                "email": "new@example.org",
                "pseudonym": "newcomer",
                "password": "long enough pw",
                "confirm": "long enough pw",
            },
        ).status_code
        == 302
    )
    page = client.get("/account")
    assert "not confirmed yet" in page.text and "Send the link again" in page.text
    [message] = inbox.wait(1)
    assert message["To"] == "new@example.org" and message["Subject"] == "Confirm your email address"
    client.get(link_in(message))
    assert "Your address is confirmed." in client.get("/account").text
    with mail_app.app_context():
        assert db.session.scalar(select(User)).email_confirmed_at is not None
    assert client.post("/account/confirm/resend").status_code == 302  # nothing left to confirm: no mail
    assert len(inbox.messages) == 1


def test_an_email_change_waits_for_the_new_address_and_tells_the_old(mail_app, make, inbox):
    make.user(email="old@example.org")
    client = mail_app.test_client()
    login(client, "old@example.org")
    wrong = client.post("/account/email", data={"email": "new@example.org", "current": "not my password"})
    assert "This is not your password." in wrong.text
    assert client.post("/account/email", data={"email": "New@Example.org", "current": PASSWORD}).status_code == 302
    [confirm] = inbox.wait(1)
    assert confirm["To"] == "new@example.org"
    assert "waits for you" in client.get("/account").text
    assert login(mail_app.test_client(), "old@example.org").status_code == 302  # the old address still logs in
    client.get(link_in(confirm))
    [_, notice] = inbox.wait(2)
    assert notice["To"] == "old@example.org" and "new@example.org" in notice.get_body(("plain",)).get_content()
    assert login(mail_app.test_client(), "new@example.org").status_code == 302
    assert login(mail_app.test_client(), "old@example.org").status_code == 200  # refused


def test_an_email_change_to_a_taken_address_is_refused(mail_app, make, inbox):
    make.user(email="taken@example.org")
    make.user(email="me@example.org")
    client = mail_app.test_client()
    login(client, "me@example.org")
    response = client.post("/account/email", data={"email": "taken@example.org", "current": PASSWORD})
    assert "Another account uses this address." in response.text
    assert inbox.messages == []


def test_links_come_from_the_request_host_without_a_base_url(app, smtp, make):
    port, inbox = smtp
    make.user(email="ana@example.org")
    keys = ("TESTING", "SECRET_KEY", "EXPORT_KEY", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED", "RATELIMIT_ENABLED")
    mailing = create_app(
        {**{k: app.config[k] for k in keys}, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_ASYNC": False}
    )
    try:
        assert (
            mailing.test_client()
            .post("/password/forgot", data={"email": "ana@example.org"}, base_url="https://public.example")
            .status_code
            == 302
        )
        [message] = inbox.wait(1)
        assert "https://public.example/password/reset/" in message.get_body(("plain",)).get_content()
    finally:
        with mailing.app_context():
            db.engine.dispose()


def test_without_a_mail_server_production_turns_reset_off_and_says_so(app, make):
    make.user(email="ana@example.org")
    keys = ("SECRET_KEY", "EXPORT_KEY", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED", "RATELIMIT_ENABLED")
    production = create_app({k: app.config[k] for k in keys})  # neither testing nor debugging, no MAIL_SERVER
    try:
        assert production.config["MAIL_BACKEND"] is None
        page = production.test_client().get("/password/forgot")
        assert page.status_code == 503 and "cannot send mail" in page.text
    finally:
        with production.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("config, backend", [({"TESTING": True}, "console"), ({"MAIL_SERVER": "mx"}, "smtp")])
def test_the_mail_backend_follows_the_settings(app, config, backend):
    keys = ("SECRET_KEY", "EXPORT_KEY", "SQLALCHEMY_DATABASE_URI")
    other = create_app({**{k: app.config[k] for k in keys}, **config})
    try:
        assert other.config["MAIL_BACKEND"] == backend
    finally:
        with other.app_context():
            db.engine.dispose()


def test_reset_requests_are_limited_per_address_and_per_account(app, smtp, make):
    port, inbox = smtp
    make.user(email="ana@example.org")
    keys = ("TESTING", "SECRET_KEY", "EXPORT_KEY", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED")
    limited = create_app(
        {
            **{k: app.config[k] for k in keys},
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_RESET": "2 per hour",
        }
    )
    try:
        client = limited.test_client()
        for n in range(2):  # from ever new addresses, for one account
            answer = client.post(
                "/password/forgot", data={"email": "ana@example.org"}, environ_base={"REMOTE_ADDR": f"203.0.113.{n}"}
            )
            assert answer.status_code == 302
        blocked = client.post(
            "/password/forgot", data={"email": "ana@example.org"}, environ_base={"REMOTE_ADDR": "203.0.113.9"}
        )
        assert blocked.status_code == 429
        # an unknown address is limited alike, so the limit tells nothing either
        for n in range(2):
            assert (
                client.post(
                    "/password/forgot",
                    data={"email": "nobody@example.org"},
                    environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},
                ).status_code
                == 302
            )
        assert (
            client.post(
                "/password/forgot", data={"email": "nobody@example.org"}, environ_base={"REMOTE_ADDR": "198.51.100.9"}
            ).status_code
            == 429
        )
        assert len(inbox.wait(2)) == 2
    finally:
        with limited.app_context():
            db.engine.dispose()


# --- the durable outbox: a failing server, a restart, give-up and retry, decoys ------------------


class FlakyServer:
    """An SMTP handler that answers 451 (try later) to the first `failures` mails, then accepts."""

    def __init__(self, failures: int, code: str = "451 4.3.0 Try again later"):
        import email
        from email import policy

        self.failures, self.code, self.tries, self.messages = failures, code, 0, []
        self._parse = lambda data: email.message_from_bytes(data, policy=policy.default)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.tries += 1
        if self.tries <= self.failures:
            return self.code
        self.messages.append(self._parse(envelope.original_content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_on(handler, port: int):
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def mailing_app(app, port: int, **config):
    """Another app (another process, as far as the outbox knows) on the test database, sending at once."""
    return create_app(
        {
            **{k: app.config[k] for k in ("TESTING", "SECRET_KEY", "EXPORT_KEY", "SQLALCHEMY_DATABASE_URI")},
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
            "MAIL_TIMEOUT": 2,
            "MAIL_ASYNC": False,
            "BASE_URL": "https://registry.example",
            **config,
        }
    )


def close(*apps):
    for each in apps:
        with each.app_context():
            db.session.remove()
            db.engine.dispose()


def outbox_rows(app):
    from registry.models import OutboxMail

    with app.app_context():
        return db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()


def test_a_failing_mail_server_gets_the_mail_again_later_and_health_says_so(app, make):
    from datetime import timedelta

    from registry.accounts import mail
    from registry.platform.database import now_utc

    make.user(email="ana@example.org")
    port = free_port()
    server = FlakyServer(failures=2)
    controller = server_on(server, port)
    mailing = mailing_app(app, port)
    try:
        client = mailing.test_client()
        assert client.post("/password/forgot", data={"email": "ana@example.org"}).status_code == 302
        [row] = outbox_rows(mailing)
        assert row.attempts == 1 and row.last_error == "SMTPDataError 451" and row.failed_at is None
        assert "ana@example.org" not in row.last_error
        health = client.get("/health").get_json()["mail"]
        assert health["state"] == "failing" and health["queued"] == 1 and health["retrying"] == 1
        with mailing.app_context():  # not due yet: a drain now leaves it alone
            assert mail.drain()["sent"] == 0
            assert mail.drain(now=now_utc() + timedelta(minutes=2))["retrying"] == 1  # 451 again
            assert mail.drain(now=now_utc() + timedelta(minutes=2))["sent"] == 0  # next try in 5 minutes
            assert mail.drain(now=now_utc() + timedelta(minutes=10))["sent"] == 1
        assert server.tries == 3 and outbox_rows(mailing) == []  # a sent mail is deleted (its link is a secret)
        [message] = server.messages
        assert message["To"] == "ana@example.org" and message["Subject"] == "Set a new password"
        path = link_in(message)
        assert client.get(path).status_code == 200  # the link of the late mail works
        assert client.get("/health").get_json()["mail"] == {
            "queued": 0,
            "retrying": 0,
            "failed": 0,
            "oldest_seconds": 0,
            "state": "ok",
        }
    finally:
        controller.stop()
        close(mailing)


def test_mail_queued_while_the_server_is_down_survives_a_restart(app, make):
    make.user(email="ana@example.org")
    port = free_port()  # nothing listens there yet
    before = mailing_app(app, port)
    client = before.test_client()
    assert client.post("/password/forgot", data={"email": "ana@example.org"}).status_code == 302
    assert client.post("/password/forgot", data={"email": "nobody@example.org"}).status_code == 302  # a decoy
    rows = outbox_rows(before)
    assert [r.recipient for r in rows] == ["ana@example.org"]  # the decoy was dropped by its drain, never sent
    assert rows[0].attempts == 1 and rows[0].last_error == "ConnectionRefusedError"
    close(before)  # the server process stops; the mail is in the database, not in its memory

    server = FlakyServer(failures=0)
    controller = server_on(server, port)
    after = mailing_app(app, port)
    try:
        from datetime import timedelta

        from registry.models import OutboxMail
        from registry.platform.database import now_utc

        with after.app_context():  # as if the minute's pause had passed
            db.session.execute(sa.update(OutboxMail).values(next_attempt_at=now_utc() - timedelta(seconds=1)))
            db.session.commit()
        result = after.test_cli_runner().invoke(args=["mail", "send"])
        assert result.exit_code == 0, result.output
        assert "sent 1 mail(s)" in result.output
        [message] = server.messages
        assert message["To"] == "ana@example.org"
        assert after.test_client().get(link_in(message)).status_code == 200
        assert outbox_rows(after) == []
    finally:
        controller.stop()
        close(after)


def test_a_permanent_refusal_is_given_up_at_once_and_can_be_queued_again(app, make):
    make.user(email="ana@example.org")
    port = free_port()
    server = FlakyServer(failures=1, code="550 5.1.1 No such mailbox")
    controller = server_on(server, port)
    mailing = mailing_app(app, port)
    try:
        assert mailing.test_client().post("/password/forgot", data={"email": "ana@example.org"}).status_code == 302
        [row] = outbox_rows(mailing)
        assert row.failed_at is not None and row.attempts == 1 and row.last_error == "SMTPDataError 550"
        runner = mailing.test_cli_runner()
        status = runner.invoke(args=["mail", "status"])
        assert status.exit_code == 1 and "failed 1" in status.output and "SMTPDataError 550" in status.output
        assert mailing.test_client().get("/health").get_json()["mail"]["state"] == "failing"
        assert "queued 1 failed mail(s) again" in runner.invoke(args=["mail", "retry"]).output
        sent = runner.invoke(args=["mail", "send"])
        assert sent.exit_code == 0 and "sent 1 mail(s)" in sent.output
        assert len(server.messages) == 1 and outbox_rows(mailing) == []
    finally:
        controller.stop()
        close(mailing)


def test_two_drains_at_once_send_each_mail_once(app, make):
    from registry.accounts import mail

    make.user(email="ana@example.org")
    port = free_port()
    server = FlakyServer(failures=0)
    controller = server_on(server, port)
    mailing = mailing_app(app, port)
    try:
        with mailing.test_request_context(base_url="https://registry.example"):
            for n in range(3):
                mail.enqueue(
                    mail.message(f"p{n}@example.org", "Hello", "password_changed", user=User(pseudonym="p"), url="x"),
                    f"p{n}@example.org",
                )
            db.session.commit()
            ids = mail.due_ids(mail.now_utc())
            assert mail._claim(ids[0], mail.now_utc())  # another drain holds the first one
            result = mail.drain()
        assert result["sent"] == 2 and sorted(m["To"] for m in server.messages) == ["p1@example.org", "p2@example.org"]
    finally:
        controller.stop()
        close(mailing)


def test_a_claim_runs_from_when_it_is_made_not_from_the_drains_start(app, make):
    from datetime import timedelta

    from registry.accounts import mail

    with app.test_request_context(base_url="https://registry.example"):
        mail.enqueue(
            mail.message("p@example.org", "Hello", "password_changed", user=User(pseudonym="p"), url="x"),
            "p@example.org",
        )
        db.session.commit()
        [mail_id] = mail.due_ids(mail.now_utc())
        # A drain that started ten minutes ago reaches this mail only now: its claim still holds it.
        assert mail._claim(mail_id, mail.now_utc() - timedelta(minutes=10)) > mail.now_utc()
        assert mail._claim(mail_id, mail.now_utc()) is None  # another drain leaves it alone


def test_an_address_the_mail_library_refuses_is_given_up_and_the_others_go_out(app, make):
    from registry.accounts import mail

    port = free_port()
    server = FlakyServer(failures=0)
    controller = server_on(server, port)
    mailing = mailing_app(app, port)
    try:
        with mailing.test_request_context(base_url="https://registry.example"):
            for to in ("a@b@example.org", "p@example.org"):  # the first, oldest, would block every drain
                mail.enqueue(mail.message(to, "Hello", "password_changed", user=User(pseudonym="p"), url="x"), to)
            db.session.commit()
            result = mail.drain()
        assert result["failed"] == 1 and result["sent"] == 1
        assert [m["To"] for m in server.messages] == ["p@example.org"]
        [row] = outbox_rows(mailing)
        assert row.failed_at is not None and row.last_error == "ValueError"
    finally:
        controller.stop()
        close(mailing)


def test_links_carry_an_opaque_token_stored_only_hashed(mail_app, make, inbox):
    import hashlib

    from registry.models import LinkToken

    user_id = make.user(email="ana@example.org")
    client = mail_app.test_client()
    login(client, "ana@example.org")
    assert client.post("/account/email", data={"email": "new@example.org", "current": PASSWORD}).status_code == 302
    path = link_in(inbox.wait(1)[0])
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 40 and "." not in token  # 32 random bytes, no signed payload
    import base64

    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b"new@example.org" not in decoded and str(user_id).encode() not in decoded[:2]
    with mail_app.app_context():
        [row] = db.session.scalars(select(LinkToken)).all()
        assert row.digest == hashlib.sha256(token.encode()).hexdigest() and token not in row.digest
    client.get(path)
    assert login(mail_app.test_client(), "new@example.org").status_code == 302
    again = client.get(path, follow_redirects=True)  # single use
    assert "not valid any more" in again.text


def test_a_confirmation_link_expires(mail_app, make, inbox, monkeypatch):
    from registry.accounts import auth

    make.user(email="ana@example.org")
    client = mail_app.test_client()
    login(client, "ana@example.org")
    client.post("/account/email", data={"email": "new@example.org", "current": PASSWORD})
    path = link_in(inbox.wait(1)[0])
    monkeypatch.setattr(auth, "CONFIRM_MAX_AGE", -1)
    assert "not valid any more" in client.get(path, follow_redirects=True).text
    assert login(mail_app.test_client(), "new@example.org").status_code == 200  # not changed


def test_in_production_the_mail_goes_out_on_a_thread_after_the_answer(app, make, monkeypatch):
    import time

    from registry.accounts import mail

    make.user(email="ana@example.org")
    port = free_port()
    server = FlakyServer(failures=0)
    controller = server_on(server, port)
    mailing = mailing_app(app, port, MAIL_ASYNC=True)
    monkeypatch.setattr(mail, "_on_thread", lambda app: True)  # as outside tests
    try:
        assert mailing.test_client().post("/password/forgot", data={"email": "ana@example.org"}).status_code == 302
        deadline = time.monotonic() + 10
        while (server.messages == [] or outbox_rows(mailing)) and time.monotonic() < deadline:
            time.sleep(0.05)  # the thread sends, then deletes the row
        assert [m["To"] for m in server.messages] == ["ana@example.org"] and outbox_rows(mailing) == []
        time.sleep(0.1)  # the thread returns its connection before the engine goes
    finally:
        controller.stop()
        close(mailing)


def test_signed_links_mailed_by_the_release_before_still_work_once(mail_app, make):
    """A rolling upgrade: a link an old server mailed (a signed payload) is followed on a new server."""
    import hashlib

    from itsdangerous import URLSafeTimedSerializer

    user_id = make.user(email="ana@example.org")
    with mail_app.app_context():
        user = db.session.get(User, user_id)
        user.email_confirmed_at = None
        db.session.commit()
        digest = hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]
    signed = lambda purpose, data: URLSafeTimedSerializer(  # noqa: E731
        mail_app.config["SECRET_KEY"], salt=f"registry-{purpose}"
    ).dumps(data)
    client = mail_app.test_client()
    client.get("/account/confirm/" + signed("confirm", {"u": user_id, "e": "ana@example.org"}))
    with mail_app.app_context():
        assert db.session.get(User, user_id).email_confirmed_at is not None
    reset = "/password/reset/" + signed("reset", {"u": user_id, "p": digest})
    assert client.get(reset).status_code == 200
    done = client.post(reset, data={"password": "a brand new password", "confirm": "a brand new password"})
    assert done.status_code == 302
    assert mail_app.test_client().get(reset).status_code == 400  # used: the password it carried changed
    forged = "/password/reset/" + signed("reset", {"u": user_id, "p": "0" * 16})
    assert mail_app.test_client().get(forged).status_code == 400


def test_mail_goes_out_in_the_language_the_person_registered_in(mail_app, make, inbox):
    """Registered in Spanish: the confirmation mail is Spanish, and so is a reset asked later from an English browser."""
    from email.header import decode_header, make_header

    from babel.support import Translations

    from registry.platform.i18n import TRANSLATIONS

    es = Translations.load(str(TRANSLATIONS), ["es"]).gettext
    client = mail_app.test_client()
    client.set_cookie("lang", "es")
    data = {
        "email": "lucia@example.org",
        "pseudonym": "lucia",
        "password": "long enough pw",
        "confirm": "long enough pw",
    }
    assert client.post("/register", data=data).status_code == 302
    [confirm] = inbox.wait(1)
    subject = str(make_header(decode_header(confirm["Subject"]))).strip()
    assert subject == es("Confirm your email address") != "Confirm your email address"
    english = mail_app.test_client()  # another browser, in English
    english.post("/password/forgot", data={"email": "lucia@example.org"})
    reset = inbox.wait(2)[-1]
    assert str(make_header(decode_header(reset["Subject"]))).strip() == es("Set a new password")
    text = reset.get_body(("plain",)).get_content()
    assert es("Hello %(name)s,") % {"name": "lucia"} in text
    assert es("Set a new password here (the link works once, for one hour):") in text
    assert (
        "Set a new password here" not in text
        and "Set a new password here" not in reset.get_body(("html",)).get_content()
    )
