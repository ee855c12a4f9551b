"""Importing legacy reviews (registry.interchange.importer, `registry import reviews`); FHIR import is in test_fhir.py."""

import csv

import pytest
from sqlalchemy import func, select

from registry.models import Condition, Experience, Treatment, User, report_cell
from registry.platform.extensions import db

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
    result = run(runner, sample, "--skip-problems")
    assert result.exit_code == 1  # some rows were refused
    assert "9 rows read: 3 added, 6 refused" in result.output
    # Line numbers as the spreadsheet shows them (the header is line 1).
    assert "line 5: drug 'Zzzyxal' is not in the catalog or its vocabularies" in result.output
    assert "line 6: condition 'Unknownitis' is not in the catalog or its vocabularies" in result.output
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
        from registry.reporting import report_upkeep

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
    assert "2 names matched nothing or several conditions: listed in" in result.output
    assert "Nothing imported: 2 lines with problems" in result.output
    with open(tmp_path / "names.csv", encoding="utf-8") as handle:
        rows = {r["name"]: r for r in csv.DictReader(handle)}
    # Known to the vocabularies but not in this catalog: suggested, not added or guessed.
    assert "semaglutide" in rows["Ozempic"]["vocabulary_suggests"].lower()
    assert "E23.2" in rows["Diabetes insipidus"]["vocabulary_suggests"]


def test_reviews_import_twice_adds_nothing(runner, catalog, sample, app):
    run(runner, sample, "--skip-problems")
    again = run(runner, sample, "--skip-problems")
    assert "3 unchanged, 6 refused" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Experience.id))) == 3


def test_dry_run_writes_nothing(runner, catalog, sample, app):
    result = run(runner, sample, "--dry-run", "--skip-problems")
    assert "Dry run, nothing written: 9 rows read: 3 would add, 6 refused" in result.output
    # Without --skip-problems it says the problems would stop the import, and what skipping would do.
    result = run(runner, sample, "--dry-run")
    assert "line 8: rating 'eleven' is not a number" in result.output
    assert (
        "Dry run, nothing written: 6 lines with problems (above) would stop the import; "
        "with --skip-problems: 9 rows read: 3 would add, 6 refused." in result.output
    )
    with app.app_context():
        assert db.session.scalar(select(func.count(Experience.id))) == 0
        assert db.session.scalar(select(func.count(User.id)).where(User.imported_from.is_not(None))) == 0
        assert not db.session.execute(select(report_cell)).all()


def test_five_point_ratings_spread_over_satisfaction(runner, catalog, sample, app, tmp_path):
    from registry.interchange.importer import satisfaction

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


# --- all or nothing, value mapping, clean text (issue 27) -----------------------------------------

GOOD = ("metformin", "Type 2 diabetes", "Fine.", "8", "1-Jan-20", "1")


def write_rows(path, rows, header=("uniqueID", "drugName", "condition", "review", "rating", "date", "usefulCount")):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for n, row in enumerate(rows, 1):
            writer.writerow([n, *row])


def counts(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count(Experience.id))),
            db.session.scalar(select(func.count(User.id)).where(User.imported_from.is_not(None))),
            len(db.session.execute(select(report_cell)).all()),
        )


def test_one_bad_row_imports_nothing_by_default_and_every_problem_is_listed(runner, catalog, sample, app, tmp_path):
    path, _ = sample
    write_rows(
        path,
        [GOOD] * 3
        + [("metformin", "Type 2 diabetes", "x", "eleven", "1-Jan-20", "")]
        + [GOOD[:2] + ("other", "9", "2-Jan-20", "")],
    )
    problems = tmp_path / "problems.csv"
    result = run(runner, sample, "--errors", str(problems))
    assert result.exit_code == 1
    assert "line 5: rating 'eleven' is not a number" in result.output
    assert "Nothing imported: 1 line with problems" in result.output and "--skip-problems" in result.output
    assert counts(app) == (0, 0, 0)
    with open(problems, encoding="utf-8") as handle:
        listed = list(csv.DictReader(handle))
    assert [(r["line"], r["drugName"], r["rating"]) for r in listed] == [("5", "metformin", "eleven")]
    assert "not a number" in listed[0]["reason"]
    # The same rows without the bad one: all in.
    again = run(runner, sample, "--skip-problems")
    assert "2 added, 2 duplicate" in again.output  # identical rows are one review


