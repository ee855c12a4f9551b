"""Packaging glue pyproject.toml cannot express: the top-level templates/ travel inside the wheel, and
the translation catalogs travel compiled.

templates/ stays where it is in the checkout (the source every template edit goes to); the wheel
installs it as registry/templates, where create_app looks first. Everything else is in pyproject.toml.
"""

import sys
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class build_py_with_catalogs(build_py):
    """Compile registry/translations/*/LC_MESSAGES/messages.po to .mo before the files are copied."""

    def run(self):
        sys.path.insert(0, str(HERE))
        from scales.catalogs import compile_catalogs  # the one compiler the app also runs in a checkout

        compile_catalogs(HERE / "registry" / "translations")
        super().run()


setup(
    cmdclass={"build_py": build_py_with_catalogs},
    packages=find_packages(include=["registry*", "reports*", "scales*", "forms*"]) + ["registry.templates"],
    package_dir={"registry.templates": "templates"},
    package_data={
        "registry": [
            "data/*.json",
            "data/*.tsv",
            "migrations/*",
            "migrations/versions/*.py",
            "static/*",
            "static/vendor/*",
            "translations/*/LC_MESSAGES/*.po",
            "translations/*/LC_MESSAGES/*.mo",
        ],
        "registry.templates": ["*.html", "**/*.html", "**/*.txt", "**/*.xml", "**/*.json"],
    },
)
