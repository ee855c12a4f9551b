"""Flags raised by participants and moderators' decisions."""

from __future__ import annotations

from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from forms import FlaskForm, choices
from scales import FLAG_REASON
from scales.i18n import gettext as _
from scales.i18n import lazy_gettext


class FlagForm(FlaskForm):
    """What is wrong with a tip, comment or catalog entry."""

    reason = RadioField(
        lazy_gettext("What is wrong?"),
        choices=choices(FLAG_REASON.choices),
        validators=[InputRequired(message=lazy_gettext("Choose what is wrong."))],
    )
    note = TextAreaField(
        lazy_gettext("Note for the moderators (optional)"),
        validators=[Optional(), Length(max=1000)],
        description=lazy_gettext("What should a moderator know? Up to 1,000 characters."),
    )


class DecisionForm(FlaskForm):
    """Hide, keep or restore a text; the reason is shown to its author when the text is hidden."""

    action = SelectField(
        lazy_gettext("Decision"),
        choices=choices(
            [
                ("hide", lazy_gettext("Hide")),
                ("keep", lazy_gettext("Keep public")),
                ("restore", lazy_gettext("Restore")),
            ]
        ),
    )
    reason = StringField(
        lazy_gettext("Reason (shown to the author)"), validators=[Length(max=300)]
    )  # no Optional: it would skip validate_reason

    def validate_reason(self, field):
        if self.action.data == "hide" and not (field.data or "").strip():
            raise ValidationError(_("Say why the text is hidden: its author will read this."))


class MergeForm(FlaskForm):
    """Merge a duplicate catalog entry into the one that stays."""

    survivor = StringField(
        lazy_gettext("Merge into"),
        validators=[InputRequired(message=lazy_gettext("Name the entry that stays.")), Length(max=200)],
        description=lazy_gettext(
            "The entry that stays: its exact name or its address name (slug); for a doctor, its number."
        ),
    )
