"""The "this helped me" button on a tip: a form so that it carries the CSRF token."""

from __future__ import annotations

from wtforms import HiddenField
from wtforms.validators import AnyOf

from forms import FlaskForm
from scales.i18n import lazy_gettext


class HelpedForm(FlaskForm):
    """Mark a tip as helpful (helped=1) or take it back (helped=0); the same request twice changes nothing."""

    helped = HiddenField(validators=[AnyOf(["1", "0"], message=lazy_gettext("helped must be 1 or 0."))])
    next = HiddenField()
