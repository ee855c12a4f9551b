"""FHIR R4 (registry.interchange.fhir, registry.web.views.fhir, `registry fhir export|import`, FHIR import in registry.interchange.importer)."""

import json
import re

import pytest
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from sqlalchemy import func, select

import scales
from registry.interchange import fhir
from registry.models import Condition, Experience, Treatment, User, report_cell, report_term
from registry.platform.extensions import db


@pytest.fixture
def community(make, runner):
    for name in ["Sumatriptan", "Topiramate", "Propranolol"]:
        make.treatment(name)
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate", "propranolol"])
    make.condition("Epilepsy", "G40", treatments=["topiramate"])
    result = runner.invoke(args=["seed-demo", "--experiences", "400", "--seed", "5"])
    assert result.exit_code == 0, result.output


def export_lines(runner, tmp_path, *args) -> list[dict]:
    out = tmp_path / "out.ndjson"
    result = runner.invoke(args=["fhir", "export", "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def answering(lines, name: str = "treatment-experience") -> list[dict]:
    """The responses of one questionnaire (an export writes the experiences, then their follow-ups)."""
    url = f"{fhir.CANONICAL}/Questionnaire/{name}"
    return [r for r in lines if r.get("questionnaire", "").split("|")[0] == url]


def write_lines(path, resources) -> str:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in resources), encoding="utf-8")
    return str(path)


def consenting_experiences(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(Experience.id))
            .join(User, User.id == Experience.user_id)
            .where(User.research_consent_at.is_not(None))
        )


# --- definitions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", fhir.QUESTIONNAIRE_NAMES)
def test_questionnaires_validate_and_ask_every_form_field(client, name):
    from forms.experience import ExperienceForm
    from forms.followup import FollowupForm
    from forms.rating import DoctorRatingForm

    response = client.get(f"/fhir/Questionnaire/{name}")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    resource = response.get_json()
    Questionnaire.model_validate(resource)
    link_ids = [item["linkId"] for item in resource["item"]]
    form = {"treatment-experience": ExperienceForm, "doctor-rating": DoctorRatingForm}.get(name, FollowupForm)
    # A follow-up keeps only `stopped` (empty: still using). Showing one's answers beside a tip is a choice about
    # this registry's pages, not an answer about the experience: it is not exported, so not interchanged either.
    asked = set(fhir._form_fields(form)) - {"still_using", "tips_show_answers"}
    assert asked <= set(link_ids)  # one item per form field, named as the field
    by_id = {item["linkId"]: item for item in resource["item"]}
    if name == "treatment-experience":
        assert [o["valueCoding"]["code"] for o in by_id["effectiveness"]["answerOption"]] == list(scales.EFFECTIVENESS)
        assert by_id["effectiveness"]["required"] and not by_id["adherence"].get("required")
        assert by_id["side_effects"]["type"] == "open-choice" and by_id["stop_reasons"]["repeats"]
        assert by_id["tips"]["maxLength"] == scales.TIPS_MAX_LENGTH
    elif name == "doctor-rating":
        assert [o["valueCoding"]["code"] for o in by_id["would_recommend"]["answerOption"]] == list(
            scales.DOCTOR_RECOMMEND
        )
    else:  # the follow-up: the same CodeSystems as the experience questionnaire, and where the point comes from
        experience = {i["linkId"]: i for i in client.get("/fhir/Questionnaire/treatment-experience").get_json()["item"]}
        for link_id in ("stopped", "stop_reasons", "effectiveness", "side_effect_severity", "satisfaction"):
            assert by_id[link_id]["type"] == experience[link_id]["type"]
            assert by_id[link_id].get("answerOption") == experience[link_id].get("answerOption")
        assert [o["valueCoding"]["code"] for o in by_id["kind"]["answerOption"]] == ["original", "edit", "update"]
        assert by_id["kind"]["readOnly"] and by_id["months_since_start"]["type"] == "integer"


def test_code_systems_are_the_scales(client):
    for name, scale in fhir.CODE_SYSTEMS.items():
        response = client.get(f"/fhir/CodeSystem/{name}")
        assert response.status_code == 200
        resource = response.get_json()
        CodeSystem.model_validate(resource)
        assert [c["code"] for c in resource["concept"]] == list(scale.codes)
        assert [c["display"] for c in resource["concept"]] == [label for _, label in scale.options]
    cant_tell = client.get("/fhir/CodeSystem/effectiveness").get_json()["concept"][-1]
    assert cant_tell["definition"] == scales.EFFECTIVENESS.help["cant_tell"]


def test_unknown_definition_is_a_fhir_404(client):
    response = client.get("/fhir/Questionnaire/nope")
    assert response.status_code == 404 and response.get_json()["resourceType"] == "OperationOutcome"
    assert "treatment-experience" in response.get_json()["issue"][0]["diagnostics"]
    assert client.get("/fhir/CodeSystem/nope").status_code == 404


