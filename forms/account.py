"""Data-rights forms: download my data, withdraw consent, delete my account."""

from __future__ import annotations

from wtforms import BooleanField, PasswordField, RadioField
from wtforms.validators import DataRequired, InputRequired, Length

from forms import FlaskForm, choices
from scales.i18n import lazy_gettext

DOWNLOAD_FORMATS = [
    ("json", lazy_gettext("JSON: one file with everything, for programs and for keeping")),
    ("csv", lazy_gettext("CSV: a zip of one table per kind of data, for spreadsheets")),
]


class DownloadForm(FlaskForm):
    format = RadioField(
        lazy_gettext("Format"), choices=choices(DOWNLOAD_FORMATS), default="json", validators=[InputRequired()]
    )


class WithdrawConsentForm(FlaskForm):
    """A button only: the CSRF token is the form."""


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        lazy_gettext("Your password"),
        validators=[InputRequired(), Length(max=200)],
        description=lazy_gettext("To make sure that it is you."),
    )
    confirm = BooleanField(
        lazy_gettext("I understand that my account, my experiences and my doctor ratings are deleted for good."),
        validators=[DataRequired(lazy_gettext("Tick the box to confirm."))],
    )
