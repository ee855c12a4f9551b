"""The `registry` command (also `python -m registry`): Flask's run/routes/shell, `serve`, and the registry's
own commands, which create_app attaches to every app (registry.cli.register_commands)."""

from __future__ import annotations

import importlib.util
import os
import sys

import click
from flask.cli import FlaskGroup

from registry import __version__
from registry.app import create_app


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
@click.version_option(__version__, "--version", prog_name="registry", message="%(prog)s %(version)s")
def cli():
    """The treatment-experience registry.

    Start here: `registry demo` serves a registry with a demo community on
    http://127.0.0.1:5000. `registry init` prepares a database for real use.
    """


@click.command("serve", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve_command(gunicorn_args):
    """Serve the registry with gunicorn and the packaged configuration (registry/web/gunicorn_conf.py).

    Settings come from the environment (REGISTRY_BIND, REGISTRY_WORKERS, REGISTRY_THREADS,
    REGISTRY_PROXY_IPS, and the app's own); any further arguments go to gunicorn as they are,
    e.g. `registry serve --workers 2`. Needs the server extra: pip install "treatment-registry[server]".
    """
    if importlib.util.find_spec("gunicorn") is None:
        raise click.ClickException('gunicorn is not installed: pip install "treatment-registry[server]"')
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:registry.web.gunicorn_conf", *gunicorn_args]
    os.execv(sys.executable, argv)


cli.add_command(serve_command)  # on the group itself: serving needs no app in this process


if __name__ == "__main__":
    cli()
