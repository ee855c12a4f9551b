"""Importing legacy reviews (registry.importer, `registry import reviews`); FHIR import is in test_fhir.py."""

import csv

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import Condition, Experience, Treatment, User, report_cell

MAPPING = """
[source]
name = "drugs-com-sample"

[columns]
drug = "drugName"
condition = "condition"
rating = "rating"
text = "review"
date = "date"
helpful = "usefulCount"

[rating]
scale = 10

[date]
formats = ["%d-%b-%y", "%Y-%m-%d"]
"""

ROWS = [
    # drugName, condition, review, rating, date, usefulCount
    ("Glucophage", "Type 2 diabetes", "Stomach upset the first weeks, then fine.", "8", "20-May-12", "27"),
    ("metformin", "E11", "Works. Ask for the extended release.", "9", "2016-03-01", ""),
    ("Topamax", "Migraine", "Tingling fingers but fewer migraines.", "7", "1-Jan-20", "3"),
    ("Zzzyxal", "Migraine", "Never heard of it", "5", "1-Jan-20", "0"),
    ("metformin", "Unknownitis", "", "6", "1-Jan-20", "1"),
    ("Zzzyxal", "Migraine", "Second mention", "4", "2-Jan-20", "0"),
    ("metformin", "Type 2 diabetes", "Great", "eleven", "1-Jan-20", "1"),
    ("metformin", "Type 2 diabetes", "Great", "8", "31-Feb-20", "1"),
    ("metformin", "Type 2 diabetes", "", "8", "1-Jan-20", "lots"),
]


@pytest.fixture
def catalog(make):
    make.treatment("Metformin")
    make.treatment("Topiramate")
    make.condition("Type 2 diabetes", "E11", treatments=["metformin"])
    make.condition("Migraine", "G43", treatments=["topiramate"])


@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "reviews.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["uniqueID", "drugName", "condition", "review", "rating", "date", "usefulCount"])
        for n, row in enumerate(ROWS, 1):
            writer.writerow([n, *row])
    mapping = tmp_path / "drugs-com.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return path, mapping


def run(runner, sample, *extra):
    path, mapping = sample
    return runner.invoke(args=["import", "reviews", str(path), "--mapping", str(mapping), *extra])


def test_reviews_import_resolved_rows_and_lists_unresolved_names(runner, catalog, sample, app):
    result = run(runner, sample)
    assert result.exit_code == 1  # some rows had errors
    assert "3 added, 6 with errors" in result.output
    # Line numbers as the spreadsheet shows them (the header is line 1).
    assert "line 5: not in the catalog or its vocabularies: drug 'Zzzyxal'" in result.output
    assert "line 6: not in the catalog or its vocabularies: condition 'Unknownitis'" in result.output
    assert "line 8: rating 'eleven' is not a number" in result.output
    assert "line 9: date '31-Feb-20' does not match" in result.output
    assert "line 10: helpful count 'lots' is not a whole number" in result.output
    with open(sample[0].with_name("reviews.csv.unresolved.csv"), encoding="utf-8") as handle:
        unresolved = list(csv.DictReader(handle))
    assert [(r["kind"], r["name"], r["rows"]) for r in unresolved] == [
        ("drug", "Zzzyxal", "2"),
        ("condition", "Unknownitis", "1"),
    ]
    with app.app_context():
        rows = db.session.execute(
            select(Condition.slug, Treatment.slug, Experience)
            .join(Condition, Condition.id == Experience.condition_id)
            .join(Treatment, Treatment.id == Experience.treatment_id)
        ).all()
        found = {(c, t, e.satisfaction) for c, t, e in rows}
        # Brand -> generic (Glucophage, Topamax); condition by name and by ICD-10-CM code.
        assert found == {
            ("type-2-diabetes", "metformin", 8),
            ("type-2-diabetes", "metformin", 9),
            ("migraine", "topiramate", 7),
        }
        for _, _, experience in rows:
            # Only the rating was given: nothing else is invented.
            assert experience.effectiveness is None and experience.side_effect_severity is None
            assert experience.role is None and experience.started is None and experience.would_recommend is None
            assert experience.side_effects == [] and experience.stop_reasons == []
            assert experience.text_state == "held" and "drugs-com-sample" in experience.text_reason
        dated = {e.satisfaction: e.created_at.strftime("%Y-%m") for _, _, e in rows}
        assert dated == {8: "2012-05", 9: "2016-03", 7: "2020-01"}
        users = db.session.scalars(select(User).where(User.imported_from.is_not(None))).all()
        assert len(users) == 3 and all(u.imported_from == "reviews:drugs-com-sample" for u in users)
        # The report counts moved with them, as with any submission; missing answers count nowhere.
        cells = db.session.execute(
            select(
                report_cell.c.n,
                report_cell.c["satisfaction__8"],
                report_cell.c["effectiveness__none"],
                report_cell.c["duration__lt_1m"],
            )
        ).all()
        assert sum(c[0] for c in cells) == 3 and sum(c[1] for c in cells) == 1
        assert sum(c[2] + c[3] for c in cells) == 0
        from registry import report_upkeep

        assert report_upkeep.check(db.session) == []