# --- export ------------------------------------------------------------------------------------------


def test_every_exported_response_validates_and_is_de_identified(runner, community, app, tmp_path):
    lines = answering(export_lines(runner, tmp_path, "--with-text"))
    assert len(lines) == consenting_experiences(app) > 0
    for resource in lines:
        QuestionnaireResponse.model_validate(resource)
        assert resource["questionnaire"].startswith(f"{fhir.CANONICAL}/Questionnaire/treatment-experience")
        assert re.fullmatch(r"\d{4}-\d{2}", resource["authored"])
        assert re.fullmatch(r"p[0-9a-f]{20}", resource["subject"]["identifier"]["value"])
    # Same pseudonyms as the research export.
    out = tmp_path / "csv"
    assert runner.invoke(args=["export", "--out", str(out)]).exit_code == 0
    import csv

    with open(out / "experiences.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["participant_id"] for r in rows} == {x["subject"]["identifier"]["value"] for x in lines}
    assert {r["experience_id"] for r in rows} == {x["id"] for x in lines}
    with app.app_context():
        users = db.session.scalars(select(User)).all()
    content = (tmp_path / "out.ndjson").read_text(encoding="utf-8")
    assert not any(u.email in content or f'"{u.pseudonym}"' in content for u in users)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", content)
    answered = {i["linkId"] for r in lines for i in r["item"]}
    assert {"side_effects", "stop_reasons", "tips", "effectiveness", "satisfaction", "started"} <= answered
    # Conditions coded with ICD-10-CM, drugs with DrugBank where known.
    items = {i["linkId"]: i["answer"] for i in lines[0]["item"]}
    assert items["condition"][0]["valueCoding"]["system"] == fhir.ICD10CM
    assert items["condition"][0]["valueCoding"]["code"] in ("G43", "G40")


def test_export_filters_and_log(runner, community, app, tmp_path):
    from registry.models import ExportLog

    every = export_lines(runner, tmp_path, "--condition", "epilepsy", "--since", "2020-01")
    lines = answering(every)
    conditions = {i["answer"][0]["valueCoding"]["code"] for r in lines for i in r["item"] if i["linkId"] == "condition"}
    assert lines and conditions == {"G40"}
    assert all(r["extension"][0]["valueDateTime"] >= "2020-01" for r in lines)
    assert not any(i["linkId"] == "tips" for r in lines for i in r["item"])
    with app.app_context():
        log = db.session.scalar(select(ExportLog))
        assert log.filters["format"] == "fhir" and log.row_counts == {"responses": len(every)}
    bad = runner.invoke(args=["fhir", "export", "--out", str(tmp_path / "x"), "--condition", "nope"])
    assert bad.exit_code == 2 and "no condition nope" in bad.output


def test_researchers_download_the_fhir_file(client, auth, community, app):
    auth.login(email="researcher@example.org", role="researcher")
    response = client.post("/research/export", data={"conditions": ["migraine"], "format": "fhir"})
    assert response.status_code == 200 and response.mimetype == "application/fhir+ndjson"
    lines = [json.loads(line) for line in response.data.decode().splitlines()]
    kinds = [r["resourceType"] for r in lines]
    assert kinds[:4] == ["CodeSystem", "CodeSystem", "ValueSet", "ValueSet"]  # definitions first
    assert kinds[-1] == "QuestionnaireResponse" and set(kinds) <= {"CodeSystem", "ValueSet", "Practitioner", kinds[-1]}
    assert 'value="fhir"' in client.get("/research").text


# --- round trip and import ---------------------------------------------------------------------------


def _cells(session, consenting_only: bool):
    """Aggregate count columns keyed by slugs (ids differ between registries); consenting rows only if asked."""
    from registry.reporting import report_upkeep

    conditions = dict(session.execute(select(Condition.id, Condition.slug)).all())
    treatments = dict(session.execute(select(Treatment.id, Treatment.slug)).all())
    if consenting_only:
        consenting = select(User.id).where(User.research_consent_at.is_not(None))
        cells, terms = report_upkeep.contributions(
            *report_upkeep.rows_where(session, Experience.user_id.in_(consenting))
        )
        cell_counts = {
            (conditions[k[0]], treatments[k[1]], *k[2:]): {c: v for c, v in n.items() if v and c != "key_sum"}
            for k, n in cells.items()
        }
        term_counts = {(conditions[k[0]], treatments[k[1]], *k[2:]): n for k, n in terms.items()}
        return cell_counts, term_counts
    from registry.models import COUNT_COLUMNS

    cell_counts = {}
    for row in session.execute(select(report_cell)).mappings():
        counts = {c: row[c] for c in ["n", *COUNT_COLUMNS] if row[c]}  # count columns only
        if counts:
            cell_counts[
                (
                    conditions[row["condition_id"]],
                    treatments[row["treatment_id"]],
                    row["role"],
                    row["age_band"],
                    row["sex"],
                    row["years_since_diagnosis"],
                )
            ] = counts
    term_counts = {
        (
            conditions[r["condition_id"]],
            treatments[r["treatment_id"]],
            r["role"],
            r["age_band"],
            r["sex"],
            r["years_since_diagnosis"],
            r["term"],
        ): r["n"]
        for r in session.execute(select(report_term)).mappings()
        if r["n"]
    }
    return cell_counts, term_counts


@pytest.fixture
def empty_registry(tmp_path):
    """A second, empty registry (SQLite) with the same catalog loaded by `registry init`."""
    from flask_migrate import upgrade

    from registry import MIGRATIONS
    from registry.app import create_app

    other = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "other",
            "EXPORT_KEY": "other-export-key",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'other.sqlite'}",
            "RATELIMIT_ENABLED": False,
            "DISCLOSURE": "exact",  # published numbers compared with the exporting registry's
            "DISCLOSURE_KEY": "other-disclosure-key",
            "RELEASE": "auto",
        }
    )
    with other.app_context():
        upgrade(directory=str(MIGRATIONS))
    yield other
    with other.app_context():
        db.engine.dispose()


