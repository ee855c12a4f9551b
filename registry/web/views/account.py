"""A participant's data rights: download my data, withdraw research consent, delete my account."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required, logout_user

from forms.account import DeleteAccountForm, DownloadForm, WithdrawConsentForm
from registry.contributions import rights
from registry.platform.extensions import db, limit_setting, limiter
from scales.i18n import gettext as _

bp = Blueprint("account", __name__, url_prefix="/account")


def _render_data(download_form=None):
    return render_template(
        "account/data.html", download_form=download_form or DownloadForm(), withdraw_form=WithdrawConsentForm()
    )


@bp.get("/data")
@login_required
def data():
    """The data-rights page: download, withdraw consent, delete."""
    return _render_data()


@bp.post("/data/download")
@login_required
def download():
    """Everything held about the signed-in participant, as JSON or a zip of CSV files."""
    form = DownloadForm()
    if not form.validate_on_submit():
        return _render_data(form), 400
    content, mimetype, name = rights.download(current_user, form.format.data)
    db.session.commit()  # the audit event
    return Response(
        content,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@bp.post("/data/withdraw-consent")
@login_required
def withdraw_consent():
    """One click: the participant's answers leave every later research export."""
    if not WithdrawConsentForm().validate_on_submit():
        abort(400)
    if rights.withdraw_consent(current_user):
        db.session.commit()
        flash(_("Your research consent is withdrawn: later research exports leave your answers out."), "success")
    else:
        flash(_("You had not consented to research use; nothing is exported about you."), "info")
    return redirect(url_for("account.data"))


@bp.route("/delete", methods=["GET", "POST"])
@limiter.limit(limit_setting("RATELIMIT_LOGIN"), methods=["POST"])  # it asks for the password
@login_required
def delete():
    """Confirm with the password, then delete the account and everything in it."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.password.data):
            form.password.errors.append(_("This is not your password. Nothing was deleted."))
        else:
            counts = rights.delete_account(current_user._get_current_object())
            db.session.commit()
            logout_user()
            session.clear()
            flash(
                _(
                    "Your account is deleted, with %(experiences)s experiences and %(ratings)s doctor ratings. "
                    "They no longer count anywhere.",
                    experiences=counts["experiences"],
                    ratings=counts["ratings"],
                ),
                "success",
            )
            return redirect(url_for("main.index"))
    return render_template("account/delete.html", form=form)
