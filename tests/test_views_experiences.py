"""The experience form, "my experiences", editing and deleting (registry.web.views.experiences)."""

from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from registry.models import Diagnosis, Experience, ExperienceSideEffect, ExperienceStopReason
from registry.platform.extensions import db


class _Inputs(HTMLParser):
    """The input elements of a page, as dicts of their attributes."""

    def __init__(self):
        super().__init__()
        self.inputs: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "input":
            self.inputs.append(dict(attrs))


def checked_values(page: str, name: str) -> list[str]:
    """The values of the checked inputs named `name` (radio buttons and check boxes)."""
    parser = _Inputs()
    parser.feed(page)
    return [i.get("value") for i in parser.inputs if i.get("name") == name and "checked" in i]


VALID = {
    "condition": "migraine",
    "treatment": "sumatriptan",
    "role": "caregiver",
    "diagnosed_year": "2015",
    "started": "2023-01",
    "stopped": "2024-06",
    "dose_amount": "50",
    "dose_unit": "mg",
    "dose_frequency": "as_needed",
    "effectiveness": "major",
    "side_effect_severity": "moderate",
    "side_effects": ["nausea", "Tingling ,  NAUSEA ", "jaw tightness"],
    "adherence": "usually",
    "burden": "a_little",
    "cost_per_month": "25_100",
    "insurance_coverage": "partly",
    "stop_reasons": ["side_effects", "cost"],
    "satisfaction": "8",
    "would_recommend": "yes",
    "tips": "Take it at the first sign of an attack.",
}


@pytest.fixture
def catalog_rows(make):
    make.treatment("Sumatriptan")
    make.treatment("Yoga", kind="lifestyle")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "yoga"])
    make.condition("Cluster headache", "G44.0", treatments=["sumatriptan"])


def experience_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Experience.id)))


def test_new_form_is_preselected_and_explains_scales(client, auth, catalog_rows):
    auth.login()
    page = client.get("/experiences/new?condition=migraine&treatment=sumatriptan").text
    assert '<option selected value="migraine">' in page and '<option selected value="sumatriptan">' in page
    assert "A clear improvement that made daily life easier." in page  # what "moderate" means
    assert 'name="side_effects"' in page and 'name="stop_reasons"' in page


def test_every_field_round_trips_through_save_and_edit(client, auth, app, catalog_rows):
    user_id = auth.login(birth_year=1980, sex="female")
    response = client.post("/experiences/new", data=VALID)
    assert response.status_code == 302 and "/experiences" in response.location
    with app.app_context():
        e = db.session.scalar(select(Experience))
        assert e.user_id == user_id
        for name in [
            "role",
            "started",
            "stopped",
            "dose_unit",
            "dose_frequency",
            "effectiveness",
            "side_effect_severity",
            "adherence",
            "burden",
            "cost_per_month",
            "insurance_coverage",
            "would_recommend",
            "tips",
        ]:
            assert getattr(e, name) == VALID[name], name
        assert (e.dose_amount, e.satisfaction) == (50.0, 8)
        assert sorted(s.term for s in e.side_effects) == ["jaw tightness", "nausea", "tingling"]
        assert sorted(r.reason for r in e.stop_reasons) == ["cost", "side_effects"]
        assert (e.sex, e.age_band, e.years_since_diagnosis) == ("female", "45_64", "10_plus")
        assert db.session.scalar(select(Diagnosis.diagnosed_year)) == 2015
        experience_id = e.id
    edit_page = client.get(f"/experiences/{experience_id}/edit").text
    # Each radio group shows the saved answer, and only it, as checked.
    for name in ["role", "effectiveness", "side_effect_severity", "adherence", "burden", "would_recommend"]:
        assert checked_values(edit_page, name) == [VALID[name]], name
    assert sorted(checked_values(edit_page, "stop_reasons")) == ["cost", "side_effects"]
    assert 'value="2023-01"' in edit_page and 'value="jaw tightness, tingling"' in edit_page
    assert 'value="2015"' in edit_page
    # Saving the edit page unchanged changes nothing.
    changed = {**VALID, "effectiveness": "slight", "stopped": "", "stop_reasons": [], "side_effects": []}
    assert client.post(f"/experiences/{experience_id}/edit", data=changed).status_code == 302
    with app.app_context():
        e = db.session.get(Experience, experience_id)
        assert (e.effectiveness, e.stopped) == ("slight", None)
        assert e.side_effects == [] and e.stop_reasons == []
        assert e.updated_at >= e.created_at


