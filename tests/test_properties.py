"""Property-based tests (hypothesis): hostile input to every form and parameter, and the reports' invariants.

No request may end in a 500, and a refused form (re-rendered or rejected) writes nothing. The
aggregation functions keep their promises for any counts: shares and intervals within [0, 1],
distributions adding up to at most n (exactly the number who answered), and no shown number that belongs to a
group under the minimum size.
"""

import random
import statistics

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scales
from registry.models.published import PUBLISHED_TABLES
from registry.platform.extensions import db
from registry.reporting.report_sources import CellSource
from reports import disclosure, outcomes, stats
from reports.filters import FILTER_SCALES, Filters


def examples(share: float) -> settings:
    """share times the profile's example count (tests/conftest.py: 25 in "dev", 200 in "ci"), random examples."""
    return settings(
        max_examples=max(1, round(settings().max_examples * share)),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


FAST = examples(1)
FEW = examples(0.4)  # forms that hash a password on success

NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "0",
        "-1",
        "1e309",
        "9" * 400,
        "NaN",
        "inf",
        "-0",
        "0.5",
        "2024-13",
        "0000-00",
        "9999-12",
        "2024-1",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%s%n",
        "../../etc/passwd",
        "\u202e",
        "e\u0301",
        "\U0001d518\U0001d52b",
        "x" * 5000,
        "\U0001f642" * 300,
        "\r\n",
        "true",
        "[]",
        "{}",
        "null",
        "2147483648",
        "9223372036854775808",
        "-9223372036854775809",
        "migraine",
        "sumatriptan",
        "mg",
        "major",
        "1",
        "10",
        "patient",
        "a@b.c",
        "@" * 60,
    ]
)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)  # lone surrogates cannot be sent
VALUE = st.one_of(NASTY, TEXT, st.integers().map(str), st.floats().map(str))
VALUES = st.one_of(VALUE, st.lists(VALUE, max_size=3))


def form_data(valid: dict) -> st.SearchStrategy:
    """The valid answers or nothing, with up to four fields (or unknown ones) replaced by hostile values."""
    fields = st.sampled_from(sorted(valid) + ["unexpected"])
    return st.builds(
        lambda base, changes: {**base, **changes},
        st.sampled_from([valid, {}]),
        st.dictionaries(fields, VALUES, max_size=4),
    )


# Written on purpose by a refused log-in or password change: the count of wrong passwords per email; and the
# published numbers, which the release before a request (REGISTRY_RELEASE=auto) may write, not the form.
COUNTERS = {"login_failure", "release", *(t.name for t in PUBLISHED_TABLES)}


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        with db.engine.connect() as conn:
            return {
                t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in db.metadata.sorted_tables
                if t.name not in COUNTERS
            }


def forget_failures(app) -> None:
    """Each example starts with no wrong passwords counted (the growing delay has its own tests)."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM login_failure"))


def post_checked(app, client, url: str, data: dict):
    """POST data: never a 500; unless it succeeded (a redirect), nothing was written."""
    forget_failures(app)
    before = row_counts(app)
    with client.post(url, data=data) as response:
        assert response.status_code < 500, (url, data)
        if response.status_code not in (302, 303):
            assert response.status_code in (200, 400, 404, 413), (url, data, response.status_code)
            assert row_counts(app) == before, (url, data)
        return response.status_code


EXPERIENCE = {
    "condition": "migraine",
    "treatment": "sumatriptan",
    "role": "caregiver",
    "diagnosed_year": "2015",
    "started": "2023-01",
    "stopped": "2024-06",
    "dose_amount": "50",
    "dose_unit": "mg",
    "dose_frequency": "as_needed",
    "effectiveness": "major",
    "side_effect_severity": "moderate",
    "side_effects": ["nausea", "jaw tightness"],
    "adherence": "usually",
    "burden": "a_little",
    "cost_per_month": "25_100",
    "insurance_coverage": "partly",
    "stop_reasons": ["side_effects", "cost"],
    "satisfaction": "8",
    "would_recommend": "yes",
    "tips": "At the first sign.",
}
RATING = {
    "doctor": "1",
    "condition": "migraine",
    "last_visit": "2025-06",
    "overall": "9",
    "explained_clearly": "always",
    "listened_carefully": "usually",
    "showed_respect": "always",
    "spent_enough_time": "sometimes",
    "got_appointment": "usually",
    "knowledge": "4",
    "would_recommend": "probably_yes",
    "comment": "Clear.",
}
PASSWORD = "correct horse battery"


@pytest.fixture
def world(app, make):
    """A small catalog with reports, a doctor, and a signed-in participant's client."""
    from registry.models import Doctor

    make.treatment("Sumatriptan")
    make.treatment("Yoga", kind="lifestyle")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "yoga"])
    for n in range(6):
        make.experience("migraine", "sumatriptan", role=["patient", "caregiver"][n % 2], sex="female")
    with app.app_context():
        db.session.add(
            Doctor(
                name="Dr. Ines Moreau",
                name_key="ines moreau",
                specialty="Neurology",
                city="Lyon",
                city_key="lyon",
                country="FR",
            )
        )
        db.session.commit()
    make.user(email="me@example.org", password=PASSWORD)
    client = app.test_client()
    assert client.post("/login", data={"email": "me@example.org", "password": PASSWORD}).status_code == 302
    return client


