"""Maintained report aggregates (registry.reporting.report_upkeep) and `registry aggregates rebuild|check`."""

import multiprocessing

import pytest
from sqlalchemy import func, select, update

from registry.models import Experience, report_cell, report_slice
from registry.models.report_tables import SLICE_MONTHS_CAP
from registry.platform.extensions import db
from registry.reporting import report_upkeep

TREATMENTS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
ANSWERS = {
    "condition": "migraine",
    "role": "patient",
    "started": "2023-01",
    "effectiveness": "major",
    "side_effect_severity": "mild",
    "satisfaction": "8",
    "would_recommend": "yes",
}


@pytest.fixture
def catalog_rows(make):
    for name in TREATMENTS:
        make.treatment(name.capitalize(), kind="other")
    make.condition("Migraine", "G43", treatments=TREATMENTS)


def check_clean(app):
    with app.app_context():
        assert report_upkeep.check(db.session) == []


def test_every_kind_of_write_keeps_the_aggregates_exact(client, auth, app, catalog_rows):
    auth.login(birth_year=1980, sex="female")
    assert (
        client.post(
            "/experiences/new",
            data={
                **ANSWERS,
                "treatment": "alpha",
                "side_effects": ["nausea", "odd taste"],
                "stopped": "2024-01",
                "stop_reasons": ["cost", "side_effects"],
            },
        ).status_code
        == 302
    )
    check_clean(app)
    assert client.post("/experiences/new", data={**ANSWERS, "treatment": "beta"}).status_code == 302
    check_clean(app)
    # Edit: every answer, the treatment and the side effects change.
    assert (
        client.post(
            "/experiences/1/edit",
            data={
                **ANSWERS,
                "treatment": "gamma",
                "role": "caregiver",
                "effectiveness": "worse",
                "satisfaction": "2",
                "side_effects": ["rash"],
            },
        ).status_code
        == 302
    )
    check_clean(app)
    assert client.post("/experiences/2/delete").status_code == 302
    check_clean(app)
    with app.app_context():
        cells = db.session.execute(select(report_cell.c.treatment_id, report_cell.c.n)).all()
        assert sorted(n for _, n in cells) == [0, 0, 1]  # alpha and beta left; gamma has the edited one


def test_check_finds_a_difference_and_rebuild_mends_it(runner, client, auth, app, catalog_rows):
    auth.login()
    assert client.post("/experiences/new", data={**ANSWERS, "treatment": "alpha"}).status_code == 302
    assert runner.invoke(args=["aggregates", "check"]).exit_code == 0
    with app.app_context():
        db.session.execute(update(report_cell).values(n=report_cell.c.n + 1))
        db.session.commit()
    broken = runner.invoke(args=["aggregates", "check"])
    assert broken.exit_code == 1 and "differ" in broken.output
    rebuilt = runner.invoke(args=["aggregates", "rebuild"])
    assert rebuilt.exit_code == 0 and "Rebuilt 1 report cells" in rebuilt.output
    assert runner.invoke(args=["aggregates", "check"]).exit_code == 0


def test_seed_demo_keeps_the_aggregates_exact(runner, app, catalog_rows):
    seeded = runner.invoke(args=["seed-demo", "--experiences", "1500", "--seed", "4", "--batch-size", "1000"])
    assert seeded.exit_code == 0, seeded.output
    assert "Added 1,500 experiences" in seeded.output
    with app.app_context():  # the cells count every seeded report, not an empty table
        assert db.session.scalar(select(func.sum(report_cell.c.n))) == 1500
    check_clean(app)


def _submit(url: str, worker: int) -> None:
    """A worker process: its own app and connection pool, one participant, many writes."""
    from registry.accounts import auth
    from registry.app import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "EXPORT_KEY": "x",
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    with app.app_context():
        auth.create_user(f"worker{worker}@example.org", "correct horse battery", f"worker{worker}")
        db.session.commit()
    client = app.test_client()
    assert (
        client.post(
            "/login", data={"email": f"worker{worker}@example.org", "password": "correct horse battery"}
        ).status_code
        == 302
    )
    for i, slug in enumerate(TREATMENTS):
        response = client.post("/experiences/new", data={**ANSWERS, "treatment": slug, "satisfaction": str(1 + i)})
        assert response.status_code == 302, response.text
    mine = client.get("/experiences").text
    ids = sorted({int(part.split('"')[0]) for part in mine.split('id="experience-')[1:]})
    assert (
        client.post(
            f"/experiences/{ids[0]}/edit", data={**ANSWERS, "treatment": TREATMENTS[0], "effectiveness": "none"}
        ).status_code
        == 302
    )
    assert client.post(f"/experiences/{ids[1]}/delete").status_code == 302
    with app.app_context():
        db.engine.dispose()


