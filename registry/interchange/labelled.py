"""Labelled research files, generated from the codebook (so from scales), never written by hand.

- ``data_dictionary.csv``: the flat data dictionary in REDCap's column layout (one row per field of
  every table; choices as ``code, label | ...``), in every export.
- ``read_registry.R``: an R script (base R only) that reads the CSV files with labelled factors in
  scale order (ordered for the ordinal scales), dates for the year-months and variable labels.
- ``load_duckdb.sql``: for the Parquet files, a DuckDB script that makes an ENUM type per scale (DuckDB
  compares ENUMs in their declared order) and loads every table with its coded columns as ENUMs.
- Stata ``.dta`` and SPSS ``.sav`` files, one per table, with variable labels, value labels (codes
  1..k in scale order; an SPSS ordinal measure for the ordinal scales, its answers outside the order
  user-missing) and year-months as dates displayed as months. Written only on request (they hold a
  table in memory while pyreadstat writes it, and cost time): see registry.interchange.export.
"""

from __future__ import annotations

import csv
import io
import math
from array import array
from datetime import date

import numpy as np
import pandas as pd

from registry.interchange.codebook import is_month

# REDCap's data dictionary columns, in its order (the "Data Dictionary" upload/download format).
REDCAP_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
# Fields that could name a person: free text, and doctors' names (public professionals, but people).
IDENTIFYING = {("experiences", "tips"), ("doctor_ratings", "comment"), ("doctors", "name")}
STATA_LABEL_MAX = 80  # Stata's variable labels are at most 80 characters


def _enum(spec: dict) -> list[str] | None:
    return spec.get("constraints", {}).get("enum")


def _labels(spec: dict) -> list[tuple[str, str]]:
    return [(c["value"], c["label"]) for c in spec.get("categories", ())] or [(c, c) for c in _enum(spec)]


def label(spec: dict) -> str:
    """A field's label: its description without the list of codes (which the value labels carry)."""
    return spec["description"].split(" Codes: ")[0].split(" Month precision:")[0].strip()


def short_label(spec: dict, limit: int = STATA_LABEL_MAX) -> str:
    text = label(spec)
    if len(text) <= limit:
        return text
    first = text.split(". ")[0].rstrip(".")
    return first if len(first) <= limit else text[: limit - 3].rstrip() + "..."


def _field_note(spec: dict) -> str:
    notes = []
    if spec.get("categoriesOrdered"):
        notes.append("Ordered as listed.")
        if spec.get("outsideOrder"):
            notes.append(f"{', '.join(spec['outsideOrder'])}: outside the order (missing in an ordinal analysis).")
    if is_month(spec):
        notes.append("Year-month YYYY-MM (month precision).")
    return " ".join(notes)


# --- the data dictionary -------------------------------------------------------------------------


def dictionary_rows(schemas: dict[str, dict]):
    """One REDCap data dictionary row (a tuple in REDCAP_COLUMNS order) per field of every table."""
    for table, schema in schemas.items():
        for spec in schema["fields"]:
            constraints = spec.get("constraints", {})
            choices, validation, low, high = "", "", "", ""
            if _enum(spec):
                kind = "dropdown"
                choices = " | ".join(f"{code}, {text}" for code, text in _labels(spec))
            elif spec["type"] == "integer":
                kind, validation = "text", "integer"
                low, high = constraints.get("minimum", ""), constraints.get("maximum", "")
            elif spec["type"] == "number":
                kind, validation, low = "text", "number", constraints.get("minimum", "")
            elif spec["name"] in ("tips", "comment"):
                kind = "notes"
            else:
                kind = "text"
            yield (
                spec["name"],
                table,
                "",
                kind,
                label(spec),
                choices,
                _field_note(spec),
                validation,
                low,
                high,
                "y" if (table, spec["name"]) in IDENTIFYING else "",
                "",
                "y" if constraints.get("required") else "",
                "",
                "",
                "",
                "",
                "",
            )


def data_dictionary(schemas: dict[str, dict]) -> str:
    """data_dictionary.csv as text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REDCAP_COLUMNS)
    writer.writerows(dictionary_rows(schemas))
    return out.getvalue()


# --- the R script ----------------------------------------------------------------------------------


def _r_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _r_vector(values) -> str:
    return "c(" + ", ".join(_r_string(str(v)) for v in values) + ")"


R_HEAD = """\
# Reads the registry's research export (CSV) into R with labels: base R only, no package to install.
# Generated from the registry's codebook (datapackage.json describes the same fields); do not edit.
#   source("read_registry.R")            # in the export's folder, or set export_dir first
# Coded answers become factors whose levels are the scale's labels in scale order, ordered for the
# ordinal scales (answers outside the order, such as "Can't tell", are the last level: set them to NA
# before an ordinal analysis); year-months become Dates on the first of the month (month precision);
# every column carries its label in attr(, "label") (shown by View() and kept by haven and Hmisc).
if (!exists("export_dir")) export_dir <- "."

