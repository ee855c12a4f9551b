"""Tips: filtered and sorted lists, and the "this helped me" vote (registry.contributions.tips, its view in registry.web.views.reports)."""

import re

import pytest
from sqlalchemy import func, select

from registry.contributions import tips
from registry.models import AuditEvent, Experience, TipVote, User
from registry.platform.extensions import db

PAGE = "/conditions/migraine/treatments/sumatriptan"


@pytest.fixture
def pair(make):
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])
    ids = [make.experience(tips=f"Tip number {i}") for i in range(6)]
    return ids


def _votes(app, tip_id=None) -> int:
    with app.app_context():
        query = select(func.count()).select_from(TipVote)
        if tip_id is not None:
            query = query.where(TipVote.experience_id == tip_id)
        return db.session.scalar(query)


def _audit(app, action) -> list:
    with app.app_context():
        return db.session.execute(
            select(AuditEvent.object_id, AuditEvent.actor_id).where(AuditEvent.action == action)
        ).all()


def _vote_by_members(app, make, tip_id, n):
    for _ in range(n):
        voter = make.member()
        with app.app_context():
            tips.vote(db.session.get(User, voter), db.session.get(Experience, tip_id), True)
            db.session.commit()


def test_voting_needs_a_signed_in_participant(client, app, pair):
    response = client.post(f"/tips/{pair[0]}/helped", data={"helped": "1"})
    assert response.status_code == 302 and "/login" in response.location
    assert _votes(app) == 0


def test_a_vote_counts_once_can_be_taken_back_and_is_audited(client, app, auth, pair):
    voter = auth.login()
    for _ in range(2):  # the same click twice: one vote
        response = client.post(f"/tips/{pair[0]}/helped", data={"helped": "1"})
        assert response.status_code == 302 and response.location.endswith(f"{PAGE}#tip-{pair[0]}")
    assert _votes(app, pair[0]) == 1
    assert _audit(app, "tip.helped") == [(pair[0], voter)]  # one event: the second click changed nothing
    page = client.get(PAGE).text
    assert "You said this helped you (undo)" in page and 'aria-pressed="true"' in page
    assert client.post(f"/tips/{pair[0]}/helped", data={"helped": "0"}).status_code == 302
    assert _votes(app, pair[0]) == 0 and _audit(app, "tip.unhelped") == [(pair[0], voter)]


@pytest.mark.parametrize("data", [{"helped": "2"}, {}])
def test_a_bad_vote_is_refused_and_changes_nothing(client, app, auth, pair, data):
    auth.login()
    assert client.post(f"/tips/{pair[0]}/helped", data=data).status_code == 400
    assert _votes(app) == 0


def test_no_vote_on_a_missing_or_hidden_tip(client, app, auth, pair):
    auth.login()
    assert client.post("/tips/999999/helped", data={"helped": "1"}).status_code == 404
    with app.app_context():
        db.session.get(Experience, pair[1]).text_state = "hidden"
        db.session.commit()
    assert client.post(f"/tips/{pair[1]}/helped", data={"helped": "1"}).status_code == 404
    assert _votes(app) == 0


def test_ones_own_tip_cannot_be_voted_for(client, app, make, auth, pair):
    author = auth.login(email="author@example.org")
    own = make.experience(user_id=author, tips="What I learned")
    response = client.post(f"/tips/{own}/helped", data={"helped": "1"}, follow_redirects=True)
    assert "your own tip" in response.text and _votes(app) == 0
    assert f'action="/tips/{own}/helped"' not in response.text  # no button on one's own tip


def test_helped_count_is_shown_only_from_min_n_and_never_who_voted(client, app, make, pair):
    _vote_by_members(app, make, pair[0], 4)
    page = client.get(PAGE).text
    assert "Helped 4" not in page and not re.search(r"Helped \d+ people", page)  # 0 and 1-4 look alike
    _vote_by_members(app, make, pair[0], 1)
    page = client.get(PAGE).text
    assert "Helped 5 people" in page  # exact mode in the tests: the true count
    with app.app_context():
        voters = db.session.scalars(select(User.pseudonym).join(TipVote, TipVote.user_id == User.id)).all()
    assert voters and not any(name in page for name in voters)


def test_most_helpful_first_then_newest(client, app, make, pair):
    _vote_by_members(app, make, pair[0], 5)  # the oldest tip
    newest = re.findall(r"<blockquote>(.*?)</blockquote>", client.get(PAGE).text)
    helpful = re.findall(r"<blockquote>(.*?)</blockquote>", client.get(PAGE + "?sort=helpful").text)
    assert newest[0] == "Tip number 5" and newest[-1] == "Tip number 0"
    assert helpful == ["Tip number 0", "Tip number 5", "Tip number 4", "Tip number 3", "Tip number 2", "Tip number 1"]
    bogus = client.get(PAGE + "?sort=<script>")
    assert bogus.status_code == 200 and re.findall(r"<blockquote>(.*?)</blockquote>", bogus.text) == newest


def test_helpful_order_pages_on(app, make, pair):
    more = [make.experience(tips=f"Extra {i}") for i in range(10)]
    _vote_by_members(app, make, more[0], 5)
    with app.test_request_context():
        from reports.filters import Filters

        condition = db.session.get(Experience, pair[0]).condition
        treatment = db.session.get(Experience, pair[0]).treatment
        first = tips.tip_page(condition, treatment, Filters(), "helpful", 1, per_page=10)
        second = tips.tip_page(condition, treatment, Filters(), "helpful", 2, per_page=10)
    ids = [e.id for e in first.items] + [e.id for e in second.items]
    assert ids[0] == more[0] and len(ids) == 16 == len(set(ids))
    assert first.has_next and not second.has_next


