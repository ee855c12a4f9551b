"""Releases (registry/reporting/release.py): published numbers change only when enough people changed (issue 24)."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from registry.app import create_app
from registry.contributions import experiences
from registry.models import Experience, User, pub_cell
from registry.platform.extensions import db
from registry.reporting import release

API = "/api/v1/conditions/migraine/treatments/topiramate"
ANSWERS = {
    "role": "patient",
    "started": "2024-01",
    "stopped": None,
    "side_effect_severity": "mild",
    "satisfaction": 7,
    "would_recommend": "yes",
    "side_effects": [],
    "stop_reasons": [],
}


@pytest.fixture
def perturbed(base_config):
    """An app publishing protected numbers (min_n 5), releasing before every read as the demo does.

    No yearly budget: these tests check that the min_n rule alone holds (the budget would only add to it).
    """
    app = create_app({**base_config, "DISCLOSURE": "perturb", "RELEASE": "auto", "RELEASE_BUDGET": 0})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def community(app, make):
    """Migraine: 30 reports of topiramate and 30 of sumatriptan, by 60 members."""
    make.treatment("Topiramate")
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["topiramate", "sumatriptan"])
    rng = random.Random(5)
    ids = {}
    for treatment in ("topiramate", "sumatriptan"):
        ids[treatment] = [
            make.experience(
                treatment=treatment,
                effectiveness=rng.choice(["none", "slight", "moderate", "major"]),
                sex=rng.choice(["female", "male"]),
                side_effects=["nausea"],
            )
            for _ in range(30)
        ]
    return ids


def _resave(app, experience_id: int, treatment: str = "topiramate", **answers) -> None:
    with app.app_context():
        experience = db.session.get(Experience, experience_id)
        condition, treatment_row = experiences.by_slugs("migraine", treatment)
        values = {**ANSWERS, "effectiveness": "major", "side_effects": ["nausea"], **answers}
        experiences.save(experience.user, condition, treatment_row, values, experience=experience)
        db.session.commit()


def _owner(app, experience_id: int) -> int:
    with app.app_context():
        return db.session.get(Experience, experience_id).user_id


def _resubmit(app, user_id: int, effectiveness: str) -> int:
    """Delete the member's topiramate report and submit it again; the new report's id."""
    with app.app_context():
        user = db.session.get(User, user_id)
        condition, treatment = experiences.by_slugs("migraine", "topiramate")
        experiences.delete(experiences.find_own(user, condition, treatment))
        db.session.commit()
        saved = experiences.save(user, condition, treatment, {**ANSWERS, "effectiveness": effectiveness})
        db.session.commit()
        return saved.id


def _published(app) -> dict[int, tuple]:
    with app.app_context():
        return {row[0]: tuple(row) for row in db.session.execute(sa.select(pub_cell)).all()}


def test_one_account_resaving_its_report_never_changes_a_published_number(perturbed, community):
    client = perturbed.test_client()
    views = [API, API + "?sex=female", API + "?sex=male", "/api/v1/conditions/migraine/treatments"]
    before = [client.get(url).get_json() for url in views]
    mine = community["topiramate"][0]
    for i in range(12):  # K re-saves, each followed by a release: the attack of the issue
        _resave(perturbed, mine, effectiveness=["worse", "major", "none"][i % 3], satisfaction=1 + i % 10)
        assert [client.get(url).get_json() for url in views] == before


def test_delete_and_resubmit_and_moving_back_and_forth_change_nothing(perturbed, community):
    client = perturbed.test_client()
    other = "/api/v1/conditions/migraine/treatments/sumatriptan"
    before = client.get(API).get_json(), client.get(other).get_json()
    user_id = _owner(perturbed, community["topiramate"][1])
    for effectiveness in ("worse", "major", "none", "slight"):
        experience_id = _resubmit(perturbed, user_id, effectiveness)
        assert (client.get(API).get_json(), client.get(other).get_json()) == before
    for treatment in ("sumatriptan", "topiramate", "sumatriptan", "topiramate"):  # a move is one person too
        _resave(perturbed, experience_id, treatment=treatment)
        assert (client.get(API).get_json(), client.get(other).get_json()) == before


def test_a_report_keeps_its_key_across_edits_and_resubmission(perturbed, community):
    experience_id = community["topiramate"][2]
    with perturbed.app_context():
        key = db.session.get(Experience, experience_id).report_key
    _resave(perturbed, experience_id, effectiveness="worse")
    new_id = _resubmit(perturbed, _owner(perturbed, experience_id), "none")
    with perturbed.app_context():
        assert db.session.get(Experience, new_id).report_key == key


def test_numbers_change_once_min_n_people_changed(perturbed, community):
    client = perturbed.test_client()
    before = client.get(API).get_json()["treatment"]
    for experience_id in community["topiramate"][:4]:  # four people: not yet
        _resave(perturbed, experience_id, effectiveness="worse")
        assert client.get(API).get_json()["treatment"] == before
    _resave(perturbed, community["topiramate"][4], effectiveness="worse")  # the fifth
    after = client.get(API).get_json()["treatment"]
    assert after != before
    assert client.get(API).get_json()["treatment"] == after  # and then stays put


def test_a_release_keeps_every_untouched_view_byte_identical(perturbed, community, make):
    with perturbed.app_context():
        release.run(db.session)
        db.session.commit()
    first = _published(perturbed)
    for _ in range(6):  # six new women on sumatriptan
        make.experience(treatment="sumatriptan", effectiveness="major", sex="female")
    with perturbed.app_context():
        summary = release.run(db.session)
        db.session.commit()
    second = _published(perturbed)
    changed = {view for view in first.keys() | second.keys() if first.get(view) != second.get(view)}
    assert changed and summary.views >= len(changed)
    with perturbed.app_context():
        rows = db.session.execute(
            sa.select(pub_cell.c.view, pub_cell.c.sex, pub_cell.c.treatment_id).where(pub_cell.c.view.in_(changed))
        ).all()
        topiramate = experiences.by_slugs("migraine", "topiramate")[1].id
    assert all(sex in ("female", "*") for _, sex, _ in rows)  # the men's views kept their numbers
    assert all(treatment != topiramate for *_, treatment in rows)  # and so did every topiramate view


def test_a_term_one_person_wrote_never_appears(perturbed, community):
    client = perturbed.test_client()
    for i, experience_id in enumerate(community["topiramate"][:20]):
        _resave(perturbed, experience_id, side_effects=[f"tingling ears {i}"])
    assert [t["term"] for t in client.get(API).get_json()["treatment"]["side_effects"]] == ["nausea"]  # ten people
    for url in (API + "?sex=female", API + "?sex=male", "/api/v1/conditions/migraine/treatments"):
        assert "tingling ears" not in client.get(url).text


def test_a_view_at_its_yearly_budget_keeps_its_numbers(base_config, community):
    app = create_app({**base_config, "DISCLOSURE": "perturb", "RELEASE": "manual", "RELEASE_BUDGET": 1})
    with app.app_context():
        release.run(db.session)
        db.session.commit()
    before = _published(app)
    for experience_id in community["topiramate"][:6]:
        _resave(app, experience_id, effectiveness="worse")
    with app.app_context():
        summary = release.run(db.session)
        db.session.commit()
    assert summary.frozen > 0 and summary.views == 0
    assert _published(app) == before
    with app.app_context():  # close its pool: PostgreSQL connections must not be left open
        db.engine.dispose()


def test_exact_mode_publishes_every_change_at_the_next_release(client, make):
    make.treatment("Topiramate")
    make.condition("Migraine", "G43", treatments=["topiramate"])
    for _ in range(5):
        make.experience(treatment="topiramate")
    assert client.get(API).get_json()["treatment"]["n"] == 5
    make.experience(treatment="topiramate")
    assert client.get(API).get_json()["treatment"]["n"] == 6


def test_manual_mode_shows_nothing_new_until_a_release(base_config, make):
    app = create_app({**base_config, "RELEASE": "manual"})
    make.treatment("Topiramate")
    make.condition("Migraine", "G43", treatments=["topiramate"])
    for _ in range(5):
        make.experience(treatment="topiramate")
    client = app.test_client()
    assert client.get(API).get_json()["treatment"]["suppressed"] is True
    result = app.test_cli_runner().invoke(args=["release"])
    assert result.exit_code == 0, result.output
    assert "views got new numbers" in result.output
    assert client.get(API).get_json()["treatment"]["n"] == 5
    with app.app_context():
        db.engine.dispose()
