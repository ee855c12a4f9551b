"""The demo community (registry.demo.seed) and `registry seed-demo`."""

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import func, select

import scales
from registry.demo import community as demo_community
from registry.demo import logins as demo_accounts
from registry.demo import seed as demo
from registry.models import (
    Condition,
    Diagnosis,
    Doctor,
    DoctorRating,
    Experience,
    ExperienceSideEffect,
    ExperienceStopReason,
    Treatment,
    User,
)
from registry.platform.extensions import db
from registry.reporting import release, report_upkeep
from scales import EFFECTIVENESS, ROLE


@pytest.fixture
def small_catalog(make):
    for name in ["Sumatriptan", "Topiramate", "Propranolol", "Erenumab", "Metformin", "Semaglutide"]:
        make.treatment(name)
    make.treatment("Yoga", kind="lifestyle")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate", "propranolol", "erenumab", "yoga"])
    make.condition("Type 2 diabetes", "E11", treatments=["metformin", "semaglutide", "yoga"])
    make.condition("Hypertension", "I10", treatments=["propranolol", "yoga"])


UNTIL = date(2026, 10, 20)  # the fixtures' last day of the demo


@pytest.fixture
def community(app, make):
    """The starter catalog plus a cancer, seeded with 12,000 experiences and 2,000 doctor ratings, and published."""
    from registry.catalog.catalog import load_starter_catalog

    with app.app_context():
        load_starter_catalog()
        db.session.commit()
    make.treatment("Tamoxifen")
    make.treatment("Mastectomy", kind="procedure")
    make.condition("Breast cancer", "C50.911", treatments=["tamoxifen", "mastectomy"])
    with app.app_context():
        demo.seed_demo(12_000, seed=5, until=UNTIL, doctor_ratings=2_000)
        release.run(db.session)  # published, as `registry seed-demo` leaves it
        db.session.commit()
        yield


def month(text: str) -> int:
    return int(text[:4]) * 12 + int(text[5:7]) - 1


def snapshot(app):
    with app.app_context():
        rows = db.session.execute(
            select(
                Experience.user_id,
                Experience.condition_id,
                Experience.treatment_id,
                Experience.effectiveness,
                Experience.satisfaction,
                Experience.started,
                Experience.tips,
            ).order_by(Experience.id)
        ).all()
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
        assert all(e.stopped is None or e.started <= e.stopped <= "2026-10" for e in experiences)
        assert all(e.created_at.strftime("%Y-%m") <= "2026-10" for e in experiences)
        assert all(1 <= e.satisfaction <= 10 for e in experiences)
        consenting = db.session.scalar(select(func.count(User.id)).where(User.research_consent_at.is_not(None)))
        members = db.session.scalar(select(func.count(User.id)))
        assert 0.7 < consenting / members < 0.9
        assert db.session.scalar(select(func.count()).select_from(ExperienceSideEffect)) > 0
        assert db.session.scalar(select(func.count()).select_from(ExperienceStopReason)) > 0
        # Pairs stay unique per member, as the form guarantees.
        pairs = db.session.execute(select(Experience.user_id, Experience.condition_id, Experience.treatment_id)).all()
        assert len(set(pairs)) == len(pairs)
    # Same seed, same community.
    with app.app_context(), report_upkeep.bulk_write():  # everything but the catalog emptied, counts and all
        for table in reversed(db.metadata.sorted_tables):
            if table.name not in {
                "condition",
                "treatment",
                "condition_treatment",
                "condition_synonym",
                "treatment_synonym",
            }:
                db.session.execute(table.delete())
        db.session.commit()
    runner.invoke(args=["seed-demo", "--experiences", "3000", "--seed", "7", "--until", "2026-10"])
    again = snapshot(app)
    strip_ids = lambda rows: [r[1:] for r in rows]  # noqa: E731  (ids continue from the previous run)
    assert strip_ids(again) == strip_ids(first)


