"""CAHPS-style doctor scores against hand-computed values (reports.doctors)."""

import random
from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
import pytest

from registry.models import Doctor, DoctorRating
from registry.platform.extensions import db
from registry.reporting.report_sources import RatingSource
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
        # Epilepsy (2) is not listed at all: a list cannot tell a few ratings from none. Alone in the pool of
        # small conditions, it is too few to show there too, so the overall is the migraine row's.
        assert [(slug, s.n) for slug, _, s in report.by_condition] == [("migraine", 8)] and report.other is None
        assert report.overall.n == 8 and report.overall == report.by_condition[0][2]
        listed = doctors.ranked_doctors(RatingSource(db.session), EXACT, condition_id=1)
        assert not listed[0].suppressed and listed[0].n == 8
        # The search lists' overall is the page's.
        assert doctors.ranked_doctors(RatingSource(db.session), EXACT)[0] == replace(report.overall, distributions={})


def test_small_conditions_are_pooled_and_the_overall_is_the_sum_of_the_rows(clinic, make, app, client):
    make.condition("Cluster headache", "G44.0")
    for overall in (9, 9, 8, 10, 9, 7, 9, 10):
        rate(make, app, 1, condition="migraine", overall=overall, recommend="probably_yes")
    for overall in (3, 4, 2):
        rate(make, app, 1, condition="epilepsy", overall=overall, recommend="definitely_no")
    for overall in (5, 6, 5):
        rate(make, app, 1, condition="cluster-headache", overall=overall, recommend="probably_no")
    with app.app_context():
        report = doctors.doctor_report(RatingSource(db.session), db.session.get(Doctor, 1), EXACT)
    assert [(slug, s.n) for slug, _, s in report.by_condition] == [("migraine", 8)]
    other = report.other  # epilepsy (3) and cluster headache (3): 6 together, never named
    assert other.n == 6 and other.overall_mean == round((3 + 4 + 2 + 5 + 6 + 5) / 6, 2)
    assert other.distributions["would_recommend"] == {
        "definitely_no": 3,
        "probably_no": 3,
        "probably_yes": 0,
        "definitely_yes": 0,
    }
    o = report.overall
    assert o.n == 14 and o.overall_mean == round((71 + 25) / 14, 2)
    assert (
        o.distributions["would_recommend"]["probably_yes"] == 8
        and sum(o.distributions["would_recommend"].values()) == 14
    )
    page = client.get("/doctors/1").text
    assert '<th scope="row">Other conditions</th>' in page and "Epilepsy" not in page and "Cluster headache" not in page
    assert '<th scope="row">Ratings</th><td class="num">14</td>' in page


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


# --- numbers that agree, perturbed: many doctors through a source of given groups -------------------


class Ratings:
    """Per (doctor, condition) rows, answered as registry.reporting.report_sources.RatingSource answers them."""

    def __init__(self, rows: list[dict]):
        self.frame = pd.DataFrame(rows)

    def scores(self, by_condition=False, condition_id=None, doctor_ids=None):
        frame = self.frame
        if condition_id is not None:
            frame = frame[frame["condition_id"] == condition_id]
        if doctor_ids is not None:
            frame = frame[frame["doctor_id"].isin(list(doctor_ids))]
        if by_condition:
            return frame
        return frame.drop(columns="condition_id").groupby("doctor_id", as_index=False).sum()

    def condition_names(self):
        return {cid: (f"c{cid}", f"Condition {cid}") for cid in set(self.frame["condition_id"])}


def group_row(rng: random.Random, doctor_id: int, condition_id: int, n: int) -> dict:
    """A group of n random ratings, counted as the sources count them (some answers left out)."""
    row = {"doctor_id": doctor_id, "condition_id": condition_id, "n": n, "key_sum": 0}
    row.update({f"{name}={code}": 0 for name, codes in doctors.HISTOGRAMS.items() for code in codes})
    taste = rng.random()
    for _ in range(n):
        row["key_sum"] += rng.getrandbits(40)
        for name, codes in doctors.HISTOGRAMS.items():
            if name != "overall" and rng.random() < 0.1:
                continue  # not answered
            index = min(len(codes) - 1, int(len(codes) * (taste + rng.random()) / 2))
            row[f"{name}={codes[index]}"] += 1
    return row


def community(seed: int, doctors_count: int = 40) -> tuple[list[dict], Ratings]:
    rng = random.Random(seed)
    rows = [
        group_row(rng, doctor_id, condition_id, rng.choice([1, 2, 3, 4, 5, 6, 8, 12, 30, 80]))
        for doctor_id in range(1, doctors_count + 1)
        for condition_id in rng.sample(range(1, 7), rng.randint(1, 4))
    ]
    return rows, Ratings(rows)


@pytest.mark.parametrize("seed", range(3))
def test_a_doctors_numbers_agree_on_the_page_when_perturbed(seed):
    rows, ratings = community(seed)
    policy = Policy(mode="perturb", min_n=5, key=f"agree-{seed}".encode())
    true_n = {(row["doctor_id"], f"c{row['condition_id']}"): row["n"] for row in rows}
    ranked = {s.doctor_id: s for s in doctors.ranked_doctors(ratings, policy)}
    for doctor_id in range(1, 41):
        report = doctors.doctor_report(ratings, SimpleNamespace(id=doctor_id), policy)
        rows_shown = [score for _, _, score in report.by_condition] + ([report.other] if report.other else [])
        for slug, _, score in report.by_condition:
            assert true_n[(doctor_id, slug)] >= 5 and score.n >= 5  # appearance by true count, and the number shown
        o = report.overall
        assert ranked[doctor_id] == replace(o, distributions={})  # search lists agree
        if not rows_shown:
            assert o.suppressed
            continue
        assert o.n == sum(s.n for s in rows_shown)  # the total is the sum of what is shown
        means = [s.overall_mean for s in rows_shown if s.overall_mean is not None]
        assert min(means) <= o.overall_mean <= max(means)
        for score in [*rows_shown, o]:
            for name, dist in score.distributions.items():
                assert all(c >= 0 for c in dist.values()) and sum(dist.values()) <= score.n, name
            assert sum(score.distributions["overall"].values()) <= score.n
            for share in (score.top_box, score.communication, score.access):
                assert share is None or 0 <= share["low"] <= share["share"] <= share["high"] <= 1
        for name in doctors.HISTOGRAMS:
            assert o.distributions[name] == {
                code: sum(s.distributions[name][code] for s in rows_shown) for code in o.distributions[name]
            }


def test_a_group_of_fewer_than_min_n_never_appears_whatever_its_noise():
    rng = random.Random(5)
    for key in range(300):
        policy = Policy(mode="perturb", min_n=5, key=f"small-{key}".encode())
        ratings = Ratings([group_row(rng, 1, 1, 4), group_row(rng, 1, 2, 30)])
        report = doctors.doctor_report(ratings, SimpleNamespace(id=1), policy)
        assert [slug for slug, _, _ in report.by_condition] == ["c2"] and report.other is None
        assert doctors.ranked_doctors(ratings, policy, condition_id=1)[0].suppressed
