"""The reader's language: Flask-Babel, the catalogs under registry/translations, and which one a request reads.

A request reads, in order: the language chosen on the account, the one chosen on this browser (the
`lang` cookie, set by the switcher), the best of Accept-Language, English. URLs never carry it.
Every compiled catalog is a language the switcher offers; adding one is docs/translating.md.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from babel import Locale, support
from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, get_locale, get_translations
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

import scales
from scales import catalogs, i18n

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
COOKIE = "lang"
DEFAULT = "en"

babel = Babel()


def init_app(app: Flask) -> None:
    """Flask-Babel on the app, the catalogs compiled where a checkout edited them, pure code told where words come from."""
    directories = [str(TRANSLATIONS)] + list(app.config.get("EXTRA_TRANSLATIONS", []))
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", ";".join(directories))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    if _writable(TRANSLATIONS):
        catalogs.compile_catalogs(TRANSLATIONS)  # a checkout: the wheel's build has already done it
    babel.init_app(app, locale_selector=select_locale)
    app.extensions["languages"] = languages(app)
    i18n.install(get_translations, _request_locale, catalog)
    app.jinja_env.globals["languages"] = lambda: app.extensions["languages"]
    app.jinja_env.globals["current_language"] = lambda: i18n.language()
    app.jinja_env.globals["js_words"] = js_words
    app.jinja_env.filters["side_effect"] = scales.side_effect_label  # a stored term in the reader's language


def js_words() -> dict[str, str]:
    """The words the scripts write into pages (registry/static/*.js), in the reader's language; %(name)s is filled there."""
    _ = i18n.gettext
    return {
        "usual_for": _("Usual for %(name)s"),
        "all_other_treatments": _("All other treatments"),
        "selected": _("Selected %(name)s."),
        "not_in_registry": _("%(name)s is not in the registry yet: add it with the link below."),
        "no_treatment_found": _("No treatment found for “%(query)s”."),
        "swipe_sideways": _("More columns: swipe the table sideways →"),
    }


def languages(app: Flask) -> list[tuple[str, str]]:
    """(code, name in its own language) for every compiled catalog and English, English first: the switcher's list."""
    found = {DEFAULT}
    for directory in app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";"):
        found.update(mo.parent.parent.name for mo in Path(directory).glob("*/LC_MESSAGES/messages.mo"))
    ordered = [DEFAULT] + sorted(found - {DEFAULT})
    return [(code, Locale.parse(code).get_display_name(code).capitalize()) for code in ordered]


@functools.cache
def _load(directories: str, code: str) -> support.Translations:
    translations = support.Translations()
    for directory in directories.split(";"):
        translations.merge(support.Translations.load(directory, [code]))
    return translations


def catalog(code: str) -> support.Translations:
    """One language's words, whatever the request reads (scales.i18n.language_of)."""
    return _load(current_app.config["BABEL_TRANSLATION_DIRECTORIES"], code)


def other_languages() -> tuple[str, ...]:
    """Every offered language but English: the translations exports and FHIR carry beside the English source."""
    return tuple(code for code in codes() if code != DEFAULT)


def translations(text: str, languages: tuple[str, ...] | None = None) -> dict[str, str]:
    """text (an English source string) in each language (by default every other offered one) whose catalog has it."""
    found = {}
    for code in other_languages() if languages is None else languages:
        with i18n.language_of(code):
            translated = i18n.gettext(text)
        if translated != text:
            found[code] = translated
    return found


def codes() -> list[str]:
    return [code for code, _ in current_app.extensions["languages"]]


def select_locale() -> str:
    """The account's language, else the browser's cookie, else the best of Accept-Language, else English."""
    if not has_request_context():
        return DEFAULT  # mail and commands choose theirs with flask_babel.force_locale
    offered = codes()
    chosen = getattr(current_user, "locale", None) if _signed_in() else None
    if chosen in offered:
        return chosen
    cookie = request.cookies.get(COOKIE)
    if cookie in offered:
        return cookie
    return request.accept_languages.best_match(offered) or DEFAULT


def _signed_in() -> bool:
    try:
        return bool(current_user and current_user.is_authenticated)
    except SQLAlchemyError:  # the database is down: the 503 page still renders, in the browser's language
        return False


def _request_locale() -> Locale | None:
    return get_locale() if has_request_context() else None


def _writable(directory: Path) -> bool:
    return directory.is_dir() and os.access(directory, os.W_OK)
