"""The home page, the about page and the language switcher (the app's assets are served by registry.web.views.assets)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request
from flask_login import current_user

from registry.catalog.catalog import popular_conditions
from registry.platform import i18n
from registry.platform.extensions import db
from registry.web.views import same_site_path
from scales.i18n import gettext as _

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """What the registry is, a condition search and the most reported conditions."""
    return render_template("main/index.html", conditions=popular_conditions(limit=12))


@bp.get("/about")
def about():
    """How the registry works and what it is not."""
    return render_template("main/about.html")


@bp.route("/language", methods=["GET", "POST"])
def language():
    """Read the site in another language, back on the same page: a cookie on this browser and, when a
    signed-in person posts it (CSRF-checked), their account's choice too."""
    form = request.form if request.method == "POST" else request.args
    code = form.get("lang", "")
    if code not in i18n.codes():
        abort(400, description=_("That language is not offered here."))
    if request.method == "POST" and current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    response = redirect(same_site_path(form.get("next", ""), "/"))
    response.set_cookie(
        i18n.COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True, secure=request.is_secure
    )
    return response
