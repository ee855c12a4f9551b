"""Side effects across a condition's treatments: which cause the least of one side effect."""

from __future__ import annotations

from flask import Blueprint, render_template, request

import scales
from forms.experience import normalize_term
from registry.reporting import cached_reports
from registry.web.views import condition_or_404
from reports import side_effects

bp = Blueprint("side_effects", __name__)


@bp.get("/conditions/<slug>/side-effects")
def condition(slug: str):
    """Pick a side effect; the condition's treatments ranked by the share reporting it (published numbers only)."""
    entry = condition_or_404(slug)
    policy = cached_reports.policy()
    table = cached_reports.cached_report(
        entry, "side_effects", (), lambda: side_effects.side_effect_table(cached_reports.report_source(), entry, policy)
    )
    term = normalize_term(request.args.get("term") or "")  # as the form stores terms
    ranking = table.ranking(policy, term) if term else None
    # A term that appears for no treatment gets one answer whether a few people wrote it or none: a starter
    # term (public, on the form) says so plainly; any other is not found.
    status = 404 if term and ranking is None and term not in scales.SIDE_EFFECT_STARTER_TERMS else 200
    return render_template(
        "reports/side_effects.html", condition=entry, table=table, term=term, ranking=ranking
    ), status
