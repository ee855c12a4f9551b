"""Catalog forms: add a condition, a treatment or a doctor."""

from __future__ import annotations

from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from forms import FlaskForm, blank_first, country_choices
from forms.text import doctor_key, name_key
from scales import TREATMENT_KIND


def _key(max_length: int, key=name_key):
    """The name must have letters or digits, and its matching key must fit its column."""

    def check(form, field):
        value = key(field.data or "")
        if not value:
            raise ValidationError("Enter a name with letters or digits.")
        if len(value) > max_length:  # accents and ligatures expand when folded
            raise ValidationError(f"Shorten this to at most {max_length} plain letters.")

    return check


_has_letters = _key(200)


class ConditionForm(FlaskForm):
    name = StringField("Name of the condition", validators=[DataRequired(), Length(min=2, max=200), _has_letters])
    icd10 = StringField(
        "ICD-10-CM code",
        validators=[Optional(), Length(max=10)],
        description="Optional, for example E11 or G43.909. Your doctor's paperwork often shows it.",
    )
    synonyms = StringField(
        "Other names",
        validators=[Optional(), Length(max=500)],
        description="Optional, separated by commas.",
    )

    def __init__(self, *args, icd10_code=None, **kwargs):
        """icd10_code: the registry's check of a typed code (its dotted form, or None for no ICD-10-CM code)."""
        super().__init__(*args, **kwargs)
        self.icd10_code = icd10_code

    def validate_icd10(self, field):
        if field.data and self.icd10_code(field.data) is None:
            raise ValidationError(f"{field.data} is not an ICD-10-CM code. Leave it empty if you are unsure.")

    def validate_synonyms(self, field):
        # Each name is stored on its own, in a column of 200, with its folded key beside it.
        for name in self.synonym_list():
            if len(name.strip()) > 200 or len(name_key(name)) > 200:
                raise ValidationError(f"Each other name can be at most 200 letters; {name.strip()[:20]}... is longer.")

    def synonym_list(self) -> list[str]:
        return [s for s in (self.synonyms.data or "").split(",") if s.strip()]


class TreatmentForm(FlaskForm):
    name = StringField(
        "Name of the treatment",
        validators=[DataRequired(), Length(min=2, max=200), _has_letters],
        description="For a medicine, the brand name is fine: we file it under its generic name.",
    )
    kind = SelectField(
        "Kind",
        choices=blank_first(TREATMENT_KIND.choices),
        validators=[DataRequired(message="Choose what kind of treatment it is.")],
    )


class DoctorForm(FlaskForm):
    name = StringField(
        "Doctor's name",
        validators=[DataRequired(), Length(min=2, max=200), _key(200, doctor_key)],
        description="Without the title, for example Maria Rossi.",
    )
    specialty = StringField(
        "Specialty", validators=[DataRequired(), Length(min=2, max=120)], description="For example neurology."
    )
    city = StringField("City", validators=[DataRequired(), Length(min=1, max=120), _key(120)])
    country = SelectField("Country", validators=[DataRequired(message="Choose a country.")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = blank_first(country_choices())