INVALID = [
    ({"effectiveness": "amazing"}, "effectiveness", "Not a valid choice."),
    ({"effectiveness": ""}, "effectiveness", "Choose one answer."),
    ({"side_effect_severity": "extreme"}, "side_effect_severity", "Not a valid choice."),
    ({"role": "doctor"}, "role", "Not a valid choice."),
    ({"started": "2024-05", "stopped": "2024-01"}, "stopped", "cannot be before the start month"),
    ({"started": "2999-01", "stopped": ""}, "started", "cannot be in the future"),
    ({"diagnosed_year": "2999"}, "diagnosed_year", "Enter a year such as 2015."),
    ({"diagnosed_year": "9" * 400}, "diagnosed_year", "Enter a year such as 2015."),
    ({"diagnosed_year": "15th"}, "diagnosed_year", "Enter a year such as 2015."),
    ({"started": "March 2024"}, "started", "as YYYY-MM"),
    ({"started": "2024-13"}, "started", "as YYYY-MM"),
    ({"dose_unit": ""}, "dose_unit", "Choose the unit of the dose."),  # beside the field that lacks it
    ({"dose_amount": "1e308"}, "dose_amount", "Enter at most 100,000"),
    ({"dose_amount": "250000"}, "dose_amount", "check the number"),
    ({"dose_amount": "-5"}, "dose_amount", "Enter a dose above 0"),
    ({"dose_amount": "lots"}, "dose_amount", "Enter a number"),
    ({"dose_unit": "bucket"}, "dose_unit", "Not a valid choice."),
    ({"tips": "x" * 2001}, "tips", "Keep tips under 2,000 characters."),
    ({"condition": "no-such-condition"}, "condition", "Not a valid choice."),
    ({"treatment": "no-such-treatment"}, "treatment", "Not a valid choice."),
    ({"satisfaction": "11"}, "satisfaction", "Not a valid choice."),
    ({"stopped": "", "stop_reasons": ["cost"]}, "stop_reasons", "need a stop month"),
    ({"stop_reasons": ["bored"]}, "stop_reasons", "not a valid choice"),
    ({"treatment": "yoga"}, "dose_amount", "applies to drugs only"),
    ({"side_effects": ["x" * 81]}, "side_effects", "under 80 characters"),
    (
        {"side_effects": ["buy at www.cheap-pills.biz"]},
        "side_effects",
        "cannot hold an email address, a phone number or a link",
    ),
    ({"would_recommend": "maybe"}, "would_recommend", "Not a valid choice."),
    ({"dose_amount": "sNaN"}, "dose_amount", "Enter a number"),
    ({"dose_amount": "Infinity"}, "dose_amount", "Enter a number"),
]


def test_the_error_summary_links_every_failing_field(client, auth, catalog_rows):
    auth.login()
    page = client.post("/experiences/new", data={**VALID, "dose_unit": "", "effectiveness": "", "started": "soon"}).text
    summary = page.split('class="form-errors"')[1].split("</div>")[0]
    for target in ('href="#dose_unit"', 'href="#effectiveness-0"', 'href="#started"'):
        assert target in summary
    assert "Choose the unit of the dose." in summary


@pytest.mark.parametrize("typed, stored", [("2024/3", "2024-03"), ("03/2024", "2024-03"), (" 2024-3 ", "2024-03")])
def test_months_are_read_as_people_type_them(client, auth, app, catalog_rows, typed, stored):
    auth.login()
    response = client.post("/experiences/new", data={**VALID, "started": typed})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Experience.started)) == stored


def test_a_stop_month_of_only_whitespace_means_still_using(client, auth, app, catalog_rows):
    auth.login()
    assert client.post("/experiences/new", data={**VALID, "stopped": " \r\n ", "stop_reasons": []}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Experience.stopped)) in (None, "")


def test_invisible_control_characters_are_stripped_from_tips_and_terms(client, auth, app, catalog_rows):
    auth.login()
    tips = "Take it \u202eevil\u202c with food\u200b\u2066.\u2069"
    assert (
        client.post("/experiences/new", data={**VALID, "tips": tips, "side_effects": ["dizzi\u200bness"]}).status_code
        == 302
    )
    with app.app_context():
        experience = db.session.scalar(select(Experience))
        assert experience.tips == "Take it evil with food."
        assert [s.term for s in experience.side_effects] == ["dizziness"]


