"""Catalog forms: add a condition, a treatment or a doctor."""

from __future__ import annotations

from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from forms import FlaskForm, blank_first, country_choices
from forms.text import doctor_key, name_key
from scales import TREATMENT_KIND
from scales.i18n import gettext as _
from scales.i18n import lazy_gettext


def _key(max_length: int, key=name_key):
    """The name must have letters or digits, and its matching key must fit its column."""

    def check(form, field):
        value = key(field.data or "")
        if not value:
            raise ValidationError(_("Enter a name with letters or digits."))
        if len(value) > max_length:  # accents and ligatures expand when folded
            raise ValidationError(_("Shorten this to at most %(max)s plain letters.", max=max_length))

    return check


_has_letters = _key(200)


class ConditionForm(FlaskForm):
    name = StringField(
        lazy_gettext("Name of the condition"), validators=[DataRequired(), Length(min=2, max=200), _has_letters]
    )
    icd10 = StringField(
        lazy_gettext("ICD-10-CM code"),
        validators=[Optional(), Length(max=10)],
        description=lazy_gettext("Optional, for example E11 or G43.909. Your doctor's paperwork often shows it."),
    )
    synonyms = StringField(
        lazy_gettext("Other names"),
        validators=[Optional(), Length(max=500)],
        description=lazy_gettext("Optional, separated by commas."),
    )

    def __init__(self, *args, icd10_code=None, **kwargs):
        """icd10_code: the registry's check of a typed code (its dotted form, or None for no ICD-10-CM code)."""
        super().__init__(*args, **kwargs)
        self.icd10_code = icd10_code

    def validate_icd10(self, field):
        if field.data and self.icd10_code(field.data) is None:
            raise ValidationError(
                _("%(code)s is not an ICD-10-CM code. Leave it empty if you are unsure.", code=field.data)
            )

    def validate_synonyms(self, field):
        # Each name is stored on its own, in a column of 200, with its folded key beside it.
        for name in self.synonym_list():
            if len(name.strip()) > 200 or len(name_key(name)) > 200:
                raise ValidationError(
                    _("Each other name can be at most 200 letters; %(name)s... is longer.", name=name.strip()[:20])
                )

    def synonym_list(self) -> list[str]:
        return [s for s in (self.synonyms.data or "").split(",") if s.strip()]


class TreatmentForm(FlaskForm):
    name = StringField(
        lazy_gettext("Name of the treatment"),
        validators=[DataRequired(), Length(min=2, max=200), _has_letters],
        description=lazy_gettext("For a medicine, the brand name is fine: we file it under its generic name."),
    )
    kind = SelectField(
        lazy_gettext("Kind"),
        choices=blank_first(TREATMENT_KIND.choices),
        validators=[DataRequired(message=lazy_gettext("Choose what kind of treatment it is."))],
    )


class DoctorForm(FlaskForm):
    name = StringField(
        lazy_gettext("Doctor's name"),
        validators=[DataRequired(), Length(min=2, max=200), _key(200, doctor_key)],
        description=lazy_gettext("Without the title, for example Maria Rossi."),
    )
    specialty = StringField(
        lazy_gettext("Specialty"),
        validators=[DataRequired(), Length(min=2, max=120)],
        description=lazy_gettext("For example neurology."),
    )
    city = StringField(lazy_gettext("City"), validators=[DataRequired(), Length(min=1, max=120), _key(120)])
    country = SelectField(lazy_gettext("Country"), validators=[DataRequired(message=lazy_gettext("Choose a country."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = blank_first(country_choices())
