"""Assets served by the app itself, never a CDN: plotly.js's basic bundle (bar, scatter, pie:
every chart the registry draws), shipped in registry/static/vendor, or the full bundle of the
installed plotly package when the two disagree on the plotly.js version."""

from __future__ import annotations

import functools
import gzip
import re

import plotly
from flask import Blueprint, Response, abort, request
from plotly.offline import get_plotlyjs

from registry import PACKAGE

bp = Blueprint("assets", __name__, url_prefix="/assets")

ONE_YEAR = 365 * 24 * 3600
VENDOR = PACKAGE / "static" / "vendor"
_VERSION = re.compile(rb"plotly\.js (?:\([^)]*\) )?v(\d+\.\d+\.\d+)")


def bundle_version(source: bytes) -> str | None:
    """The plotly.js version a bundle's header names."""
    found = _VERSION.search(source[:300])
    return found.group(1).decode() if found else None


# plotly.js's defaults that would reach another host, rewritten in the bundle served: the map files'
# folder (topojsonURL) and the Chart Studio server (plotlyServerURL). charts.js sets the same in its
# config and the CSP forbids other hosts; this makes the script itself name none. (The full bundle's
# map styles and tiles stay: the registry draws no map trace, so nothing asks for them.)
REMOTE_DEFAULTS = (
    (b'dflt:"https://cdn.plot.ly/un/"', b'dflt:"/static/vendor/"'),
    (b'dflt:"https://cloud.plotly.com/newchart"', b'dflt:""'),
)
# Every link the script writes into a page (the logo's, the map attribution's) leads nowhere instead of
# to another site: any host, so a new plotly.js's links are covered without naming them here.
_LINK = re.compile(rb'(\.href=)"https?://[^"]*"')


def same_origin(script: bytes) -> bytes:
    """script with plotly.js's remote defaults pointed at this site or off, and its links to other sites off."""
    for remote, here in REMOTE_DEFAULTS:
        script = script.replace(remote, here)
    return _LINK.sub(rb'\1"#"', script)


@functools.cache
def _full_bundle() -> bytes:

    return same_origin(get_plotlyjs().encode("utf-8"))


@functools.cache
def plotly_bundle() -> tuple[str, bytes, bytes]:
    """(name, script, gzipped script): the basic bundle when it is the installed plotly's plotly.js."""
    wanted = bundle_version(_full_bundle())
    for path in sorted(VENDOR.glob("plotly-basic-*.min.js")):
        source = path.read_bytes()
        if bundle_version(source) == wanted:
            name, script = "basic", same_origin(source)
            break
    else:  # a plotly upgrade without a new basic bundle: correct charts first, size second
        name, script = "full", _full_bundle()
    return name, script, gzip.compress(script, 9, mtime=0)


@bp.get("/plotly-<version>.min.js")
def plotly_js(version: str):
    """plotly.js under a versioned URL, cached for a year (a new plotly gets a new URL), gzipped once."""
    if version != plotly.__version__:
        abort(404)
    _, script, packed = plotly_bundle()
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response = Response(packed, mimetype="text/javascript")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(script, mimetype="text/javascript")
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    return response


@bp.app_context_processor
def _asset_urls():
    return {"plotly_version": plotly.__version__}