@pytest.mark.parametrize("change, field, message", INVALID)
def test_invalid_input_gets_its_message_keeps_answers_and_stores_nothing(
    client, auth, app, catalog_rows, change, field, message
):
    auth.login()
    response = client.post("/experiences/new", data={**VALID, **change})
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text
    error = response.text.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert message.lower() in error.lower()
    if field != "tips":
        assert "Take it at the first sign of an attack." in response.text  # other answers kept
    assert experience_count(app) == 0


def test_second_submission_for_the_same_pair_opens_the_first(client, auth, app, catalog_rows):
    auth.login()
    assert client.post("/experiences/new", data=VALID).status_code == 302
    with app.app_context():
        first_id = db.session.scalar(select(Experience.id))
    again = client.get("/experiences/new?condition=migraine&treatment=sumatriptan")
    assert again.status_code == 302 and again.location.endswith(f"/experiences/{first_id}/edit")
    posted = client.post("/experiences/new", data=VALID)
    assert posted.location.endswith(f"/experiences/{first_id}/edit")
    assert experience_count(app) == 1


def test_editing_into_an_existing_pair_is_refused(client, auth, app, catalog_rows):
    auth.login()
    assert client.post("/experiences/new", data=VALID).status_code == 302
    assert client.post("/experiences/new", data={**VALID, "condition": "cluster-headache"}).status_code == 302
    with app.app_context():
        second = db.session.scalar(select(Experience.id).order_by(Experience.id.desc()))
    response = client.post(f"/experiences/{second}/edit", data=VALID)
    assert response.status_code == 200 and "already have an experience" in response.text


def test_unique_constraint_guards_the_database(auth, app, catalog_rows, client):
    from sqlalchemy.exc import IntegrityError

    auth.login()
    assert client.post("/experiences/new", data=VALID).status_code == 302
    with app.app_context():
        e = db.session.scalar(select(Experience))
        db.session.add(
            Experience(
                **{
                    c: getattr(e, c)
                    for c in (
                        "user_id",
                        "condition_id",
                        "treatment_id",
                        "role",
                        "started",
                        "effectiveness",
                        "side_effect_severity",
                        "satisfaction",
                        "would_recommend",
                    )
                }
            )
        )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_my_experiences_lists_and_deletes_with_confirmation(client, auth, app, catalog_rows):
    auth.login()
    assert "not shared any experience yet" in client.get("/experiences").text
    assert client.post("/experiences/new", data=VALID).status_code == 302
    page = client.get("/experiences").text
    assert "Sumatriptan" in page and "Migraine" in page and "<time" in page
    with app.app_context():
        experience_id = db.session.scalar(select(Experience.id))
    confirm = client.get(f"/experiences/{experience_id}/delete")
    assert "cannot be undone" in confirm.text
    assert experience_count(app) == 1
    assert client.post(f"/experiences/{experience_id}/delete").status_code == 302
    assert experience_count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExperienceSideEffect)) == 0
        assert db.session.scalar(select(func.count()).select_from(ExperienceStopReason)) == 0


OWNER_URLS = [
    ("get", "/experiences/{id}/edit"),
    ("post", "/experiences/{id}/edit"),
    ("get", "/experiences/{id}/delete"),
    ("post", "/experiences/{id}/delete"),
]


@pytest.mark.parametrize("method, url", OWNER_URLS)
def test_nobody_else_can_view_edit_or_delete(client, auth, app, catalog_rows, method, url):
    auth.login(email="owner@example.org")
    assert client.post("/experiences/new", data=VALID).status_code == 302
    with app.app_context():
        experience_id = db.session.scalar(select(Experience.id))
    auth.logout()
    anonymous = getattr(client, method)(url.format(id=experience_id), data=VALID)
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    auth.login(email="intruder@example.org")
    response = getattr(client, method)(url.format(id=experience_id), data={**VALID, "effectiveness": "worse"})
    assert response.status_code == 404
    assert "Sumatriptan" not in client.get("/experiences").text
    with app.app_context():
        assert db.session.scalar(select(Experience.effectiveness)) == "major"
    assert experience_count(app) == 1


