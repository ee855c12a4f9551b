"""Follow-ups of experiences (registry.contributions.followups, registry.web.views.followups) and "after N months on it"."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
from sqlalchemy import select, update

from registry.models import Experience, ExperienceUpdate
from registry.platform.extensions import db
from registry.reporting import report_upkeep
from reports import followup as fr
from reports.disclosure import Policy

STOPPED = {
    "still_using": "no",
    "stopped": "2024-06",
    "stop_reasons": ["side_effects", "cost"],
    "effectiveness": "slight",
    "side_effect_severity": "severe",
    "satisfaction": "3",
    "would_recommend": "no",
}
STILL = {
    "still_using": "yes",
    "effectiveness": "major",
    "side_effect_severity": "none",
    "satisfaction": "9",
    "would_recommend": "yes",
}


@pytest.fixture
def pair(make):
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])


def months_ago(n: int) -> str:
    today = date.today()
    index = today.year * 12 + today.month - 1 - n
    return f"{index // 12}-{index % 12 + 1:02d}"


def backdate(app, experience_id: int, days: int) -> None:
    """Make an experience look last saved `days` ago, its aggregates moved with it (they read updated_at)."""
    with app.app_context():
        with report_upkeep.rewriting(db.session, [experience_id]):  # its counts move with it
            db.session.execute(
                update(Experience)
                .where(Experience.id == experience_id)
                .values(updated_at=datetime.now(timezone.utc) - timedelta(days=days))
            )
        db.session.commit()


def test_an_update_changes_the_answers_through_the_save_path_and_keeps_the_history(
    client, auth, app, make, pair, runner
):
    user_id = auth.login()
    eid = make.experience(user_id=user_id, started="2024-01", effectiveness="moderate", satisfaction=7)
    backdate(app, eid, 200)
    with app.app_context():
        old_key = db.session.get(Experience, eid).report_key
    page = client.get(f"/experiences/{eid}/update").text
    assert "How is Sumatriptan working now?" in page and 'checked id="still_using-0"' in page  # prefilled: still using
    response = client.post(f"/experiences/{eid}/update", data=STOPPED)
    assert response.status_code == 302 and "/experiences" in response.location
    with app.app_context():
        e = db.session.get(Experience, eid)
        assert (e.stopped, e.effectiveness, e.side_effect_severity, e.satisfaction, e.would_recommend) == (
            "2024-06",
            "slight",
            "severe",
            3,
            "no",
        )
        assert sorted(r.reason for r in e.stop_reasons) == ["cost", "side_effects"]
        assert e.report_key == old_key and e.started == "2024-01"  # the key is fixed (issue 24); start kept
        points = db.session.scalars(select(ExperienceUpdate).order_by(ExperienceUpdate.id)).all()
        assert [p.kind for p in points] == ["original", "update"]
        assert (points[0].effectiveness, points[0].satisfaction, points[0].report_key) == ("moderate", 7, old_key)
        assert points[0].recorded_at < points[1].recorded_at
        assert (points[1].stopped, points[1].stop_reason_codes, points[1].report_key) == (
            "2024-06",
            ["cost", "side_effects"],
            e.report_key,
        )
        assert report_upkeep.check(db.session) == []
    assert runner.invoke(args=["aggregates", "check"]).exit_code == 0
    client.post(f"/experiences/{eid}/update", data=STILL)
    history = client.get(f"/experiences/{eid}/update").text
    assert "(first answers)" in history and "stopped 2024-06" in history and "cost, side effects" in history
    with app.app_context():
        assert db.session.get(Experience, eid).stopped is None
        assert [p.kind for p in db.session.scalars(select(ExperienceUpdate).order_by(ExperienceUpdate.id))] == [
            "original",
            "update",
            "update",
        ]
        assert report_upkeep.check(db.session) == []


def test_an_edit_between_updates_is_kept_as_a_point(client, auth, app, make, pair):
    user_id = auth.login()
    eid = make.experience(user_id=user_id)
    client.post(f"/experiences/{eid}/update", data=STILL)
    with app.app_context():
        from registry.contributions import experiences
        from registry.models import User

        e = db.session.get(Experience, eid)
        values = experiences.form_data(e) | {"satisfaction": 5, "side_effects": [], "stop_reasons": []}
        experiences.save(db.session.get(User, user_id), e.condition, e.treatment, values, None, e)
        db.session.commit()
    client.post(f"/experiences/{eid}/update", data=STILL)
    with app.app_context():
        kinds = [
            (p.kind, p.satisfaction) for p in db.session.scalars(select(ExperienceUpdate).order_by(ExperienceUpdate.id))
        ]
        assert kinds == [("original", 7), ("update", 9), ("edit", 5), ("update", 9)]


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({**STOPPED, "stopped": ""}, "stopped", "Give the month you stopped"),
        ({**STOPPED, "stopped": "2023-05"}, "stopped", "cannot be before the start month (2024-01)"),
        ({**STOPPED, "stopped": "2999-01"}, "stopped", "cannot be in the future"),
        ({**STILL, "stop_reasons": ["cost"]}, "stop_reasons", "Reasons for stopping go with"),
        ({**STILL, "satisfaction": "11"}, "satisfaction", "Not a valid choice"),
        ({**STILL, "effectiveness": ""}, "effectiveness", "Choose one answer"),
    ],
)
def test_bad_input_re_renders_with_the_input_kept_and_a_message_by_the_field(
    client, auth, app, make, pair, data, field, message
):
    user_id = auth.login()
    eid = make.experience(user_id=user_id, started="2024-01")
    response = client.post(f"/experiences/{eid}/update", data=data)
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text and message in response.text
    with app.app_context():
        assert db.session.scalar(select(ExperienceUpdate)) is None  # nothing saved
        assert db.session.get(Experience, eid).effectiveness == "moderate"


def test_someone_elses_experience_cannot_be_updated(client, auth, make, pair):
    other = make.experience()
    auth.login()
    assert client.get(f"/experiences/{other}/update").status_code == 404
    assert client.post(f"/experiences/{other}/update", data=STILL).status_code == 404
    assert client.get("/experiences/99999999999/update").status_code == 404


def test_a_follow_up_counts_as_a_change_of_its_report(app, make, pair):
    """Updates share the report's daily changes with its saves, moves and deletes (3 a day by default)."""
    from tests.test_extensions import limits_on

    with limits_on(app) as limited:
        user_id = make.user(email="patient@example.org")
        eid = make.experience(user_id=user_id, started="2024-01")
        client = limited.test_client()
        client.post("/login", data={"email": "patient@example.org", "password": "correct horse battery"})
        assert client.post(f"/experiences/{eid}/update", data={**STILL, "effectiveness": ""}).status_code == 200
        for _ in range(3):  # the mistake above was free
            assert client.post(f"/experiences/{eid}/update", data=STILL).status_code == 302
        refused = client.post(f"/experiences/{eid}/update", data=STOPPED)
        assert refused.status_code == 429 and "You can change this report again tomorrow." in refused.text
        assert client.post(f"/experiences/{eid}/delete").status_code == 429
        with app.app_context():
            assert db.session.get(Experience, eid).stopped is None
            assert [p.kind for p in db.session.scalars(select(ExperienceUpdate))] == ["original"] + ["update"] * 3


