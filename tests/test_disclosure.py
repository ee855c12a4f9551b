"""Disclosure control (reports.disclosure): the noise, its consistency, and the attacks it must resist."""

import csv
import io
import random
import sys
from pathlib import Path

import pytest

import scales
from registry.app import create_app
from registry.platform.extensions import db
from reports import disclosure
from reports.disclosure import Policy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import privacy  # noqa: E402  (the attack scenarios the benchmark measures)

POLICY = Policy(mode="perturb", min_n=5, sigma=2.0, key=b"test-key")


def _config(url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test",
        "EXPORT_KEY": "test",
        "DISCLOSURE_KEY": "test-disclosure-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "RATELIMIT_ENABLED": False,
        "DISCLOSURE": "perturb",
        "RELEASE": "auto",  # pages publish before they are read
        "RELEASE_BUDGET": 0,  # no yearly cap here: a view may be published anew within the week
    }


def test_the_same_set_of_reports_always_gets_the_same_numbers():
    counts = {"none": 3, "major": 40}
    assert POLICY.view(12345).distribution("effectiveness", counts) == POLICY.view(12345).distribution(
        "effectiveness", counts
    )
    # Another set of reports (another key sum) or another deployment key draws other noise.
    draws = {tuple(POLICY.view(k).distribution("effectiveness", counts).values()) for k in range(50)}
    assert len(draws) > 10
    other = Policy(mode="perturb", key=b"another-key")
    assert [other.view(k).n(100) for k in range(30)] != [POLICY.view(k).n(100) for k in range(30)]


def test_noise_has_the_stated_spread_and_no_bias():
    values = [POLICY.view(k).count("n", 1000) - 1000 for k in range(4000)]
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    assert abs(mean) < 0.15 and 1.85 < sd < 2.15  # rounding adds 1/12 to the variance


def test_empty_views_are_never_shown_and_counts_never_negative():
    assert POLICY.view(0).n(0) == 0 and not POLICY.shown(0)
    assert all(POLICY.view(k).count("x", 0) >= 0 for k in range(500))
    assert all(POLICY.view(k).n(1) >= 0 for k in range(500))


def test_exact_mode_publishes_true_counts():
    exact = Policy(mode="exact", min_n=5)
    assert exact.view(99).distribution("effectiveness", {"none": 3, "major": 4}) == {"none": 3, "major": 4}
    assert exact.view(99).n(4) == 4 and not exact.shown(4) and exact.shown(5)


def test_a_misspelt_mode_or_a_missing_key_refuses_to_start():
    with pytest.raises(ValueError, match="perturb, exact"):
        Policy(mode="perturbed", key=b"k")
    with pytest.raises(ValueError, match="secret key"):
        Policy(mode="perturb")
    with pytest.raises(ValueError):
        create_app({**_config("sqlite://"), "DISCLOSURE": "off"})


def test_intervals_are_widened_to_cover_the_noise():
    dist = {"yes": 30, "no": 20}
    plain = disclosure.share(Policy(mode="exact"), dist, ("yes",))
    widened = disclosure.share(POLICY, dist, ("yes",))
    assert plain["share"] == widened["share"] == 0.6
    assert widened["low"] < plain["low"] and widened["high"] > plain["high"]
    # The widening fades as n grows: noise of a few reports matters little among thousands.
    big = {"yes": 3000, "no": 2000}
    assert (
        disclosure.share(POLICY, big, ("yes",))["low"] - disclosure.share(Policy(mode="exact"), big, ("yes",))["low"]
        > -0.005
    )


# --- through the application: pages, CSV and API, perturbed -----------------------------------


@pytest.fixture
def perturbed(app, database_url):
    """A second app on the same database, publishing protected numbers as a deployment does."""
    second = create_app(_config(database_url))
    yield second.test_client()
    with second.app_context():  # close its pool: PostgreSQL connections must not be left open
        db.engine.dispose()


@pytest.fixture
def community(make):
    # Report keys are a keyed hash of the participant and the pair: the noise is the same every run.
    for name in ["Sumatriptan", "Topiramate", "Acupuncture"]:
        make.treatment(name)
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate"])
    rng = random.Random(3)
    for treatment, size in [("sumatriptan", 60), ("topiramate", 30)]:
        for _ in range(size):
            make.experience(
                treatment=treatment,
                effectiveness=rng.choice(privacy.CODES),
                sex=rng.choice(["female", "male"]),
                role="patient",
                satisfaction=rng.randint(1, 10),
                side_effects=["nausea"],
            )


