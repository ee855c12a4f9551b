"""FHIR R4 (registry.fhir, registry.views.fhir, `registry fhir export|import`, FHIR import in registry.importer)."""

import json
import re

import pytest
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from sqlalchemy import func, select

import scales
from registry import fhir
from registry.extensions import db
from registry.models import Condition, Experience, Treatment, User, report_cell, report_term


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
    from registry.forms.experience import ExperienceForm
    from registry.forms.rating import DoctorRatingForm

    response = client.get(f"/fhir/Questionnaire/{name}")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    resource = response.get_json()
    Questionnaire.model_validate(resource)
    link_ids = [item["linkId"] for item in resource["item"]]
    form = ExperienceForm if name == "treatment-experience" else DoctorRatingForm
    assert set(fhir._form_fields(form)) <= set(link_ids)  # one item per form field, named as the field
    by_id = {item["linkId"]: item for item in resource["item"]}
    if name == "treatment-experience":
        assert [o["valueCoding"]["code"] for o in by_id["effectiveness"]["answerOption"]] == list(scales.EFFECTIVENESS)
        assert by_id["effectiveness"]["required"] and not by_id["adherence"].get("required")
        assert by_id["side_effects"]["type"] == "open-choice" and by_id["stop_reasons"]["repeats"]
        assert by_id["tips"]["maxLength"] == scales.TIPS_MAX_LENGTH
    else:
        assert [o["valueCoding"]["code"] for o in by_id["would_recommend"]["answerOption"]] == list(
            scales.DOCTOR_RECOMMEND
        )


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
    lines = export_lines(runner, tmp_path, "--with-text")
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

    lines = export_lines(runner, tmp_path, "--condition", "epilepsy", "--since", "2020-01")
    conditions = {i["answer"][0]["valueCoding"]["code"] for r in lines for i in r["item"] if i["linkId"] == "condition"}
    assert lines and conditions == {"G40"}
    assert all(r["extension"][0]["valueDateTime"] >= "2020-01" for r in lines)
    assert not any(i["linkId"] == "tips" for r in lines for i in r["item"])
    with app.app_context():
        log = db.session.scalar(select(ExportLog))
        assert log.filters["format"] == "fhir" and log.row_counts == {"responses": len(lines)}
    bad = runner.invoke(args=["fhir", "export", "--out", str(tmp_path / "x"), "--condition", "nope"])
    assert bad.exit_code == 2 and "no condition nope" in bad.output


def test_researchers_download_the_fhir_file(client, auth, community, app):
    auth.login(email="researcher@example.org", role="researcher")
    response = client.post("/research/export", data={"conditions": ["migraine"], "format": "fhir"})
    assert response.status_code == 200 and response.mimetype == "application/fhir+ndjson"
    lines = [json.loads(line) for line in response.data.decode().splitlines()]
    assert lines and all(r["resourceType"] == "QuestionnaireResponse" for r in lines)
    assert 'value="fhir"' in client.get("/research").text


# --- round trip and import ---------------------------------------------------------------------------


def _cells(session, consenting_only: bool):
    """Aggregate count columns keyed by slugs (ids differ between registries); consenting rows only if asked."""
    from registry import report_upkeep

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

    from registry import MIGRATIONS, create_app

    other = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "other",
            "EXPORT_KEY": "other-export-key",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'other.sqlite'}",
            "RATELIMIT_ENABLED": False,
        }
    )
    with other.app_context():
        upgrade(directory=str(MIGRATIONS))
    yield other
    with other.app_context():
        db.engine.dispose()


def test_round_trip_keeps_every_aggregate(runner, app, empty_registry, tmp_path):
    assert runner.invoke(args=["init"]).exit_code == 0
    assert runner.invoke(args=["seed-demo", "--experiences", "600", "--seed", "3"]).exit_code == 0
    lines = export_lines(runner, tmp_path, "--with-text")
    with app.app_context():
        expected = _cells(db.session, consenting_only=True)
    assert empty_registry.test_cli_runner().invoke(args=["init"]).exit_code == 0
    result = empty_registry.test_cli_runner().invoke(args=["fhir", "import", str(tmp_path / "out.ndjson")])
    assert result.exit_code == 0, result.output
    assert f"{len(lines):,} added, 0 with errors" in result.output
    with empty_registry.app_context():
        imported = _cells(db.session, consenting_only=False)
        from registry import report_upkeep

        assert report_upkeep.check(db.session) == []
    assert imported[0] == expected[0] and imported[1] == expected[1]
    assert sum(c["n"] for c in imported[0].values()) == len(lines)


def test_import_is_idempotent_reports_bad_lines_and_creates_participants_without_login(
    runner, community, app, empty_registry, tmp_path, make
):
    good = export_lines(runner, tmp_path)[:5]
    other = empty_registry.test_cli_runner()
    with empty_registry.app_context():
        from registry import catalog

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
    from registry import importer

    lines = export_lines(runner, tmp_path)[:3]
    with app.app_context():
        before = _cells(db.session, consenting_only=False), db.session.scalar(select(func.count(User.id)))
    real_save = importer._save
    calls = []

    def save_then_fail(*args):
        calls.append(1)
        outcome = real_save(*args)
        if len(calls) == 2:
            raise importer.LineError("disk full (simulated)")
        return outcome

    monkeypatch.setattr(importer, "_save", save_then_fail)
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
    resource = export_lines(runner, tmp_path)[0]
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


def test_dry_run_checks_every_line_and_writes_nothing(runner, community, app, tmp_path):
    lines = export_lines(runner, tmp_path)[:4]
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
    from registry import report_upkeep

    resource = export_lines(runner, tmp_path)[0]
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
