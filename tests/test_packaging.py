"""The wheel is the product: templates, static files, migrations and data travel inside it."""

from __future__ import annotations

import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _names(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_carries_every_template(wheel):
    names = _names(wheel)
    templates = sorted(p.relative_to(ROOT / "templates").as_posix() for p in (ROOT / "templates").rglob("*.html"))
    assert len(templates) > 30
    missing = [t for t in templates if f"registry/templates/{t}" not in names]
    assert not missing, f"templates missing from the wheel: {missing}"


def test_wheel_carries_static_files_migrations_and_data(wheel):
    names = _names(wheel)
    package = ROOT / "registry"
    needed = [
        p
        for pattern in ("static/*", "data/*.json", "migrations/*.*", "migrations/versions/*.py")
        for p in package.glob(pattern)
        if p.is_file()
    ]
    assert any(p.parent.name == "versions" for p in needed) and any(p.name == "catalog.json" for p in needed)
    missing = [p.relative_to(ROOT).as_posix() for p in needed if p.relative_to(ROOT).as_posix() not in names]
    assert not missing, f"files missing from the wheel: {missing}"
    assert "registry/migrations/alembic.ini" in names and "registry/migrations/env.py" in names


def test_wheel_holds_no_tests_or_local_state(wheel):
    names = _names(wheel)
    assert not [n for n in names if n.startswith(("tests/", "instance/", "benchmarks/"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith((".sqlite", "secret_key", "export_key"))]


def test_wheel_carries_every_module(wheel):
    names = _names(wheel)
    modules = [
        p.relative_to(ROOT).as_posix()
        for package in ("registry", "reports", "scales")
        for p in (ROOT / package).rglob("*.py")
        if "__pycache__" not in p.parts
    ]
    assert "registry/models/export.py" in modules and "registry/interchange/export.py" in modules
    missing = [m for m in modules if m not in names]
    assert not missing, f"modules missing from the wheel: {missing}"