def test_my_experiences_invites_an_update_after_three_months_of_use(client, auth, app, make, pair):
    make.treatment("Topiramate")
    user_id = auth.login()
    fresh = make.experience(user_id=user_id)
    old = make.experience(user_id=user_id, treatment="topiramate")
    page = client.get("/experiences").text
    assert 'id="updates-due"' not in page and f"/experiences/{fresh}/update" in page
    backdate(app, old, 100)
    page = client.get("/experiences").text
    assert "1 experience has not been updated for three months" in page
    assert f'href="/experiences/{old}/update">Add an update' in page
    client.post(f"/experiences/{old}/update", data=STILL)
    assert 'id="updates-due"' not in client.get("/experiences").text


def test_a_stopped_experience_is_not_due(client, auth, app, make, pair):
    user_id = auth.login()
    eid = make.experience(user_id=user_id, stopped="2024-05")
    backdate(app, eid, 400)
    assert 'id="updates-due"' not in client.get("/experiences").text


# --- "after N months on it" ------------------------------------------------------------------


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=fr.POINT_COLUMNS)


def test_the_point_nearest_to_the_horizon_is_chosen_within_its_tolerance():
    points = frame(
        [
            (1, "2024-01", "2024-03", 11, None, "slight", "none", 5, "yes"),  # 2 months: within 3 +- 1
            (1, "2024-01", "2024-05", 12, None, "major", "none", 9, "yes"),  # 4 months: as near; the later wins
            (2, "2024-01", "2024-09", 21, None, "none", "mild", 4, "no"),  # 8 months: too far from 3
            (3, None, "2024-04", 31, None, "major", "mild", 8, "yes"),  # no start month: never counted
            (4, "2024-02", "2024-05", 41, "2024-04", "none", "severe", 2, "no"),  # exactly 3; stopped at 2 months
        ]
    )
    chosen = fr.nearest_points(points, 3)
    assert sorted(zip(chosen["experience_id"], chosen["report_key"])) == [(1, 12), (4, 41)]
    assert fr.tolerance(3) == 1 and fr.tolerance(6) == 2 and fr.tolerance(12) == 3
    exact = Policy(mode="exact", min_n=1)
    report = fr.horizon_report(points, 3, exact)
    assert report.n == 2 and report.effectiveness["major"] == 1 and report.effectiveness["none"] == 1
    assert report.still_using == {"yes": 1, "no": 1}
    assert report.improved["share"] == 0.5 and report.satisfaction_mean == 5.5
    assert fr.horizon_report(points, 12, exact).suppressed  # nobody answered near 12 months


