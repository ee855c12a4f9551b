"""The Parquet export (registry.parquet, `registry export --format parquet`, the researcher page)."""

import csv
import io
import json
import zipfile

import pandas as pd
import pyarrow.parquet as pq
import pytest

import scales
from registry import codebook, parquet

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
    """A Parquet value as the CSV export writes it (None is an empty cell)."""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


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
        assert ours["schema"]["fields"] == theirs["schema"]["fields"] and ours["description"] == theirs["description"]
        assert ours["schema"]["primaryKey"] == theirs["schema"]["primaryKey"]
    assert package["resources"][0]["schema"]["fields"] == codebook.schemas(True)["experiences"]["fields"]


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

    from registry.extensions import db
    from registry.models import ExportLog

    auth.login(email="researcher@example.org", role="researcher")
    response = client.post("/research/export", data={"conditions": ["migraine"], "format": "parquet"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert set(archive.namelist()) == {f"{name}.parquet" for name in TABLES} | {"datapackage.json"}
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