# --- forms -------------------------------------------------------------------------------


@FEW
@given(
    data=form_data(
        {
            "email": "new@example.org",
            "pseudonym": "new member",
            "password": "long enough pw",
            "confirm": "long enough pw",
        }
    )
)
def test_register_takes_any_input(app, world, data):
    post_checked(app, app.test_client(), "/register", data)


@FEW
@given(data=form_data({"email": "me@example.org", "password": PASSWORD, "remember": "y"}))
def test_login_takes_any_input(app, world, data):
    post_checked(app, app.test_client(), "/login", data)


@FAST
@given(data=form_data({"birth_year": "1980", "sex": "female", "country": "FR", "research_consent": "y"}))
def test_profile_takes_any_input(app, world, data):
    post_checked(app, world, "/account", data)


@FEW
@given(data=form_data({"current": PASSWORD, "password": "another long pw", "confirm": "another long pw"}))
def test_password_change_takes_any_input(app, world, data):
    post_checked(app, world, "/account/password", data)


@FAST
@given(data=form_data(EXPERIENCE), edit=st.booleans())
def test_experience_form_takes_any_input_and_keeps_the_aggregates_right(app, world, data, edit):
    from registry.reporting import report_upkeep

    post_checked(app, world, "/experiences/1/edit" if edit else "/experiences/new", data)
    with app.app_context():
        assert report_upkeep.check(db.session) == []


@FAST
@given(data=form_data(RATING), query=st.sampled_from(["?doctor=1", "", "?doctor=x", "?doctor=99999999999999999999"]))
def test_rating_form_takes_any_input(app, world, data, query):
    post_checked(app, world, "/ratings/new" + query, data)


@FAST
@given(
    kind=st.sampled_from(["conditions", "treatments", "doctors"]),
    data=form_data(
        {
            "name": "Vestibular migraine",
            "icd10": "G43.8",
            "synonyms": "VM",
            "kind": "therapy",
            "specialty": "Neurology",
            "city": "Oslo",
            "country": "NO",
        }
    ),
)
def test_catalog_add_forms_take_any_input(app, world, kind, data):
    post_checked(app, world, f"/{kind}/new", data)