def test_horizons_equal_a_row_by_row_reading_on_random_histories():
    """The page's column-at-once reading against the rule read one point at a time, on 300 random histories."""
    import random

    rng = random.Random(7)
    rows = []
    for e in range(300):
        start = rng.randint(2015 * 12, 2024 * 12)
        at = start
        for _ in range(rng.randint(1, 4)):
            at += rng.randint(0, 8)
            stop = None if rng.random() < 0.6 else at - rng.randint(0, 3)
            month = f"{at // 12}-{at % 12 + 1:02d}"
            stopped = None if stop is None else f"{stop // 12}-{stop % 12 + 1:02d}"
            started = None if e % 17 == 0 else f"{start // 12}-{start % 12 + 1:02d}"
            effect = rng.choice(["major", "moderate", "slight", "none", "worse"])
            rows.append((e, started, month, rng.getrandbits(40), stopped, effect, "mild", rng.randint(1, 10), "yes"))
    exact = Policy(mode="exact", min_n=1)
    for months in fr.HORIZONS:
        best = {}
        for row in rows:
            if row[1] is None:
                continue
            since = fr.month_index(row[2]) - fr.month_index(row[1])
            distance = abs(since - months)
            if distance <= fr.tolerance(months) and (row[0] not in best or (distance, -since) <= best[row[0]][0]):
                best[row[0]] = ((distance, -since), row)
        chosen = [row for _, row in best.values()]
        still = sum(r[4] is None or fr.month_index(r[4]) - fr.month_index(r[1]) >= months for r in chosen)
        report = fr.horizon_report(frame(rows), months, exact)
        assert report.n == len(chosen) > 20
        assert report.still_using == {"yes": still, "no": len(chosen) - still}
        assert report.effectiveness["major"] == sum(r[5] == "major" for r in chosen)
        assert report.satisfaction_mean == pytest.approx(sum(r[7] for r in chosen) / len(chosen), abs=0.06)


def test_a_horizon_under_min_n_is_hidden_and_one_at_min_n_is_shown():
    rows = [(i, "2024-01", "2024-07", 100 + i, None, "major", "none", 8, "yes") for i in range(5)]
    exact = Policy(mode="exact", min_n=5)
    assert fr.horizon_report(frame(rows[:4]), 6, exact).suppressed
    shown = fr.horizon_report(frame(rows), 6, exact)
    assert not shown.suppressed and shown.n == 5 and shown.improved["share"] == 1.0


