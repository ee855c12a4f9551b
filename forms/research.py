"""The research-export form."""

from __future__ import annotations

from wtforms import BooleanField, RadioField, SelectMultipleField, StringField
from wtforms.validators import Optional, ValidationError

from forms import MONTH_INPUT, FlaskForm, choices, month_validator


class ExportForm(FlaskForm):
    """Filters of a research export. Catalog choices come from the view."""

    conditions = SelectMultipleField(
        "Conditions",
        validators=[Optional()],
        description="None chosen: every condition. Hold Ctrl or Cmd to choose several.",
    )
    treatments = SelectMultipleField(
        "Treatments",
        validators=[Optional()],
        description="None chosen: every treatment. Doctor ratings are left out when you choose treatments.",
    )
    since = StringField(
        "Reported from",
        validators=[Optional(), month_validator("first")],
        render_kw=MONTH_INPUT,
        description="Optional, YYYY-MM.",
    )
    until = StringField(
        "Reported until",
        validators=[Optional(), month_validator("last")],
        render_kw=MONTH_INPUT,
        description="Optional, YYYY-MM (inclusive).",
    )
    with_text = BooleanField("Include free text (tips, comments and participants' own side-effect terms)")
    labelled = BooleanField(
        "Also Stata (.dta) and SPSS (.sav) files with value and variable labels",
        description="CSV and Parquet only; every export already holds a data dictionary (REDCap layout) and a "
        "loader for R (CSV) or DuckDB (Parquet).",
    )
    format = RadioField(
        "Format",
        default="csv",
        choices=choices(
            [
                ("csv", "CSV files and datapackage.json (zip)"),
                ("parquet", "Parquet files and datapackage.json (zip): typed columns, codes as categoricals"),
                ("fhir", "FHIR R4 resources (ndjson): experiences, follow-ups and doctor ratings as responses"),
            ]
        ),
        description="The FHIR file holds the ValueSets of conditions and treatments, the doctors, then one "
        "QuestionnaireResponse per experience, follow-up point and doctor rating.",
    )

    def __init__(self, *args, conditions=(), treatments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.conditions.choices = choices(conditions)
        self.treatments.choices = choices(treatments)

    def validate_until(self, field):
        if field.data and self.since.data and not self.since.errors and field.data < self.since.data:
            raise ValidationError("The last month cannot be before the first month.")
