"""Warm-up where the app serves: the vocabularies load and the templates compile in the background, so that
a server's first search and first page are as fast as later ones."""

from __future__ import annotations

import threading

from flask import Flask
from sqlalchemy.orm import configure_mappers

from registry.catalog import vocab


def start(app: Flask, serving: bool) -> None:
    """Start loading the vocabularies now, so that the first search is as fast as later ones.

    Only where the app serves: a `registry` command (seed-demo, export, ...) has no search to speed
    up; `registry demo` starts the load itself.
    """
    preload = app.config["PRELOAD_VOCABULARIES"]
    if preload is None:
        preload = not app.testing
    if serving and str(preload).lower() not in {"0", "false", "no", "off"}:
        vocab.start_preload()
        # A worker's first request otherwise configures SQLAlchemy's mappers (~0.3 s) and its page's
        # first render compiles the template (~0.2 s, the search page's included): done here in the
        # background, every page is as fast the first time as later.
        threading.Thread(target=_warm_up, args=(app,), name="warm-up", daemon=True).start()


def _warm_up(app: Flask) -> None:
    """Configure the ORM's mappers and compile every HTML template into the environment's cache."""
    configure_mappers()
    for name in app.jinja_env.list_templates(filter_func=lambda name: name.endswith(".html")):
        try:
            app.jinja_env.get_template(name)
        except Exception:  # a template that does not compile fails on its own page, as before
            app.logger.warning("template %s does not compile", name)
