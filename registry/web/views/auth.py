"""Accounts: register, log in and out, reset and change the password, confirm the address, devices, profile."""

from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale, refresh
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.exc import IntegrityError

from forms.auth import (
    ButtonForm,
    ChangeEmailForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
)
from registry.accounts import audit, auth, mail
from registry.models import CONSENT_VERSION
from registry.platform import i18n
from registry.platform.extensions import db, limit_setting, limiter
from registry.web.views import same_site_path
from scales.i18n import N_, ngettext
from scales.i18n import gettext as _

bp = Blueprint("auth", __name__)

# Set at log-in: a browser that logged in to an account before skips that account's failed-log-in delay,
# so guessing from elsewhere cannot shut its owner out.
DEVICE_COOKIE = "registry_device"
# A page whose address holds a secret (a reset link) stays out of caches.
NO_STORE = {"Cache-Control": "no-store"}


def _posted_email_key() -> str:
    """Rate-limit key of the address a form was posted for (any address alike, so it reveals no account).

    Keyed: an unsalted SHA-256 of an address in the limit storage, or in a limiter's log line, is the
    address to anyone with a list of addresses.
    """
    secret = current_app.config["SECRET_KEY"]
    secret = secret if isinstance(secret, bytes) else str(secret).encode()
    email = auth.normalize_email(request.form.get("email", "")).encode()
    return "email:" + hmac.new(secret, b"rate-limit|" + email, hashlib.sha256).hexdigest()[:32]


def _log_in(user, remember: bool):
    """Start a server-side log-in on this device; the response sets the device cookie."""
    session.clear()  # a fresh session at log-in: no fixation
    auth.start_session(user, request.headers.get("User-Agent"), remember)
    auth.clear_failures(user.email)
    db.session.commit()
    login_user(user, remember=remember)
    refresh()  # the words from here on (the flashed welcome) follow the account's language


def _with_device_cookie(response, user):
    config = current_app.config
    response.set_cookie(
        DEVICE_COOKIE,
        auth.device_token(user),
        max_age=auth.DEVICE_MAX_AGE,
        httponly=True,
        secure=bool(config["SESSION_COOKIE_SECURE"]),
        samesite="Lax",
    )
    return response


def _count_failure(email: str) -> None:
    """Count a wrong password for the email; two at once for a new email both count as one, not a 500."""
    auth.record_failure(email)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def _wait_message(seconds: int) -> str:
    return ngettext(
        "Too many wrong passwords for this email. Wait %(num)s second and try again, or set a new password "
        'through "Forgot your password?".',
        "Too many wrong passwords for this email. Wait %(num)s seconds and try again, or set a new password "
        'through "Forgot your password?".',
        seconds,
    )


def _send_confirmation(user, email: str, change: bool = False) -> None:
    mail.send(
        email,
        N_("Confirm your email address"),
        "confirm",
        user=user,
        email=email,
        change=change,
        url=mail.link("auth.confirm_email", token=auth.confirm_token(user, email)),
    )


def _safe_next(default: str) -> str:
    """Only follow a ?next= that stays on this site."""
    return same_site_path(request.args.get("next", ""), default)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(limit_setting("RATELIMIT_REGISTER"), methods=["POST"])
