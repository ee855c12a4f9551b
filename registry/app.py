"""The Flask application factory: create_app reads as the table of contents of the app's setup."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import event

from registry import MIGRATIONS, TEMPLATES, models  # noqa: F401  (models registers the tables)
from registry.accounts import mail as outbox
from registry.cli import register_commands
from registry.platform import i18n, settings
from registry.platform.extensions import cache, compress, csrf, db, limiter, login_manager, mail, migrate
from registry.reporting import report_upkeep
from registry.web import hooks, metrics, warmup
from registry.web.views import (
    account,
    api,
    assets,
    auth,
    catalog,
    errors,
    experiences,
    fhir,
    following,
    followups,
    health,
    main,
    moderation,
    ratings,
    reports,
    research,
    side_effects,
)

# Each area's blueprint, registered in this order (errors registers handlers instead).
BLUEPRINTS = (
    main,
    auth,
    catalog,
    experiences,
    reports,
    ratings,
    research,
    assets,
    api,
    account,
    moderation,
    health,
    fhir,
    followups,
    following,
    side_effects,
)


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the registry application."""
    app = _new_app(test_config)
    settings.load(app, test_config)  # defaults, config.py and REGISTRY_*, derived settings, secrets
    app.extensions["disclosure"] = settings.disclosure_policy(app)  # every published number goes through it
    _init_extensions(
        app
    )  # database (and report upkeep), migrations, CSRF, cache, compression, limits, log-ins, mail, languages
    hooks.install(app)  # converters, request hooks, the log-in loader, template filters
    _register_blueprints(app)
    metrics.init_app(app)  # /metrics and request counts, when REGISTRY_METRICS is on
    register_commands(app)  # `registry init`, `users`, `demo`, `export`, ... (registry.cli)
    outbox.install_drain(app)  # each worker's first request starts draining the mail outbox
    warmup.start(app, serving=click.get_current_context(silent=True) is None)  # gunicorn workers: no click context
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
    db.init_app(app)
    report_upkeep.install()  # the report tables follow every write of an experience
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    cache.init_app(app)
    compress.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    mail.init_app(app)
    i18n.init_app(app)  # Flask-Babel, the catalogs, the reader's language
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
    for module in BLUEPRINTS:
        app.register_blueprint(module.bp)
    errors.register(app)
