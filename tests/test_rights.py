"""Participants' data rights in the domain (registry.contributions.rights): download, withdraw consent, delete."""

import csv
import io
import json
import zipfile
from datetime import date

import pytest
from sqlalchemy import func, select

import scales
from registry.models import (
    AuditEvent,
    ConsentEvent,
    Diagnosis,
    Doctor,
    DoctorRating,
    Experience,
    ExperienceSideEffect,
    Flag,
    User,
)
from registry.platform.extensions import db

LEAVER = "leaver@example.org"


def consent(app, user_id):
    from registry.accounts import auth

    with app.app_context():
        auth.set_consent(db.session.get(User, user_id), True)
        db.session.commit()


@pytest.fixture
def community(make, app):
    """A consenting participant with two experiences, a rating, a diagnosis and a flag, among others."""
    make.treatment("Sumatriptan")
    make.treatment("Topiramate")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate"])
    make.condition("Epilepsy", "G40", treatments=["topiramate"])
    leaver = make.user(email=LEAVER, pseudonym="leaver-name", birth_year=1970, sex="female", country="NO")
    consent(app, leaver)
    make.experience(
        user_id=leaver,
        side_effects=["nausea"],
        stop_reasons=["cost"],
        stopped="2024-06",
        tips="=HYPERLINK(1) my own tip",
        diagnosed=2015,
        effectiveness="major",
    )
    make.experience("epilepsy", "topiramate", user_id=leaver, effectiveness="worse")
    others = []
    for i in range(6):
        others.append(make.member(birth_year=1980, sex="male"))
        make.experience(user_id=others[-1], tips=f"someone else's tip {i}", side_effects=["dizziness"])
        consent(app, others[-1])
    for i in range(5):
        make.experience("epilepsy", "topiramate", user_id=others[i])
    with app.app_context():
        doctor = Doctor(name="Dr A", name_key="dr a", specialty="Neurology", city="Oslo", city_key="oslo", country="NO")
        db.session.add(doctor)
        db.session.flush()
        migraine = db.session.scalar(select(Experience.condition_id).where(Experience.user_id == leaver).limit(1))
        for user_id, comment in ((leaver, "Listened well"), (others[0], "Other person's comment")):
            db.session.add(
                DoctorRating(
                    user_id=user_id,
                    doctor_id=doctor.id,
                    condition_id=migraine,
                    last_visit="2025-01",
                    overall=9,
                    explained_clearly="always",
                    listened_carefully="always",
                    showed_respect="usually",
                    spent_enough_time="sometimes",
                    got_appointment="always",
                    knowledge=4,
                    would_recommend="definitely_yes",
                    comment=comment,
                )
            )
        tip_of_other = db.session.scalar(select(Experience.id).where(Experience.user_id == others[0]).limit(1))
        db.session.add(
            Flag(
                reporter_id=leaver,
                target_kind="tip",
                target_id=tip_of_other,
                reason="misinformation",
                note="This dose is wrong",
            )
        )
        db.session.add(
            Flag(
                reporter_id=others[1],
                target_kind="tip",
                target_id=tip_of_other,
                reason="spam",
                note="another reporter's note",
            )
        )
        db.session.commit()
    return {"leaver": leaver, "others": others}


def user(user_id):
    return db.session.get(User, user_id)


def condition_counts(client):
    """Reports per condition and per treatment, as the public API shows them."""
    counts = {c["slug"]: c["n"] for c in client.get("/api/v1/conditions").json["conditions"]}
    for slug in ("migraine", "epilepsy"):
        for t in client.get(f"/api/v1/conditions/{slug}/treatments").json["treatments"]:
            counts[(slug, t["slug"])] = t.get("n")
    return counts


