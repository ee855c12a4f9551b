"""Aggregates against counts computed by hand (reports.aggregate)."""

import pytest

from registry.extensions import db
from registry.models import Condition, Treatment
from reports import aggregate
from reports.filters import Filters
from reports.stats import share_dict



@pytest.fixture
def community(make):
    for name in ["Sumatriptan", "Topiramate", "Propranolol", "Erenumab"]:
        make.treatment(name)
    make.treatment("Yoga", kind="lifestyle")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate", "propranolol", "yoga", "erenumab"])
    make.condition("Cluster headache", "G44.0")
    # Sumatriptan: 6 reports; improved 4 of the 5 who could tell.
    for effect, satisfaction, severity in [("major", 9, "mild"), ("major", 9, "mild"), ("major", 8, "severe"),
                                           ("moderate", 7, "mild"), ("slight", 5, "none"), ("cant_tell", 6, "mild")]:
        make.experience(treatment="sumatriptan", effectiveness=effect, satisfaction=satisfaction,
                        side_effect_severity=severity, side_effects=["nausea"] if severity != "none" else [],
                        insurance_coverage="denied" if satisfaction == 5 else "covered")
    # Topiramate: 8 reports, 5 by women; improved 4 of 8.
    for i, effect in enumerate(["moderate"] * 4 + ["none"] * 3 + ["worse"]):
        make.experience(treatment="topiramate", effectiveness=effect, satisfaction=4,
                        sex="female" if i < 5 else "male", side_effects=["brain fog", "tingling"][: 1 + i % 2],
                        started="2024-01", stopped="2024-03" if i < 2 else None,
                        stop_reasons=["side_effects"] if i < 2 else [])
    # Small units: 3 and 2 reports.
    for _ in range(3):
        make.experience(treatment="propranolol", effectiveness="major")
    for _ in range(2):
        make.experience(treatment="yoga", effectiveness="major")
    # fmt: skip


def condition(slug="migraine"):
    return db.session.scalar(db.select(Condition).where(Condition.slug == slug))


def treatment(slug):
    return db.session.scalar(db.select(Treatment).where(Treatment.slug == slug))


def test_condition_report_matches_hand_counts(community, ctx):
    report = aggregate.condition_report(db.session, condition(), Filters(), 5)
    assert report.n == 14 and not report.suppressed  # the shown treatments' reports
    assert [u.slug for u in report.treatments][:2] == ["sumatriptan", "topiramate"]
    suma = report.treatments[0]
    assert suma.n == 6
    assert suma.distributions["effectiveness"] == {"worse": 0, "none": 0, "slight": 1, "moderate": 1, "major": 3,
                                                   "cant_tell": 1}  # fmt: skip
    assert suma.improved == share_dict(4, 5)  # cant_tell is left out of the denominator
    assert suma.satisfaction_mean == round(44 / 6, 2)
    assert suma.severe == share_dict(1, 6)
    assert suma.not_covered == share_dict(1, 6)
    assert suma.distributions["insurance_coverage"]["covered"] == 5
    topi = report.treatments[1]
    assert topi.improved == share_dict(4, 8) and topi.satisfaction_mean == 4.0
    # Propranolol (3) and yoga (2) are hidden; together they reach 5, so nothing else must be.
    hidden = {u.slug: u for u in report.treatments if u.suppressed}
    assert set(hidden) == {"propranolol", "yoga"}
    assert hidden["yoga"].summary_json() == {"slug": "yoga", "name": "Yoga", "suppressed": True}
    # Tingling (4 reports) is left out: a term under the minimum could identify its author.
    assert [(t["term"], t["n"]) for t in report.side_effects] == [("brain fog", 8), ("nausea", 5)]
    assert report.side_effects[1]["share"] == round(5 / 14, 4)


def test_ranking_honours_uncertainty_and_breaks_ties_by_n(make, ctx):
    make.treatment("Alpha")
    make.treatment("Beta")
    make.treatment("Gamma")
    make.condition("Tie condition", None)
    for _ in range(5):
        make.experience("tie-condition", "alpha", effectiveness="major")  # 5 of 5: low bound 0.57
    for i in range(300):
        make.experience("tie-condition", "beta", effectiveness="major" if i < 240 else "none")  # 80%: low 0.75
    for _ in range(5):
        make.experience("tie-condition", "gamma", effectiveness="major")
    report = aggregate.condition_report(db.session, condition("tie-condition"), Filters(), 5)
    assert [u.slug for u in report.treatments] == ["beta", "alpha", "gamma"]  # alpha/gamma tie: by name


