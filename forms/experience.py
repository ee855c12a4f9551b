"""The treatment-experience form: every field of docs/domain.md "A treatment experience" under its name there."""

from __future__ import annotations

import re
from decimal import Decimal

from wtforms import (
    Field,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import BooleanField, DecimalField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

import scales
from forms import (
    MONTH_INPUT,
    FlaskForm,
    YearField,
    blank_first,
    choices,
    lazy_numbers,
    month_validator,
    number_choices,
    scale_radio,
)
from forms.text import clean, contact_details, strip_invisible
from scales import i18n
from scales.i18n import N_, lazy_gettext
from scales.i18n import gettext as _

MAX_TERMS, MAX_TERM_LENGTH = 20, 80
# No medicine is taken in more than 100,000 of any unit at once (100 g, 100 l...): a larger
# number is a typing slip, which the participant is asked to check rather than told "above 0".
DOSE_MIN, DOSE_MAX = Decimal("0.0001"), Decimal("100000")


def normalize_term(term: str) -> str:
    """One spelling per side effect: "Nausea " and "nausea" are one term."""
    return clean(strip_invisible(term)).lower()


class AmountField(DecimalField):
    """A dose as people type it in their language: "0.5" everywhere, "0,5" where the comma is the decimal sign.

    A sign followed by exactly three digits ("2.500" in Spanish, "1,000" in English) is how that language groups
    thousands, so the form asks which was meant rather than guess a dose a thousand times off.
    """

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("places", None)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        self.data = None
        text = "".join((valuelist[0] if valuelist else "").split())  # "1 000" is a space-grouped 1000
        if not text:
            return
        if re.fullmatch(r"[-+]?\d+(\.\d+)?[eE][-+]?\d{1,4}", text):  # "1e-05": how programs write numbers (FHIR)
            self.data = Decimal(text)
            return
        match = re.fullmatch(r"([-+]?)(\d*)([.,])?(\d*)", text) if text.isascii() else None
        if not match or not (match[2] or match[4]):
            raise ValueError(_("Enter a number, for example 50 or 0.5."))  # "NaN", "Infinity", "lots"
        minus, whole, sign, part = match[1], match[2] or "0", match[3], match[4]
        decimal, group = i18n.number_signs()
        if sign and sign != decimal and sign == group and len(part) == 3 and whole != "0":
            raise ValueError(
                _(
                    "Did you mean %(thousands)s or %(decimal)s? Write the dose without a thousands separator.",
                    thousands=whole + part,
                    decimal=_point(f"{whole}.{part}".rstrip("0").rstrip(".")),
                )
            )
        self.data = Decimal(f"{minus}{whole}.{part or '0'}")  # below 0: NumberRange says "above 0"

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # the one message above says what to type; no range beside it

    def _value(self):
        if self.raw_data is not None:
            return self.raw_data[0] if self.raw_data else ""  # re-rendered as typed
        return "" if self.data is None else _point(format(Decimal(str(self.data)).normalize(), "f"))


def _point(number: str) -> str:
    """A plain number ("2.5") written with the reader's decimal sign ("2,5" in Spanish)."""
    return number.replace(".", i18n.number_signs()[0])


class MultiCheckboxField(SelectMultipleField):
    """One checkbox per code; each checked box posts one value."""

    widget = ListWidget(prefix_label=False, html_tag="ul")
    option_widget = CheckboxInput()


class TermsField(Field):
    """Side-effect terms: checked starter terms plus free entries (comma-separated), normalized."""

    widget = TextInput()

    def _value(self) -> str:
        starter = set(scales.SIDE_EFFECT_STARTER_TERMS)
        return ", ".join(t for t in (self.data or []) if t not in starter)

    def process_formdata(self, valuelist):
        terms: list[str] = []
        for value in valuelist:
            for part in value.split(","):
                term = normalize_term(part)
                if term and term not in terms:
                    terms.append(term)
        self.data = terms

    def pre_validate(self, form):
        if len(self.data or []) > MAX_TERMS:
            raise ValidationError(_("List at most %(max)s side effects.", max=MAX_TERMS))
        for term in self.data or []:
            if len(term) > MAX_TERM_LENGTH:
                raise ValidationError(_("Keep each side effect under %(max)s characters.", max=MAX_TERM_LENGTH))
            # Terms are public in reports (above the minimum group size) and cannot be held for review.
            if contact_details(term):
                raise ValidationError(_("A side effect cannot hold an email address, a phone number or a link."))


class ExperienceForm(FlaskForm):
    """What one treatment did for one condition. Catalog choices come from the view."""

    condition = SelectField(
        lazy_gettext("Condition"), validators=[DataRequired(message=lazy_gettext("Choose the condition."))]
    )
    treatment = SelectField(
        lazy_gettext("Treatment"), validators=[DataRequired(message=lazy_gettext("Choose the treatment."))]
    )
    role = scale_radio(scales.ROLE, lazy_gettext("Who is this about?"))
    diagnosed_year = YearField(
        lazy_gettext("Year of diagnosis"),
        message=lazy_gettext("Enter a year such as 2015."),
        description=lazy_gettext("Optional. Lets others compare with people diagnosed as long ago as you."),
    )
    started = StringField(
        lazy_gettext("Started"),
        validators=[DataRequired(message=lazy_gettext("Give the month you started.")), month_validator("start")],
        render_kw=MONTH_INPUT,
        description=lazy_gettext("Year and month, for example 2024-03."),
    )
    stopped = StringField(
        lazy_gettext("Stopped"),
        validators=[Optional(), month_validator("stop")],
        render_kw=MONTH_INPUT,
        description=lazy_gettext("Leave empty if you still use it."),
    )
    dose_amount = AmountField(
        lazy_gettext("Dose"),
        validators=[
            Optional(),
            NumberRange(min=DOSE_MIN, message=lazy_gettext("Enter a dose above 0, for example 50 or 0.5.")),
            NumberRange(
                max=DOSE_MAX,
                message=lazy_numbers(N_("Enter at most %(max)s (in the unit chosen); check the number."), max=DOSE_MAX),
            ),
        ],
        render_kw={"inputmode": "decimal"},
        description=lazy_gettext("For example 50, or 0.5."),
    )
    # No Optional(): it would stop before validate_dose_unit asks for the unit of a given amount.
    dose_unit = SelectField(
        lazy_gettext("Unit"), choices=blank_first(scales.DOSE_UNIT.choices, lazy_gettext("Unit")), default=""
    )
    dose_frequency = SelectField(
        lazy_gettext("How often"),
        choices=blank_first(scales.DOSE_FREQUENCY.choices, lazy_gettext("How often")),
        validators=[Optional()],
    )
    effectiveness = scale_radio(scales.EFFECTIVENESS, lazy_gettext("How well did it work?"))
    side_effect_severity = scale_radio(scales.SIDE_EFFECT_SEVERITY, lazy_gettext("Side effects at their worst"))
    side_effects = TermsField(
        lazy_gettext("Other side effects"), description=lazy_gettext("Separate several with commas.")
    )
    adherence = scale_radio(scales.ADHERENCE, lazy_gettext("Did you take it as prescribed?"), required=False)
    burden = scale_radio(scales.BURDEN, lazy_gettext("How hard was it to take?"), required=False)
    cost_per_month = scale_radio(scales.COST_PER_MONTH, lazy_gettext("Cost to you per month"), required=False)
    insurance_coverage = scale_radio(
        scales.INSURANCE_COVERAGE, lazy_gettext("Did insurance pay for it?"), required=False
    )
    stop_reasons = MultiCheckboxField(
        lazy_gettext("Why did you stop?"), choices=choices(scales.STOP_REASON.choices), validators=[Optional()]
    )
    satisfaction = RadioField(
        lazy_gettext("Overall satisfaction"),
        choices=number_choices(scales.SATISFACTION_MIN, scales.SATISFACTION_MAX),
        validators=[InputRequired(message=lazy_gettext("Choose a number from 1 to 10."))],
        description=lazy_gettext("1 = very dissatisfied, 10 = very satisfied."),
    )
    would_recommend = scale_radio(
        scales.WOULD_RECOMMEND, lazy_gettext("Would you recommend it to someone with the same condition?")
    )
    tips = TextAreaField(
        lazy_gettext("Tips for others"),
        validators=[
            Optional(),
            Length(
                max=scales.TIPS_MAX_LENGTH,
                message=lazy_numbers(N_("Keep tips under %(max)s characters."), max=scales.TIPS_MAX_LENGTH),
            ),
        ],
        description=lazy_gettext(
            "Optional: what helped, how you coped. Shown under your public name. No names, emails or links."
        ),
    )
    # Off by default: the answers of everyone who does not tick it stay inside the protected numbers.
    tips_show_answers = BooleanField(
        lazy_gettext("Show my answers with my tip"),
        description=lazy_gettext(
            "These answers will be public with your tip: your satisfaction, how long you used it, your "
            "dose band, your side effects at their worst, and whether you are the patient or a caregiver."
        ),
    )

    def __init__(self, *args, conditions=(), treatments=(), drug_slugs=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.condition.choices = blank_first(conditions, _("Choose a condition"))
        self.treatment.choices = blank_first(treatments, _("Choose a treatment"))
        self.drug_slugs = drug_slugs

    def validate_stopped(self, field):
        if field.data and self.started.data and not self.started.errors and field.data < self.started.data:
            raise ValidationError(_("The stop month cannot be before the start month."))

    def validate_dose_amount(self, field):
        if field.data is None:
            return
        if self._not_a_drug():
            raise ValidationError(_("A dose applies to drugs only; leave it empty for this treatment."))

    def _not_a_drug(self) -> bool:
        return bool(self.treatment.data) and self.treatment.data not in self.drug_slugs

    def validate_dose_unit(self, field):
        # Each message goes beside the field that lacks the answer.
        if field.data and self.dose_amount.data is None and self._not_a_drug():
            raise ValidationError(_("A dose applies to drugs only; leave the unit empty for this treatment."))
        if field.data and self.dose_amount.data is None and not self.dose_amount.errors:
            raise ValidationError(_("Give the dose amount, or leave the unit empty."))
        if not field.data and self.dose_amount.data is not None and not self.dose_amount.errors:
            raise ValidationError(_("Choose the unit of the dose."))

    def validate_dose_frequency(self, field):
        # "How often" is part of the dose, which the domain keeps for drugs only (like the amount above).
        if field.data and self._not_a_drug():
            raise ValidationError(_('A dose applies to drugs only; leave "How often" empty for this treatment.'))

    def validate_stop_reasons(self, field):
        if field.data and not self.stopped.data:
            raise ValidationError(_("Reasons for stopping need a stop month; add it or untick the reasons."))

    def values(self) -> dict:
        """The cleaned answers, keyed by field name (docs/domain.md)."""
        return {
            "role": self.role.data,
            "started": self.started.data,
            "stopped": self.stopped.data or None,
            "dose_amount": float(self.dose_amount.data) if self.dose_amount.data is not None else None,
            "dose_unit": self.dose_unit.data or None,
            "dose_frequency": self.dose_frequency.data or None,
            "effectiveness": self.effectiveness.data,
            "side_effect_severity": self.side_effect_severity.data,
            "side_effects": list(self.side_effects.data or []),
            "adherence": self.adherence.data or None,
            "burden": self.burden.data or None,
            "cost_per_month": self.cost_per_month.data or None,
            "insurance_coverage": self.insurance_coverage.data or None,
            "stop_reasons": list(self.stop_reasons.data or []) if self.stopped.data else [],
            "satisfaction": int(self.satisfaction.data),
            "would_recommend": self.would_recommend.data,
            "tips": (self.tips.data or "").strip() or None,
            "tips_show_answers": bool(self.tips_show_answers.data),
        }