def export_rows(runner, tmp_path, name="experiences"):
    out = tmp_path / f"export-{len(list(tmp_path.iterdir()))}"
    result = runner.invoke(args=["export", "--out", str(out), "--with-text"])
    assert result.exit_code == 0, result.output
    with open(out / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def pseudonym(app, user_id):
    from registry.interchange.export import Pseudonymizer

    return Pseudonymizer(app.config["EXPORT_KEY"])("participant", user_id)


def test_delete_account_leaves_every_count_and_export(app, client, runner, community, tmp_path):
    from registry.contributions import rights
    from registry.reporting import report_upkeep

    leaver, others = community["leaver"], community["others"]
    before = condition_counts(client)  # also fills the report cache, which must not serve stale counts
    exported = export_rows(runner, tmp_path)
    assert sum(r["participant_id"] == pseudonym(app, leaver) for r in exported) == 2
    with app.app_context():
        others_rows = db.session.scalar(select(func.count(Experience.id)).where(Experience.user_id != leaver))
        counts = rights.delete_account(user(leaver))
        db.session.commit()
        assert counts == {"experiences": 2, "ratings": 1}
        assert report_upkeep.check(db.session) == []
        for model in (Experience, DoctorRating, Diagnosis, ConsentEvent):
            assert db.session.scalar(select(func.count()).select_from(model).where(model.user_id == leaver)) == 0
        assert db.session.get(User, leaver) is None
        assert db.session.scalar(select(func.count(Experience.id))) == others_rows
        assert db.session.scalar(select(func.count(DoctorRating.id))) == 1  # the other participant's
        assert (
            db.session.scalar(
                select(func.count(ExperienceSideEffect.term)).where(ExperienceSideEffect.term == "nausea")
            )
            == 0
        )
        # Flags stay for the moderators, without the account; the audit trail says what went, not what it was.
        flags = db.session.scalars(select(Flag).order_by(Flag.id)).all()
        assert [f.reporter_id for f in flags] == [None, others[1]]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.delete"))
        assert event.object_id == leaver and event.actor_id is None
        # No event still names the deleted participant.
        labels = set(db.session.scalars(select(AuditEvent.actor_label)))
        assert not any(f"(#{leaver})" in label for label in labels)
        assert "deleted account" in labels
        assert event.changes == {"experiences": 2, "ratings": 1}
    after = condition_counts(client)
    assert after["migraine"] == before["migraine"] - 1 and after["epilepsy"] == before["epilepsy"] - 1
    assert after[("migraine", "sumatriptan")] == before[("migraine", "sumatriptan")] - 1 == 6
    assert after[("epilepsy", "topiramate")] == before[("epilepsy", "topiramate")] - 1 == 5
    exported_after = export_rows(runner, tmp_path)
    assert len(exported_after) == len(exported) - 2
    assert pseudonym(app, leaver) not in {r["participant_id"] for r in exported_after}
    assert not any("my own tip" in (r.get("tips") or "") for r in exported_after)
    assert {r["experience_id"] for r in exported_after} < {r["experience_id"] for r in exported}


def test_a_failed_deletion_changes_nothing(app, community, monkeypatch):
    from registry.contributions import rights
    from registry.reporting import report_upkeep

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    with app.app_context():
        monkeypatch.setattr(rights.audit, "record", fail)  # fails after the experiences were subtracted
        with pytest.raises(RuntimeError):
            rights.delete_account(user(community["leaver"]))
        db.session.rollback()
        assert (
            db.session.scalar(select(func.count(Experience.id)).where(Experience.user_id == community["leaver"])) == 2
        )
        assert report_upkeep.check(db.session) == []


def test_withdrawing_consent_removes_the_participant_from_the_next_export(app, runner, community, tmp_path):
    from registry.contributions import rights

    leaver = community["leaver"]
    assert pseudonym(app, leaver) in {r["participant_id"] for r in export_rows(runner, tmp_path)}
    with app.app_context():
        assert rights.withdraw_consent(user(leaver)) is True
        db.session.commit()
        assert rights.withdraw_consent(user(leaver)) is False  # nothing left to withdraw
        assert [e.action for e in user(leaver).consent_events] == ["given", "withdrawn"]
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "consent.withdraw")) == 1
    rows = export_rows(runner, tmp_path)
    assert pseudonym(app, leaver) not in {r["participant_id"] for r in rows}
    assert len(rows) == 6 + 5  # the others' experiences are all still there
    ratings = export_rows(runner, tmp_path, "doctor_ratings")
    assert pseudonym(app, leaver) not in {r["participant_id"] for r in ratings} and len(ratings) == 1