CATALOG = {
    "name": "Vestibular migraine",
    "icd10": "G43.8",
    "synonyms": "VM",
    "kind": "therapy",
    "specialty": "Neurology",
    "city": "Oslo",
    "country": "NO",
}
# The valid answers the strategies above start from, and what posting them unchanged writes.
SUCCESS = [
    (
        "anonymous",
        "/register",
        {
            "email": "new@example.org",
            "pseudonym": "new member",
            "password": "long enough pw",
            "confirm": "long enough pw",
        },
        {"user": 1, "user_session": 1},
    ),
    ("anonymous", "/login", {"email": "me@example.org", "password": PASSWORD, "remember": "y"}, {"user_session": 1}),
    (
        "participant",
        "/account",
        {"birth_year": "1980", "sex": "female", "country": "FR", "research_consent": "y"},
        {"consent_event": 1},
    ),
    (
        "participant",
        "/account/password",
        {"current": PASSWORD, "password": "another long pw", "confirm": "another long pw"},
        {"audit_event": 1},
    ),
    (
        "participant",
        "/experiences/new",
        EXPERIENCE,
        {"experience": 1, "experience_side_effect": 2, "experience_stop_reason": 2, "diagnosis": 1},
    ),
    ("participant", "/ratings/new?doctor=1", RATING, {"doctor_rating": 1}),
    ("participant", "/conditions/new", CATALOG, {"condition": 1, "condition_synonym": 1}),
    ("participant", "/treatments/new", CATALOG, {"treatment": 1}),
    ("participant", "/doctors/new", CATALOG, {"doctor": 1}),
    ("participant", "/flag/tip/7", {"reason": "misinformation", "note": "Says to stop insulin."}, {"flag": 1}),
    ("moderator", "/moderation/tip/7", {"action": "hide", "reason": "Unsafe advice"}, {"audit_event": 1}),
    ("moderator", "/moderation/merge/treatment/2", {"survivor": "sumatriptan", "confirm": "yes"}, {"treatment": -1}),
]


@pytest.mark.parametrize("who, url, data, written", SUCCESS, ids=[case[1] for case in SUCCESS])
def test_the_valid_answers_the_forms_are_tried_from_succeed(app, world, moderator, who, url, data, written):
    """The success path: unchanged, each base answer set is accepted and writes what it should.

    Without this, a form that refused everything would pass every "takes any input" test above.
    """
    client = {"anonymous": app.test_client(), "participant": world, "moderator": moderator}[who]
    before = row_counts(app)
    response = client.post(url, data=data)
    assert response.status_code == 302, response.text
    after = row_counts(app)
    assert {table: after[table] - before[table] for table in written} == written


# --- query parameters ----------------------------------------------------------------------

PAGES = [
    "/search",
    "/conditions",
    "/treatments",
    "/doctors",
    "/conditions/migraine",
    "/conditions/migraine/treatments/sumatriptan",
    "/conditions/migraine/compare",
    "/treatments/sumatriptan",
    "/api/v1/conditions",
    "/api/v1/treatments",
    "/api/v1/doctors",
    "/api/v1/conditions/migraine/treatments",
    "/api/v1/conditions/migraine/treatments/sumatriptan",
    "/api/v1/doctors/1",
]
PARAMS = st.sampled_from(
    [
        "q",
        "page",
        "kind",
        "role",
        "age_band",
        "sex",
        "years_since_diagnosis",
        "t",
        "format",
        "chart",
        "limit",
        "condition",
        "specialty",
        "city",
        "country",
        "name",
    ]
)


@pytest.fixture
def moderator(app, make, world):
    """A moderator's client, and a tip to decide on."""
    make.experience("migraine", "yoga", tips="Stretch before bed.")
    make.user(email="mod@example.org", password=PASSWORD, role="moderator")
    client = app.test_client()
    assert client.post("/login", data={"email": "mod@example.org", "password": PASSWORD}).status_code == 302
    return client


TARGETS = st.sampled_from(["1", "2", "7", "0", "999999", "2147483648", "x"])
KINDS = st.sampled_from(["tip", "comment", "condition", "treatment", "doctor", "user", "%00", "x" * 300])


@FAST
@given(data=form_data({"reason": "misinformation", "note": "Says to stop insulin."}), kind=KINDS, target=TARGETS)
def test_flag_form_takes_any_input(app, world, data, kind, target):
    post_checked(app, world, f"/flag/{kind}/{target}", data)


@FAST
@given(data=form_data({"action": "hide", "reason": "Unsafe advice"}), kind=KINDS, target=TARGETS)
def test_moderation_decisions_take_any_input(app, moderator, data, kind, target):
    from registry.reporting import report_upkeep

    post_checked(app, moderator, f"/moderation/{kind}/{target}", data)
    with app.app_context():
        assert report_upkeep.check(db.session) == []  # a hidden tip's answers still count


