"""The JSON API, version 1: the same vocabulary as the forms, reports and export."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from sqlalchemy import select

from registry import catalog
from registry.extensions import csrf, db
from registry.models import Condition

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # read-only JSON; nothing here changes state

MAX_QUERY = 120


def _q() -> str | None:
    q = request.args.get("q")
    if q is None:
        return None
    q = q.strip()
    if not q or len(q) > MAX_QUERY:
        abort(400, f"q must be between 1 and {MAX_QUERY} characters.")
    return q


def _limit() -> int:
    raw = request.args.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        abort(400, "limit must be a whole number from 1 to 100.")
    return int(raw)


@bp.get("/conditions")
def conditions():
    """Conditions with their number of reports; with ?q=, matches including ICD-10-CM entries."""
    q = _q()
    counts = catalog.report_counts()
    if q is not None:
        hits = catalog.search_conditions(q, limit=_limit())
        ids = dict(db.session.execute(select(Condition.slug, Condition.id)).all())
        return jsonify(
            q=q,
            conditions=[
                {"slug": h.slug, "name": h.name, "icd10": h.icd10, "matched": h.matched,
                 "in_catalog": h.in_catalog, "n": counts.get(ids.get(h.slug), 0) if h.slug else 0}
                for h in hits
            ],
        )  # fmt: skip
    rows = db.session.scalars(select(Condition).order_by(Condition.name))
    return jsonify(
        conditions=[{"slug": c.slug, "name": c.name, "icd10": c.icd10, "n": counts.get(c.id, 0)} for c in rows]
    )


@bp.get("/treatments")
def treatments():
    """Treatments matching ?q=; brand names resolve to the generic drug, in the catalog or not."""
    q = _q()
    if q is None:
        abort(400, "Give a search text as ?q=.")
    hits = catalog.search_treatments(q, limit=_limit())
    return jsonify(
        q=q,
        treatments=[
            {"slug": h.slug, "name": h.name, "kind": h.kind, "matched": h.matched, "in_catalog": h.in_catalog}
            for h in hits
        ],
    )
