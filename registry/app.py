"""The Flask application factory: create_app reads as the table of contents of the app's setup."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from registry import MIGRATIONS, TEMPLATES

# Each module's blueprint `bp`, registered in this order (errors registers handlers instead).
BLUEPRINTS = (
    "main",
    "auth",
    "catalog",
    "experiences",
    "reports",
    "ratings",
    "research",
    "assets",
    "api",
    "account",
    "moderation",
    "health",
    "fhir",
    "followups",
    "following",
    "side_effects",
)


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the registry application."""
    from registry import metrics, settings, web
    from registry.cli import register_commands

    app = _new_app(test_config)
    settings.load(app, test_config)  # defaults, config.py and REGISTRY_*, derived settings, secrets
    app.extensions["disclosure"] = settings.disclosure_policy(app)  # every published number goes through it
    _init_extensions(app)  # database (and report upkeep), migrations, CSRF, cache, compression, limits, log-ins, mail
    web.install(app)  # converters, request hooks, the log-in loader, template filters
    _register_blueprints(app)
    metrics.init_app(app)  # /metrics and request counts, when REGISTRY_METRICS is on
    register_commands(app)
    _preload_vocabularies(app)
    return app


def _new_app(test_config: dict | None) -> Flask:
    """The Flask object with its templates and instance folder (config.py, generated keys, the default SQLite file).

    The instance folder is named explicitly in production, since an installed package's default is
    <venv>/var/registry-instance.
    """
    instance_path = (
        os.environ.get("REGISTRY_INSTANCE_PATH") if test_config is None else test_config.get("INSTANCE_PATH")
    )
    app = Flask(
        "registry",
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(TEMPLATES),
    )
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)  # keys and maybe the database
    return app


def _init_extensions(app: Flask) -> None:
    from sqlalchemy import event

    from registry import models, report_upkeep  # noqa: F401  (models registers the tables)
    from registry.extensions import cache, compress, csrf, db, limiter, login_manager, mail, migrate

    db.init_app(app)
    report_upkeep.install()  # the report tables follow every write of an experience
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    cache.init_app(app)
    compress.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    mail.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """Foreign keys on, WAL for concurrent readers, and a busy timeout instead of errors."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _register_blueprints(app: Flask) -> None:
    import importlib

    from registry.views import errors

    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(f"registry.views.{name}").bp)
    errors.register(app)


def _preload_vocabularies(app: Flask, serving: bool | None = None) -> None:
    """Start loading the vocabularies now, so that the first search is as fast as later ones.

    Only where the app serves: a `registry` command (seed-demo, export, ...) has no search to speed
    up; `registry demo` starts the load itself.
    """
    import click

    if serving is None:
        serving = click.get_current_context(silent=True) is None  # gunicorn workers: no click context
    preload = app.config["PRELOAD_VOCABULARIES"]
    if preload is None:
        preload = not app.testing
    if serving and str(preload).lower() not in {"0", "false", "no", "off"}:
        import threading

        from registry import vocab

        vocab.start_preload()
        # A worker's first request otherwise configures SQLAlchemy's mappers (~0.3 s) and its page's
        # first render compiles the template (~0.2 s, the search page's included): done here in the
        # background, every page is as fast the first time as later.
        threading.Thread(target=_warm_up, args=(app,), name="warm-up", daemon=True).start()


def _warm_up(app: Flask) -> None:
    """Configure the ORM's mappers and compile every HTML template into the environment's cache."""
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    for name in app.jinja_env.list_templates(filter_func=lambda name: name.endswith(".html")):
        try:
            app.jinja_env.get_template(name)
        except Exception:  # a template that does not compile fails on its own page, as before
            app.logger.warning("template %s does not compile", name)
