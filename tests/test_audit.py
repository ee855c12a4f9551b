"""The audit trail (registry.accounts.audit): who changed what and when, without the answers themselves."""

from __future__ import annotations

import sqlalchemy as sa

from registry.accounts import audit, auth
from registry.contributions import experiences
from registry.models import AuditEvent, Experience, User
from registry.platform.extensions import db


def _events(app):
    with app.app_context():
        return [
            (e.action, e.object_kind, e.changes)
            for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))
        ]


def test_experience_changes_name_fields_not_values(app, make):
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])
    eid = make.experience(tips="Secret health detail", effectiveness="major")
    with app.app_context():
        row = db.session.get(Experience, eid)
        values = experiences.form_data(row) | {"effectiveness": "none", "satisfaction": 7, "side_effects": ["nausea"]}
        experiences.save(row.user, row.condition, row.treatment, values, experience=row)
        db.session.commit()
        experiences.delete(row)
        db.session.commit()
        actor = db.session.scalar(sa.select(AuditEvent.actor_label))
    events = _events(app)
    assert [e[0] for e in events] == ["experience.create", "experience.update", "experience.delete"]
    assert events[1][2] == {"fields": ["effectiveness", "side_effects"]}
    assert "Secret health detail" not in repr(events) and "none" not in repr(events[1][2])
    assert actor.startswith("member")


def test_role_changes_and_cli_actor(app, make, runner):
    make.user(email="r@example.org")
    result = runner.invoke(args=["users", "set-role", "r@example.org", "researcher"])
    assert result.exit_code == 0, result.output
    ((action, kind, changes),) = _events(app)
    assert (action, kind, changes) == ("user.role", "user", {"from": "patient", "to": "researcher"})
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.actor_label)).startswith("cli:")
        # Setting the same role again records nothing.
        auth.set_role(auth.find_user("r@example.org"), "researcher")
        db.session.commit()
    assert len(_events(app)) == 1


def test_a_rolled_back_change_leaves_no_event(app, make):
    user_id = make.user()
    with app.app_context():
        audit.record(
            "user.role", "user", user_id, {"from": "patient", "to": "admin"}, actor=db.session.get(User, user_id)
        )
        db.session.rollback()
    assert _events(app) == []


def test_events_page_newest_first_and_by_kind(app, make):
    user_id = make.user()
    with app.app_context():
        for i in range(3):
            audit.record("export", "export", i, {"via": "web"})
        audit.record("user.role", "user", user_id, {"from": "patient", "to": "researcher"})
        db.session.commit()
        window = audit.events(1, per_page=2)
        assert [e.action for e in window.items] == ["user.role", "export"] and window.has_next
        assert [e.object_id for e in audit.events(1, kind="export").items] == [2, 1, 0]
