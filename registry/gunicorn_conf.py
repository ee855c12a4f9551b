"""Where 0.2.0 kept gunicorn's configuration: unit files written for it run `gunicorn -c
python:registry.gunicorn_conf`. The configuration is registry.web.gunicorn_conf; this name stays so that an
upgrade needs no edit of the unit file (CHANGELOG.md, 0.3.0)."""

from registry.web.gunicorn_conf import *  # noqa: F403  (gunicorn reads the settings from this module's names)
