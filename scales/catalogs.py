"""The catalogs' build steps: the scales' words for extraction, and .po compiled to .mo.

Only pybabel (babel.cfg's [extractors]), setup.py's build and the app's start import this; pages
never do.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import scales


def compile_catalogs(directory: str | os.PathLike, force: bool = False) -> list[Path]:
    """Compile each <lang>/LC_MESSAGES/*.po under directory to its .mo where missing or older.

    The wheel's build runs it (setup.py), and a checkout's app runs it on start, so an edited
    catalog is never served stale. Written beside, then renamed: workers starting together never
    read half a file.
    """
    compiled = []
    for po in sorted(Path(directory).glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog, use_fuzzy=False)
        os.replace(tmp, mo)
        compiled.append(mo)
    return compiled


def extract_scales(fileobj, keywords, comment_tags, options):
    """Babel extractor for scales/__init__.py (the tables themselves are read: surer than parsing their source): every scale's labels, help texts and description.

    babel.cfg maps the scales module to it, so a label added to a table is in the next
    extraction without being wrapped in N_().
    """
    source = fileobj.read().decode("utf-8").splitlines()

    def line_of(text: str) -> int:
        needle = repr(text)[1:-1]
        return next((i for i, line in enumerate(source, 1) if needle in line), 1)

    for scale in scales.all_scales():
        for code, label in scale.options:
            yield line_of(label), None, label, [f"scale {scale.name}: answer {code}"]
        for code, text in scale.help.items():
            yield line_of(text), None, text, [f"scale {scale.name}: help for {code}"]
        if scale.description:
            yield line_of(scale.description), None, scale.description, [f"scale {scale.name}: description"]
    for term in scales.SIDE_EFFECT_STARTER_TERMS:
        yield (
            line_of(term),
            None,
            term[:1].upper() + term[1:],
            ["a side effect participants tick (stored as its English term)"],
        )