def test_seed_demo_rows_keep_their_foreign_keys_and_the_connection_its_settings(app, small_catalog, monkeypatch):
    """SQLite seeds with foreign keys unchecked and no fsync (demo.BULK_SETTINGS): the rows still hold,
    and the pooled connection gets its settings back, after a failed batch too."""

    def settings():
        with db.engine.connect() as connection:
            return {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in demo.BULK_SETTINGS}

    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"
        before = settings() if sqlite else None
        demo.seed_demo(2_000, seed=2, until=UNTIL, batch_size=1_000, doctor_ratings=200)
        assert db.session.scalar(select(func.count(DoctorRating.id))) > 0
        if not sqlite:
            return  # PostgreSQL checks every foreign key as the rows are copied
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
            schema = connection.exec_driver_sql(indexes).all()
        assert set(demo.DEFERRED_INDEXES) <= {name for name, _ in schema}  # built again after the batches
        assert settings() == before and before["foreign_keys"] == 1
        written = []

        def fail_in_the_second_batch(connection, table, columns):
            written.append(table.name)
            if written.count("experience") == 2:
                raise RuntimeError("disk full")
            return insert_columns(connection, table, columns)

        insert_columns = demo.insert_columns
        monkeypatch.setattr(demo, "insert_columns", fail_in_the_second_batch)
        monkeypatch.setattr(demo, "BATCHES_PER_COMMIT", 1)  # a transaction per batch: the first one stays
        seeded, made = db.session.scalar(select(func.count(Experience.id))), []
        with pytest.raises(RuntimeError, match="disk full"):
            demo.seed_demo(2_000, seed=3, until=UNTIL, batch_size=1_000, progress=made.append)
        assert settings() == before
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql(indexes).all() == schema
        assert len(made) == 1 and db.session.scalar(select(func.count(Experience.id))) == seeded + made[0]
        # An index a seed killed outright left dropped is built again by the next one, however small.
        with db.engine.connect() as connection:
            connection.exec_driver_sql(f"DROP INDEX {demo.DEFERRED_INDEXES[0]}")
            connection.commit()
        monkeypatch.undo()
        demo.seed_demo(100, seed=4, until=UNTIL)
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql(indexes).all() == schema


def test_first_line_treatments_lead_and_treatments_differ(runner, app, small_catalog):
    runner.invoke(args=["seed-demo", "--experiences", "6000", "--seed", "3"])
    with app.app_context():
        counts = dict(
            db.session.execute(
                select(Treatment.slug, func.count())
                .join(Experience.treatment)
                .join(Experience.condition)
                .where(Condition.slug == "type-2-diabetes")
                .group_by(Treatment.slug)
            ).all()
        )
        assert counts["metformin"] > counts["semaglutide"] > counts["yoga"]
        improved = db.session.execute(
            select(Experience.treatment_id, func.avg(Experience.satisfaction)).group_by(Experience.treatment_id)
        ).all()
        means = [float(m) for _, m in improved]
        assert max(means) - min(means) > 0.5


def test_no_condition_holds_more_than_its_cap_and_common_ones_lead(app, community):
    per_condition = Counter(
        dict(
            db.session.execute(
                select(Condition.slug, func.count()).join(Experience.condition).group_by(Condition.slug)
            ).all()
        )
    )
    total = sum(per_condition.values())
    assert total == 12_000
    assert max(per_condition.values()) / total <= 0.12 + 0.01  # sampling noise around the 12% cap
    leaders = {slug for slug, _ in per_condition.most_common(8)}
    assert {"major-depressive-disorder", "migraine", "hypertension", "type-2-diabetes"} <= leaders
    assert len(per_condition) > 90  # the long tail is there too


def test_capped_shares_moves_the_excess_to_the_others():
    shares = demo_community.capped_shares(np.array([100.0, 5, 4, 3, 2] + [1] * 25), cap=0.12)
    assert shares.max() <= 0.12 + 1e-12 and abs(shares.sum() - 1) < 1e-12
    assert shares[1] > shares[2] > shares[3]  # the order below the cap is kept


