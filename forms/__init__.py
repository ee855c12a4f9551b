"""WTForms (Flask-WTF) form classes, one module per area. Choices come from scales."""

from __future__ import annotations

import functools
import re
from datetime import date

import flask_wtf
import pycountry
from babel import Locale
from babel.support import LazyProxy
from wtforms import HiddenField, IntegerField, PasswordField, RadioField, SelectChoice, StringField
from wtforms.validators import InputRequired, Optional, ValidationError

from forms.text import fold, parse_id, strip_invisible
from scales import Scale, i18n
from scales.i18n import N_, lazy_gettext
from scales.i18n import gettext as _

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# What people type for a month besides 2024-03: 2024-3, 2024/03, 03/2024, 3.2024, 03-2024.
_YEAR_MONTH = re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})$")
_MONTH_YEAR = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{4})$")

# A month as text: every browser shows the same box, with what to type (Chromium's own month
# input shows "--------- ----", and Firefox and Safari have none).
MONTH_INPUT = {"inputmode": "numeric", "placeholder": lazy_gettext("YYYY-MM"), "autocomplete": "off", "maxlength": "7"}

# What month_validator says of each month a form asks for, as whole sentences (word order differs by language).
_MONTH_MESSAGES = {
    "start": (
        N_("Give the start month as YYYY-MM, for example 2024-03."),
        N_("The start month cannot be in the future."),
    ),
    "stop": (
        N_("Give the stop month as YYYY-MM, for example 2024-03."),
        N_("The stop month cannot be in the future."),
    ),
    "last visit": (
        N_("Give the last visit month as YYYY-MM, for example 2024-03."),
        N_("The last visit month cannot be in the future."),
    ),
    "first": (
        N_("Give the first month as YYYY-MM, for example 2024-03."),
        N_("The first month cannot be in the future."),
    ),
    "last": (
        N_("Give the last month as YYYY-MM, for example 2024-03."),
        N_("The last month cannot be in the future."),
    ),
}


def lazy_numbers(message: str, **numbers) -> LazyProxy:
    """A message (marked with N_) translated when shown, its numbers written as the reader's locale writes them."""

    def text() -> str:
        return _(message, **{name: i18n.format_number(value) for name, value in numbers.items()})

    return LazyProxy(text, enable_cache=False)


def _blank_to_empty(text):
    """Only spaces or line breaks are no answer: "" (else Optional() stops the checks and keeps "\r\n" as data)."""
    return "" if isinstance(text, str) and not text.strip() else text


class FlaskForm(flask_wtf.FlaskForm):
    """Flask-WTF's form; every text field drops invisible control characters (forms.text.strip_invisible)
    and reads an answer of only whitespace as no answer."""

    class Meta(flask_wtf.FlaskForm.Meta):
        def bind_field(self, form, unbound_field, options):
            field_class = unbound_field.field_class
            if issubclass(field_class, StringField) and not issubclass(field_class, PasswordField):
                filters = [strip_invisible, _blank_to_empty, *unbound_field.kwargs.get("filters", ())]
                options = {**options, "filters": filters}
            return super().bind_field(form, unbound_field, options)

    def validate(self, extra_validators=None):
        """WTForms' validation, each error then plain text in the reader's language.

        Messages written at import are lazy (scales.i18n.lazy_gettext); the views join, flash and
        compare errors, which want str.
        """
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.errors, list):
                field.errors = [str(error) for error in field.errors]
        return valid


def country_choices() -> list[tuple[str, str]]:
    """ISO 3166-1 alpha-2 codes with their names in the reader's language, sorted by name."""
    return list(_country_names(str(i18n.locale())))