@pytest.mark.parametrize("url", ["/experiences", "/experiences/new"])
def test_experience_pages_require_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.location


def test_condition_and_treatment_pages_count_and_link_to_the_form(client, auth, catalog_rows):
    auth.login()
    assert client.post("/experiences/new", data=VALID).status_code == 302
    page = client.get("/conditions/migraine").text
    assert "Too few reports to show" in page  # one report is counted, but too few to show
    assert "Share your experience with Sumatriptan for Migraine" in page
    assert "/experiences/new?condition=migraine&amp;treatment=sumatriptan" in page
    assert "Share your experience with Sumatriptan for Migraine" in client.get("/treatments/sumatriptan").text


def test_the_posted_form_decides_not_the_query_string(client, auth, app, catalog_rows):
    auth.login()
    response = client.post("/experiences/new?condition=zzz&treatment=yoga", data=VALID)
    assert response.status_code == 302
    with app.app_context():
        e = db.session.scalar(select(Experience))
        assert (e.condition.slug, e.treatment.slug) == ("migraine", "sumatriptan")


@pytest.mark.parametrize(
    "url",
    [
        "/experiences/99999999999999999999/edit",
        "/experiences/2147483648/edit",
        "/experiences?page=99999999999999999999",
    ],
)
def test_huge_numbers_are_not_errors(client, auth, catalog_rows, url):
    auth.login()
    assert client.get(url).status_code in (200, 404)


def test_a_treatment_added_to_the_catalog_appears_in_the_form_at_once(client, auth, catalog_rows):
    auth.login()
    assert "Tai chi" not in client.get("/experiences/new").text
    assert client.post("/treatments/new", data={"name": "Tai chi", "kind": "lifestyle"}).status_code == 302
    assert '<option value="tai-chi">Tai chi</option>' in client.get("/experiences/new").text


def test_an_entry_merged_away_while_the_form_was_open_is_asked_again(client, auth, app, catalog_rows):
    from registry.catalog import merge as catalog_merge
    from registry.models import Treatment, User

    auth.login()
    client.get("/experiences/new")  # the form's choices are cached now
    with app.app_context():
        with_slug = {t.slug: t for t in db.session.scalars(select(Treatment))}
        catalog_merge.merge(db.session.scalar(select(User)), "treatment", with_slug["sumatriptan"], with_slug["yoga"])
        db.session.commit()
    response = client.post("/experiences/new", data=VALID)
    assert response.status_code == 200 and 'id="treatment-error"' in response.text
    assert experience_count(app) == 0


def test_the_form_carries_each_conditions_usual_treatments_for_its_script(client, auth, catalog_rows):
    import html
    import json

    auth.login()
    page = client.get("/experiences/new").text
    usual = json.loads(html.unescape(page.split("data-usual='")[1].split("'")[0]))
    assert usual == {"cluster-headache": ["sumatriptan"], "migraine": ["sumatriptan", "yoga"]}


def test_a_form_without_any_dose_field_is_accepted(client, auth, app, catalog_rows):
    auth.login()
    answers = {k: v for k, v in VALID.items() if not k.startswith("dose_")}
    assert client.post("/experiences/new", data=answers).status_code == 302
    assert experience_count(app) == 1


# Each answer that depends on another, in conflict: the page asks beside the field and shows what was typed.
PAIRS = [
    ({"stopped": "", "stop_reasons": ["cost"]}, "stop_reasons", "need a stop month", ("stop_reasons", ["cost"])),
    ({"stopped": "2022-11"}, "stopped", "before the start month", 'value="2022-11"'),
    ({"dose_unit": ""}, "dose_unit", "Choose the unit", 'value="50"'),
    ({"dose_amount": ""}, "dose_unit", "Give the dose amount", '<option selected value="mg">'),
    ({"treatment": "yoga"}, "dose_amount", "drugs only", 'value="50"'),
    ({"treatment": "yoga", "dose_amount": ""}, "dose_unit", "drugs only", '<option selected value="mg">'),
    (
        {"treatment": "yoga", "dose_amount": "", "dose_unit": ""},
        "dose_frequency",
        "drugs only",
        '<option selected value="as_needed">',
    ),
]