read_export <- function(name) {
  read.csv(file.path(export_dir, paste0(name, ".csv")), colClasses = "character", na.strings = "",
           encoding = "UTF-8", fileEncoding = "UTF-8", check.names = FALSE)
}
as_month <- function(x) as.Date(ifelse(is.na(x), NA, paste0(x, "-01")))
labelled <- function(x, label) {
  attr(x, "label") <- label
  x
}
"""


def _r_column(table: str, spec: dict) -> str:
    column = f"{table}${spec['name']}"
    if _enum(spec):
        pairs = _labels(spec)
        value = (
            f"factor({column},\n    levels = {_r_vector(c for c, _ in pairs)},\n"
            f"    labels = {_r_vector(t for _, t in pairs)},\n"
            f"    ordered = {'TRUE' if spec.get('categoriesOrdered') else 'FALSE'})"
        )
    elif is_month(spec):
        value = f"as_month({column})"
    elif spec["type"] == "integer":
        value = f"as.integer({column})"
    elif spec["type"] == "number":
        value = f"as.numeric({column})"
    else:
        value = column
    return f"{column} <- labelled({value}, {_r_string(label(spec))})"


def r_script(schemas: dict[str, dict]) -> str:
    """read_registry.R: every table of the CSV export as a labelled data frame."""
    parts = [R_HEAD]
    for table, schema in schemas.items():
        parts.append(f"\n{table} <- read_export({_r_string(table)})")
        parts.extend(_r_column(table, spec) for spec in schema["fields"])
    parts.append("")
    return "\n".join(parts)


# --- the DuckDB loader -------------------------------------------------------------------------------


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def enum_types(schemas: dict[str, dict]) -> dict[tuple[str, str], str]:
    """(table, field) -> the name of its DuckDB ENUM type: one type per scale, named after its first field."""
    names: dict[tuple[str, ...], str] = {}
    taken: set[str] = set()
    types = {}
    for table, schema in schemas.items():
        for spec in schema["fields"]:
            codes = tuple(_enum(spec) or ())
            if not codes:
                continue
            if codes not in names:
                name = spec["name"] if spec["name"] not in taken else f"{table}_{spec['name']}"
                names[codes] = name
                taken.add(name)
            types[table, spec["name"]] = names[codes]
    return types


def duckdb_script(schemas: dict[str, dict]) -> str:
    """load_duckdb.sql: ENUM types in scale order, then every Parquet table with its codes as ENUMs."""
    types = enum_types(schemas)
    lines = [
        "-- Loads the registry's research export (Parquet) into DuckDB with every coded answer as an ENUM in",
        "-- scale order and year-months as DATEs (month precision). Compare with a value of the type, e.g.",
        "-- side_effect_severity > 'mild'::side_effect_severity (moderate or worse); a bare 'mild' compares as text.",
        "-- Generated from the registry's codebook; run in the export's folder: duckdb registry.duckdb < load_duckdb.sql",
    ]
    made = set()
    for table, schema in schemas.items():
        for spec in schema["fields"]:
            name = types.get((table, spec["name"]))
            if name and name not in made:
                made.add(name)
                codes = ", ".join(_sql_string(c) for c in _enum(spec))
                lines.append(f"CREATE TYPE {name} AS ENUM ({codes});")
    for table, schema in schemas.items():
        casts = [
            f"CAST({spec['name']} AS {types[table, spec['name']]}) AS {spec['name']}"
            for spec in schema["fields"]
            if (table, spec["name"]) in types
        ]
        replace = f" REPLACE ({', '.join(casts)})" if casts else ""
        lines.append(f"CREATE TABLE {table} AS SELECT *{replace} FROM read_parquet('{table}.parquet');")
        lines.append(f"COMMENT ON TABLE {table} IS {_sql_string(table + ': see datapackage.json')};")
        lines.extend(
            f"COMMENT ON COLUMN {table}.{spec['name']} IS {_sql_string(label(spec))};" for spec in schema["fields"]
        )
    return "\n".join(lines) + "\n"


# --- Stata and SPSS --------------------------------------------------------------------------------


NO_INT = -(2**63)  # an empty integer cell, kept in a compact int64 array


class Columns:
    """A table's rows kept as compact columns while the export streams them, to be written as .dta and .sav.

    Codes are kept as their number 1..k (0 for none), months as month numbers, integers and numbers in
    typed arrays: only text stays as Python strings, so a table of a million rows costs tens of MB.
    """

    def __init__(self, table: str, schema: dict):
        self.table, self.schema = table, schema
        self.columns: list = []
        self.encoders: list = []
        for spec in schema["fields"]:
            enum = _enum(spec)
            if enum:
                index = {code: i for i, code in enumerate(enum, 1)}
                self.columns.append(array("h"))
                self.encoders.append(lambda v, index=index: 0 if v is None else index[v])
            elif is_month(spec):
                self.columns.append(array("l"))
                self.encoders.append(_month_number)
            elif spec["type"] == "integer":
                self.columns.append(array("q"))
                self.encoders.append(lambda v: NO_INT if v is None else v)
            elif spec["type"] == "number":
                self.columns.append(array("d"))
                self.encoders.append(lambda v: math.nan if v is None else v)
            elif schema.get("primaryKey") == [spec["name"]]:  # unique text: kept as it comes
                self.columns.append([])
                self.encoders.append(None)
            else:  # repeated text (slugs, participants, terms): one string object per distinct value
                self.columns.append([])
                self.encoders.append(_one_copy())

    def tee(self, rows):
        """Yield the rows unchanged, keeping each value."""
        plan = [(column.append, encode) for column, encode in zip(self.columns, self.encoders)]
        for row in rows:
            for (append, encode), value in zip(plan, row):
                append(value if encode is None else encode(value))
            yield row

    def frame(self, for_stata: bool):
        """The table as a DataFrame of codes 1..k, dates and text; with the labels pyreadstat writes."""

        data, value_labels, formats, outside, measures, labels = {}, {}, {}, {}, {}, {}
        for spec, values in zip(self.schema["fields"], self.columns):
            name = spec["name"]
            labels[name] = short_label(spec)
            enum = _enum(spec)
            if enum:
                codes = np.frombuffer(values, dtype=np.int16) if len(values) else np.zeros(0, np.int16)
                data[name] = pd.arrays.IntegerArray(codes.copy(), codes == 0)
                value_labels[name] = {i: text for i, (_, text) in enumerate(_labels(spec), 1)}
                if spec.get("categoriesOrdered"):
                    measures[name] = "ordinal"
                    if spec.get("outsideOrder"):
                        outside[name] = [enum.index(code) + 1 for code in spec["outsideOrder"]]
                else:
                    measures[name] = "nominal"
            elif is_month(spec):
                months: dict = {}
                data[name] = pd.Series([_month_date(v, months) for v in values], dtype=object)
                formats[name] = "%tdCCYY-NN" if for_stata else "MOYR8"
            elif spec["type"] == "integer":
                numbers = np.frombuffer(values, dtype=np.int64) if len(values) else np.zeros(0, np.int64)
                data[name] = pd.arrays.IntegerArray(numbers.copy(), numbers == NO_INT)
                measures[name] = "scale"
            elif spec["type"] == "number":
                data[name] = pd.array(np.frombuffer(values, dtype=np.float64) if len(values) else [], dtype="Float64")
                measures[name] = "scale"
            else:  # Stata has no missing string: an empty one stands for it
                data[name] = pd.Series(["" if v is None else v for v in values] if for_stata else values, dtype=object)
        frame = pd.DataFrame(data, columns=[f["name"] for f in self.schema["fields"]])
        return frame, labels, value_labels, formats, outside, measures

    def write(self, stata_path, spss_path) -> None:
        """Write the kept rows as a Stata 15 .dta and an SPSS .sav file; then forget them."""
        # Imported here because only --labelled exports: 74 ms and 4 MB a worker.
        import pyreadstat

        title = f"Treatment Experience Registry: {self.table}"
        frame, labels, value_labels, formats, _, _ = self.frame(for_stata=True)
        pyreadstat.write_dta(
            frame,
            stata_path,
            file_label=title[:80],
            column_labels=labels,
            variable_value_labels=value_labels,
            variable_format=formats,
        )
        del frame
        frame, labels, value_labels, formats, outside, measures = self.frame(for_stata=False)
        self.columns = []
        pyreadstat.write_sav(
            frame,
            spss_path,
            file_label=title,
            column_labels={name: short_label(spec, 256) for name, spec in _by_name(self.schema).items()},
            compress=True,
            variable_value_labels=value_labels,
            missing_ranges=outside,
            variable_measure=measures,
            variable_format=formats,
        )


def _by_name(schema: dict) -> dict[str, dict]:
    return {spec["name"]: spec for spec in schema["fields"]}


def _one_copy():
    """An encoder keeping one string object per distinct value (a column's own cache)."""
    seen: dict = {}
    return lambda value: seen.setdefault(value, value)


def _month_number(value) -> int:
    """YYYY-MM as months since year 0 (-1 for none)."""
    if value is None or value == "":
        return -1
    return int(value[:4]) * 12 + int(value[5:7]) - 1


def _month_date(number: int, cache: dict):
    if number < 0:
        return None
    if number not in cache:
        cache[number] = date(number // 12, number % 12 + 1, 1)
    return cache[number]
