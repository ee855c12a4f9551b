"""The longest functions and largest modules of the application (not tests, not migrations).

    python benchmarks/code_size.py [--top N]

Lines are counted as in the file (blank lines and docstrings included): a function from its
``def`` (decorators excluded) to its last line, a module by its line count.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("registry", "reports", "scales", "forms")  # forms: where it was before registry/forms


def modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def functions(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.lineno, node.end_lineno - node.lineno + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    sizes, funcs = [], []
    for path in modules():
        rel = path.relative_to(ROOT)
        sizes.append((len(path.read_text(encoding="utf-8").splitlines()), str(rel)))
        funcs += [(length, f"{rel}:{line} {name}") for name, line, length in functions(path)]
    print(f"modules: {len(sizes)}, functions: {len(funcs)}")
    print("largest modules (lines):")
    for n, name in sorted(sizes, reverse=True)[: args.top]:
        print(f"  {n:5d}  {name}")
    print("longest functions (lines):")
    for n, name in sorted(funcs, reverse=True)[: args.top]:
        print(f"  {n:5d}  {name}")


if __name__ == "__main__":
    main()