@pytest.mark.parametrize("change, field, message, kept", PAIRS)
def test_an_answer_that_does_not_fit_another_is_asked_about_not_dropped(
    client, auth, app, catalog_rows, change, field, message, kept
):
    auth.login()
    response = client.post("/experiences/new", data={**VALID, **change})
    assert response.status_code == 200 and experience_count(app) == 0
    error = response.text.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert message in error
    if isinstance(kept, tuple):  # ticked boxes stay ticked
        assert checked_values(response.text, kept[0]) == kept[1]
    else:
        assert kept in response.text
    assert f'href="#{field}' in response.text.split('id="form-errors"')[1].split("</div>")[0]


def test_the_stop_reasons_wait_for_a_stop_month_and_the_follow_ups_for_stopped(client, auth, catalog_rows):
    # layout.js hides each part until its answer is given; without scripts both show.
    auth.login()
    page = client.get("/experiences/new").text
    assert (
        'id="stop-reasons" data-show-if="stopped"' in page and "hidden" not in page.split('id="stop-reasons"')[1][:40]
    )


def test_my_experiences_puts_the_actions_right_after_the_name_as_cards(client, auth, app, make, catalog_rows):
    user_id = auth.login()
    still = make.experience(user_id=user_id)
    stopped = make.experience(user_id=user_id, condition="cluster-headache", stopped="2024-05")
    page = client.get("/experiences").text
    table = page.split('id="my-experiences"')[1].split("</table>")[0]
    assert 'class="list cards"' in page.split('id="my-experiences"')[0][-40:] and "table-scroll" not in table
    row = table.split(f'id="experience-{still}"')[1].split("</tr>")[0]
    cells = row.split("<td")
    assert 'th scope="row"' in cells[0] and 'class="key' in cells[1] and ">Update<" in cells[1]
    assert all("data-label=" in cell for cell in cells[2:])
    # A stopped experience has nothing to update "now": it asks whether it was started again.
    row = table.split(f'id="experience-{stopped}"')[1].split("</tr>")[0]
    assert ">Update<" not in row and "Stopped 2024-05." in row and "Started again?" in row
    assert f"/experiences/{stopped}/update" in row


# --- a day's changes per report and per account (registry.platform.extensions.count_change) ---------------


@pytest.fixture
def limited(app):
    """The rate limits on at their defaults: 3 changes a day per report; the account's total lowered to 6."""
    from tests.test_extensions import limits_on

    with limits_on(app, RATELIMIT_SUBMIT_ACCOUNT="6 per day") as limited:
        yield limited


# Yoga takes no dose.
YOGA = {**{k: v for k, v in VALID.items() if not k.startswith("dose_")}, "treatment": "yoga"}


def signed_in(limited, make, email="patient@example.org"):
    """A client of the limited app, logged in as a new account."""
    make.user(email=email)
    client = limited.test_client()
    assert client.post("/login", data={"email": email, "password": "correct horse battery"}).status_code == 302
    return client


def stored(app) -> list[tuple]:
    """(owner, condition, treatment, effectiveness) of every stored experience, in the order they were added."""
    with app.app_context():
        experiences = db.session.scalars(select(Experience).order_by(Experience.id))
        return [(e.user.email, e.condition.slug, e.treatment.slug, e.effectiveness) for e in experiences]


def ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Experience.id).order_by(Experience.id)))


def assert_refused_until_tomorrow(response):
    assert response.status_code == 429
    assert "You can change this report again tomorrow." in response.text and "nothing was changed" in response.text
    assert "<nav" in response.text  # the site's own error page
    assert 23 * 3600 < int(response.headers["Retry-After"]) <= 24 * 3600


def test_a_fourth_save_of_a_report_in_a_day_is_refused_and_stores_nothing(limited, make, app, catalog_rows):
    client = signed_in(limited, make)
    assert client.post("/experiences/new", data=VALID).status_code == 302
    edit = f"/experiences/{ids(app)[0]}/edit"
    assert client.post(edit, data={**VALID, "effectiveness": "moderate"}).status_code == 302
    for _ in range(3):  # a form with a mistake changes nothing, so it costs nothing
        assert client.post(edit, data={**VALID, "effectiveness": ""}).status_code == 200
    assert client.post(edit, data={**VALID, "effectiveness": "slight"}).status_code == 302
    assert_refused_until_tomorrow(client.post(edit, data={**VALID, "effectiveness": "none"}))
    assert stored(app) == [("patient@example.org", "migraine", "sumatriptan", "slight")]
    assert client.get(edit).status_code == 200  # the form still opens
    # Another report of the same account has a count of its own...
    assert client.post("/experiences/new", data={**VALID, "condition": "cluster-headache"}).status_code == 302
    # ...and so has another account's report of the same pair.
    other = signed_in(limited, make, email="other@example.org")
    assert other.post("/experiences/new", data=VALID).status_code == 302
    assert len(stored(app)) == 3