def _published(app) -> dict:
    """Every number the API publishes about conditions, treatments, "after N months" and doctors (ids left out)."""
    from registry.models import Doctor

    client = app.test_client()

    def get(url):
        response = client.get(url)
        assert response.status_code == 200, url
        return response.get_json()

    def without_ids(value):
        if isinstance(value, dict):
            return {k: without_ids(v) for k, v in value.items() if k != "id"}
        return [without_ids(v) for v in value] if isinstance(value, list) else value

    found = {"conditions": get("/api/v1/conditions")}
    for condition in found["conditions"]["conditions"]:
        if not condition.get("n"):
            continue
        slug = condition["slug"]
        ranked = found[slug] = get(f"/api/v1/conditions/{slug}/treatments")
        for unit in ranked["treatments"]:
            base = f"/api/v1/conditions/{slug}/treatments/{unit['slug']}"
            found[slug, unit["slug"]] = get(base), get(f"{base}/after-months")
    found["doctors"] = without_ids(get("/api/v1/doctors?limit=100")["doctors"])
    with app.app_context():
        doctors = db.session.execute(select(Doctor.id, Doctor.name, Doctor.city)).all()
    for doctor_id, name, city in doctors:
        found["doctor", name, city] = without_ids(get(f"/api/v1/doctors/{doctor_id}"))
    return found


def test_round_trip_keeps_every_table_and_published_number(runner, app, make, empty_registry, tmp_path):
    """Experiences, follow-up points and doctor ratings into an empty registry: the same numbers, exact mode."""
    from sqlalchemy import update

    from registry.models import DoctorRating, ExperienceUpdate

    for name in ["Sumatriptan", "Topiramate", "Propranolol"]:
        make.treatment(name)
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate", "propranolol"])
    result = runner.invoke(args=["seed-demo", "--experiences", "500", "--seed", "3", "--doctor-ratings", "150"])
    assert result.exit_code == 0, result.output
    with app.app_context():  # every participant consents, so the export holds the whole registry
        db.session.execute(update(User).values(research_consent_at=func.now()))
        db.session.commit()
        tables = {m: db.session.scalar(select(func.count(m.id))) for m in (Experience, ExperienceUpdate, DoctorRating)}
    assert all(tables.values()), tables
    every = export_lines(runner, tmp_path, "--with-text")
    lines, points = answering(every), answering(every, fhir.FOLLOWUP_QUESTIONNAIRE)
    rated = answering(every, "doctor-rating")
    assert (len(lines), len(points), len(rated)) == tuple(tables.values())
    with app.app_context():
        expected = _cells(db.session, consenting_only=True)
    before = _published(app)
    after_months = [v[1]["after_months"] for k, v in before.items() if isinstance(k, tuple) and len(k) == 2]
    assert any(not h["suppressed"] for a in after_months for h in a.get("horizons", ())), "nothing to compare"
    with empty_registry.app_context():
        from registry.catalog import catalog

        for name in ["Sumatriptan", "Topiramate", "Propranolol"]:
            catalog.add_treatment(name, "drug")
        catalog.add_condition("Migraine", "G43")
        db.session.commit()
    other = empty_registry.test_cli_runner()
    result = other.invoke(args=["fhir", "import", str(tmp_path / "out.ndjson")])
    assert result.exit_code == 0, result.output
    doctors = sum(r["resourceType"] == "Practitioner" for r in every)
    added = len(lines) + len(points) + len(rated) + doctors
    assert f"{added:,} added, {len(every) - added:,} skipped, 0 with errors" in result.output
    with empty_registry.app_context():
        from registry.reporting import report_upkeep

        imported = _cells(db.session, consenting_only=False)
        assert report_upkeep.check(db.session) == []
        counts = {m: db.session.scalar(select(func.count(m.id))) for m in (Experience, ExperienceUpdate, DoctorRating)}
    assert counts == tables
    assert imported[0] == expected[0] and imported[1] == expected[1]
    assert _published(empty_registry) == before


