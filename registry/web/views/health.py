"""GET /health: for the proxy's and the container's health checks."""

from __future__ import annotations

from flask import Blueprint, jsonify

from registry.platform.extensions import limiter
from registry.web import health

bp = Blueprint("health", __name__)


@bp.get("/health")
@limiter.exempt
def status():
    """200 with the checks when this server can serve; 503 when its database is unreachable or behind."""
    report, healthy = health.check()
    response = jsonify(report)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
