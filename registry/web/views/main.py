"""The home page and the about page (the app's assets are served by registry.web.views.assets)."""

from __future__ import annotations

from flask import Blueprint, render_template

from registry.catalog.catalog import popular_conditions

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """What the registry is, a condition search and the most reported conditions."""
    return render_template("main/index.html", conditions=popular_conditions(limit=12))


@bp.get("/about")
def about():
    """How the registry works and what it is not."""
    return render_template("main/about.html")
