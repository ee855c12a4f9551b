"""The research export (registry.interchange.export, registry.interchange.codebook, registry.web.views.research, `registry export`)."""

import csv
import io
import re
import zipfile
from collections import Counter

import pytest
from sqlalchemy import select, update

from registry.models import ExportLog, User
from registry.platform.extensions import db


@pytest.fixture
def community(make, runner, app):
    for name in ["Sumatriptan", "Topiramate", "Propranolol"]:
        make.treatment(name)
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate", "propranolol"])
    make.condition("Epilepsy", "G40", treatments=["topiramate"])
    result = runner.invoke(args=["seed-demo", "--experiences", "400", "--seed", "5", "--doctor-ratings", "120"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def tipster(make, app):
    """A consenting participant whose tip is a spreadsheet formula."""
    user_id = make.user(email="tipster@example.org", pseudonym="tipster-pseudonym", birth_year=1970)
    with app.app_context():
        from registry.accounts import auth

        auth.set_consent(db.session.get(User, user_id), True)
        db.session.commit()
    make.experience(user_id=user_id, tips="=SUM(A1:A9)*2", side_effects=["nausea"])
    return user_id


def export_dir(runner, tmp_path, *args):
    out = tmp_path / "export"
    result = runner.invoke(args=["export", "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return out


def read(out, name):
    with open(out / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_export_is_a_valid_frictionless_package(runner, community, tmp_path):
    from frictionless import validate

    out = export_dir(runner, tmp_path, "--with-text")
    report = validate(str(out / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    assert len(read(out, "doctor_ratings")) > 0


def test_counts_equal_the_registrys_own_for_consenting_participants(runner, community, app, tmp_path):
    from registry.models import Condition, Experience, Treatment

    out = export_dir(runner, tmp_path)
    exported = Counter((r["condition"], r["treatment"]) for r in read(out, "experiences"))
    with app.app_context():
        rows = db.session.execute(
            select(Condition.slug, Treatment.slug)
            .join(Experience, Experience.condition_id == Condition.id)
            .join(Treatment, Treatment.id == Experience.treatment_id)
            .join(User, User.id == Experience.user_id)
            .where(User.research_consent_at.is_not(None))
        ).all()
        everyone = db.session.scalar(select(db.func.count(Experience.id)))
    assert exported == Counter(tuple(r) for r in rows)
    assert 0 < sum(exported.values()) < everyone  # the non-consenting are left out


def test_no_identifier_or_exact_date_and_formulas_neutralized(runner, community, tipster, app, tmp_path):
    out = export_dir(runner, tmp_path, "--with-text")
    with app.app_context():
        users = db.session.scalars(select(User)).all()
        emails = {u.email for u in users}
        pseudonyms = {u.pseudonym for u in users}
        ids = {str(u.id) for u in users}
    text = {path.name: path.read_text(encoding="utf-8") for path in out.iterdir()}
    for name, content in text.items():
        assert not any(email in content for email in emails), name
        assert not any(p in content for p in pseudonyms), name
        assert not re.search(r"\d{4}-\d{2}-\d{2}", content) or name == "datapackage.json", name
    participant_ids = {r["participant_id"] for r in read(out, "experiences")}
    assert not participant_ids & ids
    tips = [r["tips"] for r in read(out, "experiences") if r["tips"].startswith("'=")]
    assert tips == ["'=SUM(A1:A9)*2"]


def test_withdrawn_participant_vanishes_from_the_next_export(runner, community, tipster, app, tmp_path):
    from registry.accounts import auth

    first = read(export_dir(runner, tmp_path / "a"), "experiences")
    with app.app_context():
        auth.set_consent(db.session.get(User, tipster), False)
        db.session.commit()
    second = read(export_dir(runner, tmp_path / "b"), "experiences")
    assert len(second) == len(first) - 1
    # Pseudonymous ids are stable between exports.
    assert {r["participant_id"] for r in second} < {r["participant_id"] for r in first}


def test_filters_and_free_text_on_request(runner, community, tmp_path):
    out = export_dir(runner, tmp_path, "--condition", "epilepsy", "--since", "2020-01", "--until", "2030-12")
    rows = read(out, "experiences")
    assert rows and {r["condition"] for r in rows} == {"epilepsy"}
    assert all(r["reported"] >= "2020-01" for r in rows)
    assert "tips" not in rows[0]
    bad = runner.invoke(args=["export", "--out", str(tmp_path / "x"), "--condition", "nope"])
    assert bad.exit_code == 2 and "no condition nope" in bad.output


def test_web_download_streams_a_zip_and_logs_it(client, auth, community, app):
    auth.login(email="researcher@example.org", role="researcher")
    response = client.post("/research/export", data={"conditions": ["migraine"], "with_text": "y"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert set(archive.namelist()) == {
        "experiences.csv",
        "experience_side_effects.csv",
        "experience_stop_reasons.csv",
        "experience_updates.csv",
        "experience_update_stop_reasons.csv",
        "doctor_ratings.csv",
        "conditions.csv",
        "treatments.csv",
        "doctors.csv",
        "datapackage.json",
        "data_dictionary.csv",
        "read_registry.R",
    }
    rows = list(csv.DictReader(io.StringIO(archive.read("experiences.csv").decode())))
    assert {r["condition"] for r in rows} == {"migraine"}
    with app.app_context():
        log = db.session.scalar(select(ExportLog))
        assert log.via == "web" and log.filters == {"conditions": ["migraine"]} and log.with_text
        assert log.row_counts["experiences"] == len(rows) and log.finished_at is not None


@pytest.mark.parametrize("role", [None, "patient", "moderator"])
def test_only_researchers_may_export(client, auth, community, role):
    if role:
        auth.login(email=f"{role}@example.org", role=role)
    response = client.post("/research/export", data={})
    assert response.status_code == (302 if role is None else 403)
    assert "Download the export" not in client.get("/research").text


def test_the_research_page_links_both_questionnaires_the_fhir_file_answers(client, auth):
    auth.login(email="researcher@example.org", role="researcher")
    page = client.get("/research").text
    for name in ("treatment-experience", "treatment-experience-follow-up"):
        assert f'href="/fhir/Questionnaire/{name}"' in page
        assert client.get(f"/fhir/Questionnaire/{name}").get_json()["resourceType"] == "Questionnaire"


def test_export_log_is_for_admins_only(client, auth):
    auth.login(email="r@example.org", role="researcher")
    assert client.get("/research/exports").status_code == 403
    auth.logout()
    auth.login(email="admin@example.org", role="admin")
    assert client.get("/research/exports").status_code == 200


def test_bad_export_filters_get_a_message(client, auth, community):
    auth.login(email="researcher@example.org", role="researcher")
    response = client.post("/research/export", data={"since": "2025-05", "until": "2024-01", "conditions": ["nope"]})
    assert response.status_code == 400
    assert "cannot be before the first month" in response.text and "not a valid choice" in response.text.lower()


def test_codebook_page_lists_every_field_and_code(client):
    page = client.get("/research/codebook").text
    assert "experiences.csv" in page and "cant_tell = Can&#39;t tell" in page and "definitely_yes" in page


def test_own_side_effect_words_are_exported_only_with_free_text(runner, community, tipster, make, tmp_path):
    make.experience(user_id=tipster, treatment="topiramate", side_effects=["john smith at 12 main street", "nausea"])
    plain = read(export_dir(runner, tmp_path / "plain"), "experience_side_effects")
    assert not any("john smith" in r["term"] for r in plain)
    assert {r["term"] for r in plain} <= set(__import__("scales").SIDE_EFFECT_STARTER_TERMS) | {"other"}
    with_text = read(export_dir(runner, tmp_path / "text", "--with-text"), "experience_side_effects")
    assert any(r["term"] == "john smith at 12 main street" for r in with_text)


def test_held_and_hidden_text_is_never_exported(runner, community, make, app, tmp_path):
    from registry.accounts import auth
    from registry.contributions import moderation

    user_id = make.user(email="held@example.org")
    with app.app_context():
        auth.set_consent(db.session.get(User, user_id), True)
        db.session.commit()
    make.experience(user_id=user_id, tips="Email me at held@example.org", effectiveness="major")
    make.experience(user_id=user_id, treatment="topiramate", tips="A dangerous claim")
    with app.app_context():
        from registry.models import Experience

        hidden = db.session.scalar(select(Experience).where(Experience.tips == "A dangerous claim"))
        moderation.set_text_state(db.session.get(User, user_id), "tip", hidden, "hidden", "Unsafe")
        db.session.commit()
    out = export_dir(runner, tmp_path, "--with-text")
    content = (out / "experiences.csv").read_text(encoding="utf-8")
    assert "held@example.org" not in content and "A dangerous claim" not in content
    # Their structured answers are still exported: only the words are withheld.
    rows = [
        r
        for r in read(out, "experiences")
        if r["condition"] == "migraine" and r["effectiveness"] == "major" and r["tips"] == ""
    ]
    assert rows


# What a spreadsheet runs as a formula when a cell starts with it (reports.csvout.FORMULA_STARTS).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Every free-text and name column of the export (table, column) and the text planted in it after the start.
PLANTED = {
    ("experiences", "tips"): "SUM(A1:A9) tip",
    ("experience_side_effects", "term"): "1+1 term",
    ("doctor_ratings", "comment"): "2+2 comment",
    ("conditions", "name"): 'HYPERLINK("x") condition',
    ("conditions", "icd10"): "G43",
    ("treatments", "name"): "cmd|' /C calc'!A0",
    ("treatments", "drugbank_id"): "DB01",
    ("treatments", "mesh_id"): "D01",
    ("doctors", "name"): "Dr. Formula",
    ("doctors", "specialty"): "Neurology",
    ("doctors", "city"): "Lyon",
    ("doctors", "country"): "X",
}
GENERATED = {
    "experience_id",
    "participant_id",
    "rating_id",
    "update_id",
    "condition",
    "treatment",
    "slug",
}  # keyed hashes, slugs


@pytest.fixture
def formulas(make, app):
    """A catalog and six consenting participants' reports whose every text starts with a formula character."""
    from registry.accounts import auth
    from registry.contributions import experiences, ratings
    from registry.models import Condition, Doctor, DoctorRating, Experience, Treatment
    from registry.reporting import report_upkeep

    with app.app_context():
        for i, start in enumerate(FORMULA_STARTS):
            text = {key: start + rest for key, rest in PLANTED.items()}
            condition = Condition(
                slug=f"formula-{i}",
                name=text["conditions", "name"],
                name_key=f"c{i}",
                icd10=text["conditions", "icd10"],
            )
            treatment = Treatment(
                slug=f"formula-{i}",
                name=text["treatments", "name"],
                name_key=f"t{i}",
                kind="drug",
                drugbank_id=text["treatments", "drugbank_id"],
                mesh_id=text["treatments", "mesh_id"],
            )
            doctor = Doctor(
                name=text["doctors", "name"],
                name_key=f"d{i}",
                specialty=text["doctors", "specialty"],
                city=text["doctors", "city"],
                city_key=f"l{i}",
                country=text["doctors", "country"],
            )
            condition.treatments.append(treatment)
            db.session.add_all([condition, treatment, doctor])
            user = auth.create_user(f"formula{i}@example.org", "correct horse battery", f"formula{i}")
            auth.set_consent(user, True)
            db.session.flush()
            answers = {
                "role": "patient",
                "started": "2024-01",
                "stopped": None,
                "effectiveness": "moderate",
                "side_effect_severity": "mild",
                "satisfaction": 7,
                "would_recommend": "yes",
                "tips": text["experiences", "tips"],
                "side_effects": [text["experience_side_effects", "term"]],
                "stop_reasons": [],
            }
            experiences.save(user, condition, treatment, answers, None)
            ratings.save(
                user,
                doctor,
                condition,
                {
                    "last_visit": "2025-06",
                    "overall": 9,
                    "explained_clearly": "always",
                    "listened_carefully": "always",
                    "showed_respect": "always",
                    "spent_enough_time": "always",
                    "got_appointment": "always",
                    "knowledge": 4,
                    "would_recommend": "definitely_yes",
                    "comment": text["doctor_ratings", "comment"],
                },
            )
        db.session.flush()
        with report_upkeep.bulk_write():  # text_state is not counted
            for model in (Experience, DoctorRating):  # moderation may hold odd text for review: publish it
                db.session.execute(update(model).values(text_state="public"))
        db.session.commit()


def exported_tables(runner, tmp_path, fmt):
    """Each exported table's rows as dicts, from the CSV files or the Parquet files."""
    from registry.interchange.codebook import schemas

    out = export_dir(runner, tmp_path / fmt, "--with-text", "--format", fmt)
    if fmt == "csv":
        return {name: read(out, name) for name in schemas(True)}
    import pyarrow.parquet as pq

    return {name: pq.read_table(out / f"{name}.parquet").to_pylist() for name in schemas(True)}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_free_text_and_name_column_is_neutralized(runner, formulas, tmp_path, fmt):
    """A text cell starting with = + - @ tab or CR comes out whole, behind a single quote, in every such column."""
    from registry.interchange.codebook import schemas

    free = {
        (name, f["name"])
        for name, schema in schemas(True).items()
        for f in schema["fields"]
        if f["type"] == "string"
        and not {"enum", "pattern"} & set(f.get("constraints", {}))
        and f["name"] not in GENERATED
    }
    assert free == set(PLANTED)  # a new free-text column is planted here too
    tables = exported_tables(runner, tmp_path, fmt)
    for (name, column), rest in PLANTED.items():
        values = sorted(row[column] for row in tables[name] if row[column])
        assert values == sorted("'" + start + rest for start in FORMULA_STARTS), (fmt, name, column)
