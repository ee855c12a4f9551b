"""Labelled research files (registry.interchange.labelled): Stata, SPSS, the R script, the data dictionary, the DuckDB loader."""

import csv
import io
import shutil
import subprocess
import zipfile
from datetime import date

import pyreadstat
import pytest

import scales
from registry.interchange import codebook, labelled

TABLES = list(codebook.schemas(True))
MONTH_FORMATS = {"stata": "%tdCCYY-NN", "spss": "MOYR8"}


@pytest.fixture
def community(make, runner):
    for name in ["Sumatriptan", "Topiramate"]:
        make.treatment(name)
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate"])
    result = runner.invoke(args=["seed-demo", "--experiences", "150", "--seed", "3", "--doctor-ratings", "40"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def exported(runner, community, tmp_path):
    out = tmp_path / "export"
    result = runner.invoke(args=["export", "--out", str(out), "--with-text", "--labelled"])
    assert result.exit_code == 0, result.output
    return out


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _month(value: float, kind: str):
    """A Stata %td (days since 1960) or SPSS date (seconds since 1582-10-14) as a date."""
    if kind == "stata":
        return date.fromordinal(date(1960, 1, 1).toordinal() + int(value))
    return date.fromordinal(date(1582, 10, 14).toordinal() + int(value) // 86400)


@pytest.mark.parametrize("kind", ["stata", "spss"])
def test_every_label_is_in_the_stata_and_spss_files(exported, kind):
    for table, schema in codebook.schemas(True).items():
        path = exported / f"{table}.{'dta' if kind == 'stata' else 'sav'}"
        if kind == "stata":
            frame, meta = pyreadstat.read_dta(path)
        else:
            frame, meta = pyreadstat.read_sav(path, user_missing=True)
        rows = read_csv(exported / f"{table}.csv")
        assert len(frame) == len(rows) and meta.column_names == [f["name"] for f in schema["fields"]], table
        for spec in schema["fields"]:
            name = spec["name"]
            assert meta.column_names_to_labels[name] == labelled.short_label(spec, 80 if kind == "stata" else 256)
            assert meta.column_names_to_labels[name], (table, name)
            enum = spec.get("constraints", {}).get("enum")
            if enum:  # value labels 1..k in scale order, each code's label
                expected = {i: c["label"] for i, c in enumerate(spec["categories"], 1)}
                assert {int(k): v for k, v in meta.variable_value_labels[name].items()} == expected, (table, name)
                codes = [None if v != v else enum[int(v) - 1] for v in frame[name]]
                assert codes == [r[name] or None for r in rows], (table, name)
            elif codebook.is_month(spec):
                assert meta.original_variable_types[name] == MONTH_FORMATS[kind]
                months = [None if v != v else _month(v, kind) for v in frame[name]]
                assert [m and f"{m:%Y-%m}" for m in months] == [r[name] or None for r in rows], (table, name)
                assert all(m is None or m.day == 1 for m in months)
    if kind == "spss":  # ordinal scales measured as ordinal; answers outside the order user-missing
        _, meta = pyreadstat.read_sav(exported / "experiences.sav", user_missing=True)
        assert meta.variable_measure["side_effect_severity"] == "ordinal" and meta.variable_measure["role"] == "nominal"
        cant_tell = scales.EFFECTIVENESS.codes.index("cant_tell") + 1
        assert meta.missing_ranges["effectiveness"] == [{"lo": cant_tell, "hi": cant_tell}]


def test_data_dictionary_has_redcaps_columns_and_every_field(exported):
    with open(exported / "data_dictionary.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == labelled.REDCAP_COLUMNS and rows[0][0] == "Variable / Field Name"
    body = [dict(zip(rows[0], r)) for r in rows[1:]]
    expected = [(table, f["name"]) for table, schema in codebook.schemas(True).items() for f in schema["fields"]]
    assert [(r["Form Name"], r["Variable / Field Name"]) for r in body] == expected
    by = {(r["Form Name"], r["Variable / Field Name"]): r for r in body}
    severity = by["experiences", "side_effect_severity"]
    assert severity["Field Type"] == "dropdown" and severity["Required Field?"] == "y"
    assert severity["Choices, Calculations, OR Slider Labels"] == " | ".join(
        f"{code}, {text}" for code, text in scales.SIDE_EFFECT_SEVERITY.options
    )
    assert "Ordered as listed" in severity["Field Note"] and "Ordered" not in by["experiences", "role"]["Field Note"]
    assert by["experiences", "satisfaction"]["Text Validation Type OR Show Slider Number"] == "integer"
    assert (
        by["experiences", "satisfaction"]["Text Validation Min"],
        by["experiences", "satisfaction"]["Text Validation Max"],
    ) == ("1", "10")
    assert by["experiences", "tips"]["Field Type"] == "notes" and by["experiences", "tips"]["Identifier?"] == "y"
    assert "month precision" in by["experiences", "started"]["Field Note"]


def test_the_r_script_reads_every_column_with_its_scale(exported):
    script = (exported / "read_registry.R").read_text()
    assert "library(" not in script and "require(" not in script  # base R only
    for table, schema in codebook.schemas(True).items():
        assert f'{table} <- read_export("{table}")' in script
        for spec in schema["fields"]:
            assert f"{table}${spec['name']} <- labelled(" in script
    levels = ", ".join(f'"{c}"' for c in scales.EFFECTIVENESS.codes)
    assert f"levels = c({levels})" in script
    assert "experiences$started <- labelled(as_month(experiences$started)" in script
    assert 'ordered = TRUE), "Side effects at their worst.")' in script


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_r_reads_the_export(exported):
    check = (
        'source("read_registry.R"); stopifnot(is.ordered(experiences$side_effect_severity), '
        "!is.ordered(experiences$role), inherits(experiences$started, 'Date'), "
        "identical(levels(experiences$effectiveness)[1], 'Made it worse')); cat(nrow(experiences))"
    )
    done = subprocess.run(["Rscript", "-e", check], cwd=exported, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(read_csv(exported / "experiences.csv"))


def test_duckdb_types_are_one_per_scale():
    types = labelled.enum_types(codebook.schemas(True))
    assert types["experiences", "effectiveness"] == types["experience_updates", "effectiveness"] == "effectiveness"
    assert types["experiences", "would_recommend"] != types["doctor_ratings", "would_recommend"]
    assert types["doctor_ratings", "explained_clearly"] == types["doctor_ratings", "got_appointment"]


def test_researchers_download_the_labelled_files_in_the_zip(client, auth, community, app):
    from sqlalchemy import select

    from registry.models import ExportLog
    from registry.platform.extensions import db

    auth.login(email="researcher@example.org", role="researcher")
    response = client.post("/research/export", data={"labelled": "y", "format": "parquet"})
    assert response.status_code == 200
    names = set(zipfile.ZipFile(io.BytesIO(response.data)).namelist())
    assert {f"{t}.{ext}" for t in TABLES for ext in ("dta", "sav", "parquet")} <= names
    assert {"data_dictionary.csv", "load_duckdb.sql"} <= names and "read_registry.R" not in names
    plain = client.post("/research/export", data={})
    assert not any(n.endswith((".dta", ".sav")) for n in zipfile.ZipFile(io.BytesIO(plain.data)).namelist())
    with app.app_context():
        logs = db.session.scalars(select(ExportLog).order_by(ExportLog.id)).all()
        assert logs[0].filters == {"format": "parquet", "labelled": True} and logs[1].filters == {}