def test_complement_rule_hides_a_filtered_view_with_a_small_rest(community, ctx):
    women = aggregate.condition_report(db.session, condition(), Filters(sex=("female",)), 5)
    topi = next(u for u in women.treatments if u.slug == "topiramate")
    assert topi.suppressed  # 5 women shown would reveal the 3 others by subtraction
    assert women.suppressed


def test_complementary_suppression_when_one_small_unit_is_alone(make, ctx):
    make.treatment("Alpha")
    make.treatment("Beta")
    make.treatment("Gamma")
    make.condition("Lonely", None)
    for slug, count in [("alpha", 3), ("beta", 6), ("gamma", 40)]:
        for _ in range(count):
            make.experience("lonely", slug)
    report = aggregate.condition_report(db.session, condition("lonely"), Filters(), 5)
    assert {u.slug for u in report.treatments if u.suppressed} == {"alpha", "beta"}
    # The treatment page decides the same way.
    (beta,) = aggregate.treatments_report(db.session, condition("lonely"), [treatment("beta")], Filters(), 5)
    assert beta.suppressed and beta.detail_json() == {"slug": "beta", "name": "Beta", "suppressed": True}


def test_empty_condition(community, ctx):
    report = aggregate.condition_report(db.session, condition("cluster-headache"), Filters(), 5)
    assert report.n == 0 and report.suppressed and report.treatments == [] and report.side_effects == []


def test_treatment_report_has_every_distribution(community, ctx):
    unit = aggregate.treatment_report(db.session, condition(), treatment("topiramate"), Filters(), 5)
    body = unit.detail_json()
    assert body["n"] == 8 and sum(body["effectiveness"].values()) == 8
    assert set(body["side_effect_severity"]) == {"none", "mild", "moderate", "severe", "very_severe"}
    assert body["satisfaction"] == {str(k): (8 if k == 4 else 0) for k in range(1, 11)}
    assert body["stop_reasons"]["side_effects"] == 2 and sum(body["stop_reasons"].values()) == 2
    assert body["side_effects"] == [{"term": "brain fog", "n": 8, "share": 1.0}]  # tingling (4) is too few
    # Two stopped after 2 months; six still using since 2024-01, reported now (more than 2 years).
    assert body["duration"] == {"lt_1m": 0, "1_6m": 2, "6_12m": 0, "1_2y": 0, "2_5y": 6, "5y_plus": 0}
    for name in ["adherence", "burden", "cost_per_month", "insurance_coverage", "would_recommend"]:
        assert name in body


def test_distributions_add_up_to_n(community, ctx):
    report = aggregate.condition_report(db.session, condition(), Filters(), 5)
    for unit in report.shown:
        # Required answers add up to n; optional ones (insurance) count the answers given.
        for name in ("effectiveness", "side_effect_severity", "satisfaction"):
            assert sum(unit.distributions[name].values()) == unit.n
        assert sum(unit.distributions["insurance_coverage"].values()) <= unit.n


def test_two_filtered_views_cannot_be_subtracted_to_isolate_one_person(make, ctx):
    make.treatment("Alpha")
    make.condition("Differencing", None)
    for role, count in [("patient", 10), ("caregiver", 1), ("survivor", 10)]:
        for _ in range(count):
            make.experience("differencing", "alpha", role=role, effectiveness="worse" if role == "caregiver" else "major")
    cond = condition("differencing")
    both = aggregate.condition_report(db.session, cond, Filters(role=("patient", "caregiver")), 5)
    alone = aggregate.condition_report(db.session, cond, Filters(role=("patient",)), 5)
    # The role cross-table holds a cell of 1 (the caregiver): every role-filtered view is hidden.
    assert both.suppressed and alone.suppressed
    assert not aggregate.condition_report(db.session, cond, Filters(), 5).suppressed


def test_suppressed_units_are_listed_by_name_and_kept_under_filters(make, ctx):
    for name in ["Zinc", "Aspirin", "Yoga", "Sumatriptan"]:
        make.treatment(name, kind="other")
    make.condition("Listing", None)
    for slug, count in [("sumatriptan", 20), ("aspirin", 1), ("zinc", 4), ("yoga", 3)]:
        for _ in range(count):
            make.experience("listing", slug, sex="other" if slug == "yoga" else "female")
    report = aggregate.condition_report(db.session, condition("listing"), Filters(), 5)
    assert [u.slug for u in report.treatments if u.suppressed] == ["aspirin", "yoga", "zinc"]  # by name, not size
    women = aggregate.condition_report(db.session, condition("listing"), Filters(sex=("other",)), 5)
    # Under a filter every reported treatment is listed, so none reveals a small matching group.
    assert {u.slug for u in women.treatments} == {"sumatriptan", "aspirin", "yoga", "zinc"}
