"""The doctor-rating form, doctor pages, find a doctor and the doctors API."""

import re

import pytest
from sqlalchemy import func, select

from registry.models import Doctor, DoctorRating
from registry.platform.extensions import db

VALID = {
    "doctor": "1",
    "condition": "migraine",
    "last_visit": "2025-06",
    "overall": "9",
    "explained_clearly": "always",
    "listened_carefully": "usually",
    "showed_respect": "always",
    "spent_enough_time": "sometimes",
    "got_appointment": "usually",
    "knowledge": "4",
    "would_recommend": "probably_yes",
    "comment": "Explained every option.",
}


@pytest.fixture
def doctor(make, app):
    make.condition("Migraine", "G43")
    make.condition("Epilepsy", "G40")
    with app.app_context():
        db.session.add(
            Doctor(
                name="Dr. Ines Moreau",
                name_key="ines moreau",
                specialty="Neurology",
                city="Lyon",
                city_key="lyon",
                country="FR",
            )
        )
        db.session.commit()


def rating_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(DoctorRating.id)))


def test_rating_round_trips_through_save_and_edit(client, auth, app, doctor):
    auth.login()
    response = client.post("/ratings/new?doctor=1", data=VALID)
    assert response.status_code == 302
    with app.app_context():
        r = db.session.scalar(select(DoctorRating))
        for name in [
            "last_visit",
            "explained_clearly",
            "listened_carefully",
            "showed_respect",
            "spent_enough_time",
            "got_appointment",
            "would_recommend",
            "comment",
        ]:
            assert getattr(r, name) == VALID[name]
        assert (r.overall, r.knowledge) == (9, 4)
        rating_id = r.id
    page = client.get(f"/ratings/{rating_id}/edit").text
    assert 'value="2025-06"' in page and "Explained every option." in page
    assert client.post(f"/ratings/{rating_id}/edit", data={**VALID, "overall": "3"}).status_code == 302
    with app.app_context():
        assert db.session.get(DoctorRating, rating_id).overall == 3
    mine = client.get("/experiences").text.split("<main", 1)[1]  # "my ratings", in the page body
    assert mine.count('<h2 id="ratings">') == 1 and 'href="/doctors/1">Dr. Ines Moreau</a>' in mine


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"overall": "11"}, "overall", "Not a valid choice"),
        ({"overall": ""}, "overall", "0 to 10"),
        ({"knowledge": "0"}, "knowledge", "Not a valid choice"),
        ({"explained_clearly": "often"}, "explained_clearly", "Not a valid choice"),
        ({"would_recommend": "yes"}, "would_recommend", "Not a valid choice"),
        ({"last_visit": "2999-01"}, "last_visit", "future"),
        ({"last_visit": "June"}, "last_visit", "YYYY-MM"),
        ({"condition": "nope"}, "condition", "Not a valid choice"),
        ({"comment": "x" * 2001}, "comment", "under 2,000"),
    ],
)
def test_invalid_ratings_get_their_message_and_save_nothing(client, auth, app, doctor, change, field, message):
    auth.login()
    response = client.post("/ratings/new?doctor=1", data={**VALID, **change})
    assert response.status_code == 200
    error = response.text.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert message.lower() in error.lower()
    assert rating_count(app) == 0


def test_unknown_doctor_is_404_and_second_rating_opens_the_first(client, auth, app, doctor):
    auth.login()
    assert client.get("/ratings/new?doctor=99").status_code == 404
    assert client.post("/ratings/new?doctor=1", data=VALID).status_code == 302
    again = client.get("/ratings/new?doctor=1&condition=migraine")
    assert again.status_code == 302 and "/edit" in again.location
    assert client.post("/ratings/new?doctor=1", data=VALID).status_code == 302
    assert rating_count(app) == 1


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "/ratings/{id}/edit"),
        ("post", "/ratings/{id}/edit"),
        ("get", "/ratings/{id}/delete"),
        ("post", "/ratings/{id}/delete"),
    ],
)
def test_nobody_else_can_edit_or_delete_a_rating(client, auth, app, doctor, method, url):
    auth.login(email="owner@example.org")
    assert client.post("/ratings/new?doctor=1", data=VALID).status_code == 302
    auth.logout()
    auth.login(email="intruder@example.org")
    response = getattr(client, method)(url.format(id=1), data={**VALID, "overall": "0"})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(DoctorRating.overall)) == 9


