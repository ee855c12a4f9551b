"""Account forms: register, log in, change password, profile and consent."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from forms import FlaskForm, YearField, blank_first, country_choices
from forms.text import name_key
from scales import SEX
from scales.i18n import gettext as _
from scales.i18n import lazy_gettext

MIN_PASSWORD_LENGTH = 10
PASSWORD_MESSAGE = lazy_gettext("Use at least %(min)s characters (at most 200).", min=MIN_PASSWORD_LENGTH)


class _TakenChecks:
    """Uniqueness is the registry's to know: the view passes its checks in (email_taken, pseudonym_taken)."""

    def __init__(self, *args, email_taken=None, pseudonym_taken=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.email_taken, self.pseudonym_taken = email_taken, pseudonym_taken


class RegisterForm(_TakenChecks, FlaskForm):
    email = EmailField(
        lazy_gettext("Email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
        description=lazy_gettext("Used only to log in. Never shown to anyone."),
    )
    pseudonym = StringField(
        lazy_gettext("Public name"),
        validators=[
            DataRequired(),
            Length(min=3, max=40),
            Regexp(r"^[\w .\-]+$", message=lazy_gettext("Use letters, digits, spaces, dots, dashes or underscores.")),
        ],
        description=lazy_gettext("Shown next to your tips and comments. Don't use your real name."),
    )
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[InputRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200, message=PASSWORD_MESSAGE)],
        description=lazy_gettext("At least %(min)s characters.", min=MIN_PASSWORD_LENGTH),
    )
    confirm = PasswordField(
        lazy_gettext("Repeat password"),
        validators=[InputRequired(), EqualTo("password", lazy_gettext("The passwords differ."))],
    )

    def validate_email(self, field):
        if self.email_taken(field.data):
            raise ValidationError(_("An account with this email already exists. Log in instead?"))

    def validate_pseudonym(self, field):
        if "@" in field.data:
            raise ValidationError(_("Don't use an email address as your public name."))
        if len(name_key(field.data)) < 3:
            raise ValidationError(_("Use at least 3 letters or digits."))
        if self.pseudonym_taken(field.data):
            raise ValidationError(_("This public name is taken; choose another."))


class LoginForm(FlaskForm):
    email = EmailField(lazy_gettext("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(lazy_gettext("Password"), validators=[InputRequired(), Length(max=200)])
    remember = BooleanField(lazy_gettext("Keep me logged in on this device"))


class ChangePasswordForm(FlaskForm):
    current = PasswordField(lazy_gettext("Current password"), validators=[InputRequired(), Length(max=200)])
    password = PasswordField(
        lazy_gettext("New password"),
        validators=[InputRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200, message=PASSWORD_MESSAGE)],
        description=lazy_gettext(
            "At least %(min)s characters. Other devices will be logged out.", min=MIN_PASSWORD_LENGTH
        ),
    )
    confirm = PasswordField(
        lazy_gettext("Repeat new password"),
        validators=[InputRequired(), EqualTo("password", lazy_gettext("The passwords differ."))],
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        lazy_gettext("Email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
        description=lazy_gettext("The address you log in with."),
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        lazy_gettext("New password"),
        validators=[InputRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200, message=PASSWORD_MESSAGE)],
        description=lazy_gettext(
            "At least %(min)s characters. Every device logged in to your account will be logged out.",
            min=MIN_PASSWORD_LENGTH,
        ),
    )
    confirm = PasswordField(
        lazy_gettext("Repeat new password"),
        validators=[InputRequired(), EqualTo("password", lazy_gettext("The passwords differ."))],
    )


class ChangeEmailForm(_TakenChecks, FlaskForm):
    email = EmailField(
        lazy_gettext("New email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
        description=lazy_gettext("We send a link to it; your address changes when you follow the link."),
    )
    current = PasswordField(
        lazy_gettext("Your password"),
        validators=[InputRequired(), Length(max=200)],
        description=lazy_gettext("To make sure that it is you."),
    )

    def validate_email(self, field):
        if self.email_taken(field.data):
            raise ValidationError(_("Another account uses this address."))


class ButtonForm(FlaskForm):
    """A button only (resend the link, log out everywhere, end one device): the CSRF token is the form."""


class ProfileForm(FlaskForm):
    birth_year = YearField(
        lazy_gettext("Birth year"),
        message=lazy_gettext("Enter a year such as 1980."),
        description=lazy_gettext("Optional. Used only to compare with people of a similar age, shown as an age band."),
    )
    sex = SelectField(
        lazy_gettext("Sex"), choices=blank_first(SEX.choices, lazy_gettext("Not given")), validators=[Optional()]
    )
    country = SelectField(lazy_gettext("Country"), validators=[Optional()])
    research_consent = BooleanField(
        lazy_gettext("I agree that my answers may be used for research, de-identified, as described above."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = blank_first(country_choices(), lazy_gettext("Not given"))