def test_the_horizon_view_has_a_kind_of_its_own():
    policy = Policy(mode="perturb", min_n=5, key=b"k" * 32)
    rows = frame([(i, "2024-01", "2024-07", 1000 + i, None, "major", "none", 8, "yes") for i in range(12)])
    key_sum = sum(1000 + i for i in range(12))
    report = fr.horizon_report(rows, 6, policy)
    assert report.n == policy.view(key_sum, kind="after6m").n(12)  # named by the chosen points' key sum
    assert abs(report.n - 12) <= policy.min_n


def test_the_treatment_page_shows_after_n_months_from_updates(client, app, make, pair):
    # Five people started six months ago and updated now (their point at 6 months); their first answers
    # were given at the start (0 months: outside every horizon).
    for i in range(5):
        user_id = make.member()
        eid = make.experience(user_id=user_id, started=months_ago(6), effectiveness="none")
        backdate(app, eid, 180)
        with app.app_context():
            from registry.contributions import followups
            from registry.models import User

            e = db.session.get(Experience, eid)
            followups.add_update(
                db.session.get(User, user_id),
                e,
                {
                    "stopped": None,
                    "stop_reasons": [],
                    "effectiveness": "major",
                    "side_effect_severity": "none",
                    "satisfaction": 9,
                    "would_recommend": "yes",
                },
            )
            db.session.commit()
    page = client.get("/conditions/migraine/treatments/sumatriptan").text
    assert "After 3, 6 and 12 months on it" in page
    row6 = page.split('id="after-6"')[1].split("</tr>")[0]
    assert ">5<" in row6 and "100%" in row6
    for months in (3, 12):
        assert "too few answers to show" in page.split(f'id="after-{months}"')[1].split("</tr>")[0]


# --- research export and data rights -------------------------------------------------------------


def _consenting_with_updates(app, make):
    from registry.accounts import auth
    from registry.contributions import followups
    from registry.models import User

    user_id = make.user(email="consents@example.org")
    other = make.user(email="declines@example.org")
    eid = make.experience(user_id=user_id, started=months_ago(8), stop_reasons=())
    backdate(app, eid, 120)
    declined = make.experience(user_id=other, started=months_ago(8))
    with app.app_context():
        auth.set_consent(db.session.get(User, user_id), True)
        for uid, xid in ((user_id, eid), (other, declined)):
            followups.add_update(
                db.session.get(User, uid),
                db.session.get(Experience, xid),
                {
                    "stopped": months_ago(1),
                    "stop_reasons": ["cost", "not_effective"],
                    "effectiveness": "none",
                    "side_effect_severity": "mild",
                    "satisfaction": 2,
                    "would_recommend": "no",
                },
            )
        db.session.commit()
    return user_id, eid


def test_the_export_holds_the_history_as_a_long_table_with_months_since_start(app, make, pair, runner, tmp_path):
    import csv

    from frictionless import validate

    _consenting_with_updates(app, make)
    out = tmp_path / "export"
    assert runner.invoke(args=["export", "--out", str(out)]).exit_code == 0

    def rows(name):
        return list(csv.DictReader((out / name).read_text(encoding="utf-8").splitlines()))

    (experience,) = rows("experiences.csv")
    updates = rows("experience_updates.csv")
    assert [u["kind"] for u in updates] == ["original", "update"]  # the declining participant's are left out
    assert {u["experience_id"] for u in updates} == {experience["experience_id"]}
    assert {u["participant_id"] for u in updates} == {experience["participant_id"]}
    original, latest = updates
    then = datetime.now(timezone.utc) - timedelta(days=120)
    expected = (then.year * 12 + then.month) - (date.today().year * 12 + date.today().month - 8)
    assert original["months_since_start"] == str(expected) and latest["months_since_start"] == "8"
    assert (latest["stopped"], latest["effectiveness"], latest["satisfaction"]) == (months_ago(1), "none", "2")
    assert (
        "@" not in (out / "experience_updates.csv").read_text()
        and "consents" not in (out / "experience_updates.csv").read_text()
    )
    reasons = rows("experience_update_stop_reasons.csv")
    assert sorted(r["reason"] for r in reasons) == ["cost", "not_effective"]
    assert {r["update_id"] for r in reasons} == {latest["update_id"]}
    report = validate(str(out / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "message"])


