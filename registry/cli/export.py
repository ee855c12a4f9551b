"""`registry export`: the de-identified research export, written to a directory."""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from tqdm import tqdm

from registry.cli.common import private_files
from registry.interchange import export
from registry.models import Condition, Treatment
from registry.platform.extensions import db


@click.command("export")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory to write the CSV files and datapackage.json into.",
)
@click.option("--condition", "conditions", multiple=True, metavar="SLUG", help="Only this condition (repeatable).")
@click.option("--treatment", "treatments", multiple=True, metavar="SLUG", help="Only this treatment (repeatable).")
@click.option("--since", type=click.DateTime(["%Y-%m"]), help="Only reports from this month on (YYYY-MM).")
@click.option("--until", type=click.DateTime(["%Y-%m"]), help="Only reports up to this month (YYYY-MM).")
@click.option("--with-text", is_flag=True, help="Include tips, comments and participants' own side-effect terms.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
    help="CSV files, or the same tables as Parquet (typed columns, codes as categoricals).",
)
@click.option(
    "--labelled",
    is_flag=True,
    help="Also write each table as a Stata .dta and an SPSS .sav file with value and variable labels.",
)
@with_appcontext
def export_command(out: Path, conditions, treatments, since, until, with_text: bool, fmt: str, labelled: bool):
    """Write the de-identified research export (consenting participants only) into --out.

    The files are those of the web download: experiences.csv, the long tables, doctor_ratings.csv,
    the catalog, and datapackage.json (a Frictionless Data Package: the codebook). Logged.
    With --format parquet, each table is a .parquet file instead, described by the same datapackage.json.
    """

    for model, slugs, label in ((Condition, conditions, "condition"), (Treatment, treatments, "treatment")):
        known = set(db.session.scalars(select(model.slug).where(model.slug.in_(slugs))))
        unknown = [slug for slug in slugs if slug not in known]
        if unknown:
            raise click.BadParameter(f"no {label} {', '.join(unknown)}", param_hint=f"--{label}")
    req = export.ExportRequest(
        conditions=tuple(conditions),
        treatments=tuple(treatments),
        since=since.strftime("%Y-%m") if since else None,
        until=until.strftime("%Y-%m") if until else None,
        with_text=with_text,
    )
    private_files()
    log = export.start_log(None, f"cli:{getpass.getuser()}", req, fmt, labelled)
    db.session.commit()
    with tqdm(unit="rows", unit_scale=True, desc="Exporting", disable=None) as bar:
        last = {"n": 0}

        def progress(n):
            bar.update(max(n - last["n"], 0) if n >= last["n"] else n)
            last["n"] = n

        counts = export.export_to_directory(
            out, req, current_app.config["EXPORT_KEY"], progress=progress, fmt=fmt, labelled=labelled
        )
    export.finish_log(log.id, counts)
    for name, n in counts.items():
        click.echo(f"  {name}.{fmt}: {n:,} rows")
    click.echo(
        f"Wrote the export to {out} (datapackage.json describes every file; data_dictionary.csv in REDCap's layout"
        + (", a .dta and a .sav file per table" if labelled else "")
        + ")."
    )