@FAST
@given(data=form_data({"survivor": "sumatriptan", "confirm": "yes"}), kind=KINDS, target=TARGETS)
def test_merge_form_takes_any_input_and_keeps_the_aggregates_right(app, moderator, data, kind, target):
    from registry.reporting import report_upkeep

    post_checked(app, moderator, f"/moderation/merge/{kind}/{target}", data)
    with app.app_context():
        assert report_upkeep.check(db.session) == []


@FAST
@given(data=form_data({"password": "not the password", "confirm": "y"}))
def test_account_forms_take_any_input(app, world, data):
    post_checked(app, world, "/account/delete", data)
    post_checked(app, world, "/account/data/download", data)


@examples(2.4)
@given(path=st.sampled_from(PAGES), query=st.lists(st.tuples(PARAMS, VALUE), max_size=5))
def test_pages_and_api_take_any_query(app, world, path, query):
    before = row_counts(app)
    with world.get(path, query_string=query) as response:
        assert response.status_code in (200, 400, 404), (path, query, response.status_code)
        if path.startswith("/api/"):
            assert response.is_json
    assert row_counts(app) == before


# --- aggregation invariants ----------------------------------------------------------------


@examples(8)
@given(n=st.one_of(st.integers(0, 60), st.integers(0, 10**9)), data=st.data())
def test_wilson_interval_is_the_reference_one(n, data):
    """The interval is scipy's Wilson score interval (an independent implementation), within 1e-9."""
    from scipy.stats import binomtest

    successes = data.draw(st.one_of(st.integers(0, n), st.sampled_from([0, n])))
    interval = stats.wilson(successes, n)
    if n == 0:
        assert interval is None and stats.share_dict(successes, n) is None
        return
    reference = binomtest(successes, n).proportion_ci(confidence_level=0.95, method="wilson")
    share, low, high = interval
    assert share == successes / n
    assert low == pytest.approx(reference.low, abs=1e-9) and high == pytest.approx(reference.high, abs=1e-9)
    assert 0.0 <= low <= share <= high <= 1.0
    shown = stats.share_dict(successes, n)
    assert shown == {"share": round(share, 4), "low": round(low, 4), "high": round(high, 4)}


@pytest.mark.parametrize(
    "successes, n, low, high",
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0),
    ],
)
def test_wilson_interval_matches_published_values(successes, n, low, high):
    """The worked examples of Newcombe (1998), Statistics in Medicine 17:857, table I, method 3, to 4 places."""
    shown = stats.share_dict(successes, n)
    assert (shown["low"], shown["high"]) == (low, high)


EXACT = disclosure.Policy(mode="exact")


@examples(12)
@given(
    key=st.integers(0, 2**60),
    counts=st.dictionaries(st.sampled_from(scales.EFFECTIVENESS.codes), st.integers(0, 10**5)),
    min_n=st.integers(1, 12),
)
def test_protected_counts_are_stable_non_negative_and_shown_by_their_own_count(key, counts, min_n):
    policy = disclosure.Policy(mode="perturb", min_n=min_n, sigma=2.0, key=b"k")
    view = policy.view(key)
    dist = view.distribution("effectiveness", counts)
    assert dist == policy.view(key).distribution("effectiveness", counts)  # the same every time
    assert all(n >= 0 for n in dist.values()) and list(dist) == list(counts)
    assert view.n(0) == 0 and not policy.shown(view.n(0))  # nothing is never shown
    assert policy.shown(view.n(10**5)) and view.n(10**5) == policy.view(key).n(10**5)


@examples(12)
@given(successes=st.integers(0, 500), others=st.integers(0, 500), sigma=st.sampled_from([0.0, 1.0, 2.0, 4.0]))
def test_widened_interval_contains_the_plain_one(successes, others, sigma):
    dist = {"yes": successes, "no": others}
    policy = disclosure.Policy(mode="perturb" if sigma else "exact", sigma=sigma or 2.0, key=b"k")
    widened = disclosure.share(policy, dist, ("yes",))
    plain = stats.share_dict(successes, successes + others)
    if plain is None:
        assert widened is None
        return
    assert widened["share"] == plain["share"]
    assert 0 <= widened["low"] <= plain["low"] <= plain["share"] <= plain["high"] <= widened["high"] <= 1


