"""A participant's own doctor ratings: add, edit, delete (listed under "My experiences")."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

import scales
from forms.rating import DoctorRatingForm
from forms.text import parse_id
from registry.catalog import catalog
from registry.contributions import ratings
from registry.models import Condition, Doctor
from registry.platform.extensions import count_change, db, rating_pair, submit_limit
from registry.web.views import flash_text_state
from scales.i18n import gettext as _

bp = Blueprint("ratings", __name__, url_prefix="/ratings")


def _form(**kwargs) -> DoctorRatingForm:
    return DoctorRatingForm(conditions=catalog.condition_choices(), **kwargs)


def _doctor(raw) -> Doctor | None:
    doctor_id = parse_id(raw)
    return db.session.get(Doctor, doctor_id) if doctor_id is not None else None


def _condition(slug) -> Condition | None:
    return db.session.scalar(select(Condition).where(Condition.slug == slug)) if slug else None


def _own_or_404(rating_id: int):
    rating = ratings.own_or_none(current_user, rating_id)
    if rating is None:
        abort(404)
    return rating


def _render(form, doctor, rating=None):
    return render_template("ratings/form.html", form=form, doctor=doctor, rating=rating, scales=scales)


@bp.route("/new", methods=["GET", "POST"])
@submit_limit
@login_required
def new():
    """Rate a doctor for a condition; a second rating of the same pair opens the first."""
    # The posted form decides on POST; the query string only preselects on GET.
    source = request.form if request.method == "POST" else request.args
    doctor = _doctor(source.get("doctor") or request.args.get("doctor"))
    if doctor is None:
        abort(404, _("Choose a doctor to rate from the doctors' list."))
    condition = _condition(source.get("condition"))
    if condition is not None:
        existing = ratings.find_own(current_user, doctor, condition)
        if existing is not None:
            flash(
                _(
                    "You already rated %(doctor)s for %(condition)s; update your rating here.",
                    doctor=doctor.name,
                    condition=condition.name,
                ),
                "info",
            )
            return redirect(url_for("ratings.edit", rating_id=existing.id))
    form = _form(doctor=str(doctor.id), condition=request.args.get("condition"))
    if form.validate_on_submit():
        count_change(current_user, rating_pair(doctor.id, condition.id))
        rating, created = ratings.create_once(current_user, doctor, condition, form.values())
        if not created:  # the same pair submitted twice at once
            return redirect(url_for("ratings.edit", rating_id=rating.id))
        flash(_("Thank you. Your rating of %(doctor)s is saved.", doctor=doctor.name), "success")
        flash_text_state(rating, "comment")
        return redirect(url_for("experiences.mine", _anchor="ratings"))
    return _render(form, doctor)


@bp.route("/<int:rating_id>/edit", methods=["GET", "POST"])
@submit_limit
@login_required
def edit(rating_id: int):
    """Update one's own rating."""
    rating = _own_or_404(rating_id)
    form = _form(data=ratings.form_data(rating)) if request.method == "GET" else _form()
    if form.validate_on_submit():
        condition = _condition(form.condition.data)
        clash = ratings.find_own(current_user, rating.doctor, condition)
        if clash is not None and clash.id != rating.id:
            form.condition.errors.append(
                _("You already rated this doctor for this condition; edit that rating instead.")
            )
        else:
            # A move to another condition counts for the pair it leaves and the pair it joins.
            count_change(
                current_user,
                rating_pair(rating.doctor_id, rating.condition_id),
                rating_pair(rating.doctor_id, condition.id),
            )
            ratings.save(current_user, rating.doctor, condition, form.values(), rating)
            db.session.commit()
            flash(_("Your changes are saved."), "success")
            flash_text_state(rating, "comment")
            return redirect(url_for("experiences.mine", _anchor="ratings"))
    return _render(form, rating.doctor, rating)


@bp.route("/<int:rating_id>/delete", methods=["GET", "POST"])
@submit_limit
@login_required
def delete(rating_id: int):
    """Confirm, then delete one's own rating."""
    rating = _own_or_404(rating_id)
    if request.method == "POST":
        count_change(current_user, rating_pair(rating.doctor_id, rating.condition_id))
        ratings.delete(rating)
        db.session.commit()
        flash(_("Your rating is deleted."), "success")
        return redirect(url_for("experiences.mine", _anchor="ratings"))
    return render_template("ratings/delete.html", rating=rating)
