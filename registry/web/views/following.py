"""Followed conditions: the follow button of a condition page, and "What's new" since the last visit."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from forms.following import FollowForm
from registry.contributions import following
from registry.models import Condition
from registry.platform.extensions import db, submit_limit
from scales.i18n import gettext as _

bp = Blueprint("following", __name__)


@bp.post("/conditions/<slug>/follow")
@submit_limit
@login_required
def follow(slug: str):
    """Follow (follow=1) or stop following (follow=0) a condition; back to its page."""
    condition = db.first_or_404(select(Condition).where(Condition.slug == slug))
    form = FollowForm()
    if not form.validate_on_submit():
        abort(400, _("This button has expired or is not valid; reload the page and try again."))
    if form.follow.data == "1":
        try:
            done = following.follow(current_user, condition)
            db.session.commit()
        except IntegrityError:  # the same click twice at once: the other request recorded it
            db.session.rollback()
            done = True
        if done:
            flash(
                _("You follow %(name)s: What's new shows what changed since your last visit.", name=condition.name),
                "success",
            )
        else:
            flash(_("You follow %(n)s conditions already; stop following one first.", n=following.MAX_FOLLOWS), "error")
    else:
        following.unfollow(current_user, condition)
        db.session.commit()
        flash(_("You no longer follow %(name)s.", name=condition.name), "success")
    return redirect(url_for("reports.condition", slug=condition.slug))


@bp.get("/whats-new")
@login_required
def whats_new():
    """What changed for the followed conditions since the last visit to this page (which starts a new one)."""
    items = following.visit(current_user)
    db.session.commit()
    return render_template("following/whats_new.html", items=items)


@bp.app_context_processor
def _following_helpers():
    def follow_state(condition) -> bool | None:
        """None for a visitor; else whether the participant follows the condition."""
        if not current_user.is_authenticated:
            return None
        return following.follow_of(current_user, condition) is not None

    def home_news():
        """The followed conditions' news for the home page (it does not start a new period); None for visitors."""
        return following.news(current_user) if current_user.is_authenticated else None

    return {"follow_state": follow_state, "follow_form": FollowForm, "following_home_news": home_news}
