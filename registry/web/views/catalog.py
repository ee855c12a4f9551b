"""Browse, search and extend the catalog of conditions, treatments and doctors."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.exceptions import BadRequest

from forms.catalog import ConditionForm, DoctorForm, TreatmentForm
from registry.catalog import catalog, vocab
from registry.contributions import ratings
from registry.models import Condition, Doctor, Treatment
from registry.platform.extensions import db
from registry.platform.pagination import Page
from registry.reporting import cached_reports
from registry.web.views import condition_or_404, errors, page_arg
from reports import charts, wording
from reports.csvout import frame_to_csv
from reports.filters import Filters
from scales.i18n import gettext as _

bp = Blueprint("catalog", __name__)


def _query_text(name: str = "q") -> str:
    return (request.args.get(name) or "").strip()[:120]


def _added(entry, created: bool, existing_message: str, target: str):
    """Commit an addition (or a match with what exists), say which, and show the entry."""
    db.session.commit()
    if created:
        flash(_("Added %(name)s to the catalog. Thank you.", name=entry.name), "success")
    else:
        flash(existing_message, "info")
    return redirect(target)


def _shortcut(condition: Condition, treatment: Treatment) -> dict:
    """A pair's report link with its headline: the published unit the report page shows, and whether its
    "improved" interval is narrow enough to say something (reports.wording.clear); else "too few to say"."""
    unit = cached_reports.treatment_report(condition, treatment, Filters())
    return {
        "condition": condition,
        "treatment": treatment,
        "unit": unit,
        "enough": not unit.suppressed and wording.clear(unit.improved),
    }


@bp.get("/search")
def search():
    """Conditions and treatments matching a name, brand, synonym or ICD-10-CM code; first, a shortcut to the
    report of a treatment for a condition the query names ("Metformin for Type 2 diabetes") with its headline."""
    q = _query_text()
    conditions = catalog.search_conditions(q) if q else []
    treatments = catalog.search_treatments(q) if q else []
    shortcuts = [_shortcut(c, t) for c, t in catalog.search_pairs(q)] if q else []
    # "Ambien", "statin": the catalog's drugs come before conditions the catalog lacks.
    treatments_first = any(h.in_catalog for h in treatments) and not any(h.in_catalog for h in conditions)
    return render_template(
        "catalog/search.html",
        q=q,
        conditions=conditions,
        treatments=treatments,
        treatments_first=treatments_first,
        shortcuts=shortcuts,
    )


@bp.get("/conditions")
def conditions():
    """All conditions, alphabetically, paginated."""
    page = db.paginate(select(Condition).order_by(Condition.name), page=page_arg(), per_page=50, error_out=False)
    return render_template("catalog/conditions.html", page=page, counts=cached_reports.condition_counts())


@bp.route("/conditions/new", methods=["GET", "POST"])
@login_required
def new_condition():
    """Add a missing condition, unless it already exists under this or another name."""
    form = ConditionForm(name=request.args.get("name", ""), icd10_code=vocab.normalize_icd10)  # prefilled from a search
    broad = catalog.broad_conditions(form.name.data or "") if form.is_submitted() else []
    if len(broad) > 1:  # a broad word: the participant chooses the diagnosis, nothing is added
        form.name.errors = [
            _(
                "%(name)s can mean %(meanings)s: choose the one meant, or name the condition more exactly.",
                name=form.name.data,
                meanings=", ".join(c.name for c in broad),
            )
        ]
        return render_template("catalog/new_entry.html", form=form, kind="condition")
    if form.validate_on_submit():
        entry, created = catalog.add_condition(form.name.data, form.icd10.data, form.synonym_list(), user=current_user)
        return _added(
            entry,
            created,
            _("%(name)s is already in the catalog; here it is.", name=entry.name),
            url_for("reports.condition", slug=entry.slug),
        )
    return render_template("catalog/new_entry.html", form=form, kind="condition")


@bp.get("/treatments")
def treatments():
    """All treatments, alphabetically, paginated; optionally only one kind."""
    query = select(Treatment).order_by(Treatment.name)
    kind = request.args.get("kind", "")
    if kind:
        query = query.where(Treatment.kind == kind)
    page = db.paginate(query, page=page_arg(), per_page=50, error_out=False)
    return render_template("catalog/treatments.html", page=page, kind=kind)


@bp.get("/treatments/<slug>")
def treatment(slug: str):
    """The drug page: a treatment's summary for every condition it is shown for, and its side effects overall."""
    entry = db.first_or_404(select(Treatment).where(Treatment.slug == slug))
    overview = cached_reports.treatment_overview(entry)
    side_effects = charts.term_shares(overview.side_effects, cached_reports.policy(), overview.n)
    time_uses, time_chart = cached_reports.drug_time(entry, overview)  # staying on it, a curve per shown condition
    if request.args.get("format") == "csv":
        if time_chart is None or request.args.get("chart") != time_chart.id:
            abort(404, _("No such chart on this page."))
        return Response(
            frame_to_csv(time_chart.table.frame()),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{entry.slug}-{time_chart.id}.csv"'},
        )
    return render_template(
        "catalog/treatment.html",
        treatment=entry,
        overview=overview,
        side_effects=side_effects,
        time_uses=time_uses,
        time_chart=time_chart,
        time_csv=url_for("catalog.treatment", slug=slug, format="csv", chart="staying"),
    )


