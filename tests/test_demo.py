"""The demo community (registry.demo) and `registry seed-demo`."""

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import Experience, ExperienceSideEffect, ExperienceStopReason, User
from registry.scales import EFFECTIVENESS, ROLE


@pytest.fixture
def small_catalog(make):
    for name in ["Sumatriptan", "Topiramate", "Propranolol", "Erenumab", "Metformin", "Semaglutide"]:
        make.treatment(name)
    make.treatment("Yoga", kind="lifestyle")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate", "propranolol", "erenumab", "yoga"])
    make.condition("Type 2 diabetes", "E11", treatments=["metformin", "semaglutide", "yoga"])
    make.condition("Hypertension", "I10", treatments=["propranolol", "yoga"])


def snapshot(app):
    with app.app_context():
        rows = db.session.execute(
            select(Experience.user_id, Experience.condition_id, Experience.treatment_id, Experience.effectiveness,
                   Experience.satisfaction, Experience.started, Experience.tips).order_by(Experience.id)
        ).all()  # fmt: skip
        return [tuple(r) for r in rows]


def test_seed_demo_is_deterministic_and_valid(runner, app, small_catalog):
    result = runner.invoke(args=["seed-demo", "--experiences", "3000", "--seed", "7", "--until", "2026-10"])
    assert result.exit_code == 0, result.output
    assert "Added 3,000 experiences" in result.output and "experiences/s" in result.output
    first = snapshot(app)
    assert len(first) == 3000
    with app.app_context():
        experiences = db.session.scalars(select(Experience)).all()
        assert {e.effectiveness for e in experiences} <= set(EFFECTIVENESS.codes)
        assert {e.role for e in experiences} <= set(ROLE.codes)
        assert all(e.stopped is None or e.stopped >= e.started for e in experiences)
        assert all("2016-10" <= e.started <= "2026-10" for e in experiences)
        assert all(1 <= e.satisfaction <= 10 for e in experiences)
        roles = [e.role for e in experiences]
        assert 0.08 < roles.count("caregiver") / len(roles) < 0.25
        consenting = db.session.scalar(select(func.count(User.id)).where(User.research_consent_at.is_not(None)))
        members = db.session.scalar(select(func.count(User.id)))
        assert 0.7 < consenting / members < 0.9
        assert db.session.scalar(select(func.count()).select_from(ExperienceSideEffect)) > 0
        assert db.session.scalar(select(func.count()).select_from(ExperienceStopReason)) > 0
        # Pairs stay unique per member, as the form guarantees.
        pairs = db.session.execute(select(Experience.user_id, Experience.condition_id, Experience.treatment_id)).all()
        assert len(set(pairs)) == len(pairs)
    # Same seed, same community.
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            if table.name not in {"condition", "treatment", "condition_treatment", "condition_synonym", "treatment_synonym"}:
                db.session.execute(table.delete())
        db.session.commit()
    runner.invoke(args=["seed-demo", "--experiences", "3000", "--seed", "7", "--until", "2026-10"])
    again = snapshot(app)
    strip_ids = lambda rows: [r[1:] for r in rows]  # noqa: E731  (ids continue from the previous run)
    assert strip_ids(again) == strip_ids(first)


def test_treatments_differ_and_popularity_is_skewed(runner, app, small_catalog):
    runner.invoke(args=["seed-demo", "--experiences", "6000", "--seed", "3"])
    with app.app_context():
        per_condition = db.session.execute(
            select(Experience.condition_id, func.count()).group_by(Experience.condition_id)
        ).all()
        counts = sorted((n for _, n in per_condition), reverse=True)
        assert counts[0] > 2 * counts[-1]
        improved = db.session.execute(
            select(Experience.treatment_id, func.avg(Experience.satisfaction)).group_by(Experience.treatment_id)
        ).all()
        means = [float(m) for _, m in improved]
        assert max(means) - min(means) > 0.5


def test_seed_demo_added_members_cannot_log_in(runner, app, client, small_catalog):
    runner.invoke(args=["seed-demo", "--experiences", "100", "--seed", "1"])
    with app.app_context():
        email = db.session.scalar(select(User.email))
    response = client.post("/login", data={"email": email, "password": "anything at all"})
    assert "Email or password is not right." in response.text


def test_seed_demo_needs_a_catalog(runner):
    result = runner.invoke(args=["seed-demo", "--experiences", "10"])
    assert result.exit_code == 1 and "registry init" in result.output


def test_seed_demo_rejects_bad_numbers(runner):
    assert runner.invoke(args=["seed-demo", "--experiences", "0"]).exit_code == 2
    assert runner.invoke(args=["seed-demo", "--experiences", "10", "--until", "2024"]).exit_code == 2
