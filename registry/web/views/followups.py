"""Follow-ups: a dated update of one's experience, its history, and the reminder mail opt-in."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

import scales
from forms.followup import FollowupForm, ReminderForm
from registry.accounts import mail
from registry.contributions import experiences, followups, reminders
from registry.platform.extensions import count_change, csrf, db, experience_pair, submit_limit
from scales.i18n import gettext as _

bp = Blueprint("followups", __name__)


def _own_or_404(experience_id: int):
    experience = experiences.own_or_none(current_user, experience_id)
    if experience is None:
        abort(404)  # someone else's experience looks exactly like a missing one
    return experience


@bp.route("/experiences/<int:experience_id>/update", methods=["GET", "POST"])
@submit_limit
@login_required
def update(experience_id: int):
    """Still on it? How is it working now? A short dated update; the earlier answers are kept."""
    experience = _own_or_404(experience_id)
    data = followups.form_data(experience) if request.method == "GET" else None
    form = FollowupForm(data=data, started=experience.started)
    if form.validate_on_submit():
        # An update rewrites the experience's answers: it counts under the experience's pair.
        count_change(current_user, experience_pair(experience.condition_id, experience.treatment_id))
        followups.add_update(current_user, experience, form.values())
        db.session.commit()
        flash(
            _(
                "Thank you. Your update on %(treatment)s is saved; your earlier answers are kept.",
                treatment=experience.treatment.name,
            ),
            "success",
        )
        return redirect(url_for("experiences.mine", _anchor=f"experience-{experience.id}"))
    return render_template(
        "followups/update.html", form=form, experience=experience, history=followups.history(experience), scales=scales
    )


@bp.post("/account/reminders")
@login_required
def reminder_setting():
    """Opt in to or out of the reminder mail."""
    form = ReminderForm()
    if not form.validate_on_submit():
        abort(400, _("This form has expired; reload the page and try again."))
    followups.set_reminder(current_user, bool(form.reminders.data))
    db.session.commit()
    flash(
        _("We will mail you a reminder when an update is due.")
        if form.reminders.data
        else _("No more reminder mails."),
        "success",
    )
    return redirect(url_for("auth.profile", _anchor="reminders"))


@bp.get("/reminders/stop/<token>")
def unsubscribe_page(token: str):
    """The reminder mail's stop link: a page with one button. Opening the link changes nothing, since mail
    programs and link scanners open links nobody clicked (RFC 8058)."""
    if reminders.user_for_unsubscribe(token) is None:
        return render_template("followups/unsubscribed.html", done=False), 400
    return render_template("followups/unsubscribed.html", done=None, token=token)


@bp.post("/reminders/stop/<token>")
@csrf.exempt  # the mail program's one-click POST carries no form token; the link's own token is the proof
def unsubscribe(token: str):
    """Stop the reminder mail: the page's button, or a mail program's one-click POST (List-Unsubscribe-Post);
    an opaque link (or a signed one mailed before 0.2.0), no log-in needed."""
    user = reminders.user_for_unsubscribe(token)
    if user is None:
        return render_template("followups/unsubscribed.html", done=False), 400
    followups.set_reminder(user, False)
    db.session.commit()
    return render_template("followups/unsubscribed.html", done=True)


@bp.app_context_processor
def _followup_helpers():
    def due_ids() -> set[int]:
        return followups.due_ids(current_user) if current_user.is_authenticated else set()

    def reminder_form() -> ReminderForm:
        return ReminderForm(formdata=None, reminders=followups.reminder_enabled(current_user))

    return {
        "followup_due_ids": due_ids,
        "followup_reminder_form": reminder_form,
        "followup_mail_available": mail.available,
    }
