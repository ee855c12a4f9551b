"""Text keys for matching names case-, space- and accent-insensitively."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case, strip accents and collapse runs of whitespace to one space."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def name_key(text: str) -> str:
    """The key two names share when they differ only in case, spacing, accents or punctuation.

    "Crohn's disease", "crohns  disease" and "Crohn’s Disease" all map to "crohns disease".
    """
    folded = fold(text).replace("'", "").replace("\u2019", "")
    return " ".join(_NON_WORD.sub(" ", folded).split())


def slugify(text: str) -> str:
    """A URL slug: ascii lower-case words joined by hyphens."""
    return name_key(text).replace(" ", "-") or "item"


def clean(text: str | None) -> str:
    """Trim and collapse inner whitespace of user-entered text (keeps case and accents)."""
    return " ".join((text or "").split())