def test_delete_own_rating(client, auth, app, doctor):
    auth.login()
    assert client.post("/ratings/new?doctor=1", data=VALID).status_code == 302
    assert "cannot be undone" in client.get("/ratings/1/delete").text
    assert client.post("/ratings/1/delete").status_code == 302
    assert rating_count(app) == 0


def test_doctor_page_find_a_doctor_and_api(client, auth, app, doctor):
    for i in range(6):
        auth.login(email=f"p{i}@example.org")
        assert (
            client.post("/ratings/new?doctor=1", data={**VALID, "overall": "10" if i < 3 else "7"}).status_code == 302
        )
        auth.logout()
    page = client.get("/doctors/1").text
    assert "Rated 9 or 10" in page and "Explained every option." in page and "not medical advice" in page
    listing = client.get("/doctors?condition=migraine&specialty=neuro").text
    assert "Dr. Ines Moreau" in listing and "50%" in listing
    api = client.get("/api/v1/doctors?condition=migraine").get_json()
    first = api["doctors"][0]
    assert first["id"] == 1 and first["n"] == 6 and first["top_box"]["share"] == 0.5
    assert client.get("/api/v1/doctors/1").get_json()["overall"]["overall_mean"] == 8.5
    assert client.get("/api/v1/doctors/99").status_code == 404
    assert "Dr. Ines Moreau" in client.get("/conditions/migraine").text  # doctors rated for this condition


def test_the_doctor_page_per_condition_is_a_card_per_condition_on_a_phone(client, auth, doctor):
    """Per condition: a card on a phone (table.cards), the condition as its title, the average right under it
    and every score labelled, never a row of seven columns scrolled sideways."""
    for i in range(6):
        auth.login(email=f"p{i}@example.org")
        assert client.post("/ratings/new?doctor=1", data=VALID).status_code == 302
        auth.logout()
    page = client.get("/doctors/1").text
    table = page[page.index("<h2>Per condition</h2>") :].split("</table>")[0]
    assert '<table class="list cards">' in table and "table-scroll" not in table
    row = table.split("<tbody>")[1].split("</tr>")[0]
    assert re.search(
        r'<tr><th scope="row"><a href="[^"]+">Migraine</a></th>\s*<td class="num key" data-label="Average', row
    )
    assert len(re.findall(r"<td ", row)) == len(re.findall(r'<td [^>]*data-label="[^"]+"', row)) == 6


@pytest.mark.parametrize(
    "raw", ["2147483648", "2147483647", "99999999999999999999", "0", "-1", "1e3", "²", "0x1", "1.0"]
)
def test_an_id_in_the_query_string_or_form_never_overflows(client, auth, doctor, raw):
    """On PostgreSQL an id over 2**31-1 used to reach the query and fail (500); now every id is bounded."""
    auth.login()
    assert client.get(f"/ratings/new?doctor={raw}").status_code == 404
    assert client.post(f"/ratings/new?doctor={raw}", data={**VALID, "doctor": raw}).status_code == 404
    assert client.post("/ratings/new?doctor=1", data={**VALID, "doctor": raw}).status_code == 404  # the form decides


def test_parse_id_is_the_one_bound():
    from forms.text import MAX_ID, parse_id

    assert [parse_id(v) for v in ("1", " 42 ", str(MAX_ID), str(MAX_ID + 1), "", None, "007", "-3")] == [
        1,
        42,
        MAX_ID,
        None,
        None,
        None,
        7,
        None,
    ]


def test_the_cahps_wording_is_explained_once_per_page(client, auth, doctor):
    auth.login()
    form = client.get("/ratings/new?doctor=1").text
    assert form.count("CG-CAHPS") == 1 and "in the CG-CAHPS wording" not in form
    page = client.get("/doctors/1").text
    assert page.count("CG-CAHPS") == 1 and "How to read these scores" in page