@functools.cache
def _country_names(locale: str) -> tuple[tuple[str, str], ...]:
    # English keeps pycountry's ISO names; another language takes the CLDR names Babel knows (the
    # ISO name where it has none), sorted without regard to accents.
    reader = Locale.parse(locale)
    if reader.language == "en":
        return tuple(sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda pair: pair[1]))
    names = reader.territories
    pairs = ((c.alpha_2, names.get(c.alpha_2, c.name)) for c in pycountry.countries)
    return tuple(sorted(pairs, key=lambda pair: (fold(pair[1]), pair[1])))


def choices(pairs) -> list[SelectChoice]:
    """WTForms choices from (code, label) pairs, such as a scale's."""
    return [SelectChoice(code, label) for code, label in pairs]


def number_choices(low: int, high: int) -> list[SelectChoice]:
    """Choices for a numeric rating scale from low to high (posted as text, stored as integers)."""
    return choices((str(n), str(n)) for n in range(low, high + 1))


def blank_first(pairs, label: str = lazy_gettext("Choose...")) -> list[SelectChoice]:
    """Choices with an empty first option, for optional select fields."""
    return [SelectChoice("", label), *choices(pairs)]


def normalize_month(text: str) -> str:
    """2024-03 from "2024-3", "2024/03", "03/2024" or "3.2024"; other text comes back trimmed."""
    text = text.strip()
    if match := _YEAR_MONTH.match(text):
        year, month = match.groups()
    elif match := _MONTH_YEAR.match(text):
        month, year = match.groups()
    else:
        return text
    return f"{year}-{int(month):02d}" if 1 <= int(month) <= 12 else text


def month_validator(field_label: str):
    """A validator for a year-month answer (YYYY-MM) that is not in the future."""

    if field_label not in _MONTH_MESSAGES:
        raise ValueError(f"no messages for the {field_label!r} month: add them to forms._MONTH_MESSAGES")
    not_a_month, in_the_future = _MONTH_MESSAGES[field_label]

    def check(form, field):
        if not field.data:
            return
        field.data = normalize_month(field.data)
        match = MONTH.match(field.data)
        if not match or int(match.group(1)) < 1900:
            raise ValidationError(_(not_a_month))
        if field.data > date.today().strftime("%Y-%m"):
            raise ValidationError(_(in_the_future))

    return check


def scale_radio(scale: Scale, label: str, required: bool = True, description: str | None = None) -> RadioField:
    """Radio buttons for a scale's codes, with its description as help (or the one given; "" for none)."""
    validators = [InputRequired(message=lazy_gettext("Choose one answer."))] if required else [Optional()]
    if description is None:  # never gettext(""): that is the catalog's header
        description = lazy_gettext(scale.description) if scale.description else ""
    return RadioField(label, choices=choices(scale.choices), validators=validators, description=description)


class IdField(HiddenField):
    """A row's id carried by a form: a whole number a database INTEGER holds (forms.text.parse_id)."""

    def pre_validate(self, form):
        if self.data and parse_id(self.data) is None:
            raise ValidationError(_("This is not a valid choice; go back and choose again."))


class YearField(IntegerField):
    """An optional calendar year from 1900 to this year, read as at most four digits.

    IntegerField alone takes any length of digits, and WTForms' NumberRange then fails on a number too
    large for a float (a 500, not a message); "this year" is read at each request, not when the app starts.
    """

    FIRST = 1900

    def __init__(
        self, label=None, validators=None, message: str = lazy_gettext("Enter a year such as 1980."), **kwargs
    ):
        self.message = message
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "maxlength": "4", "autocomplete": "off"})
        super().__init__(label, [Optional(), *(validators or ())], **kwargs)

    def process_formdata(self, valuelist):
        text = valuelist[0].strip() if valuelist and valuelist[0] else ""
        self.data = None
        if not text:
            return
        if not (text.isascii() and text.isdigit() and len(text) <= 4):
            raise ValueError(str(self.message))
        self.data = int(text)

    def post_validate(self, form, validation_stopped):
        if not validation_stopped and self.data is not None and not self.FIRST <= self.data <= date.today().year:
            self.errors.append(str(self.message))