def test_exported_resources_validate_and_coded_answers_are_in_their_value_sets(runner, app, make, tmp_path):
    """Every line validates with fhir.resources R4B; every coded answer is an option or in its item's ValueSet."""
    from fhir.resources.R4B.practitioner import Practitioner
    from fhir.resources.R4B.valueset import ValueSet

    make.treatment("Sumatriptan")
    make.treatment("Cold showers", kind="lifestyle")  # no code in any terminology: the catalog's own
    make.condition("Migraine", "G43", treatments=["sumatriptan", "cold-showers"])
    make.condition("Brain fog", None, treatments=["cold-showers"])
    result = runner.invoke(args=["seed-demo", "--experiences", "120", "--seed", "4", "--doctor-ratings", "30"])
    assert result.exit_code == 0, result.output
    every = export_lines(runner, tmp_path, "--with-text")
    models = {"CodeSystem": CodeSystem, "ValueSet": ValueSet, "Practitioner": Practitioner}
    value_sets, systems = {}, {}
    for resource in every:
        models.get(resource["resourceType"], QuestionnaireResponse).model_validate(resource)
        if resource["resourceType"] == "ValueSet":
            value_sets[resource["url"]] = {
                (i["system"], c["code"]) for i in resource["compose"]["include"] for c in i["concept"]
            }
        if resource["resourceType"] == "CodeSystem":
            systems[resource["url"]] = {c["code"] for c in resource["concept"]}
    assert set(value_sets) == {fhir.value_set_url("condition"), fhir.value_set_url("treatment")}
    assert (fhir.CATALOG_CONDITION, "brain-fog") in value_sets[fhir.value_set_url("condition")]
    assert (fhir.CATALOG_TREATMENT, "cold-showers") in value_sets[fhir.value_set_url("treatment")]
    assert "brain-fog" in systems[fhir.CATALOG_CONDITION] and "cold-showers" in systems[fhir.CATALOG_TREATMENT]
    doctors = {r["id"] for r in every if r["resourceType"] == "Practitioner"}
    checked = 0
    for name in fhir.QUESTIONNAIRE_NAMES:
        items = {i["linkId"]: i for i in fhir.questionnaire(name)["item"]}
        for response in answering(every, name):
            for item in response["item"]:
                spec = items[item["linkId"]]
                for answer in item["answer"]:
                    coding = answer.get("valueCoding")
                    if "answerValueSet" in spec:
                        assert (coding["system"], coding["code"]) in value_sets[spec["answerValueSet"]]
                    elif coding is not None and "answerOption" in spec:
                        assert {"valueCoding": coding} in spec["answerOption"], (name, item["linkId"])
                    elif spec["type"] == "reference":
                        assert answer["valueReference"]["reference"].removeprefix("Practitioner/") in doctors
                    else:
                        continue
                    checked += 1
    assert checked > 1000 and answering(every, "doctor-rating")


def test_bad_doctors_and_ratings_are_reported_by_line(runner, app, make, empty_registry, tmp_path):
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])
    result = runner.invoke(args=["seed-demo", "--experiences", "60", "--seed", "4", "--doctor-ratings", "20"])
    assert result.exit_code == 0, result.output
    every = export_lines(runner, tmp_path)
    doctor = next(r for r in every if r["resourceType"] == "Practitioner")
    rating = next(
        r
        for r in answering(every, "doctor-rating")
        if r["item"][0]["answer"][0]["valueReference"]["reference"] == f"Practitioner/{doctor['id']}"
    )
    no_city = json.loads(json.dumps(doctor))
    no_city["address"] = [{"country": "US"}]
    stranger = json.loads(json.dumps(rating))
    stranger["item"][0]["answer"] = [{"valueReference": {"reference": "Practitioner/999999", "display": "Dr Nobody"}}]
    bad_code = json.loads(json.dumps(rating))
    for item in bad_code["item"]:
        if item["linkId"] == "showed_respect":
            item["answer"][0]["valueCoding"]["code"] = "often"
    with empty_registry.app_context():
        from registry.catalog import catalog

        catalog.add_treatment("Sumatriptan", "drug")
        catalog.add_condition("Migraine", "G43")
        db.session.commit()
    lines = [no_city, stranger, bad_code, doctor, rating, rating]
    other = empty_registry.test_cli_runner()
    result = other.invoke(args=["fhir", "import", write_lines(tmp_path / "in.ndjson", lines)])
    assert result.exit_code == 1 and "2 added, 1 unchanged, 3 with errors" in result.output, result.output
    assert "line 1: a Practitioner needs an id, name.text, address.city" in result.output
    assert "line 2: doctor 'Dr Nobody' is neither a Practitioner earlier in this file nor a doctor" in result.output
    assert "line 3: showed_respect: unknown code 'often'" in result.output
    with empty_registry.app_context():
        from registry.models import Doctor, DoctorRating

        (saved,) = db.session.scalars(select(DoctorRating)).all()
        assert f"{saved.updated_at:%Y-%m}" == rating["authored"] and saved.user.imported_from.startswith("fhir:")
        assert db.session.scalar(select(Doctor.name)) == doctor["name"][0]["text"]


