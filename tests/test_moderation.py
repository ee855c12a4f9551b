"""Held text, hiding, flags and catalog merges, checked against the aggregates and the export."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from registry.catalog import catalog
from registry.catalog import merge as catalog_merge
from registry.contributions import moderation, ratings, screening
from registry.models import Condition, DoctorRating, Experience, Flag, Treatment, TreatmentSynonym, User
from registry.platform.extensions import db
from registry.reporting import report_upkeep
from registry.reporting.report_sources import CellSource
from reports.disclosure import Policy
from reports.filters import Filters
from reports.outcomes import condition_report

EXACT = Policy(mode="exact", min_n=5)


@pytest.mark.parametrize(
    "text, found",
    [
        ("Write to me at jo.smith@example.org", ["an email address"]),
        ("Call +44 20 7946 0958 any time", ["a phone number"]),
        ("Call 555-867-5309", ["a phone number"]),
        ("see https://cure.example/buy", ["a link"]),
        ("order at www.pills4u.biz", ["a link"]),
        ("cheap at pills4u.com now", ["a link"]),
        ("Took 500 mg twice a day from 2019 to 2021; 3 x 20 mg", []),
        ("Take it with food. Side effects eased after 2-3 weeks.", []),
        ("", []),
    ],
)
def test_contact_details(text, found):
    assert screening.contact_details(text) == found


@pytest.fixture
def pair(make):
    make.treatment("Sumatriptan")
    make.treatment("Rizatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "rizatriptan"])


def test_text_with_contact_details_is_held_and_edits_are_screened(app, make, pair):
    held = make.experience(tips="Message me: 555-867-5309, it works")
    fine = make.experience(tips="Take it early in the attack.")
    with app.app_context():
        row = db.session.get(Experience, held)
        assert row.text_state == "held" and "a phone number" in row.text_reason
        assert db.session.get(Experience, fine).text_state == "public"
        # The author removes the number: public again.
        from registry.contributions import experiences

        values = experiences.form_data(row) | {"tips": "Works if taken early.", "satisfaction": 7}
        experiences.save(row.user, row.condition, row.treatment, values, experience=row)
        db.session.commit()
        assert row.text_state == "public" and row.text_reason is None


def test_hidden_text_is_not_public_but_its_answers_count(app, make, pair):
    ids = [make.experience(tips=f"Tip {i}", effectiveness="major") for i in range(6)]
    moderator = make.user(role="moderator")
    with app.app_context():
        row = db.session.get(Experience, ids[0])
        moderation.set_text_state(db.session.get(User, moderator), "tip", row, "hidden", "Dangerous dosing advice")
        db.session.commit()
        from registry.contributions.tips import tip_page

        condition, treatment = row.condition, row.treatment
        tips = [e.tips for e in tip_page(condition, treatment, Filters(), "newest", 1).items]
        assert "Tip 0" not in tips and len(tips) == 5
        report = condition_report(CellSource(db.session), condition, Filters(), EXACT)
        assert report.treatments[0].n == 6  # the structured answers still count
        assert report_upkeep.check(db.session) == []


def test_a_moderation_decision_keeps_the_reports_update_time(app, make, pair):
    """Not the author's edit: updated_at stays, so the aggregates' duration bands stay right in a later month."""
    from datetime import datetime, timezone

    eid = make.experience(tips="Tip", stopped=None)
    moderator = make.user(role="moderator")
    long_ago = datetime(2024, 3, 1, tzinfo=timezone.utc)
    with app.app_context():
        row = db.session.get(Experience, eid)
        row.updated_at = long_ago  # reported long ago, still in use (the flush moves its counts)
        db.session.commit()
        moderation.set_text_state(
            db.session.get(User, moderator), "tip", db.session.get(Experience, eid), "hidden", "x"
        )
        db.session.commit()
        assert db.session.get(Experience, eid).updated_at == long_ago
        assert report_upkeep.check(db.session) == []


def test_editing_hidden_text_sends_it_back_for_review(app, make, pair):
    eid = make.experience(tips="Stop all other medicines")
    moderator = make.user(role="moderator")
    with app.app_context():
        row = db.session.get(Experience, eid)
        moderation.set_text_state(db.session.get(User, moderator), "tip", row, "hidden", "Dangerous")
        db.session.commit()
        from registry.contributions import experiences

        values = experiences.form_data(row) | {"tips": "Ask your doctor before stopping anything", "satisfaction": 7}
        experiences.save(row.user, row.condition, row.treatment, values, experience=row)
        db.session.commit()
        assert row.text_state == "held"


def test_flags_resolve_with_the_decision(app, make, pair):
    eid = make.experience(tips="Miracle cure")
    reporter, moderator = make.user(), make.user(role="moderator")
    with app.app_context():
        user = db.session.get(User, reporter)
        moderation.raise_flag(user, "tip", eid, "misinformation", "No evidence")
        moderation.raise_flag(user, "tip", eid, "spam", "")  # the same person again: one flag, updated
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(Flag.id))) == 1
        items = moderation.queue()
        assert [(i.kind, i.target.id, [f.reason for f in i.flags]) for i in items] == [("tip", eid, ["spam"])]
        row = db.session.get(Experience, eid)
        moderation.set_text_state(db.session.get(User, moderator), "tip", row, "public", None)
        db.session.commit()
        flag = db.session.scalar(sa.select(Flag))
        assert flag.resolution == "kept" and flag.resolved_by_id == moderator
        assert moderation.queue() == []
        # Held or hidden text cannot be flagged (nobody else can see it).
        row.text_state = "hidden"
        assert moderation.flag_target("tip", eid) is None


def _counts(app):
    with app.app_context():
        rows = db.session.execute(
            sa.select(Treatment.slug, sa.func.count(Experience.id)).join(Experience).group_by(Treatment.slug)
        ).all()
        return dict(rows)


def test_merging_treatments_moves_every_report_once(app, make, pair):
    with app.app_context():  # a brand entered as its own treatment (before the catalog knew it): the duplicate
        migraine = db.session.scalar(sa.select(Condition).where(Condition.slug == "migraine"))
        migraine.treatments.append(Treatment(slug="imitrex", name="Imitrex", name_key="imitrex", kind="drug"))
        db.session.commit()
    for _ in range(4):
        make.experience(treatment="sumatriptan", effectiveness="major", side_effects=["nausea"])
    for _ in range(3):
        make.experience(treatment="imitrex", effectiveness="none", side_effects=["dizziness"])
    # One participant reported both: after the merge they count once, with their newer report.
    both = make.member()
    make.experience(treatment="sumatriptan", user_id=both, effectiveness="slight")
    make.experience(treatment="imitrex", user_id=both, effectiveness="major")
    old = make.experience(treatment="imitrex", started="2022-01")  # still in use, last updated long ago
    moderator = make.user(role="moderator")
    with app.app_context():
        from datetime import datetime, timezone

        long_ago = datetime(2023, 5, 1, tzinfo=timezone.utc)
        with report_upkeep.bulk_write():
            db.session.execute(sa.update(Experience).where(Experience.id == old).values(updated_at=long_ago))
        report_upkeep.rebuild(db.session)  # its duration as reported: 2022-01 to 2023-05
        db.session.commit()
        source = db.session.scalar(sa.select(Treatment).where(Treatment.slug == "imitrex"))
        survivor = db.session.scalar(sa.select(Treatment).where(Treatment.slug == "sumatriptan"))
        assert catalog_merge.merge_preview("treatment", source, survivor) == {"experiences": 5}
        result = catalog_merge.merge(db.session.get(User, moderator), "treatment", source, survivor)
        db.session.commit()
        assert result == {"experiences": 5, "duplicate experiences": 1}  # the newer (Imitrex) one moved
        assert report_upkeep.check(db.session) == []
        assert db.session.get(Experience, old).updated_at == long_ago  # a merge is not the author's edit
        mine = db.session.scalars(sa.select(Experience).where(Experience.user_id == both)).all()
        assert [(e.treatment.slug, e.effectiveness) for e in mine] == [("sumatriptan", "major")]
        # The duplicate's name now finds the survivor.
        assert (
            db.session.scalar(sa.select(TreatmentSynonym.name).where(TreatmentSynonym.treatment_id == survivor.id))
            == "Imitrex"
        )
        assert catalog.find_treatment("Imitrex").slug == "sumatriptan"
        report = condition_report(CellSource(db.session), survivor.conditions[0], Filters(), EXACT)
        assert {t.slug: t.n for t in report.treatments}["sumatriptan"] == 9
    assert _counts(app) == {"sumatriptan": 9}


def test_merging_conditions_moves_experiences_ratings_and_diagnoses(app, make, pair):
    make.condition("Migraine headache", "G43.9", treatments=["sumatriptan"])
    a = make.member()
    make.experience(condition="migraine-headache", user_id=a, diagnosed=2010)
    make.experience(condition="migraine", user_id=a, treatment="rizatriptan", diagnosed=2012)
    make.experience(condition="migraine-headache")
    moderator = make.user(role="moderator")
    with app.app_context():
        doctor, _ = catalog.add_doctor("Dr Ada Lovelace", "Neurology", "London", "GB")
        source = db.session.scalar(sa.select(Condition).where(Condition.slug == "migraine-headache"))
        survivor = db.session.scalar(sa.select(Condition).where(Condition.slug == "migraine"))
        values = dict(
            last_visit="2024-05",
            overall=9,
            explained_clearly="always",
            listened_carefully="always",
            showed_respect="always",
            spent_enough_time="usually",
            got_appointment=None,
            knowledge=5,
            would_recommend="definitely_yes",
            comment=None,
        )
        ratings.save(db.session.get(User, a), doctor, survivor, values | {"overall": 3})
        db.session.commit()
        ratings.save(db.session.get(User, a), doctor, source, values)  # the newer of a's two ratings
        db.session.commit()
        result = catalog_merge.merge(db.session.get(User, moderator), "condition", source, survivor)
        db.session.commit()
        assert result == {"experiences": 2, "duplicate experiences": 0, "ratings": 1, "duplicate ratings": 1}
        assert report_upkeep.check(db.session) == []
        assert (
            db.session.scalar(sa.select(sa.func.count(Experience.id)).where(Experience.condition_id == survivor.id))
            == 3
        )
        assert db.session.execute(sa.select(DoctorRating.condition_id, DoctorRating.overall)).all() == [
            (survivor.id, 9)
        ]
        assert catalog.find_condition("Migraine headache").id == survivor.id
        assert db.session.get(Condition, source.id) is None


def test_hidden_text_cannot_come_back_by_emptying_or_recreating(app, make, pair):
    from registry.contributions import experiences

    eid = make.experience(tips="Stop your insulin, cinnamon works")
    moderator = make.user(role="moderator")
    with app.app_context():
        row = db.session.get(Experience, eid)
        moderation.set_text_state(db.session.get(User, moderator), "tip", row, "hidden", "Dangerous")
        db.session.commit()
        author, condition, treatment = row.user, row.condition, row.treatment
        values = experiences.form_data(row) | {"satisfaction": 7}
        experiences.save(author, condition, treatment, values | {"tips": None}, experience=row)
        db.session.commit()
        assert row.text_state == "hidden"
        experiences.save(author, condition, treatment, values, experience=row)  # the same words again
        db.session.commit()
        assert row.text_state == "held"
        # Deleting and sharing it again: the author's new text waits for review too.
        experiences.delete(row)
        db.session.commit()
        again = experiences.save(author, condition, treatment, values)
        db.session.commit()
        assert again.text_state == "held" and "hid an earlier text" in again.text_reason


def test_flags_close_when_their_text_goes(app, make, pair):
    from registry.contributions import experiences

    eid = make.experience(tips="Miracle cure")
    other = make.experience(tips="Rest in a dark room")
    reporter = make.user()
    with app.app_context():
        user = db.session.get(User, reporter)
        moderation.raise_flag(user, "tip", eid, "misinformation", None)
        moderation.raise_flag(user, "tip", other, "spam", None)
        db.session.commit()
        experiences.delete(db.session.get(Experience, eid))
        row = db.session.get(Experience, other)  # its author removes the words
        experiences.save(
            row.user,
            row.condition,
            row.treatment,
            experiences.form_data(row) | {"tips": None, "satisfaction": 7},
            experience=row,
        )
        db.session.commit()
        assert [f.resolution for f in db.session.scalars(sa.select(Flag).order_by(Flag.id))] == ["gone", "gone"]
        assert moderation.queue() == [] and moderation.open_flag_count() == 0
