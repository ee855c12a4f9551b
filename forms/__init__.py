"""WTForms (Flask-WTF) form classes, one module per area. Choices come from registry.scales."""

from __future__ import annotations

import functools

from wtforms import SelectChoice
from wtforms.validators import ValidationError


@functools.cache
def country_choices() -> list[tuple[str, str]]:
    """ISO 3166-1 alpha-2 codes with their English names, sorted by name."""
    import pycountry

    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda pair: pair[1])


def choices(pairs) -> list[SelectChoice]:
    """WTForms choices from (code, label) pairs, such as a scale's."""
    return [SelectChoice(code, label) for code, label in pairs]


def blank_first(pairs, label: str = "Choose...") -> list[SelectChoice]:
    """Choices with an empty first option, for optional select fields."""
    return [SelectChoice("", label), *choices(pairs)]


class OneOf:
    """Validate that a non-empty value is one of the scale's codes."""

    def __init__(self, codes, message: str | None = None):
        self.codes = tuple(codes)
        self.message = message

    def __call__(self, form, field):
        values = field.data if isinstance(field.data, list) else [field.data]
        for value in values:
            if value not in (None, "") and value not in self.codes:
                raise ValidationError(self.message or f"{value!r} is not one of the allowed answers.")