def test_the_history_is_in_the_data_download_and_leaves_with_the_account(app, make, pair, client, auth):
    from registry.contributions import following, rights
    from registry.models import ConditionFollow, FollowupReminder, User

    user_id, eid = _consenting_with_updates(app, make)
    with app.app_context():
        user = db.session.get(User, user_id)
        from registry.models import Condition

        following.follow(user, db.session.scalar(select(Condition)))
        from registry.contributions import followups

        followups.set_reminder(user, True)
        db.session.commit()
        data = rights.collect(user)
        assert [p["kind"] for p in data["experience_updates"]] == ["original", "update"]
        assert data["followed_conditions"][0]["condition"] == "migraine" and data["reminder_mail"]["opted_in"]
        assert (
            "experience_updates.csv"
            in __import__("zipfile").ZipFile(__import__("io").BytesIO(rights.to_csv_zip(data))).namelist()
        )
        rights.delete_account(user)
        db.session.commit()
        assert db.session.scalar(select(ExperienceUpdate).where(ExperienceUpdate.experience_id == eid)) is None
        assert db.session.scalar(select(ConditionFollow)) is None and db.session.get(FollowupReminder, user_id) is None
        assert report_upkeep.check(db.session) == []


def test_after_n_months_counts_only_followed_up_experiences(client, app, make, pair):
    # Five reports given six months after starting, never updated: the page counts them already;
    # the follow-up section has no history to read, so every horizon says too few.
    for _ in range(5):
        make.experience(user_id=make.member(), started=months_ago(6), effectiveness="major")
    page = client.get("/conditions/migraine/treatments/sumatriptan").text
    for months in (3, 6, 12):
        assert "too few answers to show" in page.split(f'id="after-{months}"')[1].split("</tr>")[0]


# --- answers that do not fit each other are asked about, never dropped (issue 25) --------------------


@pytest.mark.parametrize(
    "answers, field, message",
    [
        ({"stopped": "2024-06"}, "stopped", "You said you still use it; clear the stop month or choose"),
        ({"stop_reasons": ["cost"]}, "stop_reasons", 'go with "No, I stopped"'),
    ],
)
def test_a_stop_answer_beside_still_using_is_asked_about_not_dropped(
    client, auth, app, make, pair, answers, field, message
):
    import html

    user_id = auth.login()
    eid = make.experience(user_id=user_id)
    response = client.post(f"/experiences/{eid}/update", data={**STILL, **answers})
    assert response.status_code == 200 and "Thank you" not in response.text
    assert message in html.unescape(response.text.split(f'id="{field}-error">')[1].split("</p>")[0])
    if field == "stopped":
        assert 'value="2024-06"' in response.text  # what was typed is still in the box
    else:
        assert 'checked id="stop_reasons-2"' in response.text  # "cost" still ticked
    # The stop fields carry their rule for layout.js and are not hidden by the server.
    assert '<fieldset id="stop-fields" data-show-if="still_using:no">' in response.text
    with app.app_context():
        assert db.session.get(Experience, eid).stopped is None
        assert db.session.scalars(select(ExperienceUpdate)).all() == []


def test_a_stopped_experience_offers_started_again_and_its_form_says_so(client, auth, make, pair):
    user_id = auth.login()
    eid = make.experience(user_id=user_id, stopped="2024-05")
    page = client.get(f"/experiences/{eid}/update").text
    assert 'id="stopped-note"' in page and "You reported stopping it in 2024-05" in page
    assert 'checked id="still_using-1"' in page and 'value="2024-05"' in page
    assert client.post(f"/experiences/{eid}/update", data=STILL).status_code == 302  # started again
    assert "Started again?" not in client.get("/experiences").text
    history = client.get(f"/experiences/{eid}/update").text  # cards on a phone, no sideways scroll
    assert '<table class="list cards" id="history-table">' in history and "table-scroll" not in history
    assert '<td class="key" data-label="Using">yes</td>' in history