@examples(8)
@given(
    counts=st.fixed_dictionaries({code: st.integers(0, 10**6) for code in scales.EFFECTIVENESS.codes}),
    satisfaction=st.fixed_dictionaries({str(v): st.integers(0, 1000) for v in range(1, 11)}),
)
def test_distribution_shares_and_means_are_consistent(counts, satisfaction):
    index = {(1, "effectiveness"): {code: n for code, n in counts.items() if n}}
    dist = outcomes.distribution(index, 1, "effectiveness", scales.EFFECTIVENESS.codes)
    assert list(dist) == list(scales.EFFECTIVENESS.codes) and sum(dist.values()) == sum(counts.values())
    improved = disclosure.share(EXACT, dist, scales.IMPROVED_CODES, outcomes.KNOWN_EFFECT_CODES)
    known = sum(dist.values()) - dist[scales.UNKNOWN_EFFECT_CODE]
    assert (improved is None) == (known == 0)
    if improved:
        assert improved["share"] == round(sum(dist[c] for c in scales.IMPROVED_CODES) / known, 4)
    mean = disclosure.mean(satisfaction)
    answers = [int(value) for value, n in satisfaction.items() for _ in range(n)]  # every answer, one by one
    if not answers:
        assert mean is None
    else:  # the mean of the answers as a person would take it, to the 2 places shown
        assert abs(mean - statistics.fmean(answers)) <= 0.005 + 1e-12
    share = disclosure.share(disclosure.Policy(key=b"k"), dist, scales.IMPROVED_CODES)  # widened for noise
    assert share is None or 0 <= share["low"] <= share["share"] <= share["high"] <= 1


@pytest.fixture
def community(app, make):
    """A varied, deterministic community: big and small treatments, every filter dimension mixed."""
    names = ["Sumatriptan", "Topiramate", "Propranolol", "Yoga"]
    for name in names:
        make.treatment(name, kind="lifestyle" if name == "Yoga" else "drug")
    make.condition("Migraine", "G43", treatments=[name.lower() for name in names])
    rng = random.Random(8)
    for treatment, size in zip(names, (23, 9, 4, 1)):
        for _ in range(size):
            make.experience(
                "migraine",
                treatment.lower(),
                role=rng.choice(scales.ROLE.codes),
                sex=rng.choice(scales.SEX.codes),
                birth_year=rng.randint(1940, 2010),
                effectiveness=rng.choice(scales.EFFECTIVENESS.codes),
                side_effect_severity=rng.choice(scales.SIDE_EFFECT_SEVERITY.codes),
                satisfaction=rng.randint(1, 10),
                side_effects=rng.sample(["nausea", "fatigue", "dizziness"], rng.randint(0, 2)),
            )


FILTERS = st.builds(
    Filters,
    **{
        name: st.lists(st.sampled_from(scale.codes), unique=True, max_size=1).map(tuple)
        for name, scale in FILTER_SCALES.items()
    },
)