def test_import_is_idempotent_reports_bad_lines_and_creates_participants_without_login(
    runner, community, app, empty_registry, tmp_path, make
):
    good = answering(export_lines(runner, tmp_path))[:5]
    other = empty_registry.test_cli_runner()
    with empty_registry.app_context():
        from registry.catalog import catalog

        for name in ["Sumatriptan", "Topiramate", "Propranolol"]:
            catalog.add_treatment(name, "drug")
        catalog.add_condition("Migraine", "G43")
        catalog.add_condition("Epilepsy", "G40")
        db.session.commit()
    invalid = json.loads(json.dumps(good[1]))
    invalid["item"][-1]["answer"] = [{"valueInteger": "many"}]
    unknown_code = json.loads(json.dumps(good[2]))
    for item in unknown_code["item"]:
        if item["linkId"] == "effectiveness":
            item["answer"][0]["valueCoding"]["code"] = "miraculous"
    future = json.loads(json.dumps(good[3]))
    for item in future["item"]:
        if item["linkId"] == "started":
            item["answer"][0]["valueDate"] = "2999-01"
    unknown_condition = json.loads(json.dumps(good[4]))
    unknown_condition["item"][0]["answer"] = [
        {"valueCoding": {"system": fhir.ICD10CM, "code": "A00", "display": "Cholera"}}
    ]
    path = write_lines(
        tmp_path / "in.ndjson",
        [good[0], "{not json", {"resourceType": "Patient"}, invalid, unknown_code, future, unknown_condition, good[1]],
    )
    result = other.invoke(args=["fhir", "import", path])
    assert result.exit_code == 1
    assert "2 added, 6 with errors" in result.output
    for line, words in [
        (2, "not JSON"),
        (3, "found 'Patient'"),
        (4, "not a valid FHIR QuestionnaireResponse"),
        (5, "effectiveness"),
        (6, "cannot be in the future"),
        (7, "not in this registry's catalog"),
    ]:
        assert re.search(rf"line {line}: .*{re.escape(words)}", result.output), (line, result.output)
    again = other.invoke(args=["fhir", "import", path])
    assert "2 unchanged, 6 with errors" in again.output
    with empty_registry.app_context():
        assert db.session.scalar(select(func.count(Experience.id))) == 2
        users = db.session.scalars(select(User)).all()
        assert len(users) == len({good[0]["subject"]["identifier"]["value"], good[1]["subject"]["identifier"]["value"]})
        assert all(u.imported_from.startswith("fhir:") and not u.has_research_consent for u in users)
        assert not any(u.check_password("") or u.check_password("!") for u in users)
        assert not any(good[0]["subject"]["identifier"]["value"] in u.pseudonym for u in users)


def test_a_failing_line_leaves_nothing_behind(runner, community, app, tmp_path, monkeypatch):
    from registry.interchange import importer

    lines = answering(export_lines(runner, tmp_path))[:3]
    with app.app_context():
        before = _cells(db.session, consenting_only=False), db.session.scalar(select(func.count(User.id)))
    real_save = importer.save_experience
    calls = []

    def save_then_fail(*args):
        calls.append(1)
        outcome = real_save(*args)
        if len(calls) == 2:
            raise importer.LineError("disk full (simulated)")
        return outcome

    monkeypatch.setattr(importer, "save_experience", save_then_fail)
    # Re-import into the same registry under a new source: new participants, so every line writes.
    for resource in lines:
        resource["subject"]["identifier"]["system"] = "urn:example:elsewhere"
    result = runner.invoke(args=["fhir", "import", write_lines(tmp_path / "in.ndjson", lines)])
    assert "line 2: disk full (simulated)" in result.output and "2 added, 1 with errors" in result.output
    with app.app_context():
        cells, users = _cells(db.session, consenting_only=False), db.session.scalar(select(func.count(User.id)))
    kept = {lines[0]["subject"]["identifier"]["value"], lines[2]["subject"]["identifier"]["value"]}
    failed = lines[1]["subject"]["identifier"]["value"]
    # The failed line's participant (when new) was rolled back with its experience and counts.
    assert users == before[1] + len(kept)
    if failed not in kept:
        import hashlib

        digest = hashlib.blake2b(f"fhir:urn:example:elsewhere|{failed}".encode(), digest_size=15).hexdigest()
        with app.app_context():
            assert db.session.scalar(select(User).where(User.pseudonym == f"imported-{digest}")) is None
    assert sum(c["n"] for c in cells[0].values()) == sum(c["n"] for c in before[0][0].values()) + 2


