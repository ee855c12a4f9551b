"""The treatment-experience registry: its domain, storage and web application.

Importing the package loads nothing else (no Flask): it names the release and where the package's files
are. The application factory is registry.app.create_app; the `registry` command is registry.__main__.cli.
"""

from __future__ import annotations

from pathlib import Path

# This release: the top entry of CHANGELOG.md (tests/test_release_version.py holds the two equal). It names
# the release in /health and `registry --version`, and namespaces the shared report cache (registry/platform/cache.py).
__version__ = "0.4.0"

PACKAGE = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE.parent
# An installed wheel carries the templates inside the package (setup.py maps them there);
# a checkout (editable install, tests) reads the top-level templates/ directly.
TEMPLATES = PACKAGE / "templates" if (PACKAGE / "templates").is_dir() else PROJECT_ROOT / "templates"
MIGRATIONS = PACKAGE / "migrations"