def test_unresolved_report_says_what_the_vocabulary_knows(runner, catalog, sample, tmp_path):
    path, mapping = sample
    path.write_text(
        "drugName,condition,review,rating,date,usefulCount\n"
        "Ozempic,Type 2 diabetes,,9,1-Jan-20,\n"
        "metformin,Diabetes insipidus,,6,1-Jan-20,\n",
        encoding="utf-8",
    )
    result = run(runner, sample, "--report", str(tmp_path / "names.csv"))
    assert "2 names matched nothing: listed in" in result.output and "0 with errors" not in result.output
    with open(tmp_path / "names.csv", encoding="utf-8") as handle:
        rows = {r["name"]: r for r in csv.DictReader(handle)}
    # Known to the vocabularies but not in this catalog: suggested, not added or guessed.
    assert "semaglutide" in rows["Ozempic"]["vocabulary_suggests"].lower()
    assert "E23.2" in rows["Diabetes insipidus"]["vocabulary_suggests"]


def test_reviews_import_twice_adds_nothing(runner, catalog, sample, app):
    run(runner, sample)
    again = run(runner, sample)
    assert "3 unchanged, 6 with errors" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Experience.id))) == 3


def test_dry_run_writes_nothing(runner, catalog, sample, app):
    result = run(runner, sample, "--dry-run")
    assert "Dry run, nothing written: 3 would add, 6 with errors" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Experience.id))) == 0
        assert db.session.scalar(select(func.count(User.id)).where(User.imported_from.is_not(None))) == 0
        assert not db.session.execute(select(report_cell)).all()


def test_five_point_ratings_spread_over_satisfaction(runner, catalog, sample, app, tmp_path):
    from registry.importer import satisfaction

    assert [satisfaction(str(r), 5) for r in range(1, 6)] == [1, 3, 6, 8, 10]
    path, mapping = sample
    mapping.write_text(MAPPING.replace("scale = 10", "scale = 5"), encoding="utf-8")
    result = run(runner, sample)
    assert "line 2: rating '8' is not a whole number from 1 to 5" in result.output
    assert "line 4: rating '7' is not a whole number from 1 to 5" in result.output


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ('[columns]\ndrug = "drugName"\n', "must name the spreadsheet's condition, rating column"),
        (
            '[columns]\ndrug = "drugName"\ncondition = "condition"\nrating = "rating"\nstars = "x"\n',
            "unknown keys stars",
        ),
        (
            '[columns]\ndrug = "drugName"\ncondition = "condition"\nrating = "rating"\n[rating]\nscale = 7\n',
            "must be 5",
        ),
        ("[columns\n", "cannot read the mapping"),
    ],
)
def test_bad_mapping_is_explained(runner, catalog, sample, mapping, message):
    sample[1].write_text(mapping, encoding="utf-8")
    result = run(runner, sample)
    assert result.exit_code == 2 and message in result.output


def test_a_mapped_column_missing_from_the_file_is_explained(runner, catalog, sample):
    sample[1].write_text(MAPPING.replace('text = "review"', 'text = "body"'), encoding="utf-8")
    result = run(runner, sample)
    assert result.exit_code == 1 and "has no column 'body'" in result.output and "uniqueID" in result.output