def register():
    """Create an account; the participant lands on their profile to finish it."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm(email_taken=auth.email_taken, pseudonym_taken=auth.pseudonym_taken)
    if form.validate_on_submit():
        try:
            user = auth.create_user(form.email.data, form.password.data, form.pseudonym.data)
            reading = str(get_locale() or i18n.DEFAULT)
            if reading != i18n.DEFAULT:  # their mails follow the language they joined in
                user.locale = reading
            db.session.commit()
        except (ValueError, IntegrityError):  # the same email or name registered a moment ago
            db.session.rollback()
            form.email.errors.append(_("An account with this email or public name was just created. Log in instead?"))
            return render_template("auth/register.html", form=form)
        _log_in(user, remember=False)
        flash(_("Welcome, %(name)s. Your account is ready.", name=user.pseudonym), "success")
        if mail.available():
            _send_confirmation(user, user.email)
            flash(
                _("We sent a link to %(email)s: follow it to confirm that the address is yours.", email=user.email),
                "info",
            )
        return _with_device_cookie(redirect(url_for("auth.profile")), user)
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(limit_setting("RATELIMIT_LOGIN"), methods=["POST"])
def login():
    """Log in with email and password; failures never say whether the email exists."""
    if current_user.is_authenticated:
        return redirect(_safe_next(url_for("main.index")))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data
        wait = 0 if auth.known_device(request.cookies.get(DEVICE_COOKIE), email) else auth.login_wait(email)
        if wait:  # no password is checked while the email waits, so guessing from many addresses slows down
            form.password.errors.append(_wait_message(wait))
            return render_template("auth/login.html", form=form), 429
        user = auth.authenticate(email, form.password.data)
        if user is not None and not user.is_active:
            form.email.errors.append(
                _("This account is disabled. Write to the registry's operator to have it enabled.")
            )
        elif user is not None:
            _log_in(user, remember=form.remember.data)
            flash(_("You are logged in."), "success")
            return _with_device_cookie(redirect(_safe_next(url_for("main.index"))), user)
        else:
            _count_failure(email)
            form.password.errors.append(_("Email or password is not right."))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """Log out (a POST, so another site cannot log a participant out); the log-in ends on the server too."""
    auth.end_session(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@limiter.limit(limit_setting("RATELIMIT_LOGIN"), methods=["POST"])  # it checks a password, as log-in does
@login_required
def change_password():
    """Change the password; every other session of the account is signed out."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        wait = auth.login_wait(current_user.email)
        if wait:
            form.current.errors.append(_wait_message(wait))
            return render_template("auth/password.html", form=form), 429
        if not current_user.check_password(form.current.data):
            _count_failure(current_user.email)
            form.current.errors.append(_("This is not your current password."))
        else:
            auth.change_password(current_user, form.password.data)
            audit.record("user.password", "user", current_user.id)
            db.session.commit()
            mail.send(
                current_user.email,
                N_("Your password was changed"),
                "password_changed",
                user=current_user,
                url=mail.link("auth.forgot_password"),
            )
            flash(_("Your password is changed. Other devices have been logged out."), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/password.html", form=form)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(limit_setting("RATELIMIT_RESET"), methods=["POST"])
@limiter.limit(limit_setting("RATELIMIT_RESET"), methods=["POST"], key_func=_posted_email_key)
def forgot_password():
    """Mail a reset link; the answer is the same whether or not the address has an account."""
    if not mail.available():
        return render_template("auth/forgot.html", form=None), 503
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = auth.find_user(form.email.data)
        # The same work either way (the mail is built and sent on a thread): the answer time tells nothing.
        known = user is not None and user.is_active
        target = user if known else auth.stand_in(form.email.data)
        url = mail.link("auth.reset_password", token=auth.reset_token(target))
        if known:
            mail.send(user.email, N_("Set a new password"), "reset", user=user, url=url)
        else:
            mail.decoy(N_("Set a new password"), "reset", user=target, url=url)
        flash(
            _(
                "If an account uses %(email)s, we sent it a link to set a new password. The link works once, "
                "for one hour. No mail? Look in the spam folder, or check the address.",
                email=auth.normalize_email(form.email.data),
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(limit_setting("RATELIMIT_LOGIN"), methods=["POST"])
def reset_password(token: str):
    """Set a new password from a mailed link; every log-in of the account ends, then this browser logs in."""
    user = auth.user_for_reset(token)
    if user is None:
        return render_template("auth/reset.html", form=None), 400, NO_STORE
    form = ResetPasswordForm()
    if form.validate_on_submit():
        auth.change_password(user, form.password.data, keep_current=False)
        audit.record("user.password", "user", user.id, {"reset": True}, actor=user)
        if user.email_confirmed_at is None:  # the link came through the address
            user.email_confirmed_at = auth.now_utc()
        db.session.commit()
        _log_in(user, remember=False)
        flash(_("Your new password is set. Every other device was logged out."), "success")
        return _with_device_cookie(redirect(url_for("auth.profile")), user)
    return render_template("auth/reset.html", form=form, user=user), NO_STORE


@bp.get("/account/confirm/<token>")
def confirm_email(token: str):
    """Follow the confirmation link of a new account or a changed address."""
    try:
        result = auth.confirm_email(token)
    except ValueError as error:
        db.session.rollback()
        flash(_("The address could not be changed: %(why)s", why=error), "error")
        return redirect(url_for("auth.profile") if current_user.is_authenticated else url_for("main.index"))
    if result is None:
        flash(
            _("This confirmation link is not valid any more. Log in and ask for a new one on your account page."),
            "error",
        )
        return redirect(url_for("auth.profile") if current_user.is_authenticated else url_for("auth.login"))
    user, old_email = result
    db.session.commit()
    if old_email is not None:
        mail.send(old_email, N_("Your email address was changed"), "email_changed", user=user, new_email=user.email)
        flash(_("Your address is now %(email)s. Log in with it from now on.", email=user.email), "success")
    else:
        flash(_("Thank you: %(email)s is confirmed.", email=user.email), "success")
    return redirect(url_for("auth.profile") if current_user.is_authenticated else url_for("auth.login"))


@bp.post("/account/confirm/resend")
@limiter.limit(limit_setting("RATELIMIT_RESET"))
@login_required
def resend_confirmation():
    """Mail the confirmation link again (of the new address when a change waits)."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    email = current_user.pending_email or (None if current_user.email_confirmed else current_user.email)
    if email is None:
        flash(_("Your address is confirmed already."), "info")
    elif mail.available():
        _send_confirmation(current_user, email, change=email != current_user.email)
        flash(_("We sent a new link to %(email)s.", email=email), "info")
    return redirect(url_for("auth.profile"))


@bp.route("/account/email", methods=["GET", "POST"])
@limiter.limit(limit_setting("RATELIMIT_LOGIN"), methods=["POST"])
@login_required
def change_email():
    """Ask for a new address: it takes over when the link mailed to it is followed; the old one is told."""
    if not mail.available():
        return render_template("auth/email.html", form=None), 503
    form = ChangeEmailForm(email_taken=auth.email_taken)
    if form.validate_on_submit():
        wait = auth.login_wait(current_user.email)
        if wait:
            form.current.errors.append(_wait_message(wait))
            return render_template("auth/email.html", form=form), 429
        if not current_user.check_password(form.current.data):
            _count_failure(current_user.email)
            form.current.errors.append(_("This is not your password."))
        else:
            current_user.pending_email = auth.normalize_email(form.email.data)
            audit.record("user.email", "user", current_user.id, {"requested": True})
            db.session.commit()
            _send_confirmation(current_user, current_user.pending_email, change=True)
            flash(
                _(
                    "We sent a link to %(new)s. Your address changes when you follow it; "
                    "until then you log in with %(current)s.",
                    new=current_user.pending_email,
                    current=current_user.email,
                ),
                "info",
            )
            return redirect(url_for("auth.profile"))
    return render_template("auth/email.html", form=form)


@bp.post("/account/sessions/end-all")
@login_required
def end_all_sessions():
    """Log out everywhere: every device of the account, this one included."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    count = auth.end_sessions(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(
        ngettext(
            "You are logged out everywhere (%(num)s device).", "You are logged out everywhere (%(num)s devices).", count
        ),
        "success",
    )
    return redirect(url_for("auth.login"))


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_one_session(session_id: int):
    """Log out one other device from the list."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    if auth.end_sessions(current_user, keep_current=True, session_id=session_id):
        flash(_("That device is logged out."), "success")
    db.session.commit()
    return redirect(url_for("auth.profile", _anchor="devices"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def profile():
    """The optional profile for "patients like me" and the research consent."""
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.research_consent.data = current_user.has_research_consent
    if form.validate_on_submit():
        current_user.birth_year = form.birth_year.data
        current_user.sex = form.sex.data or None
        current_user.country = form.country.data or None
        changed = auth.set_consent(current_user, form.research_consent.data)
        db.session.commit()
        flash(_("Your profile is saved."), "success")
        if changed:
            flash(
                _("Thank you: your answers may now be used for research.")
                if current_user.has_research_consent
                else _("Your research consent is withdrawn: your answers leave every later export."),
                "info",
            )
        return redirect(url_for("auth.profile"))
    return render_template(
        "auth/profile.html",
        form=form,
        consent_version=CONSENT_VERSION,
        sessions=auth.sessions_of(current_user),
        button=ButtonForm(),
        mail_available=mail.available(),
    )