@examples(1.6)
@given(filters=FILTERS, min_n=st.integers(1, 12), mode=st.sampled_from(disclosure.MODES))
def test_reports_add_up_and_never_show_a_group_under_min_n(app, community, filters, min_n, mode):
    from registry.models import Condition, Treatment

    policy = disclosure.Policy(mode=mode, min_n=min_n, key=b"property-test-key")
    with app.app_context():
        condition = db.session.scalar(sa.select(Condition).where(Condition.slug == "migraine"))
        report = outcomes.condition_report(
            CellSource(db.session), condition, filters, policy, listed=condition.treatments
        )
        shown = [unit for unit in report.treatments if not unit.suppressed]
        assert report.n == sum(unit.n for unit in shown) and report.suppressed == (not shown)
        for unit in report.treatments:
            body = unit.summary_json()
            if unit.suppressed:
                assert set(body) == {"slug", "name", "suppressed"}  # no count, no share
                continue
            assert unit.n >= min_n
            for name in ("effectiveness", "side_effect_severity"):  # protected parts add up to at most n
                assert sum(body[name].values()) == unit.n if mode == "exact" else sum(body[name].values()) <= unit.n
        assert all(min_n <= term["n"] <= report.n for term in report.side_effects)
        treatment = db.session.scalar(sa.select(Treatment).where(Treatment.slug == "sumatriptan"))
        detail = outcomes.treatment_report(CellSource(db.session), condition, treatment, filters, policy).detail_json()
        if not detail["suppressed"]:
            for name in (*scales.EXPERIENCE_CODES, "duration"):  # optional answers may be missing
                assert sum(detail[name].values()) <= detail["n"], name
            if mode == "exact":
                for name in ("effectiveness", "side_effect_severity", "satisfaction"):  # required answers
                    assert sum(detail[name].values()) == detail["n"], name
            assert all(n <= detail["n"] for n in detail["stop_reasons"].values())
            assert all(min_n <= term["n"] <= detail["n"] for term in detail["side_effects"])
            assert all(n >= 0 for name in scales.EXPERIENCE_CODES for n in detail[name].values())


def test_after_n_months_parts_agree_and_appear_by_true_count():
    import pandas as pd

    from reports import followup

    rng = random.Random(4)
    rows = [
        (
            i,
            "2024-01",
            "2024-07",
            rng.getrandbits(40),
            rng.choice([None, "2024-03"]),
            rng.choice([*scales.EFFECTIVENESS.codes, None]),
            rng.choice([*scales.SIDE_EFFECT_SEVERITY.codes, None]),
            rng.choice([rng.randint(1, 10), None]),
            "yes",
        )
        for i in range(12)
    ]
    points = pd.DataFrame(rows, columns=followup.POINT_COLUMNS)
    for key in range(300):
        policy = disclosure.Policy(mode="perturb", min_n=5, key=f"after {key}".encode())
        # A few people's answers never appear, whatever their noise; nor a count of a few new reports.
        assert followup.horizon_report(points.iloc[:4], 6, policy).suppressed
        assert not followup.new_reports(policy, 4, rng.getrandbits(40)).shown
        assert followup.horizon_report(points, 6, policy, bound=4).suppressed  # never more than the page's n
        report = followup.horizons_report(points, policy, (6,), bound=11)[0]
        if report.suppressed:
            continue
        assert report.n <= 11
        assert report.n >= policy.min_n
        for dist in (report.effectiveness, report.still_using):
            assert sum(dist.values()) <= report.n and all(c >= 0 for c in dist.values())


def test_time_bands_add_up_to_the_curves_n_and_stop_reasons_appear_by_true_stops():
    from reports import survival

    rng = random.Random(6)
    for key in range(300):
        policy = disclosure.Policy(mode="perturb", min_n=5, key=f"time {key}".encode())
        stopped = (rng.randint(0, 3), 1, 0, rng.randint(0, 20), rng.randint(0, 9), rng.randint(0, 9))  # 1-4 early
        using = tuple(rng.randint(0, 15) for _ in range(6))
        true = survival.TrueBands(sum(stopped) + sum(using), rng.getrandbits(40), stopped, using, {"cost": (1, 2)})
        bands = survival.protect(policy, true)
        assert sum(bands.stopped) + sum(bands.using) == bands.n  # the people at risk at the start are the n printed
        curve = survival.curve(policy, bands)
        if curve.suppressed:
            continue
        assert curve.points[0].at_risk <= curve.n
        assert "early" not in curve.reasons  # fewer than min_n early stops, whatever their noise
        bounded = survival.protect(policy, true, bound=true.n - 3)  # the unit's n as its page shows it
        assert bounded.n <= true.n - 3 and sum(bounded.stopped) + sum(bounded.using) == bounded.n
        for block in curve.reasons.values():
            assert all(s is None or s["share"] <= 1 for s in block["reasons"].values())