def test_imported_text_goes_through_moderation(runner, community, app, tmp_path):
    resource = answering(export_lines(runner, tmp_path))[0]
    resource["subject"]["identifier"]["system"] = "urn:example:clinic"
    resource["item"] = [i for i in resource["item"] if i["linkId"] not in ("tips", "country")]
    resource["item"].append({"linkId": "tips", "answer": [{"valueString": "Call me on 555 123 4567"}]})
    resource["item"].append({"linkId": "country", "answer": [{"valueString": "NZ"}]})
    result = runner.invoke(args=["fhir", "import", write_lines(tmp_path / "in.ndjson", [resource])])
    assert result.exit_code == 0, result.output
    with app.app_context():
        held = db.session.scalar(select(Experience).where(Experience.tips == "Call me on 555 123 4567"))
        assert held.text_state == "held" and "phone number" in held.text_reason
        assert held.user.country == "NZ" and held.user.imported_from == "fhir:urn:example:clinic"
    resource["item"][-1]["answer"] = [{"valueString": "New Zealand"}]
    result = runner.invoke(args=["fhir", "import", write_lines(tmp_path / "in.ndjson", [resource])])
    assert "line 1: country must be an ISO 3166-1 alpha-2 code" in result.output


def test_an_imported_public_tip_is_as_new_as_its_report_not_as_the_import(runner, community, app, tmp_path):
    resource = answering(export_lines(runner, tmp_path))[0]
    resource["subject"]["identifier"]["system"] = "urn:example:clinic"
    resource["item"] = [i for i in resource["item"] if i["linkId"] != "tips"]
    resource["item"].append({"linkId": "tips", "answer": [{"valueString": "Take it with breakfast."}]})
    result = runner.invoke(args=["fhir", "import", write_lines(tmp_path / "in.ndjson", [resource])])
    assert result.exit_code == 0, result.output
    with app.app_context():
        tip = db.session.scalar(select(Experience).where(Experience.tips == "Take it with breakfast."))
        assert tip.text_state == "public"
        assert tip.tips_published_at == tip.updated_at  # What's new counts it by its report's date


def test_dry_run_checks_every_line_and_writes_nothing(runner, community, app, tmp_path):
    lines = answering(export_lines(runner, tmp_path))[:4]
    for resource in lines:
        resource["subject"]["identifier"]["system"] = "urn:example:dry"
    path = write_lines(tmp_path / "in.ndjson", [*lines, {"resourceType": "QuestionnaireResponse", "status": "x"}])
    with app.app_context():
        before = db.session.scalar(select(func.count(Experience.id))), _cells(db.session, consenting_only=False)
    result = runner.invoke(args=["fhir", "import", "--dry-run", path])
    assert "Dry run, nothing written: 4 would add, 1 with errors" in result.output and result.exit_code == 1
    with app.app_context():
        after = db.session.scalar(select(func.count(Experience.id))), _cells(db.session, consenting_only=False)
        assert not db.session.scalar(select(func.count(User.id)).where(User.imported_from.is_not(None)))
    assert after == before


def test_a_changed_response_updates_the_experience_in_place(runner, community, app, tmp_path):
    from registry.reporting import report_upkeep

    resource = answering(export_lines(runner, tmp_path))[0]
    resource["subject"]["identifier"]["system"] = "urn:example:clinic"
    path = tmp_path / "in.ndjson"
    assert runner.invoke(args=["fhir", "import", write_lines(path, [resource])]).exit_code == 0
    for item in resource["item"]:
        if item["linkId"] == "effectiveness":
            old = item["answer"][0]["valueCoding"]["code"]
            new = "major" if old != "major" else "none"
            item["answer"] = [{"valueCoding": {"system": fhir.system_url("effectiveness"), "code": new}}]
    result = runner.invoke(args=["fhir", "import", write_lines(path, [resource])])
    assert "1 updated, 0 with errors" in result.output
    with app.app_context():
        imported = db.session.scalars(
            select(Experience)
            .join(User, User.id == Experience.user_id)
            .where(User.imported_from == "fhir:urn:example:clinic")
        ).all()
        assert [e.effectiveness for e in imported] == [new]
        assert imported[0].updated_at.strftime("%Y-%m") == resource["authored"]  # as given, not today
        assert report_upkeep.check(db.session) == []


# --- the follow-up history (issue 19) ------------------------------------------------------------------

