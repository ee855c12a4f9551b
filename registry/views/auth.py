"""Accounts: register, log in and out, change password, profile and research consent."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.exc import IntegrityError

from forms.auth import ChangePasswordForm, LoginForm, ProfileForm, RegisterForm
from registry import auth
from registry.extensions import db, limiter, limit_setting
from registry.models import CONSENT_VERSION

bp = Blueprint("auth", __name__)


def _safe_next(default: str) -> str:
    """Only follow a ?next= that stays on this site."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and not parts.scheme:
        return target
    return default


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(limit_setting("RATELIMIT_REGISTER"), methods=["POST"])
def register():
    """Create an account; the participant lands on their profile to finish it."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = auth.create_user(form.email.data, form.password.data, form.pseudonym.data)
            db.session.commit()
        except (ValueError, IntegrityError):  # the same email or name registered a moment ago
            db.session.rollback()
            form.email.errors.append("An account with this email or public name was just created. Log in instead?")
            return render_template("auth/register.html", form=form)
        session.clear()
        login_user(user)
        flash(f"Welcome, {user.pseudonym}. Your account is ready.", "success")
        return redirect(url_for("auth.profile"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(limit_setting("RATELIMIT_LOGIN"), methods=["POST"])
def login():
    """Log in with email and password; failures never say whether the email exists."""
    if current_user.is_authenticated:
        return redirect(_safe_next(url_for("main.index")))
    form = LoginForm()
    if form.validate_on_submit():
        user = auth.authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()  # a fresh session at log-in: no fixation
            login_user(user, remember=form.remember.data)
            flash("You are logged in.", "success")
            return redirect(_safe_next(url_for("main.index")))
        form.password.errors.append("Email or password is not right.")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """Log out (a POST, so another site cannot log a participant out)."""
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("main.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password; every other session of the account is signed out."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append("This is not your current password.")
        else:
            auth.change_password(current_user, form.password.data)
            db.session.commit()
            session.clear()
            login_user(current_user)
            flash("Your password is changed. Other devices have been logged out.", "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/password.html", form=form)


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
        flash("Your profile is saved.", "success")
        if changed:
            flash(
                "Thank you: your answers may now be used for research."
                if current_user.has_research_consent
                else "Your research consent is withdrawn: your answers leave every later export.",
                "info",
            )
        return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form, consent_version=CONSENT_VERSION)
