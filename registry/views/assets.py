"""Assets served by the app itself: plotly.js from the installed plotly package, never a CDN."""

from __future__ import annotations

import functools

import plotly
from flask import Blueprint, Response, abort

bp = Blueprint("assets", __name__, url_prefix="/assets")

ONE_YEAR = 365 * 24 * 3600


@functools.cache
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode("utf-8")


@bp.get("/plotly-<version>.min.js")
def plotly_js(version: str):
    """plotly.js under a versioned URL, cached for a year (a new plotly gets a new URL)."""
    if version != plotly.__version__:
        abort(404)
    response = Response(_plotly_js(), mimetype="text/javascript")
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    return response


@bp.app_context_processor
def _asset_urls():
    return {"plotly_version": plotly.__version__}
