"""Flagging, the moderators' queue and decisions, merges through the web, and the admins' audit trail."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from registry.models import AuditEvent, Experience, Flag, Treatment
from registry.platform.extensions import db
from registry.reporting import report_upkeep

TIP = "Ask for the nasal spray if tablets make you sick."


@pytest.fixture
def tip(make):
    make.treatment("Sumatriptan")
    make.treatment("Rizatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "rizatriptan"])
    return make.experience(tips=TIP)


PAGE = "/conditions/migraine/treatments/sumatriptan"


def test_participant_flags_a_tip(client, auth, app, tip):
    page = client.get(PAGE)
    assert f'href="/flag/tip/{tip}"' in page.text
    assert client.get(f"/flag/tip/{tip}").status_code == 302  # log in first
    auth.login()
    form = client.get(f"/flag/tip/{tip}")
    assert TIP in form.text and "Send to moderators" in form.text
    # No reason: the form comes back with the note kept and a message beside the field.
    again = client.post(f"/flag/tip/{tip}", data={"note": "dubious"})
    assert again.status_code == 200 and "Choose what is wrong." in again.text and "dubious" in again.text
    done = client.post(
        f"/flag/tip/{tip}", data={"reason": "misinformation", "note": "No evidence"}, follow_redirects=True
    )
    assert "A moderator will review this tip" in done.text
    with app.app_context():
        flag = db.session.scalar(sa.select(Flag))
        assert (flag.target_kind, flag.target_id, flag.reason, flag.note) == (
            "tip",
            tip,
            "misinformation",
            "No evidence",
        )
    assert client.get("/flag/tip/999999").status_code == 404
    assert client.get(f"/flag/nonsense/{tip}").status_code == 404


def test_queue_is_for_moderators(client, auth, tip):
    assert client.get("/moderation").status_code == 302
    auth.login()
    assert client.get("/moderation").status_code == 403
    assert client.post(f"/moderation/tip/{tip}", data={"action": "hide", "reason": "x"}).status_code == 403


def test_moderator_hides_and_restores_a_flagged_tip(client, auth, make, app, tip):
    reporter = make.user(email="reporter@example.org")
    with app.app_context():
        from registry.contributions import moderation
        from registry.models import User

        moderation.raise_flag(db.session.get(User, reporter), "tip", tip, "misinformation", "Wrong dose")
        db.session.commit()
    auth.login(email="mod@example.org", role="moderator")
    queue = client.get("/moderation")
    assert TIP in queue.text and "Wrong dose" in queue.text and "Reason (shown to the author)" in queue.text
    assert 'aria-label="1 waiting"' in queue.text  # the count beside the navigation link
    # Hiding needs a reason the author will read.
    assert client.post(f"/moderation/tip/{tip}", data={"action": "hide", "reason": ""}).status_code == 302
    assert TIP in client.get(PAGE).text
    done = client.post(
        f"/moderation/tip/{tip}", data={"action": "hide", "reason": "Unsafe advice"}, follow_redirects=True
    )
    assert "The tip is hidden." in done.text
    assert TIP not in client.get(PAGE).text
    with app.app_context():
        row = db.session.get(Experience, tip)
        assert (row.text_state, row.text_reason) == ("hidden", "Unsafe advice")
        assert db.session.scalar(sa.select(Flag.resolution)) == "hidden"
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "moderation.hidden"))
        assert event.changes == {"from": "public", "to": "hidden", "reason": "Unsafe advice"}
        author = row.user.email
        # The hidden tip's structured answers still count.
        assert report_upkeep.check(db.session) == []
    # The author sees why on their own page.
    auth.logout()
    with app.app_context():
        from registry.accounts import auth as accounts

        user = accounts.find_user(author)
        user.set_password("correct horse battery")
        db.session.commit()
    assert client.post("/login", data={"email": author, "password": "correct horse battery"}).status_code == 302
    mine = client.get("/experiences")
    assert "Your tip is hidden by a moderator." in mine.text and "Unsafe advice" in mine.text
    auth.logout()
    auth.login(email="mod@example.org")
    assert "Unsafe advice" in client.get("/moderation").text  # listed under hidden tips
    assert client.post(f"/moderation/tip/{tip}", data={"action": "restore", "reason": ""}).status_code == 302
    assert TIP in client.get(PAGE).text


def test_held_tip_waits_for_a_moderator(client, auth, app, tip):
    auth.login()
    form = {
        "condition": "migraine",
        "treatment": "rizatriptan",
        "role": "patient",
        "started": "2024-01",
        "effectiveness": "major",
        "side_effect_severity": "mild",
        "satisfaction": "8",
        "would_recommend": "yes",
        "tips": "Buy it cheap at www.pharma-deals.biz",
    }
    saved = client.post("/experiences/new", data=form, follow_redirects=True)
    assert "is not public yet" in saved.text and "a link" in saved.text
    riza = "/conditions/migraine/treatments/rizatriptan"
    assert "pharma-deals" not in client.get(riza).text
    auth.logout()
    auth.login(email="mod@example.org", role="moderator")
    queue = client.get("/moderation")
    assert "pharma-deals" in queue.text and "held" in queue.text
    with app.app_context():
        held = db.session.scalar(sa.select(Experience.id).where(Experience.text_state == "held"))
    assert client.post(f"/moderation/tip/{held}", data={"action": "keep", "reason": ""}).status_code == 302
    assert "pharma-deals" in client.get(riza).text


def test_moderator_merges_a_duplicate_treatment(client, auth, app, make, tip):
    with app.app_context():
        from registry.models import Condition

        migraine = db.session.scalar(sa.select(Condition).where(Condition.slug == "migraine"))
        migraine.treatments.append(Treatment(slug="imitrex", name="Imitrex", name_key="imitrex", kind="drug"))
        db.session.commit()
        dup = db.session.scalar(sa.select(Treatment.id).where(Treatment.slug == "imitrex"))
    for _ in range(2):
        make.experience(treatment="imitrex")
    auth.login(email="mod@example.org", role="moderator")
    url = f"/moderation/merge/treatment/{dup}"
    missing = client.post(url, data={"survivor": "no such drug"})
    assert "No treatment with that name" in missing.text
    with app.app_context():
        from registry.catalog import catalog

        doctor, _ = catalog.add_doctor("Dr Ada Lovelace", "Neurology", "London", "GB")
        db.session.commit()
        doctor_id = doctor.id
    odd = client.post(f"/moderation/merge/doctor/{doctor_id}", data={"survivor": "²"})  # a digit int() refuses
    assert odd.status_code == 200 and "No doctor with that name" in odd.text
    assert client.post(f"/moderation/doctor/{doctor_id + 1}/dismiss", data={}).status_code == 404
    with app.app_context():
        from registry.contributions import moderation
        from registry.models import User

        moderation.raise_flag(db.session.scalar(sa.select(User)), "doctor", doctor_id, "other", "Wrong city?")
        db.session.commit()
    kept = client.post(
        f"/moderation/doctor/{doctor_id}/dismiss",
        data={"action": "keep", "reason": "City is right"},
        follow_redirects=True,
    )
    assert "Closed 1 flag; the doctor is unchanged." in kept.text
    with app.app_context():
        assert db.session.scalar(sa.select(Flag.resolution).where(Flag.target_kind == "doctor")) == "kept"
    preview = client.post(url, data={"survivor": "Sumatriptan"})
    assert "2 experiences" in preview.text and "Merge now" in preview.text
    with app.app_context():
        assert db.session.get(Treatment, dup) is not None  # a preview changes nothing
    done = client.post(url, data={"survivor": "sumatriptan", "confirm": "yes"}, follow_redirects=True)
    assert "Merged Imitrex into Sumatriptan" in done.text
    with app.app_context():
        assert db.session.get(Treatment, dup) is None
        assert report_upkeep.check(db.session) == []
    assert client.get("/conditions/migraine/treatments/imitrex").status_code == 404


def test_audit_trail_is_for_admins(client, auth, app, make, tip):
    auth.login()
    assert client.get("/admin/audit").status_code == 403
    auth.logout()
    auth.login(email="admin@example.org", role="admin")
    page = client.get("/admin/audit")
    assert page.status_code == 200 and "experience.create" in page.text
    assert "experience.create" not in client.get("/admin/audit?kind=rating").text
    # Answers are health data: the trail names fields, never their values.
    assert TIP not in page.text