def test_every_answer_box_sits_inside_its_whole_label_and_number_scales_are_grids(client, auth, doctor):
    # The label is the target (44 px, style.css); 0-10 and 1-5 are grids (no 7 + 3 wrap on a phone).
    auth.login()
    form = client.get("/ratings/new?doctor=1").text
    for n in range(11):
        assert f'<label class="choice" for="overall-{n}"><input id="overall-{n}" name="overall"' in form
    assert "numbers count-11" in form and "numbers count-5" in form
    assert form.count('<label class="choice"') == 11 + 4 * 5 + 5 + 4  # overall, five how-often, knowledge, recommend


# --- a day's changes per rating and per account (registry.platform.extensions.count_change) ---------------


@pytest.fixture
def limited(app):
    """The rate limits on at their defaults (3 changes a day per doctor and condition)."""
    from tests.test_extensions import limits_on

    with limits_on(app) as limited:
        yield limited


def signed_in(limited, make, email="patient@example.org"):
    """A client of the limited app, logged in as a new account."""
    make.user(email=email)
    client = limited.test_client()
    assert client.post("/login", data={"email": email, "password": "correct horse battery"}).status_code == 302
    return client


def stored(app) -> list[tuple]:
    """(owner, condition, overall) of every stored rating, in the order they were added."""
    with app.app_context():
        ratings = db.session.scalars(select(DoctorRating).order_by(DoctorRating.id))
        return [(r.user.email, r.condition.slug, r.overall) for r in ratings]


def assert_refused_until_tomorrow(response):
    assert response.status_code == 429
    assert "You can change this report again tomorrow." in response.text and "nothing was changed" in response.text
    assert 23 * 3600 < int(response.headers["Retry-After"]) <= 24 * 3600


def test_a_fourth_save_of_a_rating_in_a_day_is_refused_and_stores_nothing(limited, make, app, doctor):
    client = signed_in(limited, make)
    assert client.post("/ratings/new?doctor=1", data=VALID).status_code == 302
    assert client.post("/ratings/1/edit", data={**VALID, "overall": ""}).status_code == 200  # a mistake is free
    for overall in ("8", "7"):
        assert client.post("/ratings/1/edit", data={**VALID, "overall": overall}).status_code == 302
    assert_refused_until_tomorrow(client.post("/ratings/1/edit", data={**VALID, "overall": "1"}))
    assert_refused_until_tomorrow(client.post("/ratings/1/delete"))  # deleting counts alike
    assert stored(app) == [("patient@example.org", "migraine", 7)]
    other = signed_in(limited, make, email="other@example.org")  # another account has its own count
    assert other.post("/ratings/new?doctor=1", data=VALID).status_code == 302
    assert len(stored(app)) == 2


def test_a_rating_moved_to_another_condition_counts_for_both(limited, make, app, doctor):
    client = signed_in(limited, make)
    epilepsy = {**VALID, "condition": "epilepsy"}
    assert client.post("/ratings/new?doctor=1", data=VALID).status_code == 302  # migraine 1
    assert client.post("/ratings/1/edit", data=epilepsy).status_code == 302  # migraine 2, epilepsy 1
    assert client.post("/ratings/1/delete").status_code == 302  # epilepsy 2
    assert client.post("/ratings/new?doctor=1", data=epilepsy).status_code == 302  # epilepsy 3
    with app.app_context():
        rating_id = db.session.scalar(select(DoctorRating.id))
    assert_refused_until_tomorrow(client.post(f"/ratings/{rating_id}/edit", data=VALID))  # epilepsy's 4th
    assert stored(app) == [("patient@example.org", "epilepsy", 9)]
    assert client.post(f"/ratings/{rating_id}/delete").status_code == 429
    assert client.post("/ratings/new?doctor=1", data=VALID).status_code == 302  # migraine 3: a count of its own
    assert len(stored(app)) == 2