def test_a_real_form_post_carries_the_csrf_token(make, database_url, pair):
    from registry.app import create_app

    csrf_app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "EXPORT_KEY": "test-export-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "DISCLOSURE": "exact",
            "DISCLOSURE_KEY": "test-disclosure-key",
        }
    )
    try:
        user_id = make.user(email="voter@example.org")
        with csrf_app.app_context():
            from registry.accounts import auth

            key = auth.start_session(db.session.get(User, user_id), "Firefox/130", remember=False)
            db.session.commit()
        client = csrf_app.test_client()
        with client.session_transaction() as session:  # signed in, as a browser would be
            session["_user_id"], session["_fresh"] = key, True
        assert client.post(f"/tips/{pair[0]}/helped", data={"helped": "1"}).status_code == 400  # a cross-site post
        assert _votes(csrf_app) == 0
        page = client.get(PAGE).text
        form = re.search(rf'<form method="post" action="/tips/{pair[0]}/helped".*?</form>', page, re.S).group(0)
        fields = dict(re.findall(r'name="(\w+)"(?: type="hidden")? value="([^"]*)"', form))
        assert fields["helped"] == "1" and fields["csrf_token"]
        response = client.post(f"/tips/{pair[0]}/helped", data=fields)
        assert response.status_code == 302 and _votes(csrf_app, pair[0]) == 1
    finally:
        with csrf_app.app_context():
            db.session.remove()
            db.engine.dispose()


def _tip_items(page: str) -> dict[str, str]:
    """Each tip's text -> its list item's HTML."""
    return {
        re.search(r"<blockquote>(.*?)</blockquote>", item, re.S).group(1): item
        for item in re.findall(r'<li id="tip-\d+">.*?</li>', page, re.S)
    }


def test_a_tip_shows_its_tellers_answers_only_where_they_chose(client, make):
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])
    make.experience(
        tips="Shown with my answers",
        tips_show_answers=True,
        role="caregiver",
        satisfaction=8,
        started="2023-01",
        stopped="2024-06",
        side_effect_severity="moderate",
    )
    make.experience(tips="Just the tip", role="patient", satisfaction=3, side_effect_severity="severe")
    items = _tip_items(client.get(PAGE).text)
    chosen, plain = items["Shown with my answers"], items["Just the tip"]
    for words in (
        "Told by: Caregiver",
        "Satisfaction: 8 out of 10",
        "Time on it: 1-2 years, stopped",
        "Side effects at their worst: Moderate",
    ):
        assert words in chosen, words
    assert "tip-answers" not in plain and "Satisfaction" not in plain and "Severe" not in plain


def test_the_choice_is_off_unless_ticked_and_kept_by_a_follow_up(app, make):
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])
    default, chosen = make.experience(tips="Off"), make.experience(tips="On", tips_show_answers=True)
    with app.app_context():
        from registry.contributions import experiences

        assert db.session.get(Experience, default).tips_show_answers is False
        row = db.session.get(Experience, chosen)
        values = experiences.form_data(row)
        assert values["tips_show_answers"] is True
        values.pop("tips_show_answers")  # a follow-up or an import does not ask: the choice stays
        experiences.save(row.user, row.condition, row.treatment, {**values, "side_effects": []}, None, row)
        db.session.commit()
        assert db.session.get(Experience, chosen).tips_show_answers is True


def test_the_form_asks_plainly_and_saves_the_choice(client, app, auth, make):
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])
    auth.login()
    form = client.get("/experiences/new?condition=migraine&treatment=sumatriptan").text
    box = re.search(r'<input[^>]*name="tips_show_answers"[^>]*>', form).group(0)
    assert 'type="checkbox"' in box and "checked" not in box
    assert "Show my answers with my tip" in form and "These answers will be public with your tip" in form
    answers = {
        "condition": "migraine",
        "treatment": "sumatriptan",
        "role": "patient",
        "started": "2023-01",
        "effectiveness": "major",
        "side_effect_severity": "mild",
        "satisfaction": "9",
        "would_recommend": "yes",
        "tips": "Take it early.",
    }
    assert client.post("/experiences/new", data={**answers, "tips_show_answers": "y"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Experience.tips_show_answers).where(Experience.tips == "Take it early."))


def test_the_dose_shows_as_the_pages_band_or_not_at_all():
    from types import SimpleNamespace

    from reports.dose import DoseReport

    bands = DoseReport(5, False, measure="mg a day", edges=[25.0, 50.0, 100.0])
    teller = SimpleNamespace(
        started="2024-01", stopped=None, updated_at=None, dose_amount=25.0, dose_unit="mg", dose_frequency="twice_daily"
    )
    assert tips.dose_band(teller, bands) == "50 to under 100 mg a day"  # 25 mg twice a day = 50 mg a day
    assert tips.dose_band(SimpleNamespace(**{**vars(teller), "dose_amount": 0.5, "dose_unit": "g"}), bands) == (
        "100 or more mg a day"
    )
    assert tips.dose_band(SimpleNamespace(**{**vars(teller), "dose_unit": "ml"}), bands) is None  # another measure
    assert tips.dose_band(teller, DoseReport(5, False, measure="mg a day", edges=[50.0])) is None  # no bands
    assert tips.dose_band(teller, DoseReport(5, True)) is None and tips.dose_band(teller, None) is None


def test_every_role_has_its_word():
    import scales

    assert set(tips.ROLE_WORDS) == set(scales.ROLE.codes)
