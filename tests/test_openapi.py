"""The OpenAPI description of /api/v1 (registry.web.openapi), checked against the app by schemathesis."""

from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

import scales
from registry.platform.extensions import db

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
RATING = {
    "last_visit": "2025-06",
    "explained_clearly": "always",
    "listened_carefully": "usually",
    "showed_respect": "always",
    "spent_enough_time": "sometimes",
    "got_appointment": None,
    "knowledge": 4,
    "would_recommend": "probably_yes",
    "comment": None,
}
FOLLOWUP = {
    "stopped": None,
    "stop_reasons": [],
    "effectiveness": "moderate",
    "side_effect_severity": "mild",
    "satisfaction": 7,
    "would_recommend": "yes",
}
_INDEX = date.today().year * 12 + date.today().month - 1 - 6
SIX_MONTHS_AGO = f"{_INDEX // 12}-{_INDEX % 12 + 1:02d}"


@pytest.fixture
def seeded(app, make):
    """A small registry: one shown and one suppressed treatment, a rated and an unrated doctor."""
    from registry.contributions import ratings
    from registry.models import Condition, Doctor, User

    make.treatment("Sumatriptan")
    make.treatment("Propranolol")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "propranolol"])
    make.condition("Epilepsy", "G40")
    for n in range(7):
        make.experience(
            "migraine",
            "sumatriptan",
            side_effects=["nausea"],
            effectiveness=["major", "none"][n % 2],
            role=["patient", "caregiver"][n % 2],
            birth_year=1960 + n,
            sex="female",
            dose_amount=[50, 100][n % 2],
            dose_unit="mg",
            dose_frequency="as_needed",
            started=SIX_MONTHS_AGO,  # so that a follow-up now is an answer at six months
        )
    make.experience("migraine", "propranolol")
    members = [make.member() for _ in range(6)]
    with app.app_context():
        from registry.contributions import followups
        from registry.models import Experience

        # Five follow-ups of sumatriptan reports (one horizon shown, the others suppressed).
        for eid in db.session.scalars(db.select(Experience.id).order_by(Experience.id).limit(5)).all():
            experience = db.session.get(Experience, eid)
            followups.add_update(experience.user, experience, FOLLOWUP)
        rated = Doctor(
            name="Dr. Ines Moreau",
            name_key="ines moreau",
            specialty="Neurology",
            city="Lyon",
            city_key="lyon",
            country="FR",
        )
        db.session.add_all(
            [
                rated,
                Doctor(
                    name="Dr. Lone", name_key="lone", specialty="Neurology", city="Oslo", city_key="oslo", country="NO"
                ),
            ]
        )
        db.session.flush()
        migraine = db.session.scalar(db.select(Condition).where(Condition.slug == "migraine"))
        for n, member in enumerate(members):
            ratings.save(db.session.get(User, member), rated, migraine, {**RATING, "overall": 5 + n})
        db.session.commit()


def test_openapi_json_is_served_and_names_every_api_route(client, app):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    routes = {
        rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace("<", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
    }
    assert routes - {"/openapi.json"} == set(spec["paths"])
    effectiveness = spec["paths"]["/conditions/{slug}/treatments"]["get"]["responses"]["200"]
    assert "major" in str(effectiveness) and list(scales.ROLE.codes) == next(
        p["schema"]["items"]["enum"]
        for p in spec["paths"]["/conditions/{slug}/treatments"]["get"]["parameters"]
        if p["name"] == "role"
    )


def test_every_api_answer_conforms_to_the_description(app, seeded):
    """Generated requests (and the seeded slugs) per operation: no 500, every answer as described."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    known = {"slug": ["migraine", "epilepsy"], "treatment_slug": ["sumatriptan", "propranolol"], "doctor_id": [1, 2]}
    after = app.test_client().get("/api/v1/conditions/migraine/treatments/sumatriptan/after-months").get_json()
    assert after["after_months"]["horizons"][1]["n"] == 5  # both kinds of horizon row are checked
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10
    for operation in operations:

        @given(
            case=operation.as_strategy(),
            real=st.fixed_dictionaries({k: st.sampled_from([None, *v]) for k, v in known.items()}),
        )
        @settings(
            max_examples=20, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case, real):
            for name, value in real.items():
                if value is not None and case.path_parameters and name in case.path_parameters:
                    case.path_parameters[name] = value
            # The WSGI transport does not undo compression as an HTTP client does.
            case.call_and_validate(checks=CHECKS, headers={"Accept-Encoding": "identity"})

        check()
