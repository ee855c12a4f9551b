"""Shared database helpers (registry.platform.database): bulk inserts from columns."""

from datetime import datetime, timezone

import numpy as np
from sqlalchemy import select

from registry.models import ConsentEvent, User
from registry.platform.database import insert_columns
from registry.platform.extensions import db


def test_insert_columns_takes_numpy_columns_and_keeps_timestamps_and_nulls(app):
    at = np.array(["2024-03-05T12:00:00", "NaT", "2024-03-05T12:00:00"], dtype="datetime64[s]")
    with app.app_context():
        connection = db.session.connection()
        insert_columns(
            connection,
            User.__table__,
            {
                "id": np.arange(1, 4),
                "email": [f"m{i}@demo.invalid" for i in range(3)],
                "pseudonym": [f"m-{i}" for i in range(3)],
                "pseudonym_key": [f"m {i}" for i in range(3)],
                "password_hash": ["x"] * 3,
                "account_role": ["patient"] * 3,
                "birth_year": np.array([1980, None, 1990], dtype=object),
                "sex": np.array(["female", "male", "other"], dtype=object),
                "country": [None, "GB", "US"],
                "research_consent_version": ["v1", None, "v1"],
                "research_consent_at": at,
                "session_token": ["a", "b", "c"],
                "created_at": np.array(["2024-03-05T12:00:00"] * 3, dtype="datetime64[s]"),
                "text_on_review": [False] * 3,
            },
        )
        insert_columns(connection, ConsentEvent.__table__, {"user_id": [], "action": [], "version": [], "at": []})
        db.session.commit()
        users = db.session.scalars(select(User).order_by(User.id)).all()
        noon = datetime(2024, 3, 5, 12, tzinfo=timezone.utc)
        assert [u.research_consent_at for u in users] == [noon, None, noon]
        assert [u.birth_year for u in users] == [1980, None, 1990]
        assert [u.country for u in users] == [None, "GB", "US"]
        assert all(u.created_at == noon for u in users)
        assert db.session.scalar(select(ConsentEvent.id)) is None  # no rows, no error
