"""docs/domain.md against the code: its tables name the fields the forms take, on the scales of scales/."""

import re
from pathlib import Path

import pytest

import scales
from registry.contributions import experiences, ratings
from registry.interchange.codebook import schemas
from reports.filters import FILTER_SCALES

DOC = (Path(__file__).resolve().parent.parent / "docs" / "domain.md").read_text(encoding="utf-8")


def table(heading: str) -> list[list[str]]:
    """The body rows of the first table under a heading, as lists of cell texts."""
    section = DOC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def names(cell: str) -> list[str]:
    return re.findall(r"`([a-z_]+)`", cell)


def scale_of(cell: str):
    """The scales.py constant a cell names first (`EFFECTIVENESS`), or None."""
    found = re.findall(r"`([A-Z][A-Z_]+)`", cell)
    return getattr(scales, found[0]) if found else None


ANSWER_TABLES = {
    "A treatment experience": (["side_effects", "stop_reasons", *experiences.FORM_FIELDS], "experiences"),
    "A doctor rating": (list(ratings.FORM_FIELDS), "doctor_ratings"),
}


@pytest.mark.parametrize("heading", ANSWER_TABLES)
def test_answer_tables_list_every_field_on_its_scale_and_source(heading):
    fields, export_table = ANSWER_TABLES[heading]
    rows = table(heading)
    listed = [name for row in rows for name in names(row[0])]
    assert sorted(listed) == sorted(fields)  # every answer the form takes, once
    exported = {
        f["name"]: f for name in (export_table, "experience_stop_reasons") for f in schemas(True)[name]["fields"]
    }
    exported["stop_reasons"] = exported["reason"]
    for field_cell, scale_cell, source in rows:
        scale = scale_of(scale_cell)
        if isinstance(scale, scales.Scale):
            if scale.source:
                assert source == scale.source, field_cell
            for name in names(field_cell):  # the export's codes are the scale's codes
                assert exported[name]["constraints"]["enum"] == list(scale.codes), name
        elif scale is not None:  # a number range or length (checked below), or the starter terms
            assert isinstance(scale, int) or scale == scales.SIDE_EFFECT_STARTER_TERMS, field_cell


def test_patients_like_me_dimensions_are_the_filters():
    rows = table('"Patients like me"')
    assert {names(row[0])[0]: scale_of(row[1]) for row in rows} == FILTER_SCALES


def test_the_numbers_quoted_beside_a_constant_are_its_values():
    ranges = re.findall(r"`([A-Z_]+)` to `([A-Z_]+)` \((\d+)-(\d+)\)", DOC)
    assert len(ranges) == 3
    for low, high, low_value, high_value in ranges:
        assert (getattr(scales, low), getattr(scales, high)) == (int(low_value), int(high_value))
    values = re.findall(r"`([A-Z_]+)` \(([\d,]+)\)", DOC)
    assert {name for name, _ in values} >= {"TIPS_MAX_LENGTH", "COMMENT_MAX_LENGTH", "TOP_BOX_MIN"}
    for name, value in values:
        if hasattr(scales, name):
            assert getattr(scales, name) == int(value.replace(",", "")), name
    for name in re.findall(r"`([A-Z][A-Z_]+)`", DOC):  # no constant named that the code does not have
        assert hasattr(scales, name) or name.startswith("REGISTRY_"), name
