"""Report pages: a condition's treatments ranked, one treatment in full, and comparisons."""

from __future__ import annotations

from urllib.parse import urlencode

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
from sqlalchemy.exc import IntegrityError

import scales
from forms.tips import HelpedForm
from registry.catalog import catalog
from registry.contributions import followups, tips
from registry.platform.extensions import db, submit_limit
from registry.reporting import cached_reports
from registry.web.views import condition_or_404, filters_arg, page_arg, treatment_or_404
from reports import charts, slice_charts, time_charts, wording
from reports.csvout import frame_to_csv
from reports.filters import FILTER_SCALES, Filters
from scales.i18n import gettext as _

bp = Blueprint("reports", __name__)


def _csv_or_page(chart_list, template: str, **context):
    """Serve one chart's numbers as CSV when asked (?format=csv&chart=ID), else the page."""
    if request.args.get("format") == "csv":
        chart = next((c for c in chart_list if c.id == request.args.get("chart")), None)
        if chart is None:
            abort(404, _("No such chart on this page."))
        name = f"{context.get('file_stem', 'report')}-{chart.id}.csv"
        return Response(
            frame_to_csv(chart.table.frame()),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    like_me = None
    if current_user.is_authenticated and "condition" in context:
        like_me = cached_reports.like_me(current_user, context["condition"]).query_args()
    return render_template(template, charts=chart_list, filter_scales=FILTER_SCALES, like_me=like_me, **context)


@bp.get("/conditions/<slug>")
def condition(slug: str):
    """Treatments for a condition ranked by the lower bound of "improved", with charts."""
    entry = condition_or_404(slug)
    filters = filters_arg()
    report = cached_reports.condition_report(entry, filters)
    chart_list = (
        []
        if report.suppressed
        else [
            charts.ranking_chart(report),
            charts.popularity_chart(report),
            charts.terms_chart(
                "side_effects",
                _("Most reported side effects for %(condition)s", condition=entry.name),
                report.side_effects,
                cached_reports.policy(),
                report.n,
            ),
        ]
    )
    return _csv_or_page(
        chart_list,
        "reports/condition.html",
        condition=entry,
        report=report,
        filters=filters,
        listed=catalog.treatments_for(entry, [u.slug for u in report.shown]),
        # Words beside a higher share ranked lower (the order is the likely range's low end).
        notes=wording.rank_notes([(u.slug, u.improved, u.n) for u in report.shown]),
        doctors=cached_reports.top_doctors(entry),
        file_stem=entry.slug,
    )


@bp.get("/conditions/<slug>/treatments/<treatment_slug>")
def treatment(slug: str, treatment_slug: str):
    """One treatment for one condition: the summary first, every distribution, and the tips."""
    entry, chosen = condition_or_404(slug), treatment_or_404(treatment_slug)
    filters = filters_arg()
    unit = cached_reports.treatment_report(entry, chosen, filters)
    chart_list = [] if unit.suppressed else charts.treatment_charts(unit, cached_reports.policy())
    staying = None if unit.suppressed else cached_reports.time_curves(entry, [chosen])[chosen.id]  # never filtered
    chart_list += time_charts.time_charts(chosen.name, staying) if staying else []
    # By dose band and by year (issue 19): unfiltered, on a page whose unit is shown under its filters.
    dose, years = (None, None) if unit.suppressed else cached_reports.slice_reports(entry, chosen)
    after_months = None if unit.suppressed else followups.after_months(entry, chosen)  # follow-ups, unfiltered
    chart_list += slice_charts.section_charts(dose, years)
    sort = request.args.get("sort") if request.args.get("sort") in tips.SORTS else "newest"
    reader = current_user if current_user.is_authenticated else None
    # Tips are never filtered: each carries its author's pseudonym elsewhere, so a filtered list, even
    # without names, would tell each author's age, sex or role by its text (tips.py says more).
    tip_page = tips.tip_page(entry, chosen, Filters(), sort, page_arg(), reader)
    return _csv_or_page(
        chart_list,
        "reports/treatment.html",
        condition=entry,
        treatment=chosen,
        unit=unit,
        filters=filters,
        tips=tip_page,
        sort=sort,
        sorts=tips.sort_labels(),
        file_stem=f"{entry.slug}-{chosen.slug}",
        staying=staying,
        dose=dose,
        years=years,
        after_months=after_months,
    )


@bp.post("/tips/<int:tip_id>/helped")
@submit_limit
@login_required
def tip_helped(tip_id: int):
    """ "This helped me" on a tip (helped=1), or taking it back (helped=0); one per participant and tip."""
    tip = tips.votable(tip_id)
    if tip is None:
        abort(404)
    form = HelpedForm()
    if not form.validate_on_submit():
        abort(400, _("This button has expired or is not valid; reload the page and try again."))
    page = url_for("reports.treatment", slug=tip.condition.slug, treatment_slug=tip.treatment.slug)
    back = form.next.data if (form.next.data or "").startswith(page) else page  # never off to another site
    if tip.user_id == current_user.id:
        flash(_("This is your own tip: others can tell whether it helped them."), "info")
        return redirect(f"{back}#tip-{tip.id}")
    helped_me = form.helped.data == "1"
    try:
        tips.vote(current_user, tip, helped_me)
        db.session.commit()
    except IntegrityError:  # the same click twice at once: the other request recorded it
        db.session.rollback()
    flash(_("Thank you: marked as helpful.") if helped_me else _("Taken back."), "success")
    return redirect(f"{back}#tip-{tip.id}")


@bp.get("/conditions/<slug>/compare")
def compare(slug: str):
    """Two to four treatments side by side on the same scales."""
    entry = condition_or_404(slug)
    filters = filters_arg()
    wanted = list(dict.fromkeys(request.args.getlist("t")))
    options, chosen, problem = catalog.compare_choice(entry, wanted)
    units, chart_list = [], []
    if chosen:
        units = cached_reports.compare_report(entry, chosen, filters)
        chart_list = charts.compare_charts(units, cached_reports.policy())
        curves = cached_reports.time_curves(entry, chosen)  # never filtered; shown units only
        chart_list += time_charts.compare_charts(
            [(u.name, curves[t.id]) for u, t in zip(units, chosen) if not u.suppressed]
        )
    if problem and request.args.get("format") == "csv":
        abort(400, problem)
    response = _csv_or_page(
        chart_list,
        "reports/compare.html",
        condition=entry,
        filters=filters,
        units=units,
        options=options,
        wanted=wanted,
        problem=problem,
        file_stem=f"{entry.slug}-compare",
        t_pairs=[("t", s) for s in wanted],
        compare_url=url_for("reports.compare", slug=slug)
        + "?"
        + urlencode([("t", s) for s in wanted] + filters.query_args()),
    )
    return (response, 400) if problem else response


def filter_url(endpoint: str, filters, **values) -> str:
    """The URL of endpoint with the filters as query arguments."""
    return url_for(endpoint, **values) + ("?" + urlencode(filters.query_args()) if filters else "")


@bp.app_context_processor
def _report_helpers():
    return {"scales": scales, "filter_url": filter_url}


@bp.record_once
def _words(state):
    # A global, not a context variable, so that imported macros (reports/_summary.html) see it too.
    state.app.jinja_env.globals["words"] = wording
    state.app.jinja_env.tests["clear_share"] = wording.clear  # a share whose range is narrow enough to put in words
    state.app.jinja_env.globals["time_words"] = time_charts
