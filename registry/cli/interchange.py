"""`registry fhir export|import` and `registry import reviews`: interchange with other systems."""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from tqdm import tqdm

from registry.interchange import export, fhir, fhir_import, importer
from registry.models import Condition
from registry.platform.extensions import db


def _known_conditions(slugs) -> None:

    known = set(db.session.scalars(select(Condition.slug).where(Condition.slug.in_(slugs))))
    unknown = [slug for slug in slugs if slug not in known]
    if unknown:
        raise click.BadParameter(f"no condition {', '.join(unknown)}", param_hint="--condition")


@click.group("fhir")
def fhir_group():
    """Exchange treatment experiences, their follow-ups and doctor ratings as FHIR R4 resources (ndjson).

    The questionnaires, code systems and value sets are served at /fhir/Questionnaire/treatment-experience,
    /fhir/Questionnaire/doctor-rating, /fhir/Questionnaire/treatment-experience-follow-up,
    /fhir/CodeSystem/<scale> and /fhir/ValueSet/condition|treatment.
    """


@fhir_group.command("export")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The ndjson file to write (one resource per line: the catalog's CodeSystems and ValueSets, the doctors, "
    "then a QuestionnaireResponse per experience, follow-up point and doctor rating).",
)
@click.option("--condition", "conditions", multiple=True, metavar="SLUG", help="Only this condition (repeatable).")
@click.option("--since", type=click.DateTime(["%Y-%m"]), help="Only reports from this month on (YYYY-MM).")
@click.option(
    "--with-text",
    is_flag=True,
    help="Include tips and participants' own side-effect terms (else own terms read 'other').",
)
@with_appcontext
def fhir_export(out: Path, conditions, since, with_text: bool):
    """Write every experience of consenting participants as a FHIR QuestionnaireResponse.

    First the definitions the answers refer to (the registry's CodeSystems of its catalog, the
    ValueSets of the condition and treatment items, a Practitioner per doctor); then the experiences,
    each point of their follow-up histories (experience_updates.csv) as a response of the follow-up
    questionnaire, and the doctor ratings as responses of the doctor-rating questionnaire.
    De-identified as the research export is: the same pseudonymous ids, year-month dates, age bands.
    FHIR Bulk Data ndjson, streamed (memory stays flat). Logged as an export.
    """

    _known_conditions(conditions)
    req = export.ExportRequest(
        conditions=tuple(conditions), since=since.strftime("%Y-%m") if since else None, with_text=with_text
    )
    log = export.start_log(None, f"cli:{getpass.getuser()}", req, "fhir")
    db.session.commit()
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(out, "w", encoding="utf-8") as handle,
        tqdm(unit="resources", unit_scale=True, desc="Exporting", disable=None) as bar,
    ):
        n = 0
        for n in fhir.write_ndjson(handle, req, current_app.config["EXPORT_KEY"]):
            bar.update(n - bar.n)
    export.finish_log(log.id, {"responses": n})
    click.echo(f"Wrote {n:,} FHIR resources to {out}.")


@fhir_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every line and say what would be imported; write nothing.")
@with_appcontext
def fhir_import_command(file: Path, dry_run: bool):
    """Import a FHIR export (ndjson): experiences, their follow-up points, doctors and doctor ratings.

    Each response is validated as FHIR (fhir.resources) and by its form's own rules (experience or
    doctor rating), then saved as a form submission is (report counts, moderation holds); a follow-up
    point joins the experience imported from the same file, dated as exported; a Practitioner finds or
    adds its doctor; definitions (ValueSets, CodeSystems) are skipped. Each participant
    becomes a pseudonymous imported participant without a login and without research consent.
    Importing the same file again adds nothing. A bad line is reported and skipped; the others
    are imported. Exit status 1 when any line had an error.
    """

    with tqdm(unit="lines", unit_scale=True, desc="Importing", disable=None) as bar:
        report = fhir_import.import_fhir(file, dry_run=dry_run, progress=bar.update)
    _finish(report, dry_run)


def _finish(report, dry_run: bool) -> None:
    for number, message in report.errors[:200]:
        click.echo(f"line {number}: {message}", err=True)
    if len(report.errors) > 200:
        click.echo(f"... and {len(report.errors) - 200:,} more lines with errors", err=True)
    click.echo(("Dry run, nothing written: " if dry_run else "Imported: ") + report.summary + ".")
    if report.errors:
        click.get_current_context().exit(1)


