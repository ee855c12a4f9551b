"""WTForms (Flask-WTF) form classes, one module per area. Choices come from registry.scales."""

from __future__ import annotations

import functools

import re
from datetime import date

from wtforms import HiddenField, RadioField, SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError

from registry.database import parse_id
from registry.scales import Scale

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@functools.cache
def country_choices() -> list[tuple[str, str]]:
    """ISO 3166-1 alpha-2 codes with their English names, sorted by name."""
    import pycountry

    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda pair: pair[1])


def choices(pairs) -> list[SelectChoice]:
    """WTForms choices from (code, label) pairs, such as a scale's."""
    return [SelectChoice(code, label) for code, label in pairs]


def number_choices(low: int, high: int) -> list[SelectChoice]:
    """Choices for a numeric rating scale from low to high (posted as text, stored as integers)."""
    return choices((str(n), str(n)) for n in range(low, high + 1))


def blank_first(pairs, label: str = "Choose...") -> list[SelectChoice]:
    """Choices with an empty first option, for optional select fields."""
    return [SelectChoice("", label), *choices(pairs)]


def month_validator(field_label: str):
    """A validator for a year-month answer (YYYY-MM) that is not in the future."""

    def check(form, field):
        if not field.data:
            return
        match = MONTH.match(field.data.strip())
        if not match or int(match.group(1)) < 1900:
            raise ValidationError(f"Give the {field_label} month as YYYY-MM, for example 2024-03.")
        field.data = field.data.strip()
        if field.data > date.today().strftime("%Y-%m"):
            raise ValidationError(f"The {field_label} month cannot be in the future.")

    return check


def scale_radio(scale: Scale, label: str, required: bool = True) -> RadioField:
    """Radio buttons for a scale's codes, with its description as help."""
    validators = [InputRequired(message="Choose one answer.")] if required else [Optional()]
    return RadioField(label, choices=choices(scale.choices), validators=validators, description=scale.description)


class IdField(HiddenField):
    """A row's id carried by a form: a whole number a database INTEGER holds (registry.database.parse_id)."""

    def pre_validate(self, form):
        if self.data and parse_id(self.data) is None:
            raise ValidationError("This is not a valid choice; go back and choose again.")
