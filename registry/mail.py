"""Mail to participants (Flask-Mailman): password reset, address confirmation, address-change notice.

Every mail has a plain-text and an HTML body from templates/mail/<name>.txt and .html. Links are
built from REGISTRY_BASE_URL when set (the address participants know), else from the request's
host (behind a proxy, REGISTRY_PROXY_FIX makes that the public one). Mail goes out on a thread
after the answer (MAIL_ASYNC), so a slow or failing mail server neither delays a page nor tells
anyone whether an address has an account.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

from flask import current_app, render_template, url_for
from flask_mailman import EmailMultiAlternatives

from registry.extensions import mail


def available() -> bool:
    """Whether this registry can send mail (a server is configured, or the console in demo and debug)."""
    return bool(current_app.config.get("MAIL_BACKEND"))


def link(endpoint: str, **values) -> str:
    """An absolute link for a mail."""
    base = current_app.config.get("BASE_URL")
    if base:
        return str(base).rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def message(to: str, subject: str, template: str, **context) -> EmailMultiAlternatives:
    """The mail, with its text and HTML bodies rendered from templates/mail/ (needs an app context only)."""
    msg = EmailMultiAlternatives(
        subject=subject,
        body=render_template(f"mail/{template}.txt", **context),
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[to],
    )
    msg.attach_alternative(render_template(f"mail/{template}.html", **context), "text/html")
    return msg


def send(to: str | None, subject: str, template: str, **context) -> None:
    """Render and send one mail (on a thread unless MAIL_ASYNC is off); failures are logged, not raised.

    Links are built here, in the request; rendering and sending happen on the thread, so a request
    that sends a mail costs about as long as one that sends none.
    """
    if not available():
        return
    context.setdefault("site", current_app.config.get("BASE_URL") or url_for("main.index", _external=True))
    if "user" in context:  # plain values: the thread must not load rows through the request's session
        context["user"] = SimpleNamespace(pseudonym=context["user"].pseudonym, email=context["user"].email)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    job = (app, to, subject, template, context)
    if app.config["MAIL_ASYNC"]:
        threading.Thread(target=_deliver, args=job, daemon=True).start()
    else:
        _deliver(*job)


def decoy(subject: str, template: str, **context) -> None:
    """Do the work of send() without sending: for an address with no account, so both cost the same time."""
    send(None, subject, template, **context)


def _deliver(app, to: str | None, subject: str, template: str, context: dict) -> None:
    with app.app_context():
        try:
            msg = message(to or "nobody@invalid", subject, template, **context)
            if to is None:  # a decoy: build the whole mail, send nothing
                msg.message().as_bytes()
                return
            msg.connection = mail.get_connection(backend=app.config["MAIL_BACKEND"])
            msg.send()
        except Exception:  # noqa: BLE001 - a mail that cannot go out must not break the page
            app.logger.exception("Could not send the mail %r", subject)