def test_download_holds_the_participants_data_and_nobody_elses(app, community):
    from registry.contributions import rights

    with app.app_context():
        data = rights.collect(user(community["leaver"]))
        text = rights.to_json(data).decode()
        strangers = db.session.execute(select(User.email, User.pseudonym).where(User.id != community["leaver"])).all()
    assert json.loads(text) == data
    account = data["account"]
    assert (account["email"], account["pseudonym"], account["birth_year"], account["sex"], account["country"]) == (
        LEAVER,
        "leaver-name",
        1970,
        "female",
        "NO",
    )
    assert account["research_consent"] is True and [e["action"] for e in data["consent_history"]] == ["given"]
    assert data["diagnoses"] == [{"condition": "migraine", "condition_name": "Migraine", "diagnosed_year": 2015}]
    migraine, epilepsy = data["experiences"]
    assert (migraine["treatment"], migraine["effectiveness"], migraine["effectiveness_label"]) == (
        "sumatriptan",
        "major",
        "Major",
    )
    assert migraine["side_effects"] == ["nausea"] and migraine["stop_reasons"][0]["code"] == "cost"
    assert migraine["stop_reasons"][0]["label"] and migraine["stopped"] == "2024-06"
    assert migraine["tips"] == "=HYPERLINK(1) my own tip" and migraine["text_state"] == "public"
    assert migraine["age_band"] == scales.age_band(1970, date.today().year)  # the band the reports count
    assert epilepsy["effectiveness"] == "worse"
    (rating,) = data["doctor_ratings"]
    assert rating["comment"] == "Listened well" and rating["text_state"] == "public" and rating["doctor_name"] == "Dr A"
    assert rating["showed_respect_label"] == "Usually"
    (flag,) = data["flags"]
    assert flag["note"] == "This dose is wrong" and flag["reason"] == "misinformation"
    for email, name in strangers:
        assert email not in text and name not in text
    assert "someone else's tip" not in text and "Other person's comment" not in text
    assert "another reporter's note" not in text


def test_csv_zip_has_one_spreadsheet_safe_table_per_kind(app, community, make):
    from registry.contributions import rights

    with app.app_context():
        archive = zipfile.ZipFile(io.BytesIO(rights.to_csv_zip(rights.collect(user(community["leaver"])))))
    assert sorted(archive.namelist()) == sorted(f"{name}.csv" for name in rights.CSV_TABLES)

    def table(name):
        return list(csv.DictReader(io.StringIO(archive.read(f"{name}.csv").decode("utf-8-sig"))))

    experiences = table("experiences")
    assert len(experiences) == 2 and experiences[0]["tips"] == "'=HYPERLINK(1) my own tip"
    assert experiences[0]["effectiveness_label"] == "Major"
    assert table("experience_side_effects") == [{"experience_id": experiences[0]["id"], "term": "nausea"}]
    assert [r["reason"] for r in table("experience_stop_reasons")] == ["cost"]
    assert table("account")[0]["email"] == LEAVER and len(table("doctor_ratings")) == 1 and len(table("flags")) == 1

    newcomer = make.user(email="new@example.org")
    with app.app_context():
        empty = zipfile.ZipFile(io.BytesIO(rights.to_csv_zip(rights.collect(user(newcomer)))))
    assert sorted(empty.namelist()) == sorted(archive.namelist())
    header = empty.read("experiences.csv").decode("utf-8-sig").splitlines()
    assert len(header) == 1 and "effectiveness" in header[0]


def test_tip_votes_are_in_the_download_and_leave_with_the_account(app, make, community):
    from registry.contributions import rights, tips
    from registry.models import TipVote

    other_tip = make.experience(treatment="sumatriptan", tips="Rest in a dark room")
    with app.app_context():
        tips.vote(user(community["leaver"]), db.session.get(Experience, other_tip), True)
        db.session.commit()
        data = rights.collect(user(community["leaver"]))
        assert [v["experience_id"] for v in data["tips_marked_helpful"]] == [other_tip]
        assert "tips_marked_helpful.csv" in zipfile.ZipFile(io.BytesIO(rights.to_csv_zip(data))).namelist()
        rights.delete_account(user(community["leaver"]))
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(TipVote)) == 0
