"""Browse, search and extend the catalog of conditions, treatments and doctors."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from forms.catalog import ConditionForm, DoctorForm, TreatmentForm
from registry import catalog
from registry.extensions import db
from registry.models import Condition, Doctor, Treatment

bp = Blueprint("catalog", __name__)


def _query_text(name: str = "q") -> str:
    return (request.args.get(name) or "").strip()[:120]


@bp.get("/search")
def search():
    """Conditions and treatments matching a name, brand, synonym or ICD-10-CM code."""
    q = _query_text()
    conditions = catalog.search_conditions(q) if q else []
    treatments = catalog.search_treatments(q) if q else []
    return render_template("catalog/search.html", q=q, conditions=conditions, treatments=treatments)


@bp.get("/conditions")
def conditions():
    """All conditions, alphabetically, paginated."""
    page = db.paginate(select(Condition).order_by(Condition.name), per_page=50, error_out=False)
    return render_template("catalog/conditions.html", page=page, counts=catalog.report_counts())


@bp.route("/conditions/new", methods=["GET", "POST"])
@login_required
def new_condition():
    """Add a missing condition, unless it already exists under this or another name."""
    form = ConditionForm(name=request.args.get("name", ""))  # prefilled from a search
    if form.validate_on_submit():
        entry, created = catalog.add_condition(
            form.name.data, form.icd10.data, form.synonym_list(), user=current_user
        )
        db.session.commit()
        flash(
            f"Added {entry.name} to the catalog. Thank you."
            if created
            else f"{entry.name} is already in the catalog; here it is.",
            "success" if created else "info",
        )
        return redirect(url_for("reports.condition", slug=entry.slug))
    return render_template("catalog/new_condition.html", form=form)


@bp.get("/treatments")
def treatments():
    """All treatments, alphabetically, paginated; optionally only one kind."""
    query = select(Treatment).order_by(Treatment.name)
    kind = request.args.get("kind", "")
    if kind:
        query = query.where(Treatment.kind == kind)
    page = db.paginate(query, per_page=50, error_out=False)
    return render_template("catalog/treatments.html", page=page, kind=kind)


@bp.get("/treatments/<slug>")
def treatment(slug: str):
    """One treatment: its names and the conditions it is used for."""
    entry = db.first_or_404(select(Treatment).where(Treatment.slug == slug))
    return render_template("catalog/treatment.html", treatment=entry)


@bp.route("/treatments/new", methods=["GET", "POST"])
@login_required
def new_treatment():
    """Add a missing treatment; a brand name is filed under its generic drug."""
    form = TreatmentForm(name=request.args.get("name", ""))
    if form.validate_on_submit():
        entry, created = catalog.add_treatment(form.name.data, form.kind.data, user=current_user)
        db.session.commit()
        flash(
            f"Added {entry.name} to the catalog. Thank you."
            if created
            else f"{form.name.data.strip()} is already in the catalog as {entry.name}.",
            "success" if created else "info",
        )
        return redirect(url_for("catalog.treatment", slug=entry.slug))
    return render_template("catalog/new_treatment.html", form=form)


@bp.get("/doctors")
def doctors():
    """Doctors filtered by name, specialty, city and country, paginated."""
    filters = {name: _query_text(name) for name in ("q", "specialty", "city", "country")}
    page = db.paginate(catalog.search_doctors(**filters), per_page=25, error_out=False)
    return render_template("catalog/doctors.html", page=page, filters=filters)


@bp.get("/doctors/<int:doctor_id>")
def doctor(doctor_id: int):
    """One doctor's public entry."""
    entry = db.get_or_404(Doctor, doctor_id)
    return render_template("catalog/doctor.html", doctor=entry)


@bp.route("/doctors/new", methods=["GET", "POST"])
@login_required
def new_doctor():
    """Add a doctor, unless one of that name already practises in that city."""
    form = DoctorForm()
    if form.validate_on_submit():
        entry, created = catalog.add_doctor(
            form.name.data, form.specialty.data, form.city.data, form.country.data, user=current_user
        )
        db.session.commit()
        flash(
            f"Added {entry.name} to the catalog. Thank you."
            if created
            else f"{entry.name} in {entry.city} is already in the catalog; here they are.",
            "success" if created else "info",
        )
        return redirect(url_for("catalog.doctor", doctor_id=entry.id))
    return render_template("catalog/new_doctor.html", form=form)


@bp.errorhandler(ValueError)
def _bad_value(error: ValueError):
    db.session.rollback()
    abort(400, str(error))
