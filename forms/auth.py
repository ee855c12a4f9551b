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

MIN_PASSWORD_LENGTH = 10
PASSWORD_MESSAGE = f"Use at least {MIN_PASSWORD_LENGTH} characters (at most 200)."


class _TakenChecks:
    """Uniqueness is the registry's to know: the view passes its checks in (email_taken, pseudonym_taken)."""

    def __init__(self, *args, email_taken=None, pseudonym_taken=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.email_taken, self.pseudonym_taken = email_taken, pseudonym_taken


class RegisterForm(_TakenChecks, FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
        description="Used only to log in. Never shown to anyone.",
    )
    pseudonym = StringField(
        "Public name",
        validators=[
            DataRequired(),
            Length(min=3, max=40),
            Regexp(r"^[\w .\-]+$", message="Use letters, digits, spaces, dots, dashes or underscores."),
        ],
        description="Shown next to your tips and comments. Don't use your real name.",
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200, message=PASSWORD_MESSAGE)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )
    confirm = PasswordField(
        "Repeat password", validators=[InputRequired(), EqualTo("password", "The passwords differ.")]
    )

    def validate_email(self, field):
        if self.email_taken(field.data):
            raise ValidationError("An account with this email already exists. Log in instead?")

    def validate_pseudonym(self, field):
        if "@" in field.data:
            raise ValidationError("Don't use an email address as your public name.")
        if len(name_key(field.data)) < 3:
            raise ValidationError("Use at least 3 letters or digits.")
        if self.pseudonym_taken(field.data):
            raise ValidationError("This public name is taken; choose another.")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=200)])
    remember = BooleanField("Keep me logged in on this device")


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[InputRequired(), Length(max=200)])
    password = PasswordField(
        "New password",
        validators=[InputRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200, message=PASSWORD_MESSAGE)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters. Other devices will be logged out.",
    )
    confirm = PasswordField(
        "Repeat new password", validators=[InputRequired(), EqualTo("password", "The passwords differ.")]
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
        description="The address you log in with.",
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[InputRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200, message=PASSWORD_MESSAGE)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters. Every device logged in to your account will be logged out.",
    )
    confirm = PasswordField(
        "Repeat new password", validators=[InputRequired(), EqualTo("password", "The passwords differ.")]
    )


class ChangeEmailForm(_TakenChecks, FlaskForm):
    email = EmailField(
        "New email",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
        description="We send a link to it; your address changes when you follow the link.",
    )
    current = PasswordField(
        "Your password", validators=[InputRequired(), Length(max=200)], description="To make sure that it is you."
    )

    def validate_email(self, field):
        if self.email_taken(field.data):
            raise ValidationError("Another account uses this address.")


class ButtonForm(FlaskForm):
    """A button only (resend the link, log out everywhere, end one device): the CSRF token is the form."""


class ProfileForm(FlaskForm):
    birth_year = YearField(
        "Birth year",
        message="Enter a year such as 1980.",
        description="Optional. Used only to compare with people of a similar age, shown as an age band.",
    )
    sex = SelectField("Sex", choices=blank_first(SEX.choices, "Not given"), validators=[Optional()])
    country = SelectField("Country", validators=[Optional()])
    research_consent = BooleanField(
        "I agree that my answers may be used for research, de-identified, as described above.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = blank_first(country_choices(), "Not given")
