"""What people type: keys for matching names case-, space- and accent-insensitively, contact details in free
text, cleaning, and ids typed into a URL or form. Pure; the registry uses the same helpers."""

from __future__ import annotations

import math
import re
import unicodedata

from scales.i18n import format_number

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


# Characters that change how text is shown without being seen: bidirectional embeddings,
# overrides and isolates ("evil" shown as "live"), zero-width spaces, the word joiner, the byte
# order mark, tag characters (hidden ASCII), and control characters other than tab and newlines.
# Zero-width (non-)joiners stay: emoji sequences and several scripts need them.
_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)


def strip_invisible(text: str | None) -> str | None:
    """Text without bidirectional overrides and other invisible control characters (None stays None)."""
    if text is None:
        return None
    return _INVISIBLE.sub("", text)


def clean(text: str | None) -> str:
    """Trim and collapse inner whitespace of user-entered text (keeps case and accents)."""
    return " ".join((text or "").split())


# Top-level domains that spam uses, without two-letter ones that are also English words ("helped.so I").
_TLDS = (
    "com|org|net|info|biz|io|co|ly|me|app|dev|xyz|top|site|online|shop|store|club|live|link|click|today|tv|cc|"
    "ru|cn|de|uk|fr|nl|pl|eu|es|ch|ca|au|su|tk|ml|ga|cf|gq|pw|ws|gg|sh|ai|gl|icu|vip|pro|health|care|pharmacy|"
    "rx|buy|sale|deals|win|bid|loan|online|website|space|fun|ltd|name|mobi|asia|example|test"
)
# Characters that look like Latin letters or dots, as people use them to slip a link past a filter.
_LOOKALIKES = str.maketrans(
    {
        "а": "a",
        "е": "e",
        "о": "o",
        "р": "p",
        "с": "c",
        "х": "x",
        "у": "y",
        "і": "i",
        "ѕ": "s",
        "ј": "j",
        "ԁ": "d",
        "һ": "h",
        "ӏ": "l",
        "ο": "o",
        "α": "a",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "τ": "t",
        "\u3002": ".",
        "\u2024": ".",
        "\u00b7": ".",
        "\u2219": ".",
    }
)
_MASKED_DOT = re.compile(r"(?i)\s*[\[({]\s*(?:\.|dot)\s*[\])}]\s*|\s+dot\s+(?=[a-z]{2,}\b)")


def unmask(text: str) -> str:
    """The text as a link filter should read it: full-width and look-alike letters folded, "[.]" and " dot " as dots."""
    text = unicodedata.normalize("NFKC", text).translate(_LOOKALIKES)
    text = re.sub(r"(?i)\bhxxp", "http", text)
    return _MASKED_DOT.sub(".", text)


# Enough to catch what people paste (an address, a number to call, a link), not a validator.
_CONTACT_PATTERNS = {
    "an email address": re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+", re.UNICODE),
    "a link": re.compile(
        r"(?i)\b(?:https?|ftp|javascript|vbscript|file)\s*:|\bdata:[a-z]+/"  # a scheme
        r"|(?<![\w:/])//[\w-]+(?:\.[\w-]+)*"  # //host (scheme-relative)
        r"|\bwww\.\S+"
        rf"|(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS})\b(?![\w-])"  # name.tld
        r"|\b[a-z0-9-]+\.[a-z]{2,}/[\w/?=&%.-]"  # any name.tld/path
    ),
    # 7+ digits with the usual separators; years and doses ("2019", "500 mg") are far shorter.
    "a phone number": re.compile(r"(?<!\w)\+?\(?\d[\d\s().-]{6,}\d(?!\w)"),
}


def contact_details(text: str | None) -> list[str]:
    """What kinds of contact details the text contains (empty when none)."""
    if not text:
        return []
    text = unmask(text)
    found = []
    for label, pattern in _CONTACT_PATTERNS.items():
        for match in pattern.finditer(text):
            if label == "a phone number" and sum(c.isdigit() for c in match.group()) < 7:
                continue
            found.append(label)
            break
        if label == "an email address":  # an address's domain is not also a link
            text = pattern.sub(" ", text)
    return found


def thousands(value) -> str:
    """A number as the reader's locale writes it (8,242; 1,234.5 in English); None as an empty string; text unchanged.

    A float keeps the decimals it has (6.53 stays 6.53, 12.0 stays 12.0); one Python writes with an
    exponent, and NaN or infinity, are written as Python writes them.
    """
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return format_number(value)
    text = f"{value:,}"
    if not math.isfinite(value) or "e" in text:
        return text
    return format_number(value, len(text.partition(".")[2]))


def doctor_key(name: str) -> str:
    """A doctor's name key without the "Dr" title patients sometimes type."""
    words = name_key(name).split()
    if words and words[0] in {"dr", "doctor", "prof", "professor"}:
        words = words[1:]
    return " ".join(words)


# Ids are PostgreSQL INTEGER columns: a larger number typed into a URL or form is no id at all.
MAX_ID = 2**31 - 1


def parse_id(raw) -> int | None:
    """An id from request text ("42"), or None when it is not a whole number from 1 to MAX_ID."""
    text = str(raw if raw is not None else "").strip()
    # isascii: "²".isdigit() is true, but int() refuses it; 10 digits at most before int() is called.
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None
