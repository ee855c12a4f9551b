"""A participant's own treatment experiences: add, list, edit, delete."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

import scales
from forms.experience import ExperienceForm
from registry.catalog import catalog
from registry.contributions import experiences, ratings
from registry.platform.extensions import count_change, db, experience_pair, submit_limit
from registry.web.views import flash_text_state, page_arg
from scales.i18n import gettext as _

bp = Blueprint("experiences", __name__, url_prefix="/experiences")


def _form(listed_for=None, **kwargs) -> ExperienceForm:
    """The form, with the treatments listed for a condition first."""
    conditions, treatments, drugs = experiences.catalog_choices(listed_for)
    return ExperienceForm(conditions=conditions, treatments=treatments, drug_slugs=drugs, **kwargs)


def _render(form, experience=None, broad=None):
    return render_template(
        "experiences/form.html",
        form=form,
        experience=experience,
        scales=scales,
        usual=experiences.usual_treatments(),
        broad=broad,
    )


def _still_in_catalog(form, condition, treatment) -> bool:
    """False, with a message beside the field, when an entry left the catalog (merged) since the form was drawn."""
    for field, entry in ((form.condition, condition), (form.treatment, treatment)):
        if entry is None:
            field.errors.append(_("This is no longer in the catalog (a moderator merged it); choose again."))
    return condition is not None and treatment is not None


def _own_or_404(experience_id: int):
    experience = experiences.own_or_none(current_user, experience_id)
    if experience is None:
        abort(404)  # someone else's experience looks exactly like a missing one
    return experience


@bp.get("")
@login_required
def mine():
    """The participant's experiences, newest changes first."""
    page = experiences.list_own(current_user, page=page_arg())
    return render_template("experiences/mine.html", page=page, scales=scales, my_ratings=ratings.list_own(current_user))


@bp.route("/new", methods=["GET", "POST"])
@submit_limit
@login_required
def new():
    """Share an experience; a second one for the same pair opens the first for editing."""
    # The posted form decides on POST; the query string only preselects on GET.
    source = request.form if request.method == "POST" else request.args
    condition, treatment = experiences.by_slugs(source.get("condition"), source.get("treatment"))
    if condition is not None and treatment is not None:
        existing = experiences.find_own(current_user, condition, treatment)
        if existing is not None:
            flash(_("You already shared your experience with %(name)s; update it here.", name=treatment.name), "info")
            return redirect(url_for("experiences.edit", experience_id=existing.id))
    form = _form(condition, condition=request.args.get("condition"), treatment=request.args.get("treatment"))
    if request.method == "GET":
        form.role.data = form.role.data or "patient"
        if condition is not None:
            form.diagnosed_year.data = experiences.diagnosed_year(current_user, condition)
    # A broad word ("?condition=Depression") is several diagnoses: the form asks which one, never picks.
    asked = request.args.get("condition", "") if condition is None else ""
    broad = (asked, catalog.broad_conditions(asked)) if asked else None
    if form.validate_on_submit() and _still_in_catalog(form, condition, treatment):
        count_change(current_user, experience_pair(condition.id, treatment.id))
        experience, created = experiences.create_once(
            current_user, condition, treatment, form.values(), form.diagnosed_year.data
        )
        if not created:  # the same pair submitted twice at once
            return redirect(url_for("experiences.edit", experience_id=experience.id))
        flash(
            _(
                "Thank you. Your experience with %(treatment)s for %(condition)s is saved. It will be in the "
                "numbers once a few more people have reported: numbers are updated in batches, so that no one can "
                "tell your answers from them.",
                treatment=treatment.name,
                condition=condition.name,
            ),
            "success",
        )
        flash_text_state(experience, "tip")
        return redirect(url_for("experiences.mine", _anchor=f"experience-{experience.id}"))
    return _render(form, broad=broad if broad and broad[1] else None)


@bp.route("/<int:experience_id>/edit", methods=["GET", "POST"])
@submit_limit
@login_required
def edit(experience_id: int):
    """Update one's own experience."""
    experience = _own_or_404(experience_id)
    if request.method == "GET":
        form = _form(experience.condition, data=experiences.form_data(experience))
        form.diagnosed_year.data = experiences.diagnosed_year(current_user, experience.condition)
    else:
        condition, _treatment = experiences.by_slugs(request.form.get("condition"), None)
        form = _form(condition)
    if form.validate_on_submit():
        condition, treatment = experiences.by_slugs(form.condition.data, form.treatment.data)
        clash = experiences.find_own(current_user, condition, treatment) if condition and treatment else None
        if clash is not None and clash.id != experience.id:
            form.treatment.errors.append(
                _("You already have an experience with this treatment for this condition; edit that one instead.")
            )
        elif _still_in_catalog(form, condition, treatment):
            # A move between treatments counts for the pair it leaves and the pair it joins.
            count_change(
                current_user,
                experience_pair(experience.condition_id, experience.treatment_id),
                experience_pair(condition.id, treatment.id),
            )
            experiences.save(current_user, condition, treatment, form.values(), form.diagnosed_year.data, experience)
            db.session.commit()
            flash(_("Your changes are saved."), "success")
            flash_text_state(experience, "tip")
            return redirect(url_for("experiences.mine", _anchor=f"experience-{experience.id}"))
    return _render(form, experience)


@bp.route("/<int:experience_id>/delete", methods=["GET", "POST"])
@submit_limit
@login_required
def delete(experience_id: int):
    """Confirm, then delete one's own experience."""
    experience = _own_or_404(experience_id)
    if request.method == "POST":
        # Deleting and submitting again is a change like any other.
        count_change(current_user, experience_pair(experience.condition_id, experience.treatment_id))
        experiences.delete(experience)
        db.session.commit()
        flash(_("Your experience is deleted."), "success")
        return redirect(url_for("experiences.mine"))
    return render_template("experiences/delete.html", experience=experience)