def test_deleting_counts_like_saving(limited, make, app, catalog_rows):
    client = signed_in(limited, make)
    assert client.post("/experiences/new", data=VALID).status_code == 302
    assert client.post(f"/experiences/{ids(app)[0]}/delete").status_code == 302
    assert client.post("/experiences/new", data=VALID).status_code == 302  # the third change of the pair
    (experience_id,) = ids(app)
    assert_refused_until_tomorrow(client.post(f"/experiences/{experience_id}/delete"))
    assert stored(app) == [("patient@example.org", "migraine", "sumatriptan", "major")]  # still there
    assert client.get(f"/experiences/{experience_id}/delete").status_code == 200  # the confirmation still opens


def test_a_move_counts_for_the_pair_it_leaves_and_the_pair_it_joins(limited, make, app, catalog_rows):
    client = signed_in(limited, make)
    assert client.post("/experiences/new", data=VALID).status_code == 302  # sumatriptan 1
    edit = f"/experiences/{ids(app)[0]}/edit"
    assert client.post(edit, data=YOGA).status_code == 302  # sumatriptan 2, yoga 1
    assert client.post(edit, data=VALID).status_code == 302  # sumatriptan 3, yoga 2
    assert_refused_until_tomorrow(client.post(edit, data=YOGA))  # sumatriptan's 4th
    assert stored(app) == [("patient@example.org", "migraine", "sumatriptan", "major")]
    assert client.post("/experiences/new", data=YOGA).status_code == 302  # yoga 3
    assert_refused_until_tomorrow(client.post(f"/experiences/{ids(app)[1]}/edit", data=YOGA))
    assert [row[2] for row in stored(app)] == ["sumatriptan", "yoga"]


def test_an_accounts_changes_a_day_are_capped_across_its_reports(limited, make, app, catalog_rows):
    client = signed_in(limited, make)
    for answers in (VALID, YOGA, {**VALID, "condition": "cluster-headache"}):
        assert client.post("/experiences/new", data=answers).status_code == 302
    first, second, _ = ids(app)
    assert client.post(f"/experiences/{first}/edit", data=VALID).status_code == 302
    assert client.post(f"/experiences/{second}/edit", data=YOGA).status_code == 302
    assert client.post(f"/experiences/{second}/delete").status_code == 302  # the account's 6th change
    refused = client.post(f"/experiences/{first}/delete")  # the report's 3rd, the account's 7th
    assert refused.status_code == 429 and "You can make more changes tomorrow." in refused.text
    assert [row[1:3] for row in stored(app)] == [("migraine", "sumatriptan"), ("cluster-headache", "sumatriptan")]


def test_a_broad_word_makes_the_form_ask_which_diagnosis(client, auth, make, monkeypatch):
    from registry.catalog import catalog

    make.treatment("Sertraline")
    make.condition("Major depressive disorder", "F33", treatments=["sertraline"])
    make.condition("Persistent depressive disorder", "F34.1", treatments=["sertraline"])
    monkeypatch.setattr(
        catalog, "broad_terms", lambda: {"depression": ("major-depressive-disorder", "persistent-depressive-disorder")}
    )
    auth.login()
    page = client.get("/experiences/new?condition=Depression&treatment=sertraline").text
    assert '"Depression" can mean several diagnoses. Which one is yours?' in page
    assert "/experiences/new?condition=major-depressive-disorder&amp;treatment=sertraline" in page
    assert "/experiences/new?condition=persistent-depressive-disorder&amp;treatment=sertraline" in page
    assert 'option selected value="major' not in page  # nothing chosen for them
    plain = client.get("/experiences/new?condition=major-depressive-disorder").text
    assert "Which one is yours?" not in plain