def test_time_runs_one_way_for_every_row(app, community):
    diagnosed = {
        (u, c): y
        for u, c, y in db.session.execute(select(Diagnosis.user_id, Diagnosis.condition_id, Diagnosis.diagnosed_year))
    }
    joined = dict(db.session.execute(select(User.id, User.created_at)).all())
    born = dict(db.session.execute(select(User.id, User.birth_year)).all())
    rows = db.session.execute(
        select(
            Experience.user_id,
            Experience.condition_id,
            Experience.started,
            Experience.stopped,
            Experience.years_since_diagnosis,
            Experience.age_band,
            Experience.created_at,
            Experience.updated_at,
        )
    ).all()
    for user_id, condition_id, started, stopped, since, age, created, updated in rows:
        # The latest answers (a follow-up's, or the report's) were saved last; stopping comes before.
        report = updated.strftime("%Y-%m")
        year = diagnosed.get((user_id, condition_id))
        assert year is None or year <= int(started[:4]), (user_id, year, started)
        # The bands are the ones the form would store for this member in the year of the latest answers.
        assert since == scales.years_since_diagnosis(year, updated.year)
        assert age == scales.age_band(born[user_id], updated.year)
        assert started <= (stopped or report) <= report
        assert started <= created.strftime("%Y-%m")
        assert joined[user_id] <= created <= updated
    ratings = db.session.execute(select(DoctorRating.user_id, DoctorRating.last_visit, DoctorRating.created_at)).all()
    assert len(ratings) > 1_500
    for user_id, last_visit, created in ratings:
        assert last_visit <= created.strftime("%Y-%m") and created >= joined[user_id]
    # Reports spread over the years, and the community grows.
    per_year = Counter(row.created_at.year for row in rows)
    assert len(per_year) >= 10 and per_year[2025] > 2 * per_year[2019] > 0
    # Most members were diagnosed years before they report, some recently.
    bands = Counter(db.session.scalars(select(Experience.years_since_diagnosis)))
    assert bands["lt_1"] < bands["1_5"] and bands["lt_1"] < 0.2 * sum(bands.values())


def test_stop_reasons_agree_with_answers(app, community):
    reasons = defaultdict(set)
    for experience_id, reason in db.session.execute(
        select(ExperienceStopReason.experience_id, ExperienceStopReason.reason)
    ):
        reasons[experience_id].add(reason)
    terms = Counter(db.session.scalars(select(ExperienceSideEffect.experience_id)))
    rows = db.session.execute(
        select(
            Experience.id,
            Experience.stopped,
            Experience.effectiveness,
            Experience.side_effect_severity,
            Experience.cost_per_month,
            Experience.insurance_coverage,
        )
    ).all()
    seen = Counter()
    for experience_id, stopped, effect, severity, cost, coverage in rows:
        why = reasons[experience_id]
        seen.update(why)
        assert not why or stopped is not None
        if "improved" in why:
            assert effect in ("moderate", "major")
        if "not_effective" in why:
            assert effect in ("worse", "none", "slight", "cant_tell")
        if "side_effects" in why:
            assert severity != "none"
        if "cost" in why:
            assert cost not in ("zero", "lt_25", "unknown")
        if "not_covered" in why:
            assert coverage in ("not_covered", "denied")
        # Side effects listed exactly when there were any.
        assert (terms[experience_id] > 0) == (severity != "none")
    assert {"improved", "not_effective", "side_effects", "cost", "not_covered"} <= set(seen)


def test_side_effects_come_from_the_treatment_class(app, community):
    profiles = demo_community.load_profiles()
    by_pair = defaultdict(Counter)
    kinds = dict(db.session.execute(select(Treatment.slug, Treatment.kind)).all())
    query = (
        select(Condition.slug, Treatment.slug, ExperienceSideEffect.term)
        .join(Experience, Experience.id == ExperienceSideEffect.experience_id)
        .join(Experience.condition)
        .join(Experience.treatment)
    )
    for condition, treatment, term in db.session.execute(query):
        by_pair[(condition, treatment)][term] += 1
    for (condition, treatment), terms in by_pair.items():
        _, cls = demo_community.treatment_class(profiles, condition, treatment, kinds[treatment])
        assert set(terms) <= set(cls["terms"]), (condition, treatment)
    metformin = by_pair[("type-2-diabetes", "metformin")]
    assert {"diarrhea", "nausea"} & {t for t, _ in metformin.most_common(2)}
    assert "injection site reaction" not in metformin and "brain fog" not in metformin
    sertraline = by_pair[("major-depressive-disorder", "sertraline")]
    assert {"nausea", "low libido"} & {t for t, _ in sertraline.most_common(3)}
    assert "cough" in by_pair[("hypertension", "lisinopril")]
    severe = db.session.execute(
        select(
            Treatment.slug, func.avg((Experience.side_effect_severity.in_(["severe", "very_severe"])).cast(db.Integer))
        )
        .join(Experience.treatment)
        .group_by(Treatment.slug)
        .having(func.count() >= 30)
    ).all()
    assert max(share for _, share in severe) < 0.4  # believable: no treatment mostly severe


