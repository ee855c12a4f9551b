import importlib
import inspect
import pkgutil

import flask_wtf
import pytest

import forms


def _form_classes():
    for module in pkgutil.iter_modules(forms.__path__):
        loaded = importlib.import_module(f"forms.{module.name}")
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

    from forms.auth import LoginForm
    from forms.moderation import FlagForm

    with app.test_request_context(method="POST"):
        login = LoginForm(
            formdata=MultiDict({"email": "a\u200b@example.org", "password": "pa\u200bss"}), meta={"csrf": False}
        )
        assert (login.email.data, login.password.data) == ("a@example.org", "pa\u200bss")
        flag = FlagForm(formdata=MultiDict({"note": "\u202eyrrab"}), meta={"csrf": False})
        assert flag.note.data == "yrrab"


def test_an_answer_of_only_whitespace_is_no_answer(app):
    from werkzeug.datastructures import MultiDict

    from forms.catalog import ConditionForm
    from registry.catalog import vocab

    with app.test_request_context(method="POST"):
        form = ConditionForm(
            formdata=MultiDict({"name": "Vestibular migraine", "icd10": "\r\n"}),
            meta={"csrf": False},
            icd10_code=vocab.normalize_icd10,
        )
        assert form.validate() and form.icd10.data == ""  # Optional() stopped the checks, but on no data
        typed = ConditionForm(
            formdata=MultiDict({"name": " Cluster headache ", "icd10": "G44.0"}),
            meta={"csrf": False},
            icd10_code=vocab.normalize_icd10,
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


# --- answers that depend on another: asked about, never dropped (issue 25) ----------------------------

FOLLOWUP = {"effectiveness": "major", "side_effect_severity": "none", "satisfaction": "9", "would_recommend": "yes"}


@pytest.mark.parametrize(
    "answers, field, message",
    [
        ({"still_using": "yes", "stopped": "2024-06"}, "stopped", "You said you still use it"),
        ({"still_using": "yes", "stop_reasons": ["cost"]}, "stop_reasons", 'go with "No, I stopped"'),
        ({"still_using": "no"}, "stopped", "Give the month you stopped"),
        ({"still_using": "no", "stopped": "2023-12"}, "stopped", "cannot be before the start month (2024-01)"),
    ],
)
def test_the_follow_up_form_asks_about_a_stop_answer_that_does_not_fit(app, answers, field, message):
    from werkzeug.datastructures import MultiDict

    from forms.followup import FollowupForm

    with app.test_request_context(method="POST"):
        form = FollowupForm(formdata=MultiDict({**FOLLOWUP, **answers}), started="2024-01", meta={"csrf": False})
        assert not form.validate()
        assert list(form.errors) == [field] and message in " ".join(form.errors[field])
        assert form[field].data == answers.get(field, form[field].data)  # the answer is still there to show


def test_the_follow_up_form_keeps_a_stop_month_only_with_stopped(app):
    from werkzeug.datastructures import MultiDict

    from forms.followup import FollowupForm

    with app.test_request_context(method="POST"):
        stopped = {**FOLLOWUP, "still_using": "no", "stopped": "2024/6", "stop_reasons": ["cost"]}
        form = FollowupForm(formdata=MultiDict(stopped), started="2024-01", meta={"csrf": False})
        assert form.validate(), form.errors
        assert (form.values()["stopped"], form.values()["stop_reasons"]) == ("2024-06", ["cost"])
        still = FollowupForm(formdata=MultiDict({**FOLLOWUP, "still_using": "yes"}), meta={"csrf": False})
        assert still.validate() and (still.values()["stopped"], still.values()["stop_reasons"]) == (None, [])


EXPERIENCE = {
    "condition": "migraine",
    "treatment": "sumatriptan",
    "role": "patient",
    "started": "2023-01",
    "effectiveness": "major",
    "side_effect_severity": "none",
    "satisfaction": "8",
    "would_recommend": "yes",
}


@pytest.mark.parametrize(
    "answers, field, message",
    [
        ({"stop_reasons": ["cost"]}, "stop_reasons", "need a stop month"),
        ({"stopped": "2022-12"}, "stopped", "cannot be before the start month"),
        ({"dose_amount": "50"}, "dose_unit", "Choose the unit"),
        ({"dose_unit": "mg"}, "dose_unit", "Give the dose amount"),
        ({"treatment": "yoga", "dose_amount": "5", "dose_unit": "mg"}, "dose_amount", "drugs only"),
        ({"treatment": "yoga", "dose_unit": "mg"}, "dose_unit", "drugs only"),
        ({"treatment": "yoga", "dose_frequency": "weekly"}, "dose_frequency", "drugs only"),
    ],
)
def test_the_experience_form_asks_about_every_answer_that_does_not_fit_another(app, answers, field, message):
    from werkzeug.datastructures import MultiDict

    from forms.experience import ExperienceForm

    pairs = [("migraine", "Migraine")], [("sumatriptan", "Sumatriptan"), ("yoga", "Yoga")]
    with app.test_request_context(method="POST"):
        form = ExperienceForm(
            formdata=MultiDict({**EXPERIENCE, **answers}),
            conditions=pairs[0],
            treatments=pairs[1],
            drug_slugs={"sumatriptan"},
            meta={"csrf": False},
        )
        assert not form.validate()
        assert list(form.errors) == [field] and message in " ".join(form.errors[field])


def test_the_dose_frequency_of_a_drug_needs_no_amount(app):
    # "Twice a day" without the milligrams is an answer in itself (people often know one and not the other).
    from werkzeug.datastructures import MultiDict

    from forms.experience import ExperienceForm

    with app.test_request_context(method="POST"):
        form = ExperienceForm(
            formdata=MultiDict({**EXPERIENCE, "dose_frequency": "twice_daily"}),
            conditions=[("migraine", "Migraine")],
            treatments=[("sumatriptan", "Sumatriptan")],
            drug_slugs={"sumatriptan"},
            meta={"csrf": False},
        )
        assert form.validate(), form.errors and form.values()["dose_frequency"] == "twice_daily"


def _dose_form(app, language: str, typed: str):
    from werkzeug.datastructures import MultiDict

    from forms.experience import ExperienceForm

    with app.test_request_context(method="POST", headers={"Accept-Language": language}):
        form = ExperienceForm(
            formdata=MultiDict({**EXPERIENCE, "dose_amount": typed, "dose_unit": "mg"}),
            conditions=[("migraine", "Migraine")],
            treatments=[("sumatriptan", "Sumatriptan")],
            drug_slugs={"sumatriptan"},
            meta={"csrf": False},
        )
        valid = form.validate()
        return valid, (form.values()["dose_amount"] if valid else " ".join(form.errors["dose_amount"])), form


@pytest.mark.parametrize(
    "language, typed, amount",
    [
        ("es", "0,5", 0.5),
        ("es", "0.5", 0.5),  # a phone's decimal pad may offer only the point
        ("es", "2,500", 2.5),
        ("es", "1 000", 1000),
        ("es", "12,", 12),
        ("en", "0.5", 0.5),
        ("en", "2,5", 2.5),  # a comma before one or two digits can only be a decimal sign
        ("en", "1.000", 1),
        ("en", ".25", 0.25),
    ],
)
def test_a_dose_is_read_as_people_write_numbers_in_their_language(app, language, typed, amount):
    valid, value, _ = _dose_form(app, language, typed)
    assert valid and value == amount


@pytest.mark.parametrize(
    "language, typed, message",
    [
        ("es", "2.500", "¿Quiso decir 2500 o 2,5?"),  # a Spanish thousands sign: asked, never guessed
        ("en", "1,000", "Did you mean 1000 or 1?"),
        ("en", "1,000.5", "Enter a number"),
        ("es", "dos", "Escriba un número, por ejemplo 50 o 0,5."),
    ],
)
def test_a_dose_that_could_be_read_two_ways_is_asked_about_and_kept(app, language, typed, message):
    valid, errors, form = _dose_form(app, language, typed)
    assert not valid and message in errors
    assert f'value="{typed}"' in str(form.dose_amount())  # the typed text comes back to correct


def test_a_saved_dose_is_shown_with_the_readers_decimal_sign(app):
    from forms.experience import ExperienceForm

    saved = type("Saved", (), {**EXPERIENCE, "dose_amount": 0.1, "dose_unit": "mg"})
    for language, shown in (("es", "0,1"), ("en", "0.1")):
        with app.test_request_context(headers={"Accept-Language": language}):
            form = ExperienceForm(obj=saved, conditions=[], treatments=[], drug_slugs=set(), meta={"csrf": False})
            assert f'value="{shown}"' in str(form.dose_amount())


def _content_words(text: str) -> set[str]:
    small = {"the", "a", "an", "of", "to", "it", "you", "your", "did", "do", "was", "is", "how", "at", "their", "for"}
    words = "".join(c if c.isalnum() else " " for c in text.lower()).split()
    return {w.rstrip("s") for w in words if w not in small}


def test_no_hint_repeats_its_question(app):
    # A hint under a question adds something ("on their worst day"), or there is none: "The worst
    # severity of side effects at their worst" under "Side effects at their worst" only made people read twice.
    from forms.experience import ExperienceForm
    from forms.followup import FollowupForm
    from forms.rating import DoctorRatingForm

    with app.test_request_context():
        fields = [f for form in (ExperienceForm(), FollowupForm(), DoctorRatingForm()) for f in form]
    repeats = []
    for f in fields:
        hint, question = _content_words(f.description or ""), _content_words(f.label.text)
        if hint and len(hint - question) < len(hint) / 2:
            repeats.append((f.label.text, f.description))
    assert repeats == []