@click.group("import")
def import_group():
    """Import existing data into the registry."""


@import_group.command("reviews")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="TOML file naming the spreadsheet's columns and translating its values (see docs/interchange.md).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV file listing the drug and condition names that matched nothing or several conditions "
    "(default: FILE's name + .unresolved.csv).",
)
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV file listing every refused line with its reason and its values as the file had them.",
)
@click.option("--dry-run", is_flag=True, help="Check every row and say what would be imported; write nothing.")
@click.option(
    "--skip-problems",
    is_flag=True,
    help="Import the good rows and leave out the refused ones (a damaged file still imports nothing).",
)
@with_appcontext
def import_reviews(
    file: Path, mapping: Path, report_path: Path | None, errors_path: Path | None, dry_run: bool, skip_problems: bool
):
    """Import a spreadsheet of reviews (CSV or TSV): drug, condition, rating, text, date.

    All or nothing: the whole file is checked first and every problem printed with its line
    number; when there is any, nothing is written (--skip-problems leaves the refused rows out
    instead, but bytes the encoding cannot read, an oversized field or a file cut short always
    stop the import). The rows are then written in one transaction.

    Names resolve as the search resolves them (brand -> generic drug, ICD-10-CM for conditions);
    a broad word that means several conditions ("Depression") is refused as ambiguous unless the
    mapping's [conditions] names the one meant; page text in a name column is refused as junk.
    The rating becomes `satisfaction` through the mapping's [rating] and nothing else: every
    other answer stays empty (counted as missing). Review text, unescaped, becomes a tip held for
    moderators. Each review is its own pseudonymous imported participant without a login.
    Importing the same file again adds nothing. Exit status 1 when any row was refused.
    """

    try:
        rules = importer.ReviewMapping.load(mapping)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--mapping") from None
    with tqdm(unit="rows", unit_scale=True, desc="Checking", disable=None) as bar:
        try:
            report = importer.import_reviews(
                file, rules, dry_run=dry_run, skip_problems=skip_problems, progress=bar.update
            )
        except ValueError as error:
            raise click.ClickException(str(error)) from None
    for problem in report.problems:
        where = f"line {problem.line}" if problem.line else "writing"
        click.echo(f"{where}: {problem.reason}", err=True)
    report_path = report_path or file.with_name(file.name + ".unresolved.csv")
    importer.write_unresolved(report, report_path)
    if report.unresolved:
        click.echo(f"{len(report.unresolved):,} names matched nothing or several conditions: listed in {report_path}.")
    if report.junk:
        click.echo(
            f"{_lines(sum(report.junk.values()))} name no drug or condition at all (page text, placeholders): "
            "refused, not listed as names."
        )
    if errors_path is not None:
        importer.write_problems(report, errors_path)
        click.echo(f"{_lines(len({p.line for p in report.problems}))} refused, with their reasons: {errors_path}.")
    if report.cut_lines:
        click.echo(
            f"{_lines(len(report.cut_lines))} had a text longer than the form's {importer.scales.TIPS_MAX_LENGTH:,} "
            f"characters: cut at a word and ending in '{importer.CUT_MARK.strip()}' (lines "
            f"{', '.join(map(str, report.cut_lines[:10]))}{', ...' if len(report.cut_lines) > 10 else ''})."
        )
    if report.fatal:
        click.echo(f"Nothing imported: the file is damaged ({len(report.fatal):,} lines above). {report.summary}.")
    elif report.problems and not skip_problems and dry_run:
        click.echo(
            f"Dry run, nothing written: {_lines(len({p.line for p in report.problems}))} with problems (above) "
            f"would stop the import; with --skip-problems: {report.summary}."
        )
    elif report.problems and not skip_problems:
        click.echo(
            f"Nothing imported: {_lines(len({p.line for p in report.problems}))} with problems (above). "
            f"Fix them, or run with --skip-problems to import the other rows. {report.summary}."
        )
    else:
        click.echo(("Dry run, nothing written: " if dry_run else "Imported: ") + report.summary + ".")
    if report.problems:
        click.get_current_context().exit(1)


def _lines(n: int) -> str:
    return f"{n:,} line" if n == 1 else f"{n:,} lines"
