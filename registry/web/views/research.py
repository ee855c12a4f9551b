"""The research page, the codebook, the export download and the export log."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, current_app, render_template, stream_with_context
from flask_login import current_user
from sqlalchemy import select

from forms.research import ExportForm
from registry.interchange import codebook, export, fhir
from registry.models import Condition, ExportLog, Treatment
from registry.platform.extensions import db
from registry.web.hooks import role_required
from registry.web.views import page_arg

bp = Blueprint("research", __name__, url_prefix="/research")


def _form() -> ExportForm:
    conditions = db.session.execute(select(Condition.slug, Condition.name).order_by(Condition.name)).all()
    treatments = db.session.execute(select(Treatment.slug, Treatment.name).order_by(Treatment.name)).all()
    return ExportForm(conditions=[tuple(c) for c in conditions], treatments=[tuple(t) for t in treatments])


@bp.get("")
def index():
    """What the data are, the consent model, the de-identification, how to cite; the export form."""
    form = _form() if current_user.is_authenticated and current_user.has_role("researcher") else None
    return render_template("research/index.html", form=form, today=date.today())


@bp.get("/codebook")
def codebook_page():
    """Every file and field of the export, from the same schema as datapackage.json."""
    return render_template("research/codebook.html", schemas=codebook.schemas(with_text=True))


@bp.post("/export")
@role_required("researcher")
def download():
    """Stream the export as a zip while it is written; log who, what and how many rows."""
    form = _form()
    if not form.validate_on_submit():
        return render_template("research/index.html", form=form, today=date.today()), 400
    req = export.ExportRequest(
        conditions=tuple(form.conditions.data or ()),
        treatments=tuple(form.treatments.data or ()),
        since=form.since.data or None,
        until=form.until.data or None,
        with_text=form.with_text.data,
    )
    fmt = form.format.data
    labelled = bool(form.labelled.data) and fmt != "fhir"
    log = export.start_log(current_user, "web", req, fmt, labelled)
    db.session.commit()
    log_id = log.id
    key = current_app.config["EXPORT_KEY"]
    if fmt == "fhir":
        stream = fhir.stream_ndjson(req, key, on_done=lambda n: export.finish_log(log_id, {"responses": n}))
        name, mimetype = f"registry-fhir-{date.today().isoformat()}.ndjson", fhir.FHIR_NDJSON
    else:
        stream = export.stream_zip(
            req, key, on_done=lambda counts: export.finish_log(log_id, counts), fmt=fmt, labelled=labelled
        )
        suffix = "-parquet" if fmt == "parquet" else ""
        name, mimetype = f"registry-export-{date.today().isoformat()}{suffix}.zip", "application/zip"
    return Response(
        stream_with_context(stream),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@bp.get("/exports")
@role_required("admin")
def log():
    """Every export: who, when, filters and row counts (administrators only)."""
    page = db.paginate(select(ExportLog).order_by(ExportLog.id.desc()), page=page_arg(), per_page=50, error_out=False)
    return render_template("research/log.html", page=page)
