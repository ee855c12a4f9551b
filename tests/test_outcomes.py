"""Aggregates against counts computed by hand (reports.outcomes)."""

from datetime import datetime, timezone

import pytest

from registry.models import Condition, Treatment
from registry.platform.extensions import db
from registry.reporting.report_sources import CellSource
from reports import outcomes
from reports.disclosure import Policy
from reports.filters import Filters
from reports.stats import share_dict

EXACT = Policy(mode="exact", min_n=5)
# The community's reports are all made on this day: an ongoing treatment's duration runs to its report's date.
REPORTED = datetime(2026, 5, 15, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def community(make, monkeypatch):
    monkeypatch.setattr("registry.contributions.experiences.now_utc", lambda: REPORTED)  # the report date save() stamps
    for name in ["Sumatriptan", "Topiramate", "Propranolol", "Erenumab"]:
        make.treatment(name)
    make.treatment("Yoga", kind="lifestyle")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate", "propranolol", "yoga", "erenumab"])
    make.condition("Cluster headache", "G44.0")
    # Sumatriptan: 6 reports; improved 4 of the 5 who could tell.
    for effect, satisfaction, severity in [
        ("major", 9, "mild"),
        ("major", 9, "mild"),
        ("major", 8, "severe"),
        ("moderate", 7, "mild"),
        ("slight", 5, "none"),
        ("cant_tell", 6, "mild"),
    ]:
        make.experience(
            treatment="sumatriptan",
            effectiveness=effect,
            satisfaction=satisfaction,
            side_effect_severity=severity,
            side_effects=["nausea"] if severity != "none" else [],
            insurance_coverage="denied" if satisfaction == 5 else "covered",
        )
    # Topiramate: 8 reports, 5 by women; improved 4 of 8.
    for i, effect in enumerate(["moderate"] * 4 + ["none"] * 3 + ["worse"]):
        make.experience(
            treatment="topiramate",
            effectiveness=effect,
            satisfaction=4,
            sex="female" if i < 5 else "male",
            side_effects=["brain fog", "tingling"][: 1 + i % 2],
            started="2024-01",
            stopped="2024-03" if i < 2 else None,
            stop_reasons=["side_effects"] if i < 2 else [],
        )
    # Small units: 3 and 2 reports.
    for _ in range(3):
        make.experience(treatment="propranolol", effectiveness="major")
    for _ in range(2):
        make.experience(treatment="yoga", effectiveness="major")


def condition(slug="migraine"):
    return db.session.scalar(db.select(Condition).where(Condition.slug == slug))


def treatment(slug):
    return db.session.scalar(db.select(Treatment).where(Treatment.slug == slug))


def report_of(slug="migraine", filters=Filters(), policy=EXACT):
    """A condition's report as its page builds it: the catalog's treatments may be listed as hidden."""
    entry = condition(slug)
    return outcomes.condition_report(CellSource(db.session), entry, filters, policy, listed=entry.treatments)


def test_condition_report_matches_hand_counts(community, ctx):
    report = report_of()
    assert report.n == 14 and not report.suppressed  # the shown treatments' reports
    assert [u.slug for u in report.treatments][:2] == ["sumatriptan", "topiramate"]
    suma = report.treatments[0]
    assert suma.n == 6
    assert suma.distributions["effectiveness"] == {
        "worse": 0,
        "none": 0,
        "slight": 1,
        "moderate": 1,
        "major": 3,
        "cant_tell": 1,
    }
    assert suma.improved == share_dict(4, 5)  # cant_tell is left out of the denominator
    assert suma.satisfaction_mean == round(44 / 6, 2)
    assert suma.severe == share_dict(1, 6)
    assert suma.not_covered == share_dict(1, 6)
    assert suma.distributions["insurance_coverage"]["covered"] == 5
    topi = report.treatments[1]
    assert topi.improved == share_dict(4, 8) and topi.satisfaction_mean == 4.0
    # Propranolol (3) and yoga (2) are hidden, like erenumab (none): all three are the catalog's, listed alike.
    hidden = {u.slug: u for u in report.treatments if u.suppressed}
    assert set(hidden) == {"erenumab", "propranolol", "yoga"}
    assert hidden["yoga"].summary_json() == {"slug": "yoga", "name": "Yoga", "suppressed": True}
    assert hidden["erenumab"].summary_json() == {"slug": "erenumab", "name": "Erenumab", "suppressed": True}
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
    report = report_of("tie-condition")
    assert [u.slug for u in report.treatments] == ["beta", "alpha", "gamma"]  # alpha/gamma tie: by name


def test_a_filtered_view_is_shown_by_its_own_count(community, ctx):
    women = report_of(filters=Filters(sex=("female",)))
    topi = next(u for u in women.treatments if u.slug == "topiramate")
    assert not topi.suppressed and topi.n == 5  # no complement rule: noise, not hiding, protects the rest
    assert women.n == 5


def test_one_small_treatment_hides_nothing_else(make, ctx):
    make.treatment("Alpha")
    make.treatment("Beta")
    make.treatment("Gamma")
    make.condition("Lonely", None, treatments=["alpha", "beta", "gamma"])
    for slug, count in [("alpha", 3), ("beta", 6), ("gamma", 40)]:
        for _ in range(count):
            make.experience("lonely", slug)
    report = report_of("lonely")
    assert {u.slug for u in report.treatments if u.suppressed} == {"alpha"}
    assert report.n == 46  # the total counts shown treatments only
    (beta,) = outcomes.treatments_report(
        CellSource(db.session), condition("lonely"), [treatment("beta")], Filters(), EXACT
    )
    assert not beta.suppressed and beta.n == 6
    (alpha,) = outcomes.treatments_report(
        CellSource(db.session), condition("lonely"), [treatment("alpha")], Filters(), EXACT
    )
    assert alpha.detail_json() == {"slug": "alpha", "name": "Alpha", "suppressed": True}


def test_empty_condition(community, ctx):
    report = report_of("cluster-headache")
    assert report.n == 0 and report.suppressed and report.treatments == [] and report.side_effects == []


def test_treatment_report_has_every_distribution(community, ctx):
    unit = outcomes.treatment_report(CellSource(db.session), condition(), treatment("topiramate"), Filters(), EXACT)
    body = unit.detail_json()
    assert body["n"] == 8 and sum(body["effectiveness"].values()) == 8
    assert set(body["side_effect_severity"]) == {"none", "mild", "moderate", "severe", "very_severe"}
    assert body["satisfaction"] == {str(k): (8 if k == 4 else 0) for k in range(1, 11)}
    assert body["stop_reasons"]["side_effects"] == 2 and sum(body["stop_reasons"].values()) == 2
    assert body["side_effects"] == [{"term": "brain fog", "n": 8, "share": 1.0}]  # tingling (4) is too few
    # Two stopped after 2 months; six still using since 2024-01, reported 2026-05 (28 months: 2 to 5 years).
    assert body["duration"] == {"lt_1m": 0, "1_6m": 2, "6_12m": 0, "1_2y": 0, "2_5y": 6, "5y_plus": 0}
    for name in ["adherence", "burden", "cost_per_month", "insurance_coverage", "would_recommend"]:
        assert name in body


def test_distributions_add_up_to_n(community, ctx):
    report = report_of()
    for unit in report.shown:
        # Required answers add up to n; optional ones (insurance) count the answers given.
        for name in ("effectiveness", "side_effect_severity", "satisfaction"):
            assert sum(unit.distributions[name].values()) == unit.n
        assert sum(unit.distributions["insurance_coverage"].values()) <= unit.n


def test_hidden_treatments_are_listed_only_when_the_catalog_lists_them(make, ctx):
    for name in ["Zinc", "Aspirin", "Yoga", "Sumatriptan", "Biofeedback"]:
        make.treatment(name, kind="other")
    make.condition("Listing", None, treatments=["zinc", "yoga", "biofeedback"])
    for slug, count in [("sumatriptan", 20), ("aspirin", 1), ("zinc", 4), ("yoga", 3)]:
        for _ in range(count):
            make.experience("listing", slug, sex="other" if slug == "yoga" else "female")
    report = report_of("listing")
    # By name, not size; biofeedback (no report) and zinc (4) alike; aspirin's one report is not told.
    assert [u.slug for u in report.treatments if u.suppressed] == ["biofeedback", "yoga", "zinc"]
    others = report_of("listing", Filters(sex=("other",)))
    assert {u.slug for u in others.treatments} == {"biofeedback", "yoga", "zinc"} and others.suppressed


NOISY = Policy(key=b"test key for the drug page" * 2, min_n=5)


@pytest.fixture
def drug(make):
    """Semaglutide for three conditions: two shown, one with 2 reports listed by the catalog, one unlisted with 1."""
    for name in ["Semaglutide", "Metformin"]:
        make.treatment(name)
    make.condition("Type 2 diabetes", "E11", treatments=["semaglutide", "metformin"])
    make.condition("Obesity", "E66", treatments=["semaglutide"])
    make.condition("Heart failure", "I50", treatments=["semaglutide"])
    make.condition("Fatty liver", "K76.0")
    for i in range(14):
        make.experience(
            "type-2-diabetes",
            "semaglutide",
            effectiveness="major" if i < 9 else "none",
            side_effects=["nausea"] + (["constipation"] if i < 3 else []),
            would_recommend="yes" if i < 10 else "no",
        )
    for i in range(9):
        make.experience("obesity", "semaglutide", effectiveness="moderate", side_effects=["nausea"] if i < 4 else [])
    for _ in range(2):
        make.experience("heart-failure", "semaglutide")
    make.experience("fatty-liver", "semaglutide", side_effects=["nausea"])
    for _ in range(7):
        make.experience("type-2-diabetes", "metformin")


@pytest.mark.parametrize("policy", [EXACT, NOISY], ids=["exact", "perturb"])
def test_the_drug_overview_has_each_conditions_own_numbers(drug, ctx, policy):
    semaglutide = treatment("semaglutide")
    overview = outcomes.treatment_overview(CellSource(db.session), semaglutide, policy, listed=semaglutide.conditions)
    for use in overview.shown:
        own = outcomes.treatment_report(CellSource(db.session), condition(use.slug), semaglutide, Filters(), policy)
        assert use.unit.detail_json() == own.detail_json()  # the same protected values as its own page
    if policy is EXACT:
        assert [(u.slug, u.unit.n) for u in overview.shown] == [("type-2-diabetes", 14), ("obesity", 9)]
        assert overview.n == 23 and overview.shown[0].unit.recommended["share"] == round(10 / 14, 4)


def test_the_drug_overview_names_a_hidden_condition_only_when_the_catalog_lists_it(drug, ctx):
    semaglutide = treatment("semaglutide")
    overview = outcomes.treatment_overview(CellSource(db.session), semaglutide, EXACT, listed=semaglutide.conditions)
    hidden = [u.slug for u in overview.uses if u.unit.suppressed]
    assert hidden == ["heart-failure"]  # 2 reports, listed; fatty liver's 1 report is never told
    assert all(set(u.unit.detail_json()) == {"slug", "name", "suppressed"} for u in overview.uses if u.unit.suppressed)
    assert (
        outcomes.treatment_overview(CellSource(db.session), treatment("metformin"), EXACT).uses[0].slug
        == "type-2-diabetes"
    )


def test_the_drug_overviews_side_effects_sum_the_shown_conditions_protected_counts(drug, ctx):
    semaglutide = treatment("semaglutide")
    exact = outcomes.treatment_overview(CellSource(db.session), semaglutide, EXACT, listed=semaglutide.conditions)
    # nausea: 14 + 4 from the shown conditions (the hidden ones' reports never count); constipation 3 < min_n
    assert exact.side_effects == [{"term": "nausea", "n": 18, "share": round(18 / 23, 4)}]
    noisy = outcomes.treatment_overview(CellSource(db.session), semaglutide, NOISY, listed=semaglutide.conditions)
    assert noisy.shown and all(t["n"] >= NOISY.min_n for t in noisy.side_effects)
    assert noisy.n == sum(u.unit.n for u in noisy.shown)


# --- perturbed: numbers that agree, and appearance by true count -----------------------------------

KEYS = [Policy(key=f"agreeing numbers {i}".encode(), min_n=5) for i in range(80)]


def test_perturbed_parts_agree_with_their_totals(drug, ctx):
    chosen = [treatment("semaglutide"), treatment("metformin")]
    for policy in KEYS:
        for slug in ("type-2-diabetes", "obesity"):
            for unit in outcomes.treatments_report(CellSource(db.session), condition(slug), chosen, Filters(), policy):
                if unit.suppressed:
                    continue
                for name, dist in [*unit.distributions.items(), ("duration", unit.duration)]:
                    assert sum(dist.values()) <= unit.n, (policy.key, name)  # never more answers than reports
                assert all(n <= unit.n for n in unit.stop_reasons.values())
                assert all(t["n"] <= unit.n and t["share"] <= 1 for t in unit.side_effects)
        report = report_of("type-2-diabetes", policy=policy)
        assert report.n == sum(u.n for u in report.shown)  # the total is the sum of what is shown
        assert all(t["n"] <= report.n for t in report.side_effects)
        for unit in report.shown:
            assert all(sum(dist.values()) <= unit.n for dist in unit.distributions.values())


def test_a_term_or_unit_behind_fewer_than_min_n_reports_never_appears(drug, ctx, make):
    make.experience("type-2-diabetes", "semaglutide", side_effects=["my own rare term"])
    semaglutide = treatment("semaglutide")
    for policy in KEYS:
        overview = outcomes.treatment_overview(
            CellSource(db.session), semaglutide, policy, listed=semaglutide.conditions
        )
        lists = [overview.side_effects, *(use.unit.side_effects for use in overview.shown)]
        lists.append(report_of("type-2-diabetes", policy=policy).side_effects)
        # Constipation (3 people) and a term one person wrote never appear, whatever their noise.
        assert not {t["term"] for terms in lists for t in terms} & {"constipation", "my own rare term"}
        # Heart failure (2 reports) stays hidden; fatty liver (1, not in the catalog's list) is never named.
        assert "type-2-diabetes" in {use.slug for use in overview.shown} <= {"type-2-diabetes", "obesity"}
        assert "fatty-liver" not in {use.slug for use in overview.uses}
        counted = outcomes.public_condition_counts(policy, CellSource(db.session))
        assert condition("heart-failure").id not in counted and condition("fatty-liver").id not in counted


def test_people_matching_filters_are_never_more_than_everyone(drug, ctx, make):
    for i in range(12):  # patients all but one: the patients' view is nearly everyone's, drawn apart
        make.experience("type-2-diabetes", "metformin", role="caregiver" if i == 0 else "patient")
    chosen = [treatment("semaglutide"), treatment("metformin")]
    for policy in KEYS:
        everyone = {
            u.slug: u.n
            for u in outcomes.treatments_report(
                CellSource(db.session), condition("type-2-diabetes"), chosen, Filters(), policy
            )
        }
        for filters in (Filters(role=("patient",)), Filters(role=("caregiver",))):
            report = report_of("type-2-diabetes", filters, policy)
            for unit in report.shown:
                assert unit.n <= everyone[unit.slug], (policy.key, filters, unit.slug)
                assert all(sum(dist.values()) <= unit.n for dist in unit.distributions.values())