UPDATES = [
    {
        "stopped": None,
        "stop_reasons": [],
        "effectiveness": "major",
        "side_effect_severity": "none",
        "satisfaction": 9,
        "would_recommend": "yes",
    },
    {
        "stopped": "2024-12",
        "stop_reasons": ["side_effects", "cost"],
        "effectiveness": "slight",
        "side_effect_severity": "severe",
        "satisfaction": 3,
        "would_recommend": "no",
    },
]
# When each point was recorded: days of the month too, which the export must not tell.
RECORDED = ["2024-01-17T10:00:00", "2024-07-09T08:30:00", "2025-01-23T19:45:00"]


@pytest.fixture
def history(app, make):
    """A consenting participant's experience with a history of three points; a declining one's with two."""
    from datetime import datetime, timezone

    from registry.accounts import auth
    from registry.contributions import followups
    from registry.models import ExperienceUpdate

    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])
    consents = make.user(email="consents@example.org", pseudonym="consenting-member")
    declines = make.user(email="declines@example.org")
    eid = make.experience(user_id=consents, started="2024-01", effectiveness="moderate", satisfaction=6)
    other = make.experience(user_id=declines, started="2024-01")
    with app.app_context():
        auth.set_consent(db.session.get(User, consents), True)
        for answers in UPDATES:  # original, update, update
            followups.add_update(db.session.get(User, consents), db.session.get(Experience, eid), answers)
        followups.add_update(db.session.get(User, declines), db.session.get(Experience, other), UPDATES[0])
        points = db.session.scalars(
            select(ExperienceUpdate).where(ExperienceUpdate.experience_id == eid).order_by(ExperienceUpdate.id)
        ).all()
        assert [p.kind for p in points] == ["original", "update", "update"]
        for point, when in zip(points, RECORDED, strict=True):
            point.recorded_at = datetime.fromisoformat(when).replace(tzinfo=timezone.utc)
        db.session.commit()
    return eid


