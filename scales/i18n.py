"""Words in the reader's language, for code that knows nothing of requests.

scales/, reports/ and forms/ call gettext, ngettext and the format_* functions here; the app installs
the request's translations and locale (registry.platform.i18n), so outside a request (the CLI, the
exports, a test of a pure function) every word is the English source and every number English.

The source strings are English and are the message ids: a catalog (registry/translations/<lang>)
maps them to a language. Scale labels, help texts and descriptions are extracted by
scales.catalogs.extract_scales, so scales/__init__.py keeps its plain tables.
"""

from __future__ import annotations

import gettext as _stdlib_gettext
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Callable, Iterator

from babel import Locale, numbers
from babel.support import LazyProxy

_null = _stdlib_gettext.NullTranslations()


def _english() -> _stdlib_gettext.NullTranslations:
    return _null


def _no_locale() -> Locale | None:
    return None


def _no_catalog(code: str) -> _stdlib_gettext.NullTranslations:
    return _null


_translations: Callable[[], _stdlib_gettext.NullTranslations] = _english
_locale: Callable[[], Locale | None] = _no_locale
_catalog: Callable[[str], _stdlib_gettext.NullTranslations] = _no_catalog
# A language chosen for a stretch of code (language_of), over the request's: exports and FHIR write English
# and each translation beside it, mails the recipient's language.
_forced: ContextVar[str | None] = ContextVar("forced_language", default=None)


def install(translations: Callable, locale: Callable, catalog: Callable[[str], object] | None = None) -> None:
    """Take the words and the locale from these (the app passes Flask-Babel's, read per request), and
    a language's catalog by its code from catalog (for language_of)."""
    global _translations, _locale, _catalog
    _translations, _locale = translations, locale
    _catalog = catalog or _no_catalog


@contextmanager
def language_of(code: str) -> Iterator[None]:
    """Words and numbers in this language inside the block, whatever the request reads."""
    token = _forced.set(code)
    try:
        yield
    finally:
        _forced.reset(token)


def _words() -> _stdlib_gettext.NullTranslations:
    forced = _forced.get()
    if forced is None:
        return _translations()
    return _null if forced == "en" else _catalog(forced)


def locale() -> Locale:
    """The reader's locale (or language_of's), English outside a request."""
    forced = _forced.get()
    if forced is not None:
        return Locale.parse(forced)
    return _locale() or Locale("en")


def language() -> str:
    """The reader's language code: "en", "es"."""
    return locale().language


def gettext(message: str, **variables) -> str:
    """The message in the reader's language, formatted with %(name)s variables when given."""
    text = _words().gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """The singular or plural message for num (the language's plural rule); %(num)s is num, as Flask-Babel does."""
    variables.setdefault("num", num)
    return _words().ngettext(singular, plural, num) % variables


def lazy_gettext(message: str, **variables) -> LazyProxy:
    """A message translated when it is shown: for labels written once at import (form classes)."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; it is translated where it is shown."""
    return message


def format_percent(share: float) -> str:
    """A share as the reader's locale writes a whole percent: 0.55 -> "55%" in English, "55 %" in Spanish."""
    return _percent(str(locale()), share)


def format_number(value: float | int, digits: int | None = None) -> str:
    """A number as the reader's locale writes it: 12,345.6 in English, 12.345,6 in Spanish."""
    return _number(str(locale()), value, digits)


def number_signs() -> tuple[str, str]:
    """The reader's decimal sign and thousands sign: (".", ",") in English, (",", ".") in Spanish."""
    code = str(locale())
    return numbers.get_decimal_symbol(code), numbers.get_group_symbol(code)


# Babel re-reads the pattern and quantizes a Decimal on every call; a page writes the same few hundred
# numbers (whole percents, counts) thousands of times, so each locale's spelling of each is kept.
@lru_cache(maxsize=16384)
def _percent(code: str, share: float) -> str:
    return numbers.format_percent(share, locale=code)


@lru_cache(maxsize=16384)
def _number(code: str, value: float | int, digits: int | None) -> str:
    if digits is None:
        return numbers.format_decimal(value, locale=code)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return numbers.format_decimal(value, format=pattern, locale=code)
