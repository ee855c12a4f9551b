import importlib
import inspect
import pkgutil

import flask_wtf
import pytest

from registry import forms


def _form_classes():
    for module in pkgutil.iter_modules(forms.__path__):
        loaded = importlib.import_module(f"registry.forms.{module.name}")
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, flask_wtf.FlaskForm) and cls.__module__ == loaded.__name__:
                yield cls


def test_every_form_strips_invisible_characters():
    # One helper for every free text: a form built on Flask-WTF's own class would skip it.
    classes = list(_form_classes())
    assert len(classes) >= 10
    assert [c.__name__ for c in classes if not issubclass(c, forms.FlaskForm)] == []


def test_text_fields_are_filtered_and_passwords_are_not(app):
    from werkzeug.datastructures import MultiDict

    from registry.forms.auth import LoginForm
    from registry.forms.moderation import FlagForm

    with app.test_request_context(method="POST"):
        login = LoginForm(
            formdata=MultiDict({"email": "a\u200b@example.org", "password": "pa\u200bss"}), meta={"csrf": False}
        )
        assert (login.email.data, login.password.data) == ("a@example.org", "pa\u200bss")
        flag = FlagForm(formdata=MultiDict({"note": "\u202eyrrab"}), meta={"csrf": False})
        assert flag.note.data == "yrrab"


def test_an_answer_of_only_whitespace_is_no_answer(app):
    from werkzeug.datastructures import MultiDict

    from registry.forms.catalog import ConditionForm

    with app.test_request_context(method="POST"):
        form = ConditionForm(formdata=MultiDict({"name": "Vestibular migraine", "icd10": "\r\n"}), meta={"csrf": False})
        assert form.validate() and form.icd10.data == ""  # Optional() stopped the checks, but on no data
        typed = ConditionForm(
            formdata=MultiDict({"name": " Cluster headache ", "icd10": "G44.0"}), meta={"csrf": False}
        )
        assert typed.validate() and typed.name.data == " Cluster headache "  # real text is left as typed


@pytest.mark.parametrize(
    "typed, month",
    [
        ("2024-03", "2024-03"),
        ("2024-3", "2024-03"),
        ("2024/03", "2024-03"),
        ("3/2024", "2024-03"),
        ("03.2024", "2024-03"),
        ("2024-13", "2024-13"),
        ("March 2024", "March 2024"),
    ],
)
def test_normalize_month(typed, month):
    assert forms.normalize_month(typed) == month