def test_people_follow_the_condition(app, community):
    def roles(slug):
        return Counter(
            db.session.scalars(select(Experience.role).join(Experience.condition).where(Condition.slug == slug))
        )

    alzheimers, adhd, migraine, cancer = (
        roles(s)
        for s in ("alzheimers-disease", "attention-deficit-hyperactivity-disorder", "migraine", "breast-cancer")
    )
    assert alzheimers["caregiver"] > alzheimers["patient"]
    assert adhd["caregiver"] > 0.25 * sum(adhd.values())
    assert migraine["caregiver"] < 0.05 * sum(migraine.values())
    assert cancer["survivor"] > 0.2 * sum(cancer.values())
    # A parent reports the child's age band.
    child_bands = Counter(
        db.session.scalars(
            select(Experience.age_band)
            .join(Experience.condition)
            .where(Condition.slug == "attention-deficit-hyperactivity-disorder", Experience.role == "caregiver")
        )
    )
    assert child_bands["under_18"] > 0.8 * sum(n for band, n in child_bands.items() if band)
    sexes = Counter(
        db.session.scalars(
            select(Experience.sex).join(Experience.condition).where(Condition.slug == "erectile-dysfunction")
        )
    )
    assert sexes["female"] == 0 and sexes["male"] > 0
    # Members rate doctors in their own country.
    mismatched = db.session.scalar(
        select(func.count())
        .select_from(DoctorRating)
        .join(User, User.id == DoctorRating.user_id)
        .join(Doctor, Doctor.id == DoctorRating.doctor_id)
        .where(User.country.is_not(None), User.country != Doctor.country)
    )
    assert mismatched == 0
    assert db.session.scalar(select(func.count(func.distinct(User.country)))) >= 6


def test_report_keys_are_the_ones_the_app_computes():
    from registry.platform.database import report_key

    rng = np.random.default_rng(2)
    users, first, second = (rng.integers(1, 2**31 - 1, 500) for _ in range(3))
    for secret, kind in ((b"a disclosure key", "e"), (b"k" * 100, "r"), (b"", "e")):
        keys = demo_community.report_keys(secret, kind, users, first, second)
        assert keys.tolist() == [report_key(secret, kind, *ids) for ids in zip(users, first, second)]


def test_every_seeded_report_has_its_fixed_key(app, community):
    from registry.contributions.experiences import fixed_key
    from registry.models import ExperienceUpdate

    rows = db.session.execute(
        select(
            Experience.id, Experience.user_id, Experience.condition_id, Experience.treatment_id, Experience.report_key
        )
    ).all()
    assert all(key == fixed_key("e", user, condition, treatment) for _, user, condition, treatment, key in rows)
    key_of = {row.id: row.report_key for row in rows}
    points = db.session.execute(select(ExperienceUpdate.experience_id, ExperienceUpdate.report_key)).all()
    assert points and all(key == key_of[experience] for experience, key in points)
    ratings = db.session.execute(
        select(DoctorRating.user_id, DoctorRating.doctor_id, DoctorRating.condition_id, DoctorRating.report_key)
    ).all()
    assert ratings and all(key == fixed_key("r", user, doctor, condition) for user, doctor, condition, key in ratings)


def test_every_profile_source_is_named():
    profiles = demo_community.load_profiles()
    sources = profiles["sources"]
    blocks = [
        *profiles["conditions"].values(),
        *profiles["classes"],
        profiles["first_line"],
        profiles["approved"],
        profiles["countries"],
        profiles["kind_weight"],
        profiles["doses"],
        profiles["pair_classes"],
        profiles["kind_classes"],
        profiles["slug_classes"],
        profiles["weighting"],
    ]
    assert all(block["source"] in sources for block in blocks)
    named = {c["name"] for c in profiles["classes"]}
    assert {
        cls for pairs in profiles["pair_classes"].values() if isinstance(pairs, dict) for cls in pairs.values()
    } <= named


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
    for until in ("2024", "2024-13", "2024-02-30", "yesterday"):
        assert runner.invoke(args=["seed-demo", "--experiences", "10", "--until", until]).exit_code == 2


def latest_dates(app) -> dict[str, object]:
    """The latest date or timestamp of every kind the demo writes."""
    from registry.models import ConsentEvent, ExperienceUpdate

    columns = {
        "report": Experience.created_at,
        "answers": Experience.updated_at,
        "tip": Experience.tips_published_at,
        "follow-up": ExperienceUpdate.recorded_at,
        "member": User.created_at,
        "consent": ConsentEvent.at,
        "rating": DoctorRating.created_at,
        "rating saved": DoctorRating.updated_at,
    }
    with app.app_context():
        latest = {name: db.session.scalar(select(func.max(column))) for name, column in columns.items()}
        for name, column in (("started", Experience.started), ("stopped", Experience.stopped)):
            latest[name] = db.session.scalar(select(func.max(column)))
        latest["visit"] = db.session.scalar(select(func.max(DoctorRating.last_visit)))
    return latest