def test_same_view_and_spellings_give_the_same_numbers_on_page_csv_and_json(perturbed, community):
    api = "/api/v1/conditions/migraine/treatments/sumatriptan"
    first = perturbed.get(api + "?sex=female&role=patient").get_json()["treatment"]
    assert first == perturbed.get(api + "?role=patient&sex=female&sex=female").get_json()["treatment"]
    assert first == perturbed.get(api + "?sex=female&age_band=").get_json()["treatment"]
    # Everyone is a patient: the role filter names the same people, so the same numbers.
    assert perturbed.get(api + "?role=patient").get_json()["treatment"] == perturbed.get(api).get_json()["treatment"]
    page = perturbed.get("/conditions/migraine/treatments/sumatriptan?sex=female").text
    assert f"<strong>{first['n']}</strong> people reported" in page  # the summary
    rows = list(
        csv.reader(
            io.StringIO(
                perturbed.get(
                    "/conditions/migraine/treatments/sumatriptan?sex=female&role=patient&format=csv&chart=effectiveness"
                ).text
            )
        )
    )
    code_of = {label: code for code, label in scales.EFFECTIVENESS.options}
    assert {code_of[row[0]]: int(row[1]) for row in rows[1:]} == first["effectiveness"]


def test_condition_totals_count_only_what_is_shown(perturbed, community):
    body = perturbed.get("/api/v1/conditions/migraine/treatments").get_json()
    shown = [t for t in body["treatments"] if not t["suppressed"]]
    listing = perturbed.get("/api/v1/conditions").get_json()["conditions"]
    assert next(c["n"] for c in listing if c["slug"] == "migraine") == sum(t["n"] for t in shown)
    assert body["disclosure"] == "perturb"


def test_a_new_small_treatment_changes_nothing_else(perturbed, community, make):
    before = perturbed.get("/api/v1/conditions/migraine/treatments").get_json()["treatments"]
    make.experience(treatment="acupuncture", effectiveness="major")
    after = perturbed.get("/api/v1/conditions/migraine/treatments").get_json()["treatments"]
    assert before == after  # acupuncture (one report, not in the catalog's list) is not even named
    assert perturbed.get("/api/v1/conditions/migraine/treatments/acupuncture").get_json()["treatment"] == {
        "slug": "acupuncture",
        "name": "Acupuncture",
        "suppressed": True,
    }


def test_new_reports_draw_every_code_again(perturbed, community, make):
    api = "/api/v1/conditions/migraine/treatments/topiramate"
    before = perturbed.get(api).get_json()["treatment"]["effectiveness"]
    for _ in range(5):  # min_n new reports: the view is published anew, for a new set of people
        make.experience(treatment="topiramate", effectiveness="worse")
    after = perturbed.get(api).get_json()["treatment"]["effectiveness"]
    assert len({code for code in before if after[code] != before[code]}) > 1  # not only the new answers' code


def test_an_edit_keeps_the_reports_key(community, make, app):
    from registry.contributions import experiences
    from registry.models import Experience

    experience_id = make.experience(treatment="topiramate", effectiveness="none")
    with app.app_context():
        experience = db.session.get(Experience, experience_id)
        key = experience.report_key
        answers = {
            "role": "patient",
            "started": "2024-01",
            "stopped": None,
            "effectiveness": "major",
            "side_effect_severity": "mild",
            "satisfaction": 7,
            "would_recommend": "yes",
        }
        experiences.save(experience.user, experience.condition, experience.treatment, answers, experience=experience)
        db.session.commit()
        assert db.session.get(Experience, experience_id).report_key == key  # re-saving draws no fresh noise
        from registry.reporting import report_upkeep

        assert report_upkeep.check(db.session) == []


# --- the attacks of benchmarks/privacy.py, on a fixed seed ---------------------------------------


@pytest.mark.parametrize("attack", list(privacy.ATTACKS))
def test_attacks_recover_an_answer_less_often_than_the_bound(tmp_path, attack):
    # A release after every save makes each trial cost tens of releases: few trials on a fixed seed here,
    # the measured figures in benchmarks/privacy.py.
    trials = 12
    rng = random.Random(11)
    registry = privacy.Registry(tmp_path, "perturb", 2.5, key="attack-test", seed=11)
    wins = sum(privacy.ATTACKS[attack](registry, rng) for _ in range(trials))
    assert wins / trials <= privacy.TARGET_ATTACK, f"{attack}: {wins} of {trials}"
    # The same attack on exact counts always succeeds: the scenario is a real one.
    (tmp_path / "exact").mkdir()
    exact = privacy.Registry(tmp_path / "exact", "exact", 2.5, key="attack-test", seed=11)
    assert all(privacy.ATTACKS[attack](exact, random.Random(i)) for i in range(3))


def test_a_unit_with_twice_min_n_reports_is_always_shown():
    for min_n in (3, 5, 10):
        policy = Policy(mode="perturb", min_n=min_n, sigma=2.5, key=b"k")
        assert all(policy.shown(policy.view(k).n(2 * min_n)) for k in range(3000))
        assert all(abs(policy.view(k).count("x", 100) - 100) <= min_n for k in range(3000))  # bounded noise


# --- numbers that agree, and appearance by true count ------------------------------------------


