"""CAHPS-style doctor scores against hand-computed values (reports.doctors)."""

import pytest

from registry.extensions import db
from registry.models import Doctor, DoctorRating
from registry.report_sources import RatingSource
from reports import doctors
from reports.disclosure import Policy
from reports.stats import share_dict

EXACT = Policy(mode="exact", min_n=5)


@pytest.fixture
def clinic(make, app):
    make.condition("Migraine", "G43")
    make.condition("Epilepsy", "G40")
    with app.app_context():
        db.session.add_all(
            [
                Doctor(name=n, name_key=n.lower(), specialty="Neurology", city="Oslo", city_key="oslo", country="NO")
                for n in ("Dr A", "Dr B", "Dr C")
            ]
        )
        db.session.commit()


def rate(
    make,
    app,
    doctor_id,
    condition="migraine",
    overall=9,
    items=("always",) * 4,
    access="always",
    knowledge=4,
    recommend="definitely_yes",
    comment=None,
):
    from registry.models import Condition

    user_id = make.member()
    with app.app_context():
        condition_id = db.session.scalar(db.select(Condition.id).where(Condition.slug == condition))
        db.session.add(
            DoctorRating(
                user_id=user_id,
                doctor_id=doctor_id,
                condition_id=condition_id,
                last_visit="2025-01",
                overall=overall,
                explained_clearly=items[0],
                listened_carefully=items[1],
                showed_respect=items[2],
                spent_enough_time=items[3],
                got_appointment=access,
                knowledge=knowledge,
                would_recommend=recommend,
                comment=comment,
            )
        )
        db.session.commit()


def test_top_box_composite_and_access_match_hand_counts(clinic, make, app):
    # Five ratings of doctor 1: overalls 10, 9, 8, 6, 10 -> top box 3/5, mean 8.6.
    overalls = [10, 9, 8, 6, 10]
    items = [
        ("always",) * 4,
        ("always", "usually", "always", "never"),
        ("sometimes",) * 4,
        ("always", "always", "usually", "usually"),
        ("always",) * 4,
    ]
    access = ["always", "usually", None, "always", "never"]
    for overall, its, acc in zip(overalls, items, access):
        rate(make, app, 1, overall=overall, items=its, access=acc, knowledge=5 if overall >= 9 else 3)
    with app.app_context():
        report = doctors.doctor_report(RatingSource(db.session), db.session.get(Doctor, 1), EXACT)
    o = report.overall
    assert (o.n, o.overall_mean, o.knowledge_mean) == (5, 8.6, round((5 * 3 + 3 * 2) / 5, 2))
    assert o.top_box == share_dict(3, 5)
    # "always": 4 + 2 + 0 + 2 + 4 = 12 of 20 answers.
    assert o.communication == share_dict(12, 20)
    assert o.access == share_dict(2, 4)  # the unanswered one is left out
    assert o.distributions["would_recommend"]["definitely_yes"] == 5
    assert o.distributions["explained_clearly"] == {"never": 0, "sometimes": 1, "usually": 0, "always": 4}


def test_three_perfect_ratings_never_outrank_two_hundred_averaging_nine(clinic, make, app):
    for _ in range(3):
        rate(make, app, 2, overall=10)
    for i in range(200):
        rate(make, app, 1, overall=9 if i % 2 else (10 if i % 4 else 8))
    with app.app_context():
        ranked = doctors.ranked_doctors(RatingSource(db.session), EXACT)
    assert [s.doctor_id for s in ranked] == [1, 2] and ranked[1].suppressed
    # Even when shown (min_n 3), the lower bound keeps the 3 perfect ones below.
    with app.app_context():
        assert [
            s.doctor_id for s in doctors.ranked_doctors(RatingSource(db.session), Policy(mode="exact", min_n=3))
        ] == [1, 2]


def test_a_small_condition_group_hides_only_itself(clinic, make, app):
    for _ in range(8):
        rate(make, app, 1, condition="migraine")
    for _ in range(2):
        rate(make, app, 1, condition="epilepsy")
    with app.app_context():
        report = doctors.doctor_report(RatingSource(db.session), db.session.get(Doctor, 1), EXACT)
        assert report.overall.n == 10 and not report.overall.suppressed
        # Epilepsy (2) is not listed at all: a list cannot tell a few ratings from none.
        assert [(slug, s.n) for slug, _, s in report.by_condition] == [("migraine", 8)]
        listed = doctors.ranked_doctors(RatingSource(db.session), EXACT, condition_id=1)
        assert not listed[0].suppressed and listed[0].n == 8


def test_doctor_scores_are_protected_the_same_way_every_time(clinic, make, app):
    for overall in [9, 9, 10, 7, 8, 10, 3]:
        rate(make, app, 1, overall=overall)
    policy = Policy(mode="perturb", min_n=5, key=b"doctor-test")
    with app.app_context():
        first = doctors.doctor_report(RatingSource(db.session), db.session.get(Doctor, 1), policy)
        again = doctors.doctor_report(RatingSource(db.session), db.session.get(Doctor, 1), policy)
    assert first.overall == again.overall
    if not first.overall.suppressed:
        assert all(n >= 0 for n in first.overall.distributions["overall"].values())
        assert first.overall.top_box["low"] <= first.overall.top_box["share"] <= first.overall.top_box["high"]


def test_doctor_without_ratings(clinic, app):
    with app.app_context():
        report = doctors.doctor_report(RatingSource(db.session), db.session.get(Doctor, 3), EXACT)
    assert report.overall.n == 0 and report.overall.suppressed and report.by_condition == []