def test_no_demo_row_is_dated_after_until(runner, app, small_catalog):
    """--until is the demo's last day: its month keeps its reports, spread over the days up to it."""
    args = ["seed-demo", "--experiences", "3000", "--seed", "7", "--until", "2026-09-10", "--doctor-ratings", "300"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    latest = latest_dates(app)
    until = datetime(2026, 9, 10)
    for name in ("report", "answers", "tip", "follow-up", "member", "consent", "rating", "rating saved"):
        assert latest[name] is not None and latest[name].replace(tzinfo=None) <= until, name
    assert latest["follow-up"].replace(tzinfo=None) < datetime(2026, 9, 1)  # follow-ups end before until's month
    assert max(latest["started"], latest["stopped"], latest["visit"]) <= "2026-09"
    with app.app_context():
        last_month = db.session.scalar(
            select(func.count(Experience.id)).where(Experience.created_at >= datetime(2026, 9, 1, tzinfo=timezone.utc))
        )
    assert last_month > 20  # the month is there, with its reports before the 10th


def test_the_demo_ends_today_by_default(runner, app, small_catalog):
    assert runner.invoke(args=["seed-demo", "--experiences", "2000", "--doctor-ratings", "200"]).exit_code == 0
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    latest = latest_dates(app)
    for name in ("report", "answers", "tip", "follow-up", "member", "consent", "rating", "rating saved"):
        assert latest[name].replace(tzinfo=None) <= now, name
    assert latest["report"].date() >= (now - timedelta(days=45)).date()  # the community reaches today


def test_until_a_month_means_its_last_day_or_today(runner, app, small_catalog):
    from registry.cli import demo as cli

    def parsed(value):
        return cli._until(None, None, value)

    assert parsed("2025-02") == date(2025, 2, 28) and parsed("2024-02") == date(2024, 2, 29)
    assert parsed("2025-02-03") == date(2025, 2, 3) and parsed(None) is None
    today = demo.today()
    assert parsed(today.strftime("%Y-%m")) == today


def test_some_experiences_have_a_follow_up_history_ending_in_their_current_answers(app, community):
    from registry.models import ExperienceUpdate

    points = defaultdict(list)
    for point in db.session.scalars(select(ExperienceUpdate).order_by(ExperienceUpdate.id)):
        points[point.experience_id].append(point)
    total = db.session.scalar(select(func.count(Experience.id)))
    assert 0.05 * total < len(points) < 0.3 * total
    reasons = defaultdict(set)
    for experience_id, reason in db.session.execute(
        select(ExperienceStopReason.experience_id, ExperienceStopReason.reason)
    ):
        reasons[experience_id].add(reason)
    now = datetime.now(timezone.utc)
    drifted = stopped_later = 0
    for experience in db.session.scalars(select(Experience).where(Experience.id.in_(list(points)))):
        history = points[experience.id]
        assert [p.kind for p in history] == ["original"] + ["update"] * (len(history) - 1)
        assert 2 <= len(history) <= 4
        dates = [p.recorded_at for p in history]
        assert dates == sorted(dates) and len(set(dates)) == len(dates)
        assert dates[0] == experience.created_at and dates[-1] == experience.updated_at
        assert dates[-1] <= now and dates[-1].strftime("%Y-%m") < "2026-10"  # follow-ups end before until's month
        assert history[0].stopped is None and all(p.stopped is None for p in history[:-1])
        # The latest point holds the current answers, under the report key they were saved with.
        latest = history[-1]
        for name in ("stopped", "effectiveness", "side_effect_severity", "satisfaction", "would_recommend"):
            assert getattr(latest, name) == getattr(experience, name), name
        assert set(latest.stop_reason_codes) == reasons[experience.id]
        assert {p.report_key for p in history} == {experience.report_key}  # fixed across edits
        if latest.stopped:
            assert dates[-2].strftime("%Y-%m") <= latest.stopped <= dates[-1].strftime("%Y-%m")
            assert latest.stop_reasons
            stopped_later += 1
        drifted += any(p.effectiveness != history[0].effectiveness for p in history)
    assert stopped_later > 0.03 * len(points) and drifted > 0.1 * len(points)


def test_the_demo_history_fills_after_months_and_keeps_the_aggregates(app, community):
    from registry.contributions import followups
    from registry.models import ExperienceUpdate

    assert report_upkeep.check(db.session) == []
    condition_id, treatment_id = db.session.execute(
        select(Experience.condition_id, Experience.treatment_id)
        .join(ExperienceUpdate, ExperienceUpdate.experience_id == Experience.id)
        .group_by(Experience.condition_id, Experience.treatment_id)
        .order_by(func.count(func.distinct(Experience.id)).desc())
        .limit(1)
    ).one()
    condition, treatment = db.session.get(Condition, condition_id), db.session.get(Treatment, treatment_id)
    with app.test_request_context():
        horizons = followups.after_months(condition, treatment)
    assert any(not h.suppressed and h.n > 0 and h.effectiveness for h in horizons)


def test_demo_logins_follow_conditions_with_news(app, client, community):
    from registry.cli import demo as cli

    accounts = cli.ensure_demo_accounts()
    users = [db.session.scalar(select(User).where(User.email == email)) for email, _, _ in accounts]
    assert demo_accounts.seed_demo_follows(users) == 2 * len(users)
    assert demo_accounts.seed_demo_follows(users) == 0  # once: a restarted demo keeps the visits made since
    email, password, _ = accounts[0]
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302
    home = client.get("/")
    assert "Conditions you follow" in home.text and " more reports in the numbers" in home.text
    page = client.get("/whats-new")
    assert page.status_code == 200
    assert " more reports in the numbers" in page.text and "too few to show" not in page.text
    assert " new tips" in page.text and "No new tips" not in page.text
    again = client.get("/whats-new").text  # read: no demo row is dated after it, so nothing is new
    assert "Nothing new since your last visit." in again and "more reports" not in again and "new tip" not in again
    with app.app_context():
        from registry.models import ConditionFollow, pub_condition

        latest = db.session.scalar(select(func.max(Experience.created_at)))
        past = db.session.scalars(select(pub_condition.c.released_at).where(pub_condition.c.release_id == 0)).all()
        assert past and max(past) == latest - demo_accounts.LAST_VISIT_BEFORE_LATEST <= latest
        assert latest.date() <= UNTIL
        assert db.session.scalar(select(func.min(ConditionFollow.created_at))) < latest
    with app.app_context():
        published = db.session.execute(select(Experience.tips, Experience.tips_published_at, Experience.created_at))
        assert all((tip is None) == (at is None) and (at is None or at == created) for tip, at, created in published)
    # The patient's own report, followed up: listed as due for an update, with its history.
    assert report_upkeep.check(db.session) == []
    experience = demo_accounts.seed_demo_own_history(users[0])
    assert experience is not None and demo_accounts.seed_demo_own_history(users[0]) is None
    assert report_upkeep.check(db.session) == []
    from registry.contributions.experiences import fixed_key

    own_key = fixed_key("e", users[0].id, experience.condition_id, experience.treatment_id)
    assert experience.report_key == own_key  # the patient's key for the pair, on every point too
    assert experience.age_band == scales.age_band(users[0].birth_year, experience.updated_at.year)
    from registry.contributions import followups

    assert followups.history(experience)[-1].recorded_at == experience.updated_at  # moved, not re-dated
    assert {point.report_key for point in followups.history(experience)} == {own_key}
    mine = client.get("/experiences")
    assert "updates-due" in mine.text and f"/experiences/{experience.id}/update" in mine.text
    history = client.get(f"/experiences/{experience.id}/update")
    assert history.status_code == 200 and history.text.count("<time") >= 3
    # A patient who deleted that report keeps its diagnosis; a restarted demo hands them another without failing.
    from registry.contributions import experiences
    from registry.models import Diagnosis

    condition_id = experience.condition_id
    mine = select(Diagnosis).where(Diagnosis.user_id == users[0].id, Diagnosis.condition_id == condition_id)
    if db.session.scalar(mine) is None:
        db.session.add(Diagnosis(user_id=users[0].id, condition_id=condition_id, diagnosed_year=2015))
    experiences.delete(experience)
    db.session.commit()
    again = demo_accounts.seed_demo_own_history(users[0])
    assert again is not None and again.id != experience.id and again.user_id == users[0].id
    assert len(db.session.scalars(mine).all()) == 1
    assert report_upkeep.check(db.session) == []