def test_apportion_rescales_parts_onto_a_total_by_largest_remainders():
    assert disclosure.apportion({"a": 1, "b": 1, "c": 1}, 10) == {"a": 4, "b": 3, "c": 3}  # tie: the earlier
    assert disclosure.apportion({"a": 10, "b": 30, "c": 0}, 7) == {"a": 2, "b": 5, "c": 0}  # 1.75, 5.25
    assert disclosure.apportion({"a": 0, "b": 0}, 5) == {"a": 0, "b": 0}  # nothing to rescale
    rng = random.Random(1)
    for _ in range(2000):
        parts = {str(i): rng.choice([0, rng.randint(0, 9), rng.randint(0, 10**6)]) for i in range(rng.randint(1, 11))}
        total = rng.randint(0, 10**6)
        result = disclosure.apportion(parts, total)
        assert list(result) == list(parts) and all(n >= 0 for n in result.values())
        if any(parts.values()):
            assert sum(result.values()) == total
            whole = sum(parts.values())
            assert all(abs(result[c] - p * total / whole) < 1 for c, p in parts.items())  # within 1 of its quota
            assert all(result[c] == 0 for c, p in parts.items() if p == 0)


def test_a_views_parts_add_up_to_the_number_who_answered_never_above_its_n():
    codes = scales.EFFECTIVENESS.codes
    rng = random.Random(2)
    for key in range(3000):
        view = POLICY.view(key)
        true = {c: rng.choice([0, 0, 1, 2, rng.randint(0, 400)]) for c in codes}
        skipped = rng.choice([0, 0, 1, 3, 20])
        n = view.n(sum(true.values()) + skipped)
        dist = view.distribution("effectiveness", true)
        answered = view.answered("effectiveness", sum(true.values()))
        assert sum(dist.values()) in (answered, 0) and answered <= n and all(c >= 0 for c in dist.values())
        if sum(dist.values()):
            assert sum(dist.values()) == answered
        # The bound can be given (a view drawn apart from its n), and stop reasons are only capped.
        assert POLICY.view(key).distribution("effectiveness", true, n) == dist
        assert all(c <= n for c in POLICY.view(key).multiple("stop_reasons", {"cost": 400, "other": 0}, n).values())
        assert all(c <= n for c in POLICY.view(key).terms("side_effects", {"nausea": 400}, n).values())
    exact = Policy(mode="exact", min_n=5).view(7)
    assert exact.n(9) == 9 and exact.distribution("effectiveness", {"none": 3, "major": 4}) == {"none": 3, "major": 4}


def test_shares_from_parts_that_agree_keep_their_interval_coverage():
    """The 95% intervals of shares of protected, rescaled parts hold the true share at least 95% of the time."""
    rng = random.Random(3)
    policy = Policy(mode="perturb", min_n=5, sigma=2.5, key=b"coverage")
    codes = scales.EFFECTIVENESS.codes
    covered = total = 0
    for key in range(4000):
        n = rng.choice([5, 8, 12, 20, 35, 60, 150, 600])
        weights = [rng.random() ** 2 for _ in codes]
        picks = rng.choices(codes, weights=weights, k=n)
        true = {c: picks.count(c) for c in codes}
        view = policy.view(key)
        if not policy.shown(view.n(n), n):
            continue
        dist = view.distribution("effectiveness", true)
        published = disclosure.share(policy, dist, scales.IMPROVED_CODES)
        exact = disclosure.share(Policy(mode="exact"), true, scales.IMPROVED_CODES)
        if published is None or exact is None:
            continue
        total += 1
        covered += published["low"] <= exact["share"] <= published["high"]
    assert total > 3000 and covered / total >= 0.95, covered / total


def test_terms_and_views_appear_by_their_true_count_never_by_their_noise():
    policy = Policy(mode="perturb", min_n=5, sigma=2.5, key=b"appearance")
    for key in range(5000):
        view = policy.view(key)
        # A term one to four people wrote never appears, however its noise falls.
        assert view.terms("side_effects", {"my rare term": 1, "four": 4}) == {}
        assert not policy.shown(view.count("n", 4), 4) and policy.shown_n(key, 4) is None
    # From min_n people up it may appear, with a protected number that reaches min_n; from twice min_n, always.
    appeared = [policy.view(k).terms("side_effects", {"nausea": 5}) for k in range(2000)]
    assert 0 < sum(bool(t) for t in appeared) < 2000 and all(t["nausea"] >= 5 for t in appeared if t)
    assert all(policy.view(k).terms("side_effects", {"nausea": 10}) for k in range(2000))
    assert all(policy.shown_n(k, 10) == policy.view(k).n(10) for k in range(2000))
    # Without a true count (callers that have none), the protected count alone decides, as before.
    assert policy.shown(5) and not policy.shown(4) and not policy.shown(None)


def test_the_parts_of_a_view_add_up_to_its_protected_n_and_appear_by_true_count():
    rng = random.Random(8)
    for key in range(2000):
        sizes = [rng.choice([1, 3, 5, 8, 20, 60]) for _ in range(rng.randint(1, 6))]
        parts = {i: (n, rng.getrandbits(40)) for i, n in enumerate(sizes)}
        total = POLICY.view(key).n(sum(sizes))
        published = POLICY.parts(total, parts)
        assert sum(n for n in published.values() if n is not None) <= total
        for i, n in published.items():
            assert n is None or (n >= POLICY.min_n and sizes[i] >= POLICY.min_n)
    exact = Policy(mode="exact", min_n=5)
    assert exact.parts(99, {"a": (3, 1), "b": (7, 2)}) == {"a": None, "b": 7}