def test_concurrent_submissions_from_several_processes(app, catalog_rows, database_url):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_submit, args=(database_url, w)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    with app.app_context():
        assert db.session.scalar(select(db.func.sum(report_cell.c.n))) == 4 * (len(TREATMENTS) - 1)
    check_clean(app)


def test_an_experience_counts_in_one_slice_per_axis(client, auth, app, make):
    make.treatment("Sumatriptan", kind="drug")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])
    auth.login()
    response = client.post(
        "/experiences/new",
        data={
            **ANSWERS,
            "treatment": "sumatriptan",
            "started": "2023-01",
            "stopped": "2023-07",
            "stop_reasons": ["cost"],
            "dose_amount": "50",
            "dose_unit": "mg",
            "dose_frequency": "twice_daily",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        rows = db.session.execute(
            select(
                report_slice.c.axis,
                report_slice.c.bucket,
                report_slice.c.n,
                report_slice.c.stop_reasons__cost,
                report_slice.c.effectiveness__major,
            )
        ).all()
        year = str(db.session.scalar(select(Experience.updated_at)).year)
    # Stop reasons along months on treatment, outcomes along dose and year.
    assert sorted(rows) == sorted(
        [("stopped", "6", 1, 1, 0), ("dose", "mg|50|twice_daily", 1, 0, 1), ("year", year, 1, 0, 1)]
    )


def test_a_report_still_in_use_is_counted_to_its_last_update(client, auth, app, catalog_rows):
    auth.login()
    assert (
        client.post("/experiences/new", data={**ANSWERS, "treatment": "beta", "started": "2020-01"}).status_code == 302
    )
    with app.app_context():
        axes = dict(db.session.execute(select(report_slice.c.axis, report_slice.c.bucket)).all())
        updated = db.session.scalar(select(Experience.updated_at))
    months = updated.year * 12 + updated.month - (2020 * 12 + 1)
    assert axes["using"] == str(min(months, SLICE_MONTHS_CAP)) and axes["dose"] == ""


def test_check_finds_a_slice_difference_and_rebuild_mends_it(runner, client, auth, app, catalog_rows):
    auth.login()
    client.post("/experiences/new", data={**ANSWERS, "treatment": "alpha", "stopped": "2023-05"})
    assert runner.invoke(args=["aggregates", "check"]).exit_code == 0
    with app.app_context():
        db.session.execute(update(report_slice).where(report_slice.c.axis == "stopped").values(bucket="7"))
        db.session.commit()
    broken = runner.invoke(args=["aggregates", "check"])
    assert broken.exit_code == 1 and "report_slice" in broken.output
    rebuilt = runner.invoke(args=["aggregates", "rebuild"])
    assert rebuilt.exit_code == 0 and "3 time, dose and year slices" in rebuilt.output
    assert runner.invoke(args=["aggregates", "check"]).exit_code == 0


def test_a_write_path_that_never_names_the_counts_still_keeps_them(app, make, catalog_rows):
    """Plain ORM writes, with no call to report_upkeep anywhere, keep the report tables exact (the flush does it)."""
    from registry.models import ExperienceSideEffect, ExperienceStopReason, Treatment

    eid = make.experience(condition="migraine", treatment="alpha", side_effects=["nausea"])
    with app.app_context():
        beta, gamma = (db.session.scalar(select(Treatment.id).where(Treatment.slug == s)) for s in ("beta", "gamma"))
        row = db.session.get(Experience, eid)
        steps = [
            lambda: setattr(row, "effectiveness", "worse"),
            lambda: setattr(row, "treatment_id", beta),
            lambda: row.side_effects.append(ExperienceSideEffect(term="rash")),
            lambda: setattr(row, "side_effects", []),
            lambda: (setattr(row, "stopped", "2024-06"), row.stop_reasons.append(ExperienceStopReason(reason="cost"))),
            lambda: db.session.add(
                Experience(
                    user_id=row.user_id,
                    condition_id=row.condition_id,
                    treatment_id=gamma,
                    role="caregiver",
                    started="2020-01",
                    satisfaction=3,
                    effectiveness="major",
                )
            ),
            lambda: db.session.delete(row),
        ]
        for step in steps:
            step()
            db.session.commit()
            assert report_upkeep.check(db.session) == []
        assert db.session.scalar(select(report_cell.c.n).where(report_cell.c.role == "caregiver")) == 1


def test_a_bulk_statement_outside_upkeep_is_refused(app, make, catalog_rows):
    """A new bulk write path cannot forget the counts: the statement is refused; rewriting() keeps them."""
    from sqlalchemy import delete

    first, second = make.experience(treatment="alpha"), make.experience(treatment="beta")
    with app.app_context():
        with pytest.raises(report_upkeep.UpkeepSkipped):
            db.session.execute(update(Experience).values(effectiveness="worse"))
        db.session.rollback()
        with pytest.raises(report_upkeep.UpkeepSkipped):
            db.session.execute(delete(Experience).where(Experience.id == first))
        db.session.rollback()
        with report_upkeep.rewriting(db.session, [first, second]):
            db.session.execute(update(Experience).values(effectiveness="worse"))
            db.session.execute(delete(Experience).where(Experience.id == first))
        db.session.commit()
        assert report_upkeep.check(db.session) == []
        assert db.session.scalar(select(report_cell.c.effectiveness__worse).where(report_cell.c.n > 0)) == 1


def test_the_bulk_path_counts_what_the_row_path_counts(app):
    """record_columns (a bulk insert's columns at once) adds exactly what record() adds row by row."""
    import numpy as np

    from registry.catalog.catalog import load_starter_catalog
    from registry.demo import seed as demo
    from registry.models import ExperienceSideEffect, ExperienceStopReason, report_term, report_version

    with app.app_context():
        load_starter_catalog()
        db.session.commit()
        rng = np.random.default_rng(3)
        community = demo.Community(rng, db.session)
        until = 2026 * 12 + 9
        batch = demo._generate_batch(rng, community, 3_000, 1, 1, until, "x", np.random.default_rng(4), until, b"k")
        experiences = dict(batch.tables[Experience])
        side_effects, stop_reasons = batch.tables[ExperienceSideEffect], batch.tables[ExperienceStopReason]
        # What imported reviews hold too: no start month, no role, no answer to a question.
        every = np.arange(len(experiences["id"]))
        experiences["started"] = np.where(every % 7 == 0, None, experiences["started"])
        experiences["role"] = np.where(every % 5 == 0, None, experiences["role"])
        experiences["effectiveness"] = np.where(every % 11 == 0, None, experiences["effectiveness"])
        rows = demo._rows(experiences)
        aware = {**experiences, "updated_at": [row["updated_at"] for row in rows]}
        tables = (report_cell, report_slice, report_term, report_version)

        def counted(record) -> dict:
            for table in tables:
                db.session.execute(table.delete())
            record(db.session.connection())
            return {table.name: sorted(tuple(row) for row in db.session.execute(select(table))) for table in tables}

        by_rows = counted(
            lambda connection: report_upkeep.record(
                connection, rows, demo._rows(side_effects), demo._rows(stop_reasons)
            )
        )
        assert len(by_rows["report_slice"]) > 100 and len(by_rows["report_term"]) > 100
        for columns in (experiences, aware):
            by_columns = counted(
                lambda connection: report_upkeep.record_columns(connection, columns, side_effects, stop_reasons)
            )
            assert by_columns == by_rows

        # Held (report_upkeep.PendingCounts, as a seed's transaction of several batches): the same as each
        # batch's counts added apart, report_version counting every batch.
        def part(columns, keep):
            return {name: np.asarray(values, dtype=object)[keep] for name, values in columns.items()}

        ids = np.asarray(experiences["id"])
        halves = [ids < ids[len(ids) // 2], ids >= ids[len(ids) // 2]]
        batches = [
            (
                part(experiences, half),
                part(side_effects, np.isin(side_effects["experience_id"], ids[half])),
                part(stop_reasons, np.isin(stop_reasons["experience_id"], ids[half])),
            )
            for half in halves
        ]
        for batch_columns in batches:
            batch_columns[0]["id"] = batch_columns[0]["id"].astype(np.int64)

        def held(connection):
            pending = report_upkeep.PendingCounts()
            for batch_columns in batches:
                report_upkeep.record_columns(connection, *batch_columns, pending)
            pending.flush(connection)

        apart = counted(lambda connection: [report_upkeep.record_columns(connection, *b) for b in batches])
        assert counted(held) == apart
        assert apart["report_cell"] == by_rows["report_cell"] and apart["report_version"] != by_rows["report_version"]
        db.session.rollback()


# --- a rolling upgrade: the previous release's servers write beside this one's (issue 26) -------------------

UPGRADE_PAGES = [
    "/conditions/migraine",
    "/conditions/migraine/treatments/alpha",
    "/conditions/migraine/compare?t=alpha&t=beta",
    "/treatments/alpha",
    "/api/v1/conditions/migraine/treatments",
]


def _as_previous_release(app) -> str:
    """The database as an earlier release left it: migrated to 0019, no upkeep_check table, no user.locale."""
    from sqlalchemy import text

    with app.app_context():
        previous = "0019_mail_outbox_link_tokens"
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE upkeep_check"))
            conn.execute(text('ALTER TABLE "user" DROP COLUMN locale'))  # 0021's
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
        db.engine.dispose()
    return previous


def _write_as_previous_release(app, make) -> None:
    """Writes whose upkeep is not this release's: a new report and a changed dose, the report tables untouched."""
    with app.app_context():
        table = Experience.__table__
        first, second = db.session.scalars(select(Experience.id).order_by(Experience.id).limit(2)).all()
        row = dict(db.session.execute(select(table).where(table.c.id == first)).mappings().one())
        row.update(id=None, user_id=make.member(), report_key=row["report_key"] + 1)
        row.pop("id")
        with report_upkeep.bulk_write():
            db.session.execute(table.insert().values(**row))
            db.session.execute(update(table).where(table.c.id == second).values(dose_amount=75.0))
        db.session.commit()


def test_a_rolling_upgrade_leaves_no_500_and_the_aggregates_mended(app, client, runner, make, catalog_rows):
    """Issue 26: after the migration, servers of the previous release write with their own upkeep, which
    leaves report_slice (or whatever this release added) behind; `registry init` opens a check window and
    the next `registry release` finds the difference and rebuilds. Pages answer throughout."""
    for i in range(8):
        make.experience(
            treatment="alpha" if i % 2 else "beta",
            dose_amount=50.0,
            dose_unit="mg",
            dose_frequency="once_daily",
            stopped="2024-06" if i % 3 == 0 else None,
        )
    previous = _as_previous_release(app)
    migrated = runner.invoke(args=["init"])
    assert migrated.exit_code == 0, migrated.output
    with app.app_context():
        from registry.models import upkeep_check

        (reason,) = db.session.scalars(select(upkeep_check.c.reason)).all()
        assert reason.startswith(f"migrated {previous} -> ")
    statuses = [client.get(url).status_code for url in UPGRADE_PAGES]

    _write_as_previous_release(app, make)
    stale = runner.invoke(args=["aggregates", "check"])
    assert stale.exit_code == 1 and "report_slice" in stale.output
    statuses += [client.get(url).status_code for url in UPGRADE_PAGES]

    released = runner.invoke(args=["release"])
    assert released.exit_code == 0 and "rebuilt them first" in released.output, released.output
    assert runner.invoke(args=["aggregates", "check"]).exit_code == 0
    statuses += [client.get(url).status_code for url in UPGRADE_PAGES]
    assert statuses == [200] * len(statuses), statuses

    again = runner.invoke(args=["release"])  # the window stays open for the rest of the rollout, and costs no rebuild
    assert "rebuilt" not in again.output
    finished = runner.invoke(args=["aggregates", "check", "--repair"])
    assert finished.exit_code == 0 and "Ended 1 check window" in finished.output, finished.output
    with app.app_context():
        assert report_upkeep.verify(db.session) is None  # closed: releases check no more