def test_a_history_of_three_points_exports_three_follow_up_responses(runner, app, history, tmp_path):
    import csv

    every = export_lines(runner, tmp_path)
    (main,) = answering(every)  # the declining participant's experience and history are left out
    points = answering(every, fhir.FOLLOWUP_QUESTIONNAIRE)
    responses = [r for r in every if r["resourceType"] == "QuestionnaireResponse"]
    assert len(responses) == 4 and responses[0] is main  # the experiences first, then the points
    for point in points:
        QuestionnaireResponse.model_validate(point)
        assert point["status"] == "completed" and point["subject"] == main["subject"]
        (of,) = point["extension"]
        assert of["url"] == fhir.FOLLOW_UP_OF_EXTENSION
        assert of["valueReference"]["reference"] == f"QuestionnaireResponse/{main['id']}"
        assert of["valueReference"]["identifier"] == main["identifier"]
        assert (
            point["identifier"]["value"] == point["id"] and "/sid/experience-update/" in point["identifier"]["system"]
        )
    assert [p["authored"] for p in points] == ["2024-01", "2024-07", "2025-01"]  # months, as in the CSV

    def answers(point):
        found = {}
        for item in point["item"]:
            values = [a.get("valueCoding", {}).get("code", next(iter(a.values()))) for a in item["answer"]]
            found[item["linkId"]] = values if item["linkId"] == "stop_reasons" else values[0]
        return found

    original, first, second = (answers(p) for p in points)
    assert original == {
        "kind": "original",
        "months_since_start": 0,
        "effectiveness": "moderate",
        "side_effect_severity": "mild",
        "satisfaction": 6,
        "would_recommend": "yes",
    }
    assert first == {
        "kind": "update",
        "months_since_start": 6,
        "effectiveness": "major",
        "side_effect_severity": "none",
        "satisfaction": 9,
        "would_recommend": "yes",
    }
    assert second == {
        "kind": "update",
        "months_since_start": 12,
        "stopped": "2024-12",
        "stop_reasons": ["cost", "side_effects"],
        "effectiveness": "slight",
        "side_effect_severity": "severe",
        "satisfaction": 3,
        "would_recommend": "no",
    }
    # The coded answers are those of the main questionnaire's CodeSystems.
    effect = next(i for i in points[2]["item"] if i["linkId"] == "effectiveness")["answer"][0]["valueCoding"]
    assert effect == {
        "system": fhir.system_url("effectiveness"),
        "code": "slight",
        "display": scales.EFFECTIVENESS.label("slight"),
    }
    # The same pseudonyms as experience_updates.csv; nothing more precise than its year-months.
    out = tmp_path / "csv"
    assert runner.invoke(args=["export", "--out", str(out)]).exit_code == 0
    with open(out / "experience_updates.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["update_id"] for r in rows] == [p["id"] for p in points]
    assert {r["participant_id"] for r in rows} == {main["subject"]["identifier"]["value"]}
    assert [r["recorded"] for r in rows] == [p["authored"] for p in points]
    content = (tmp_path / "out.ndjson").read_text(encoding="utf-8")
    assert not re.search(r"\d{4}-\d{2}-\d{2}", content) and "T10:00" not in content
    assert "@example.org" not in content and "consenting-member" not in content
    with app.app_context():
        from registry.models import ExperienceUpdate

        row_ids = {str(i) for i in db.session.scalars(select(ExperienceUpdate.id))} | {str(history)}
    ids = {p["id"] for p in points} | {p["identifier"]["value"] for p in points} | {main["id"]}
    assert not ids & row_ids  # keyed hashes, never row ids


def test_follow_up_responses_are_imported_as_the_experiences_history(runner, app, history, empty_registry, tmp_path):
    export_lines(runner, tmp_path)
    with empty_registry.app_context():
        from registry.catalog import catalog

        catalog.add_treatment("Sumatriptan", "drug")
        catalog.add_condition("Migraine", "G43")
        db.session.commit()
    other = empty_registry.test_cli_runner()
    dry = other.invoke(args=["fhir", "import", "--dry-run", str(tmp_path / "out.ndjson")])
    assert "4 would add, 4 skipped, 0 with errors" in dry.output, dry.output  # definitions are skipped
    result = other.invoke(args=["fhir", "import", str(tmp_path / "out.ndjson")])
    assert result.exit_code == 0 and "4 added, 4 skipped, 0 with errors" in result.output, result.output
    again = other.invoke(args=["fhir", "import", str(tmp_path / "out.ndjson")])
    assert "4 unchanged, 4 skipped, 0 with errors" in again.output
    with empty_registry.app_context():
        from registry.models import ExperienceUpdate

        (imported,) = db.session.scalars(select(Experience)).all()
        assert (imported.effectiveness, imported.stopped) == ("slight", "2024-12")  # the latest answers
        points = db.session.scalars(select(ExperienceUpdate).order_by(ExperienceUpdate.recorded_at)).all()
        assert [(p.kind, f"{p.recorded_at:%Y-%m}", p.effectiveness, p.stop_reasons) for p in points] == [
            ("original", "2024-01", "moderate", None),
            ("update", "2024-07", "major", None),
            ("update", "2025-01", "slight", "cost side_effects"),
        ]
        assert all(p.experience_id == imported.id and p.report_key == imported.report_key for p in points)


def test_a_follow_up_without_its_experience_is_refused(runner, app, history, empty_registry, tmp_path):
    every = export_lines(runner, tmp_path)
    points = answering(every, fhir.FOLLOWUP_QUESTIONNAIRE)
    broken = json.loads(json.dumps(points[1]))
    broken["item"] = [i for i in broken["item"] if i["linkId"] != "kind"]
    other = empty_registry.test_cli_runner()
    result = other.invoke(args=["fhir", "import", write_lines(tmp_path / "in.ndjson", [points[0], broken])])
    assert result.exit_code == 1 and "line 1: a follow-up of experience" in result.output
    assert "line 2: kind: an answer is required" in result.output
    with pytest.raises(fhir.ResponseError, match="not the treatment-experience questionnaire"):
        fhir.parse_response(json.dumps(points[0]))


def test_the_catalog_value_sets_and_code_systems_are_served(client, make):
    from fhir.resources.R4B.valueset import ValueSet

    make.treatment("Cold showers", kind="lifestyle")
    make.condition("Migraine", "G43", treatments=["cold-showers"])
    conditions = client.get("/fhir/ValueSet/condition")
    assert conditions.status_code == 200 and conditions.mimetype == fhir.FHIR_JSON
    ValueSet.model_validate(conditions.get_json())
    assert conditions.get_json()["compose"]["include"] == [
        {"system": fhir.ICD10CM, "concept": [{"code": "G43", "display": "Migraine"}]}
    ]
    own = client.get("/fhir/CodeSystem/catalog-treatment").get_json()
    CodeSystem.model_validate(own)
    assert own["url"] == fhir.CATALOG_TREATMENT and own["concept"] == [
        {"code": "cold-showers", "display": "Cold showers"}
    ]
    items = {i["linkId"]: i for i in fhir.questionnaire("treatment-experience")["item"]}
    assert items["treatment"]["answerValueSet"] == fhir.value_set_url("treatment")
    assert client.get("/fhir/ValueSet/doctor").status_code == 404


def test_the_follow_up_questionnaire_is_served(client):
    resource = client.get(f"/fhir/Questionnaire/{fhir.FOLLOWUP_QUESTIONNAIRE}").get_json()
    assert resource["url"] == f"{fhir.CANONICAL}/Questionnaire/{fhir.FOLLOWUP_QUESTIONNAIRE}"
    kinds = client.get("/fhir/CodeSystem/update-kind").get_json()
    CodeSystem.model_validate(kinds)
    assert [c["code"] for c in kinds["concept"]] == ["original", "edit", "update"]