def big_file(path, bad_line_text: str, at: int = 300, total: int = 400):
    """A CSV of `total` good rows with one damaged record (raw text) at data row `at`."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("uniqueID,drugName,condition,review,rating,date,usefulCount\n")
        for n in range(1, total + 1):
            if n == at:
                handle.write(bad_line_text)
            else:
                handle.write(f"{n},metformin,Type 2 diabetes,Review number {n},{1 + n % 10},1-Jan-20,{n}\n")


def test_an_oversized_field_imports_nothing_and_names_its_line(runner, catalog, sample, app):
    path, _ = sample
    big_file(path, '300,metformin,Type 2 diabetes,"' + "x" * 150_000 + '",8,1-Jan-20,1\n')
    result = run(runner, sample, "--skip-problems")  # damage stops even a skipping import
    assert result.exit_code == 1
    assert "line 301: unreadable row: a field longer than 100,000 characters" in result.output
    assert "Nothing imported: the file is damaged" in result.output
    assert counts(app) == (0, 0, 0)


def test_a_bad_byte_late_in_the_file_imports_nothing_and_names_its_line(runner, catalog, sample, app):
    path, _ = sample
    big_file(path, "", at=0, total=400)
    raw = path.read_bytes().replace(b"Review number 390,", b"Caf\xe9 review,")  # Windows-1252
    path.write_bytes(raw)
    result = run(runner, sample, "--skip-problems")
    assert result.exit_code == 1
    assert "line 391: byte e9 at character" in result.output and "is not utf-8" in result.output
    assert counts(app) == (0, 0, 0)
    # Read as what it is, it imports.
    _, mapping = sample
    mapping.write_text(MAPPING + '\n[csv]\nencoding = "cp1252"\n', encoding="utf-8")
    assert "400 added" in run(runner, sample).output


def test_a_file_cut_short_imports_nothing(runner, catalog, sample, app):
    path, _ = sample
    big_file(path, "", at=0, total=200)
    path.write_text(path.read_text(encoding="utf-8") + '201,metformin,Type 2 diabetes,"I took it for', encoding="utf-8")
    result = run(runner, sample, "--skip-problems")
    assert "line 202: unreadable row: the file ends inside a quoted field: it was cut short" in result.output
    assert counts(app) == (0, 0, 0)
    # Cut between fields: the row is short of fields.
    big_file(path, "", at=0, total=200)
    path.write_text(path.read_text(encoding="utf-8") + "201,metformin,Type 2 diab", encoding="utf-8")
    result = run(runner, sample, "--skip-problems")
    assert "line 202: has 3 fields where the header has 7" in result.output and "cut short" in result.output
    assert counts(app) == (0, 0, 0)


def test_a_wrong_header_or_a_mapping_naming_a_missing_column_imports_nothing(runner, catalog, sample, app):
    path, mapping = sample
    write_rows(path, [GOOD], header=("id", "medicine", "illness", "text", "stars", "when", "votes"))
    result = run(runner, sample)
    assert result.exit_code == 1 and "has no column 'drugName'" in result.output and "medicine" in result.output
    write_rows(path, [GOOD])
    mapping.write_text(MAPPING.replace('date = "date"', 'date = "posted"'), encoding="utf-8")
    result = run(runner, sample)
    assert result.exit_code == 1 and "has no column 'posted'" in result.output
    assert counts(app) == (0, 0, 0)


def test_an_error_while_writing_rolls_everything_back(runner, catalog, sample, app, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    from registry.interchange import importer

    path, _ = sample
    big_file(path, "", at=0, total=30)
    monkeypatch.setattr(importer, "BATCH", 10)
    original = importer._participants
    calls = []

    def failing(source, identities):
        calls.append(1)
        if len(calls) == 3:  # the third batch: two were flushed already
            raise IntegrityError("INSERT", {}, Exception("disk full"))
        return original(source, identities)

    monkeypatch.setattr(importer, "_participants", failing)
    result = run(runner, sample)
    assert "writing: not saved: IntegrityError" in result.output
    assert counts(app) == (0, 0, 0)


@pytest.mark.parametrize(
    ("rating", "expected"),
    [
        ("[rating.values]\npositive = 9\nneutral = 5\nnegative = 2\n", {"positive": 9, "Neutral": 5, " NEGATIVE ": 2}),
        ("[rating]\nrange = [0, 5]\n", {"0": 1, "5": 10, "2.5": 6, "1": 3}),
        ("[rating]\nscale = 5\n", {"1": 1, "3": 6, "5": 10}),
    ],
)
def test_the_mapping_translates_rating_values(tmp_path, rating, expected):
    from registry.interchange.importer import ReviewMapping

    path = tmp_path / "m.toml"
    path.write_text('[columns]\ndrug = "d"\ncondition = "c"\nrating = "r"\n' + rating, encoding="utf-8")
    rules = ReviewMapping.load(path)
    assert {raw: rules.rating(raw) for raw in expected} == expected


def test_unmapped_rating_labels_are_refused_with_the_known_ones(runner, catalog, sample, app):
    path, mapping = sample
    mapping.write_text(
        MAPPING.replace("[rating]\nscale = 10", "[rating.values]\npositive = 9\nnegative = 2"), encoding="utf-8"
    )
    write_rows(path, [GOOD[:3] + ("positive",) + GOOD[4:], GOOD[:3] + ("meh",) + GOOD[4:]])
    result = run(runner, sample, "--skip-problems")
    assert "line 3: rating 'meh' is not one of the mapping's [rating] values (negative, positive)" in result.output
    assert "1 added" in result.output
    with app.app_context():
        assert db.session.scalar(select(Experience.satisfaction)) == 9


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("[rating.values]\ngood = 11\n", "whole numbers from 1 to 10"),
        ("[rating]\nrange = [5, 1]\n", "range must be"),
        ('[csv]\nencoding = "klingon"\n', "not an encoding"),
        ('[conditions]\n"Depression" = "no-such-slug"\n', "'no-such-slug' is not a condition"),
    ],
)
def test_bad_value_mappings_are_explained(runner, catalog, sample, mapping, message):
    sample[1].write_text('[columns]\ndrug = "drugName"\ncondition = "condition"\nrating = "rating"\n' + mapping)
    result = run(runner, sample)
    assert result.exit_code in (1, 2) and message in result.output


def test_text_is_unescaped_and_a_cut_is_marked(runner, catalog, sample, app):
    from registry.interchange.importer import CUT_MARK, unescape

    assert unescape('"I don&#039;t &amp;amp; won&rsquo;t"') == "I don't & won’t"
    assert unescape('"quoted"') == "quoted"  # the wrapping quotes a scraper left (CSV-decoded)
    path, _ = sample
    long_text = '"' + ("word " * 600) + '"'
    write_rows(
        path,
        [
            GOOD[:2] + ('"It&#039;s fine &amp; cheap"',) + GOOD[3:],
            ("Topamax", "Migraine", long_text, "7", "1-Jan-20", ""),
        ],
    )
    result = run(runner, sample)
    assert "1 line had a text longer than the form's 2,000 characters" in result.output and "lines 3" in result.output
    with app.app_context():
        tips = dict(db.session.execute(select(Experience.satisfaction, Experience.tips)).all())
    assert tips[8] == "It's fine & cheap"
    assert len(tips[7]) <= 2000 and tips[7].endswith(CUT_MARK) and not tips[7].startswith('"')


def test_junk_names_are_refused_as_junk_and_not_listed_as_names_to_add(runner, catalog, sample, tmp_path):
    path, _ = sample
    write_rows(
        path,
        [
            ("metformin", "</span> users found this comment helpful.", "", "8", "1-Jan-20", ""),
            ("metformin", "Not Listed / Othe", "", "8", "1-Jan-20", ""),
            ("metformin", "Unknownitis", "", "8", "1-Jan-20", ""),
        ],
    )
    result = run(runner, sample, "--report", str(tmp_path / "names.csv"))
    assert "line 2: condition '</span> users found this comment helpful.' is page text or markup" in result.output
    assert "line 3: condition 'Not Listed / Othe' is a placeholder, not a name" in result.output
    assert "2 lines name no drug or condition at all" in result.output
    with open(tmp_path / "names.csv", encoding="utf-8") as handle:
        assert [r["name"] for r in csv.DictReader(handle)] == ["Unknownitis"]


def test_broad_words_are_ambiguous_unless_the_mapping_chooses(runner, make, sample, app, tmp_path, monkeypatch):
    from registry.catalog import catalog

    make.treatment("Sertraline")
    make.condition("Major depressive disorder", "F33", treatments=["sertraline"])
    make.condition("Persistent depressive disorder", "F34.1", treatments=["sertraline"])
    monkeypatch.setattr(
        catalog,
        "broad_terms",
        lambda: {"depression": ("major-depressive-disorder", "persistent-depressive-disorder")},
    )
    path, mapping = sample
    write_rows(path, [("Sertraline", "Depression", "", "8", "1-Jan-20", "")])
    result = run(runner, sample, "--report", str(tmp_path / "names.csv"))
    assert (
        "condition 'Depression' is ambiguous: it can mean Major depressive disorder, Persistent depressive disorder"
        in result.output
    )
    with open(tmp_path / "names.csv", encoding="utf-8") as handle:
        (row,) = csv.DictReader(handle)
    assert row["kind"] == "condition (ambiguous)" and "Persistent depressive disorder" in row["vocabulary_suggests"]
    mapping.write_text(MAPPING + '\n[conditions]\n"Depression" = "major-depressive-disorder"\n', encoding="utf-8")
    assert "1 added" in run(runner, sample).output


def test_drugs_com_style_tsv_with_labels_imports(runner, catalog, sample, app):
    """The shape of the explabox Drugs.com sample (tab-separated, an unnamed first column, labels)."""
    path, mapping = sample
    mapping.write_text(
        MAPPING.replace("[rating]\nscale = 10", "[rating.values]\npositive = 9\nneutral = 5\nnegative = 2").replace(
            'formats = ["%d-%b-%y", "%Y-%m-%d"]', 'formats = ["%B %d, %Y"]'
        )
        + '\n[csv]\ndelimiter = "\\t"\n',
        encoding="utf-8",
    )
    path.write_text(
        "\tdrugName\tcondition\treview\trating\tdate\tusefulCount\n"
        '1\tGlucophage\tDiabetes, Type 2\t"""I couldn&rsquo;t believe it"""\tpositive\tMay 30, 2011\t12\n'
        '2\tTopamax\tMigrain\t"""Meh"""\tneutral\tJune 1, 2012\t0\n',
        encoding="utf-8",
    )
    result = run(runner, sample)
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    with app.app_context():
        tips = dict(db.session.execute(select(Experience.satisfaction, Experience.tips)).all())
    assert tips == {9: "I couldn’t believe it", 5: "Meh"}


def test_an_imported_tip_says_on_the_page_what_its_source_did_not_carry(runner, catalog, sample, app, client):
    path, _ = sample
    write_rows(path, [GOOD[:2] + ("It didn&#039;t upset my stomach.",) + GOOD[3:]])
    assert "1 added" in run(runner, sample).output
    with app.app_context():
        experience = db.session.scalar(select(Experience))
        experience.text_state, experience.text_reason = "public", None  # released by a moderator
        db.session.commit()
    page = client.get("/conditions/type-2-diabetes/treatments/metformin").get_data(as_text=True)
    assert "It didn&#39;t upset my stomach." in page and "&amp;#039;" not in page
    assert "Imported from a review file (drugs-com-sample)" in page
    assert "were not in the source, so this report counts in satisfaction only" in " ".join(page.split())


def test_the_shipped_example_mapping_reads_the_sample_shape(runner, make, sample, app):
    """docs/examples/drugs-com-sample.toml on rows shaped as the explabox Drugs.com sample's."""
    from pathlib import Path

    from registry.interchange.importer import ReviewMapping

    example = Path(__file__).resolve().parent.parent / "docs" / "examples" / "drugs-com-sample.toml"
    rules = ReviewMapping.load(example)
    assert rules.delimiter == "\t" and rules.rating("Positive") == 9 and rules.rating("negative") == 2
    make.treatment("Sertraline")
    make.condition("Major depressive disorder", "F33", treatments=["sertraline"])
    make.condition("Generalized anxiety disorder", "F41.1", treatments=["sertraline"])
    path, mapping = sample
    mapping.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    path.write_text(
        "\tdrugName\tcondition\treview\trating\tdate\tusefulCount\n"
        '7\tSertraline\tDepression\t"""Slow start, then it helped."""\tpositive\tMay 30, 2011\t12\n'
        '8\tSertraline\tAnxiety\t"""Made me jittery."""\tnegative\tJune 1, 2012\t0\n',
        encoding="utf-8",
    )
    result = run(runner, sample)
    assert result.exit_code == 0 and "2 added" in result.output, result.output
