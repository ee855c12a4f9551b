"""The follow-up form: a short, dated update of an experience ("still on it? how is it working now?")."""

from __future__ import annotations

from wtforms import BooleanField, RadioField, StringField
from wtforms.validators import InputRequired, Optional, ValidationError

import scales
from forms import MONTH_INPUT, FlaskForm, choices, month_validator, number_choices, scale_radio
from forms.experience import MultiCheckboxField
from scales.i18n import N_, lazy_gettext
from scales.i18n import gettext as _

STILL_USING = (("yes", lazy_gettext("Yes, I still use it")), ("no", lazy_gettext("No, I stopped")))
STILL_USING_BUT_STOPPED = N_('You said you still use it; clear the stop month or choose "No, I stopped".')


class FollowupForm(FlaskForm):
    """The answers an update asks again; the experience's start month comes from the view."""

    still_using = RadioField(
        lazy_gettext("Are you still using it?"),
        choices=choices(STILL_USING),
        validators=[InputRequired(message=lazy_gettext("Choose one answer."))],
    )
    stopped = StringField(
        lazy_gettext("When did you stop?"),
        validators=[month_validator("stop")],
        render_kw=MONTH_INPUT,
        description=lazy_gettext("Year and month, for example 2024-03."),
    )
    stop_reasons = MultiCheckboxField(
        lazy_gettext("Why did you stop?"), choices=choices(scales.STOP_REASON.choices), validators=[Optional()]
    )
    effectiveness = scale_radio(scales.EFFECTIVENESS, lazy_gettext("How well is it working now?"))
    side_effect_severity = scale_radio(scales.SIDE_EFFECT_SEVERITY, lazy_gettext("Side effects lately, at their worst"))
    satisfaction = RadioField(
        lazy_gettext("Overall satisfaction now"),
        choices=number_choices(scales.SATISFACTION_MIN, scales.SATISFACTION_MAX),
        validators=[InputRequired(message=lazy_gettext("Choose a number from 1 to 10."))],
        description=lazy_gettext("1 = very dissatisfied, 10 = very satisfied."),
    )
    would_recommend = scale_radio(
        scales.WOULD_RECOMMEND, lazy_gettext("Would you recommend it to someone with the same condition?")
    )

    def __init__(self, *args, started: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.started = started

    def validate_stopped(self, field):
        # A stop month beside "still using" is asked about, never dropped: one of the two answers is a slip.
        if field.data and self.still_using.data == "yes":
            raise ValidationError(_(STILL_USING_BUT_STOPPED))
        if self.still_using.data == "no" and not field.data:
            raise ValidationError(_("Give the month you stopped, for example 2024-03."))
        if field.data and not field.errors and self.started and field.data < self.started:
            raise ValidationError(
                _("The stop month cannot be before the start month (%(started)s).", started=self.started)
            )

    def validate_stop_reasons(self, field):
        if field.data and self.still_using.data != "no":
            raise ValidationError(_('Reasons for stopping go with "No, I stopped"; choose it or untick the reasons.'))

    def values(self) -> dict:
        """The cleaned answers (registry.contributions.followups.add_update reads them)."""
        stopped = self.stopped.data if self.still_using.data == "no" else None
        return {
            "stopped": stopped or None,
            "stop_reasons": list(self.stop_reasons.data or []) if stopped else [],
            "effectiveness": self.effectiveness.data,
            "side_effect_severity": self.side_effect_severity.data,
            "satisfaction": int(self.satisfaction.data),
            "would_recommend": self.would_recommend.data,
        }


class ReminderForm(FlaskForm):
    """Opt in to (or out of) a reminder mail when an experience still in use goes three months without an update."""

    reminders = BooleanField(
        lazy_gettext("Mail me a reminder when an experience I still use has gone three months without an update")
    )
