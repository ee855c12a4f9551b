"""The shape of the code: modules per package, the longest functions, imports inside functions, circles.

    python benchmarks/code_size.py [--top N] [--root CHECKOUT]

Lines are counted as in the file (blank lines and docstrings included): a function from its
``def`` (decorators excluded) to its last line, a module by its line count. Tests, migrations
and benchmarks are left out. An import inside a function counts as explained when a comment
sits on its line or the line above. A circle is a set of modules that reach each other through
imports, those inside functions included (grimp's graph; Tarjan's strongly connected components).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("scales", "forms", "reports", "registry")


def modules(root: Path = ROOT):
    """(dotted name, path) of every application module under root."""
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(root).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.lineno, node.end_lineno - node.lineno + 1


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Which project modules each module imports (grimp; imports inside functions included)."""
    import grimp  # a dev dependency, needed only here

    sys.path.insert(0, str(root))  # the checkout measured, before any installed copy
    floors = [package for package in PACKAGES if (root / package / "__init__.py").is_file()]
    found = grimp.build_graph(*floors, cache_dir=None)
    return {module: found.find_modules_directly_imported_by(module) for module in found.modules}


def inner_imports(tree: ast.AST):
    """The line of every import statement inside a function (of any module), once each."""
    return sorted(
        {
            node.lineno
            for function in ast.walk(tree)
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(function)
            if isinstance(node, (ast.Import, ast.ImportFrom))
        }
    )


def explained(lines: list[str], line: int) -> bool:
    """A comment on the import's line, or above the run of imports it belongs to, says why it sits in a function."""
    above = line - 1
    while above > 0 and lines[above - 1].strip().startswith(("import ", "from ")):
        above -= 1
    return "#" in lines[line - 1] or (above > 0 and lines[above - 1].strip().startswith("#"))


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def measure(root: Path):
    found = list(modules(root))
    per_package, sizes, funcs = Counter(), [], []
    inner, said = 0, 0
    for name, path in found:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0] or name
        per_package[package] += 1
        rel = path.relative_to(root)
        sizes.append((len(lines), str(rel)))
        funcs += [(length, f"{rel}:{line} {fname}") for fname, line, length in functions(tree)]
        for line in inner_imports(tree):
            inner += 1
            said += explained(lines, line)
    return per_package, sizes, funcs, inner, said, circles(graph(root))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--root", type=Path, default=ROOT, help="another checkout to measure (default: this one)")
    args = parser.parse_args()
    per_package, sizes, funcs, inner, said, found = measure(args.root)
    print(f"modules: {len(sizes)}, functions: {len(funcs)}")
    print("modules per package:")
    for package, count in sorted(per_package.items()):
        print(f"  {count:5d}  {package}")
    print("largest modules (lines):")
    for n, name in sorted(sizes, reverse=True)[: args.top]:
        print(f"  {n:5d}  {name}")
    print("longest functions (lines):")
    for n, name in sorted(funcs, reverse=True)[: args.top]:
        print(f"  {n:5d}  {name}")
    print(f"import statements inside functions: {inner} ({said} with a comment saying why)")
    print(f"circles: {len(found)}")
    for component in found:
        print("  " + " <-> ".join(component))


if __name__ == "__main__":
    main()