@bp.route("/treatments/new", methods=["GET", "POST"])
@login_required
def new_treatment():
    """Add a missing treatment; a brand name is filed under its generic drug."""
    form = TreatmentForm(name=request.args.get("name", ""))
    if form.validate_on_submit():
        entry, created = catalog.add_treatment(form.name.data, form.kind.data, user=current_user)
        return _added(
            entry,
            created,
            _("%(name)s is already in the catalog as %(entry)s.", name=form.name.data.strip(), entry=entry.name),
            url_for("catalog.treatment", slug=entry.slug),
        )
    return render_template("catalog/new_entry.html", form=form, kind="treatment")


@bp.get("/doctors")
def doctors():
    """Find a doctor by name, specialty, place and condition, best rated (top-box lower bound) first."""
    filters = {name: _query_text(name) for name in ("q", "specialty", "city", "country", "condition")}
    condition = None
    if filters["condition"]:
        condition = condition_or_404(filters["condition"])
    found = catalog.search_doctors(filters["q"], filters["specialty"], filters["city"], filters["country"])
    ranked = cached_reports.find_doctors(found, condition)
    page = Page(ranked, page_arg(), per_page=25)
    conditions = catalog.condition_choices()
    rows = [(doctor.id, score.top_box, score.n) for doctor, score in page.items if score and not score.suppressed]
    notes = wording.rank_notes(rows, what="rated 9 or 10", reports="ratings")
    return render_template("catalog/doctors.html", page=page, filters=filters, conditions=conditions, notes=notes)


@bp.get("/doctors/<int:doctor_id>")
def doctor(doctor_id: int):
    """One doctor's CAHPS-style scores, overall and per condition, and recent comments."""
    entry = db.get_or_404(Doctor, doctor_id)
    report = cached_reports.doctor_report(entry)
    comments = ratings.recent_comments(entry, page=page_arg())
    return render_template("catalog/doctor.html", doctor=entry, report=report, comments=comments)


@bp.route("/doctors/new", methods=["GET", "POST"])
@login_required
def new_doctor():
    """Add a doctor, unless one of that name already practises in that city."""
    form = DoctorForm()
    if form.validate_on_submit():
        entry, created = catalog.add_doctor(
            form.name.data, form.specialty.data, form.city.data, form.country.data, user=current_user
        )
        return _added(
            entry,
            created,
            _("%(name)s in %(city)s is already in the catalog; here they are.", name=entry.name, city=entry.city),
            url_for("catalog.doctor", doctor_id=entry.id),
        )
    return render_template("catalog/new_entry.html", form=form, kind="doctor")


@bp.errorhandler(ValueError)
def _bad_value(error: ValueError):
    # Answered here, not by abort(): an exception raised inside an error handler is a 500.
    db.session.rollback()
    return errors.handle_http(BadRequest(str(error)))
