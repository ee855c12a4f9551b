"""The follow/unfollow button of a condition page: a form so that it carries the CSRF token."""

from __future__ import annotations

from wtforms import HiddenField
from wtforms.validators import AnyOf

from forms import FlaskForm
from scales.i18n import lazy_gettext


class FollowForm(FlaskForm):
    """Follow a condition (follow=1) or stop following it (follow=0); the same request twice changes nothing."""

    follow = HiddenField(validators=[AnyOf(["1", "0"], message=lazy_gettext("follow must be 1 or 0."))])
