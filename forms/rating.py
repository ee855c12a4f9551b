"""The doctor-rating form: every field of docs/domain.md "A doctor rating", on CG-CAHPS codes."""

from __future__ import annotations

from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

import scales
from forms import (
    MONTH_INPUT,
    FlaskForm,
    IdField,
    blank_first,
    lazy_numbers,
    month_validator,
    number_choices,
    scale_radio,
)
from scales.i18n import N_, lazy_gettext
from scales.i18n import gettext as _


def _how_often(label: str, required: bool = True, description: str = ""):
    # No help under each question: the page explains the CG-CAHPS wording once.
    return scale_radio(scales.FREQUENCY, label, required=required, description=description)


class DoctorRatingForm(FlaskForm):
    """A rating of one doctor for one condition. Condition choices come from the view."""

    doctor = IdField(
        lazy_gettext("Doctor"), validators=[DataRequired(message=lazy_gettext("Choose the doctor to rate."))]
    )
    condition = SelectField(
        lazy_gettext("For which condition did you see this doctor?"),
        validators=[DataRequired(message=lazy_gettext("Choose the condition."))],
    )
    last_visit = StringField(
        lazy_gettext("Last visit"),
        validators=[
            DataRequired(message=lazy_gettext("Give the month of your last visit.")),
            month_validator("last visit"),
        ],
        render_kw=MONTH_INPUT,
        description=lazy_gettext("Year and month, for example 2025-09."),
    )
    overall = RadioField(
        lazy_gettext(
            "Using any number from 0 to 10, where 0 is the worst doctor possible and 10 is the best, "
            "what number would you use to rate this doctor?"
        ),
        choices=number_choices(scales.OVERALL_MIN, scales.OVERALL_MAX),
        validators=[InputRequired(message=lazy_gettext("Choose a number from 0 to 10."))],
    )
    explained_clearly = _how_often(
        lazy_gettext("How often did this doctor explain things in a way that was easy to understand?")
    )
    listened_carefully = _how_often(lazy_gettext("How often did this doctor listen carefully to you?"))
    showed_respect = _how_often(lazy_gettext("How often did this doctor show respect for what you had to say?"))
    spent_enough_time = _how_often(lazy_gettext("How often did this doctor spend enough time with you?"))
    got_appointment = _how_often(
        lazy_gettext("When you needed care right away, how often did you get an appointment as soon as you needed?"),
        required=False,
        description=lazy_gettext("Optional."),
    )
    knowledge = RadioField(
        lazy_gettext("How well did this doctor know your condition? (1 = not at all, 5 = extremely well)"),
        choices=number_choices(scales.KNOWLEDGE_MIN, scales.KNOWLEDGE_MAX),
        validators=[InputRequired(message=lazy_gettext("Choose a number from 1 to 5."))],
    )
    would_recommend = scale_radio(
        scales.DOCTOR_RECOMMEND, lazy_gettext("Would you recommend this doctor to your family and friends?")
    )
    comment = TextAreaField(
        lazy_gettext("Comment"),
        validators=[
            Optional(),
            Length(
                max=scales.COMMENT_MAX_LENGTH,
                message=lazy_numbers(N_("Keep comments under %(max)s characters."), max=scales.COMMENT_MAX_LENGTH),
            ),
        ],
        description=lazy_gettext("Optional. Shown under your public name. No names of other people, emails or links."),
    )

    def __init__(self, *args, conditions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.condition.choices = blank_first(conditions, _("Choose a condition"))

    def values(self) -> dict:
        """The cleaned answers, keyed by field name (docs/domain.md)."""
        return {
            "last_visit": self.last_visit.data,
            "overall": int(self.overall.data),
            "explained_clearly": self.explained_clearly.data,
            "listened_carefully": self.listened_carefully.data,
            "showed_respect": self.showed_respect.data,
            "spent_enough_time": self.spent_enough_time.data,
            "got_appointment": self.got_appointment.data or None,
            "knowledge": int(self.knowledge.data),
            "would_recommend": self.would_recommend.data,
            "comment": (self.comment.data or "").strip() or None,
        }
