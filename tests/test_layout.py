"""The house's layout holds: floors and rooms import only downwards, no module circle, no hidden imports.

The floors are the top-level packages (`registry` on `forms` and `reports`, both on `scales`); the rooms are
registry's subpackages, ordered in pyproject.toml's [tool.importlinter] contracts, which import-linter checks.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
FLOORS = ("scales", "forms", "reports", "registry")

# benchmarks/code_size.py measures the same facts for the notes (before and after a change): one definition.
_spec = importlib.util.spec_from_file_location("code_size", ROOT / "benchmarks" / "code_size.py")
code_size = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(code_size)


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]


def _rooms() -> list[str]:
    """registry's subpackages, lowest first, as the rooms contract orders them."""
    (contract,) = [c for c in _contracts() if c.get("containers") == ["registry"]]
    return [layer for layer in reversed(contract["layers"]) if (ROOT / "registry" / layer).is_dir()]


def test_the_import_contracts_hold():
    """import-linter: floors and rooms import only downwards; reports/ and scales/ pure; forms/ without storage."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_every_room_is_placed_and_says_what_it_owns():
    """Each subpackage of registry/ has a place in the rooms contract and a docstring; registry/ itself holds
    only the package's root (paths, version), the factory and the command's entry, besides its rooms (and
    0.2.0's name of gunicorn's configuration, which unit files written for it still run)."""
    packages = {p.parent.name for p in (ROOT / "registry").glob("*/__init__.py")}
    assert sorted(packages - set(_rooms()) - {"models"}) == []  # a new room needs a place in the order
    assert "models" in _rooms()
    for room in packages:
        doc = ast.get_docstring(ast.parse((ROOT / "registry" / room / "__init__.py").read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 8, f"registry/{room}/__init__.py should say what the room owns"
    assert sorted(p.name for p in (ROOT / "registry").glob("*.py")) == [
        "__init__.py",
        "__main__.py",
        "app.py",
        "gunicorn_conf.py",
    ]


def test_no_circles_between_modules():
    """No two modules reach each other through imports, those inside functions and TYPE_CHECKING blocks included."""
    graph = grimp.build_graph(*FLOORS, cache_dir=None)
    edges = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    assert code_size.circles(edges) == []


def test_an_import_inside_a_function_says_why():
    """An import inside a function is there for a measured start-up cost or an optional package, and says so in
    a comment on its line or the line above; never to dodge a circle (the test above finds those)."""
    silent = []
    for _, path in code_size.modules(ROOT):
        lines = path.read_text(encoding="utf-8").splitlines()
        for line in code_size.inner_imports(ast.parse("\n".join(lines))):
            if not code_size.explained(lines, line):
                silent.append(f"{path.relative_to(ROOT)}:{line}: {lines[line - 1].strip()}")
    assert silent == []


def test_the_package_picture_is_drawn_from_the_code_as_it_is():
    """docs/packages.svg is what `python docs/packages.py` draws now (run it after moving a module)."""
    result = subprocess.run([sys.executable, "docs/packages.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, "docs/packages.svg is out of date: run python docs/packages.py"


def test_reports_import_no_framework_or_models():
    """Every module of reports/ and scales/ imported in a fresh interpreter loads neither Flask nor SQLAlchemy
    (import-linter sees their direct imports; this sees what the libraries they import load too)."""
    modules = [m for m, _ in code_size.modules(ROOT) if m.split(".")[0] in ("scales", "reports")]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'registry', 'werkzeug')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_registry_package_imports_without_flask():
    """`import registry` (the paths and version every room reads) does not start the web stack."""
    code = "import sys, registry\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'flask'))\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_readme_layout_names_every_module_and_no_missing_one():
    """README's Layout section names every room of registry/ and every module of its rooms and of reports/
    (views/, models/ and forms/ by their folder), and no module that is gone."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    named = set(re.findall(r"\b([a-z_0-9]+\.py)\b", block)) | set(re.findall(r"\b([a-z_]+)/", block))
    folders = [
        ROOT / "reports",
        ROOT / "registry",
        *(ROOT / "registry" / room for room in _rooms() if room != "models"),
    ]
    modules = {p.name for folder in folders for p in folder.glob("*.py")} - {"__init__.py"}
    modules |= set(_rooms()) | {"views", "forms"}
    assert sorted(modules - named) == []
    files = {p.name for p in ROOT.rglob("*.py") if ".venv" not in p.parts}
    assert sorted(n for n in named if n.endswith(".py") and n not in files and n != "config.py") == []
