"""Following conditions (registry.contributions.following, registry.web.views.following): the button, What's new, the home page."""

from __future__ import annotations

import random
import re

import pytest
from sqlalchemy import select

from registry.models import ConditionFollow
from registry.platform.extensions import db
from reports import followup as fr
from reports.disclosure import Policy


@pytest.fixture
def community(make):
    for name in ("Sumatriptan", "Topiramate", "Propranolol"):
        make.treatment(name)
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate", "propranolol"])
    for _ in range(6):
        make.experience(treatment="sumatriptan", effectiveness="major")
    for _ in range(6):
        make.experience(treatment="topiramate", effectiveness="slight")
    for _ in range(4):  # under min_n: not in the published ranking
        make.experience(treatment="propranolol", effectiveness="major")


NOTHING = "Nothing new since your last visit"


def follow(client, slug="migraine", on=True):
    return client.post(f"/conditions/{slug}/follow", data={"follow": "1" if on else "0"})


def test_the_button_follows_and_unfollows_for_signed_in_participants_only(client, auth, app, community):
    assert "Follow Migraine" not in client.get("/conditions/migraine").text
    assert follow(client).status_code == 302 and "/login" in follow(client).location
    user_id = auth.login()
    assert "Follow Migraine</button>" in client.get("/conditions/migraine").text
    response = follow(client)
    assert response.status_code == 302 and response.location.endswith("/conditions/migraine")
    follow(client)  # twice changes nothing
    with app.app_context():
        rows = db.session.scalars(select(ConditionFollow)).all()
        assert [(r.user_id, r.seen_ranking) for r in rows] == [(user_id, ["sumatriptan", "topiramate"])]
    assert "Following Migraine" in client.get("/conditions/migraine").text
    follow(client, on=False)
    with app.app_context():
        assert db.session.scalar(select(ConditionFollow)) is None
    assert client.post("/conditions/migraine/follow", data={"follow": "maybe"}).status_code == 400
    assert follow(client, slug="no-such-condition").status_code == 404


def test_the_button_is_csrf_protected(client, auth, app, community):
    auth.login()
    app.config["WTF_CSRF_ENABLED"] = True
    assert follow(client).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(ConditionFollow)) is None


def test_whats_new_says_what_to_do_when_nothing_is_followed(client, auth):
    assert "/login" in client.get("/whats-new").location
    auth.login()
    page = client.get("/whats-new").text
    assert "You follow no condition yet" in page


def test_new_reports_ranking_moves_and_tips_since_the_last_visit(client, auth, make, community):
    auth.login()
    follow(client)
    page = client.get("/whats-new").text
    assert NOTHING in page and "in the numbers" not in page and "in the ranking" not in page and "new tip" not in page
    # Since that visit: propranolol reaches min_n and enters the ranking second (5 of 5 improved ranks below
    # sumatriptan's 7 of 7 by the interval's low end), pushing topiramate down; six new reports in all;
    # one public tip, one held for review (a link), which is neither counted nor listed.
    make.experience(treatment="propranolol", effectiveness="major", tips="Keep a headache diary.")
    for _ in range(4):
        make.experience(treatment="topiramate", effectiveness="none")
    make.experience(treatment="sumatriptan", effectiveness="major", tips="See https://example.org for more")
    home = client.get("/").text
    assert "Conditions you follow" in home and "10</strong> more reports in the numbers" in home.replace("\n", "")
    page = client.get("/whats-new").text  # the home page did not start a new period
    assert "<strong>10</strong> more reports in the numbers" in page
    assert re.search(r"Propranolol</a>\s+entered the ranking at place 2", page)
    assert re.search(r"Topiramate</a>\s+moved down 1 place, to 3", page) and "Sumatriptan</a>" not in page
    assert "1 new tip" in page and "Keep a headache diary." in page and "example.org" not in page
    page = client.get("/whats-new").text  # a new period started with the last visit
    assert NOTHING in page and "in the numbers" not in page and "moved" not in page and "new tip" not in page


def test_whats_new_empties_after_reading_until_a_release_publishes_new_reports(client, auth, app, make, community):
    from registry.reporting import release

    def publish():
        with app.app_context():
            release.run(db.session)
            db.session.commit()

    app.config["RELEASE"] = "manual"  # releases by hand: what is new is what a release published
    publish()
    auth.login()
    follow(client)
    for _ in range(6):
        make.experience(treatment="topiramate", effectiveness="none")
    publish()
    page = client.get("/whats-new").text
    assert "<strong>6</strong> more reports in the numbers" in page and NOTHING not in page
    again = client.get("/whats-new").text  # read: nothing is new until something is published
    assert NOTHING in again and "more reports" not in again and "moved" not in again
    assert "Nothing new since your last visit. New reports" in again  # the page says so once, at the top
    home = client.get("/").text
    assert "Conditions you follow" in home and NOTHING in home and "more reports" not in home
    for _ in range(5):
        make.experience(treatment="sumatriptan", effectiveness="major")
    assert NOTHING in client.get("/whats-new").text  # written, not yet published
    publish()
    page = client.get("/whats-new").text
    assert "<strong>5</strong> more reports in the numbers" in page and NOTHING not in page
    assert NOTHING in client.get("/whats-new").text


