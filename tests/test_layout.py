"""The house's layout holds: reports/ is pure, scales/ stands alone, and no two packages import each other."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("scales", "reports", "registry")  # each may import only those before it


def _modules(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _imports(path: Path) -> set[str]:
    """Every module an import statement names (top level or inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _package_edges() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    for package in PACKAGES:
        for module, path in _modules(package):
            for name in _imports(path):
                target = name.split(".")[0]
                if target in PACKAGES and target != package:
                    edges.setdefault((package, target), []).append(f"{module} -> {name}")
    return edges


def test_no_two_packages_import_each_other():
    edges = _package_edges()
    both_ways = [(a, b, edges[(a, b)][:3], edges[(b, a)][:3]) for a, b in edges if (b, a) in edges and a < b]
    assert both_ways == []


def test_arrows_point_one_way():
    """scales <- reports <- registry: a package imports only packages before it in PACKAGES."""
    wrong = {
        edge: found[:3] for edge, found in _package_edges().items() if PACKAGES.index(edge[1]) > PACKAGES.index(edge[0])
    }
    assert wrong == {}


def test_reports_import_no_framework_or_models():
    """Every module of reports/ and scales/ imported in a fresh interpreter loads neither Flask nor SQLAlchemy."""
    modules = [module for package in ("scales", "reports") for module, _ in _modules(package)]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'registry', 'werkzeug')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_registry_package_imports_without_flask():
    """`import registry` (and its pure helpers) does not start the web stack: create_app is in registry.app."""
    code = "import sys, registry, registry.text\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'flask'))\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_readme_layout_names_every_module_and_no_missing_one():
    """README's Layout section names every module of registry/ and reports/, and no file that is gone."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    named = set(re.findall(r"\b([a-z_]+\.py)\b", block))
    modules = {p.name for package in ("registry", "reports") for p in (ROOT / package).glob("*.py")}
    assert sorted(modules - named - {"__init__.py"}) == []
    files = {p.name for p in ROOT.rglob("*.py") if ".venv" not in p.parts}
    assert sorted(named - files - {"config.py"}) == []  # config.py: the instance's own settings file
