"""The Parquet export (registry.interchange.parquet, `registry export --format parquet`, the researcher page)."""

import csv
import io
import json
import zipfile
from datetime import date

import pandas as pd
import pyarrow.parquet as pq
import pytest

import scales
from registry.interchange import codebook, parquet

TABLES = [
    "experiences",
    "experience_side_effects",
    "experience_stop_reasons",
    "experience_updates",
    "experience_update_stop_reasons",
    "doctor_ratings",
    "conditions",
    "treatments",
    "doctors",
]


@pytest.fixture
def community(make, runner):
    for name in ["Sumatriptan", "Topiramate", "Propranolol"]:
        make.treatment(name)
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate", "propranolol"])
    make.condition("Epilepsy", "G40", treatments=["topiramate"])
    result = runner.invoke(args=["seed-demo", "--experiences", "400", "--seed", "5", "--doctor-ratings", "120"])
    assert result.exit_code == 0, result.output


def export(runner, out, *args):
    result = runner.invoke(args=["export", "--out", str(out), "--with-text", *args])
    assert result.exit_code == 0, result.output
    return out


def as_text(value) -> str:
    """A Parquet value as the CSV export writes it (None is an empty cell, a month's first day YYYY-MM)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, date):
        assert value.day == 1  # month precision
        return f"{value:%Y-%m}"
    return str(value)


def test_parquet_read_back_with_pandas_equals_the_csv_export(runner, community, tmp_path, monkeypatch):
    monkeypatch.setattr(parquet, "ROW_GROUP", 100)  # several row groups, as at scale
    csv_dir = export(runner, tmp_path / "csv")
    parquet_dir = export(runner, tmp_path / "parquet", "--format", "parquet")
    for name in TABLES:
        with open(csv_dir / f"{name}.csv", encoding="utf-8", newline="") as handle:
            expected = list(csv.DictReader(handle))
        frame = pd.read_parquet(parquet_dir / f"{name}.parquet")
        assert list(frame.columns) == list(expected[0].keys()) if expected else True, name
        got = [{c: as_text(v) for c, v in row.items()} for row in frame.astype(object).to_dict("records")]
        assert got == expected, name
    assert pq.ParquetFile(parquet_dir / "experiences.parquet").metadata.num_row_groups > 1


def test_columns_are_typed_and_codes_are_categoricals_in_scale_order(runner, community, tmp_path):
    frame = pd.read_parquet(export(runner, tmp_path, "--format", "parquet") / "experiences.parquet")
    assert isinstance(frame["effectiveness"].dtype, pd.CategoricalDtype)
    assert list(frame["effectiveness"].cat.categories) == list(scales.EFFECTIVENESS.codes)
    assert list(frame["cost_per_month"].cat.categories) == list(scales.COST_PER_MONTH.codes)
    assert frame["satisfaction"].dtype.kind == "i" and frame["satisfaction"].between(1, 10).all()
    assert frame["dose_amount"].dtype.kind == "f"
    schema = pq.read_schema(tmp_path / "experiences.parquet")
    assert not schema.field("effectiveness").nullable and schema.field("adherence").nullable
    assert b"Codes: worse = Made it worse" in schema.field("effectiveness").metadata[b"description"]


def test_same_datapackage_describes_the_parquet_files(runner, community, tmp_path):
    csv_package = json.loads((export(runner, tmp_path / "csv") / "datapackage.json").read_text())
    package = json.loads((export(runner, tmp_path / "pq", "--format", "parquet") / "datapackage.json").read_text())
    assert [r["path"] for r in package["resources"]] == [f"{name}.parquet" for name in TABLES]
    assert all(r["format"] == "parquet" and r["mediatype"] == parquet.MEDIATYPE for r in package["resources"])
    for ours, theirs in zip(package["resources"], csv_package["resources"]):
        assert ours["description"] == theirs["description"]
        assert ours["schema"]["primaryKey"] == theirs["schema"]["primaryKey"]
        for mine, csvs in zip(ours["schema"]["fields"], theirs["schema"]["fields"], strict=True):
            if codebook.is_month(csvs):  # a date in Parquet, YYYY-MM text in CSV, month precision in both
                assert mine["type"] == "date" and "Month precision" in mine["description"] == csvs["description"]
            else:
                assert mine == csvs
    with runner.app.app_context():  # the labels' translations are the app's offered languages
        assert package["resources"][0]["schema"] == codebook.parquet_schema(codebook.schemas(True)["experiences"])


MONTHS = {
    "experiences": ["started", "stopped", "reported", "updated"],
    "experience_updates": ["recorded", "stopped"],
    "doctor_ratings": ["last_visit", "rated"],
}
ORDERED = ["age_band", "years_since_diagnosis", "effectiveness", "side_effect_severity", "adherence", "burden"]


def test_duckdb_reads_ordered_enums_and_dates(runner, community, tmp_path, monkeypatch):
    import duckdb

    out = export(runner, tmp_path, "--format", "parquet")
    schema = pq.read_schema(out / "experiences.parquet")
    assert all(schema.field(name).type.ordered for name in ORDERED + ["cost_per_month"])
    assert not schema.field("role").type.ordered and not schema.field("sex").type.ordered
    monkeypatch.chdir(out)  # the loader reads the files of the folder it runs in
    con = duckdb.connect()
    con.execute((out / "load_duckdb.sql").read_text())  # the export's own loader: ENUM types in scale order
    types = {
        table: dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
        for table in MONTHS
    }
    for table, months in MONTHS.items():
        assert all(types[table][m] == "DATE" for m in months), (table, types[table])
    assert types["experiences"]["effectiveness"].startswith("ENUM('worse', 'none', 'slight', 'moderate', 'major'")
    assert types["doctor_ratings"]["explained_clearly"].startswith("ENUM('never', 'sometimes', 'usually', 'always'")
    # ENUMs compare in scale order, not alphabetically ('none' < 'mild' although 'n' > 'm'), when both sides are
    # the ENUM (a bare literal would make DuckDB compare text).
    query = "SELECT count(*) FROM experiences WHERE side_effect_severity > 'mild'::side_effect_severity"
    better = con.execute(query).fetchone()[0]
    frame = pd.read_parquet(out / "experiences.parquet")
    assert better == frame["side_effect_severity"].isin(["moderate", "severe", "very_severe"]).sum() > 0
    assert frame["side_effect_severity"].cat.ordered and not frame["role"].cat.ordered
    days = con.execute("SELECT DISTINCT day(started) FROM experiences").fetchall()
    assert days == [(1,)]
    assert con.execute("SELECT count(*) FROM experiences").fetchone()[0] == len(frame)


def test_parquet_package_is_a_valid_frictionless_package(runner, community, tmp_path):
    from frictionless import validate

    report = validate(str(export(runner, tmp_path, "--format", "parquet") / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]


def test_an_empty_export_still_writes_every_typed_file(runner, app, tmp_path):
    out = export(runner, tmp_path, "--format", "parquet")
    for name in TABLES:
        table = pq.read_table(out / f"{name}.parquet")
        assert table.num_rows == 0 and table.schema.names == [f["name"] for f in codebook.schemas(True)[name]["fields"]]


def test_researchers_download_parquet_in_a_zip(client, auth, community, app):
    from sqlalchemy import select

    from registry.models import ExportLog
    from registry.platform.extensions import db

    auth.login(email="researcher@example.org", role="researcher")
    response = client.post("/research/export", data={"conditions": ["migraine"], "format": "parquet"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert {f"{name}.parquet" for name in TABLES} | {"datapackage.json", "load_duckdb.sql"} <= set(archive.namelist())
    frame = pd.read_parquet(io.BytesIO(archive.read("experiences.parquet")))
    assert len(frame) > 0 and set(frame["condition"]) == {"migraine"}
    with app.app_context():
        log = db.session.scalar(select(ExportLog))
        assert log.filters == {"conditions": ["migraine"], "format": "parquet"}
        assert log.row_counts["experiences"] == len(frame)


def test_unknown_format_is_refused(client, auth, community):
    auth.login(email="researcher@example.org", role="researcher")
    response = client.post("/research/export", data={"format": "xlsx"})
    assert response.status_code == 400 and "Not a valid choice" in response.text
