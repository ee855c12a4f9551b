"""The research-export form."""

from __future__ import annotations

from wtforms import BooleanField, RadioField, SelectMultipleField, StringField
from wtforms.validators import Optional, ValidationError

from forms import MONTH_INPUT, FlaskForm, choices, month_validator
from scales.i18n import gettext as _
from scales.i18n import lazy_gettext


class ExportForm(FlaskForm):
    """Filters of a research export. Catalog choices come from the view."""

    conditions = SelectMultipleField(
        lazy_gettext("Conditions"),
        validators=[Optional()],
        description=lazy_gettext("None chosen: every condition. Hold Ctrl or Cmd to choose several."),
    )
    treatments = SelectMultipleField(
        lazy_gettext("Treatments"),
        validators=[Optional()],
        description=lazy_gettext(
            "None chosen: every treatment. Doctor ratings are left out when you choose treatments."
        ),
    )
    since = StringField(
        lazy_gettext("Reported from"),
        validators=[Optional(), month_validator("first")],
        render_kw=MONTH_INPUT,
        description=lazy_gettext("Optional, YYYY-MM."),
    )
    until = StringField(
        lazy_gettext("Reported until"),
        validators=[Optional(), month_validator("last")],
        render_kw=MONTH_INPUT,
        description=lazy_gettext("Optional, YYYY-MM (inclusive)."),
    )
    with_text = BooleanField(lazy_gettext("Include free text (tips, comments and participants' own side-effect terms)"))
    labelled = BooleanField(
        lazy_gettext("Also Stata (.dta) and SPSS (.sav) files with value and variable labels"),
        description=lazy_gettext(
            "CSV and Parquet only; every export already holds a data dictionary (REDCap layout) and a "
            "loader for R (CSV) or DuckDB (Parquet)."
        ),
    )
    format = RadioField(
        lazy_gettext("Format"),
        default="csv",
        choices=choices(
            [
                ("csv", lazy_gettext("CSV files and datapackage.json (zip)")),
                (
                    "parquet",
                    lazy_gettext("Parquet files and datapackage.json (zip): typed columns, codes as categoricals"),
                ),
                (
                    "fhir",
                    lazy_gettext("FHIR R4 resources (ndjson): experiences, follow-ups and doctor ratings as responses"),
                ),
            ]
        ),
        description=lazy_gettext(
            "The FHIR file holds the ValueSets of conditions and treatments, the doctors, then one "
            "QuestionnaireResponse per experience, follow-up point and doctor rating."
        ),
    )

    def __init__(self, *args, conditions=(), treatments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.conditions.choices = choices(conditions)
        self.treatments.choices = choices(treatments)

    def validate_until(self, field):
        if field.data and self.since.data and not self.since.errors and field.data < self.since.data:
            raise ValidationError(_("The last month cannot be before the first month."))