def test_a_few_new_reports_are_hidden_like_none(client, auth, make, community):
    auth.login()
    follow(client)
    client.get("/whats-new")
    make.experience(treatment="sumatriptan")
    few = client.get("/whats-new").text
    none = client.get("/whats-new").text
    assert NOTHING in few and NOTHING in none and "in the numbers" not in few + none
    without_times = lambda page: re.sub(r"<time[^>]*>[^<]*</time>", "", page)  # noqa: E731
    assert without_times(few) == without_times(none)


# --- disclosure of the new-reports count (pure) ----------------------------------------------------


def test_new_report_counts_are_protected_and_a_one_person_change_is_not_an_exact_difference():
    rng = random.Random(19)
    keys = [rng.getrandbits(52) for _ in range(30)]
    newcomer = rng.getrandbits(52)
    exact_differences = 0
    for i in range(40):
        policy = Policy(mode="perturb", min_n=5, key=f"deployment-{i}".encode())
        before = fr.new_reports(policy, 30, sum(keys))
        after = fr.new_reports(policy, 31, sum(keys) + newcomer)
        assert before.shown and after.shown  # 30 and 31 are far above min_n: always shown
        assert abs(before.n - 30) <= policy.min_n and abs(after.n - 31) <= policy.min_n  # bounded noise
        assert fr.new_reports(policy, 30, sum(keys)) == before  # the same set always gets the same number
        exact_differences += after.n - before.n == 1
    assert exact_differences < 20  # fresh noise per set: the difference mostly does not tell one person


def test_new_report_counts_under_min_n_are_hidden_and_have_a_kind_of_their_own():
    exact = Policy(mode="exact", min_n=5)
    assert fr.new_reports(exact, 4, 123) == fr.new_reports(exact, 0, 0) == fr.NewReports(0, False)
    assert fr.new_reports(exact, 5, 123) == fr.NewReports(5, True)
    policy = Policy(mode="perturb", min_n=5, key=b"k" * 32)
    assert policy.view(777, kind=fr.NEW_REPORTS_KIND).name != policy.view(777).name


def test_ranking_moves_compare_published_rankings():
    moves = fr.ranking_moves(["a", "b", "c"], [("d", "D"), ("a", "A"), ("c", "C")], {"b": "B"})
    assert [(m.slug, m.change, m.place, m.places) for m in moves] == [
        ("d", "entered", 1, 0),
        ("a", "down", 2, 1),
        ("b", "left", None, 0),
    ]  # c kept its place
    assert moves[-1].name == "B"
    assert fr.ranking_moves(["a", "b"], [("a", "A"), ("b", "B")]) == []


def test_followers_of_a_merged_duplicate_follow_the_survivor(app, make, community):
    from registry.catalog import merge as catalog_merge
    from registry.contributions import following
    from registry.models import Condition, User

    make.condition("Migraine headache", "G43.9")
    both, only_duplicate = make.user(email="both@example.org"), make.user(email="dup@example.org")
    moderator = make.user(email="mod@example.org", role="moderator")
    with app.app_context():
        survivor = db.session.scalar(select(Condition).where(Condition.slug == "migraine"))
        duplicate = db.session.scalar(select(Condition).where(Condition.slug == "migraine-headache"))
        for user_id, conditions in ((both, (survivor, duplicate)), (only_duplicate, (duplicate,))):
            for condition in conditions:
                following.follow(db.session.get(User, user_id), condition)
        db.session.commit()
        catalog_merge.merge(db.session.get(User, moderator), "condition", duplicate, survivor)
        db.session.commit()
        rows = db.session.execute(
            select(ConditionFollow.user_id, ConditionFollow.condition_id).order_by(ConditionFollow.user_id)
        ).all()
        assert rows == [(both, survivor.id), (only_duplicate, survivor.id)]


def test_a_follow_up_is_not_a_new_tip_and_a_released_held_tip_is(client, auth, app, make, community):
    from registry.contributions import followups, moderation
    from registry.models import Experience, User

    tipped = make.experience(treatment="sumatriptan", tips="Keep a headache diary.")
    held = make.experience(treatment="topiramate", tips="Mail me at someone@example.org")
    auth.login()
    follow(client)
    client.get("/whats-new")  # the visit that starts the period
    with app.app_context():
        experience = db.session.get(Experience, tipped)
        answers = {"stopped": None, "stop_reasons": [], "effectiveness": "none", "side_effect_severity": "mild"}
        followups.add_update(experience.user, experience, {**answers, "satisfaction": 3, "would_recommend": "no"})
        db.session.commit()
    page = client.get("/whats-new").text
    assert "new tip" not in page and "Keep a headache diary." not in page  # the tip itself did not change
    with app.app_context():
        moderator = db.session.get(User, make.member())
        row = db.session.get(Experience, held)
        assert row.text_state == "held"
        moderation.set_text_state(moderator, "tip", row, "public", None)
        db.session.commit()
    page = client.get("/whats-new").text
    assert "1 new tip" in page and "someone@example.org" in page  # first shown since the last visit
