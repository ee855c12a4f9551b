"""Packaging glue pyproject.toml cannot express: the top-level templates/ travel inside the wheel.

templates/ stays where it is in the checkout (the source every template edit goes to); the wheel
installs it as registry/templates, where create_app looks first. Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
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
        ],
        "registry.templates": ["*.html", "**/*.html", "**/*.txt", "**/*.xml", "**/*.json"],
    },
)
