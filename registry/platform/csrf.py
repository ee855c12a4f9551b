"""CSRF protection: a strict token on every form, plus a same-origin check that works over HTTPS.

Flask-WTF's own HTTPS check (WTF_CSRF_SSL_STRICT) refuses any POST without a Referer, and a
browser may send none (privacy settings, extensions, a Referrer-Policy). The token already proves
the form came from our page; the browser's Origin header (or, without it, the Referer) is checked
only where present, and must name this very site.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request
from flask_wtf.csrf import CSRFProtect

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of a URL, the default port filled in; None for anything unparsable."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a port that is not a number, or out of range
        return None
    if not parts.scheme or not parts.hostname:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port


def same_origin_failure() -> str | None:
    """Why this request's Origin or Referer is not this site, or None when it is (or neither is sent)."""
    here = _origin(f"{request.scheme}://{request.host}/")
    origin = request.headers.get("Origin")
    if origin is not None:
        # "null" comes from sandboxed frames and opaque contexts: never our own page.
        if _origin(origin) != here:
            return "The Origin header does not match this site."
        return None
    referrer = request.headers.get("Referer")
    if referrer and _origin(referrer) != here:
        return "The Referer header does not match this site."
    return None


class SameOriginCSRFProtect(CSRFProtect):
    """CSRFProtect with the token check kept and the Referer demand replaced by a same-origin check."""

    def protect(self, apply_exemptions=False):
        super().protect(apply_exemptions)  # the token; WTF_CSRF_SSL_STRICT is off (see create_app)
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            failure = same_origin_failure()
            if failure:
                self._error_response(failure)
