"""The research export's codebook: one Frictionless Table Schema per file, built from scales.

The same descriptor becomes datapackage.json in every export and the human-readable codebook page.
"""

from __future__ import annotations

from flask import has_app_context

import scales
from registry.platform.i18n import translations
from scales.i18n import N_

MISSING = [""]


# Scales whose codes are ordered, in the order of their options (low to high, or as the instrument
# lists them), with the codes that are answers outside that order ("can't tell", "don't know"): they
# come last, and an ordinal analysis sets them to missing. Every other scale is nominal.
ORDINAL: tuple[tuple[scales.Scale, tuple[str, ...]], ...] = (
    (scales.AGE_BAND, ()),
    (scales.YEARS_SINCE_DIAGNOSIS, ()),
    (scales.EFFECTIVENESS, (scales.UNKNOWN_EFFECT_CODE,)),
    (scales.SIDE_EFFECT_SEVERITY, ()),
    (scales.ADHERENCE, ()),
    (scales.BURDEN, ()),
    (scales.COST_PER_MONTH, ("unknown",)),
    (scales.FREQUENCY, ()),
    (scales.DOCTOR_RECOMMEND, ()),
)


def ordinal(scale: scales.Scale) -> tuple[str, ...] | None:
    """The scale's codes outside its order when the scale is ordinal (maybe none); None when it is nominal."""
    for known, outside in ORDINAL:
        if known is scale:
            return outside
    return None


def _enum(name: str, scale: scales.Scale, description: str, required: bool = False) -> dict:
    codes = "; ".join(f"{code} = {label}" for code, label in scale.options)
    outside = ordinal(scale)
    if outside is None:
        order = ""
    else:
        order = " Ordered as listed."
        if outside:
            order += (
                f" {', '.join(outside)}: an answer outside the order (listed last; missing in an ordinal analysis)."
            )
    field = {
        "name": name,
        "type": "string",
        "description": f"{description} Codes: {codes}.{order}" + (f" Source: {scale.source}." if scale.source else ""),
        "constraints": {"enum": list(scale.codes), **({"required": True} if required else {})},
        # Table Schema v2's machine-readable labels and order (v1 readers ignore them).
        # Each label's translation beside it, per language the registry offers ("translations": {"es": ...}).
        "categories": [_category(code, label) for code, label in scale.options],
        "categoriesOrdered": outside is not None,
    }
    if outside:
        field["outsideOrder"] = list(outside)
    return field


def _category(code: str, label: str) -> dict:
    return {"value": code, "label": label}


def _with_translations(resources: dict[str, dict]) -> dict[str, dict]:
    """Each category's label in every other language the registry offers ("translations": {"es": ...}),
    added when the codebook is asked for (the field tables are built at import, before any app)."""
    if not has_app_context():
        return resources
    for schema in resources.values():
        for i, field in enumerate(schema["fields"]):
            if "categories" in field:
                categories = [
                    {**c, "translations": t} if (t := translations(c["label"])) else c for c in field["categories"]
                ]
                schema["fields"][i] = {**field, "categories": categories}
    return resources


def _string(name: str, description: str, required: bool = False, pattern: str | None = None) -> dict:
    constraints = {}
    if required:
        constraints["required"] = True
    if pattern:
        constraints["pattern"] = pattern
    if pattern == MONTH_PATTERN:
        description += MONTH_PRECISION
    field = {"name": name, "type": "string", "description": description}
    if constraints:
        field["constraints"] = constraints
    return field


def _integer(name: str, description: str, low: int, high: int, required: bool = False) -> dict:
    constraints = {"minimum": low, "maximum": high}
    if required:
        constraints["required"] = True
    return {"name": name, "type": "integer", "description": description, "constraints": constraints}


MONTH_PATTERN = r"\d{4}-(0[1-9]|1[0-2])"
# Month precision: every date of the export is a year-month. CSV writes it as YYYY-MM text; Parquet as a
# date, the first day of the month, standing for the whole month (docs/interchange.md says why).
MONTH_PRECISION = (
    " Month precision: in CSV the text YYYY-MM; in Parquet, Stata and SPSS a date, the first day of the month,"
    " which stands for the whole month (the day carries no information)."
)
TEXT_NOTE = (
    " Free text as participants entered it, included only when the export asked for it; empty where a"
    " moderator hid the text or it is held for review (an email address, phone number or link)."
    " A cell starting with =, +, -, @, tab or carriage return is prefixed with a single quote so that"
    " spreadsheets do not run it as a formula."
)

EXPERIENCE_SCHEMA_FIELDS = [
    _string("experience_id", "Pseudonymous id of the experience (keyed hash; stable within this registry).", True),
    _string("participant_id", "Pseudonymous id of the participant (keyed hash; useless outside this registry).", True),
    _string("condition", "Condition slug; see conditions.csv.", True),
    _string("treatment", "Treatment slug; see treatments.csv.", True),
    _enum("role", scales.ROLE, "Who reported.", True),
    _enum("age_band", scales.AGE_BAND, "Age band of the person the report is about, when the report was written."),
    _enum("sex", scales.SEX, "Sex of the person the report is about."),
    _enum("years_since_diagnosis", scales.YEARS_SINCE_DIAGNOSIS, "Years since diagnosis when the report was written."),
    _string("country", "ISO 3166-1 alpha-2 country of the participant, when given.", pattern="[A-Z]{2}"),
    _string("started", "Year-month the treatment started (YYYY-MM).", True, MONTH_PATTERN),
    _string("stopped", "Year-month the treatment stopped (YYYY-MM); empty = still using.", pattern=MONTH_PATTERN),
    {
        "name": "dose_amount",
        "type": "number",
        "description": "Dose amount (drugs only).",
        "constraints": {"minimum": 0},
    },
    _enum("dose_unit", scales.DOSE_UNIT, "Dose unit."),
    _enum("dose_frequency", scales.DOSE_FREQUENCY, "How often the dose was taken."),
    _enum("effectiveness", scales.EFFECTIVENESS, "How well the treatment worked.", True),
    _enum("side_effect_severity", scales.SIDE_EFFECT_SEVERITY, "Side effects at their worst.", True),
    _enum("adherence", scales.ADHERENCE, "Taken as prescribed."),
    _enum("burden", scales.BURDEN, "How hard the treatment was to take."),
    _enum("cost_per_month", scales.COST_PER_MONTH, "Out-of-pocket cost per month."),
    _enum("insurance_coverage", scales.INSURANCE_COVERAGE, "Insurance coverage."),
    _integer(
        "satisfaction",
        "Overall satisfaction, 1 (very dissatisfied) to 10 (very satisfied).",
        scales.SATISFACTION_MIN,
        scales.SATISFACTION_MAX,
        True,
    ),
    _enum("would_recommend", scales.WOULD_RECOMMEND, "Would recommend it to someone with the same condition.", True),
    _string("reported", "Year-month the experience was first recorded.", True, MONTH_PATTERN),
    _string("updated", "Year-month the experience was last changed.", True, MONTH_PATTERN),
]
TIPS_FIELD = _string("tips", "Tips for others." + TEXT_NOTE)

RATING_SCHEMA_FIELDS = [
    _string("rating_id", "Pseudonymous id of the rating.", True),
    _string("participant_id", "Pseudonymous id of the participant (as in experiences.csv).", True),
    {
        "name": "doctor_id",
        "type": "integer",
        "description": "Doctor id; see doctors.csv.",
        "constraints": {"required": True},
    },
    _string("condition", "Condition the doctor was seen for; see conditions.csv.", True),
    _string("last_visit", "Year-month of the last visit.", True, MONTH_PATTERN),
    _integer(
        "overall",
        "CG-CAHPS rating of the provider, 0 (worst) to 10 (best); 9-10 is 'top box'.",
        scales.OVERALL_MIN,
        scales.OVERALL_MAX,
        True,
    ),
    _enum("explained_clearly", scales.FREQUENCY, "Explained things in a way that was easy to understand.", True),
    _enum("listened_carefully", scales.FREQUENCY, "Listened carefully.", True),
    _enum("showed_respect", scales.FREQUENCY, "Showed respect for what the patient had to say.", True),
    _enum("spent_enough_time", scales.FREQUENCY, "Spent enough time.", True),
    _enum("got_appointment", scales.FREQUENCY, "Got an appointment as soon as needed (CG-CAHPS access)."),
    _integer(
        "knowledge",
        "Knew the condition well, 1 (not at all) to 5 (extremely well).",
        scales.KNOWLEDGE_MIN,
        scales.KNOWLEDGE_MAX,
        True,
    ),
    _enum("would_recommend", scales.DOCTOR_RECOMMEND, "Would recommend the doctor to family and friends.", True),
    _string("rated", "Year-month the rating was last changed.", True, MONTH_PATTERN),
]
COMMENT_FIELD = _string("comment", "Comment on the doctor." + TEXT_NOTE)

# Follow-ups (registry.contributions.followups): each experience's kept history, one row per dated point.
UPDATE_KIND = scales.Scale(
    "update_kind",
    (
        ("original", N_("the answers as they were before the first follow-up")),
        ("edit", N_("the answers as changed through the full form since the previous point")),
        ("update", N_("a follow-up")),
    ),
)
UPDATE_FIELDS = [
    _string(
        "update_id",
        "Pseudonymous id of the history point (keyed hash); in the FHIR export, the id of its response of the "
        "treatment-experience-follow-up questionnaire, whose items are named as these columns.",
        True,
    ),
    _string("experience_id", "Experience (see experiences.csv, which holds its current answers).", True),
    _string("participant_id", "Pseudonymous id of the participant (as in experiences.csv).", True),
    _enum("kind", UPDATE_KIND, "Where this point comes from.", True),
    _string("recorded", "Year-month the answers were given.", True, MONTH_PATTERN),
    {
        "name": "months_since_start",
        "type": "integer",
        "description": "Months from the experience's start month (started in experiences.csv) to recorded; "
        "empty when the experience has no start month.",
    },
    _string(
        "stopped",
        "Year-month the treatment stopped, as answered then; empty = still using then.",
        pattern=MONTH_PATTERN,
    ),
    _enum("effectiveness", scales.EFFECTIVENESS, "How well the treatment worked, as answered then."),
    _enum("side_effect_severity", scales.SIDE_EFFECT_SEVERITY, "Side effects at their worst, as answered then."),
    _integer(
        "satisfaction",
        "Overall satisfaction then, 1 (very dissatisfied) to 10 (very satisfied).",
        scales.SATISFACTION_MIN,
        scales.SATISFACTION_MAX,
    ),
    _enum("would_recommend", scales.WOULD_RECOMMEND, "Would recommend it, as answered then."),
]
FOLLOWUP_SCHEMAS = {
    "experience_updates": {
        "fields": UPDATE_FIELDS,
        "primaryKey": ["update_id"],
        "foreignKeys": [
            {"fields": "experience_id", "reference": {"resource": "experiences", "fields": "experience_id"}}
        ],
        "missingValues": MISSING,
    },
    "experience_update_stop_reasons": {
        "fields": [
            _string("update_id", "History point (see experience_updates.csv).", True),
            _enum("reason", scales.STOP_REASON, "Why the treatment was stopped, as answered then.", True),
        ],
        "primaryKey": ["update_id", "reason"],
        "foreignKeys": [
            {"fields": "update_id", "reference": {"resource": "experience_updates", "fields": "update_id"}}
        ],
        "missingValues": MISSING,
    },
}


def _fk(field: str, resource: str, key: str) -> dict:
    return {"fields": field, "reference": {"resource": resource, "fields": key}}


def schemas(with_text: bool) -> dict[str, dict]:
    """Table Schema per resource name, in file order."""
    return _with_translations(_schemas(with_text))


def _schemas(with_text: bool) -> dict[str, dict]:
    return {
        "experiences": {
            "fields": EXPERIENCE_SCHEMA_FIELDS + ([TIPS_FIELD] if with_text else []),
            "primaryKey": ["experience_id"],
            "foreignKeys": [_fk("condition", "conditions", "slug"), _fk("treatment", "treatments", "slug")],
            "missingValues": MISSING,
        },
        "experience_side_effects": {
            "fields": [
                _string("experience_id", "Experience (see experiences.csv).", True),
                _string(
                    "term",
                    "Side-effect term, normalized to lower case: one of the starter terms ("
                    + ", ".join(scales.SIDE_EFFECT_STARTER_TERMS)
                    + "), or a participant's own term when the "
                    "export asked for free text, else 'other'.",
                    True,
                ),
            ],
            "primaryKey": ["experience_id", "term"],
            "foreignKeys": [_fk("experience_id", "experiences", "experience_id")],
            "missingValues": MISSING,
        },
        "experience_stop_reasons": {
            "fields": [
                _string("experience_id", "Experience (see experiences.csv).", True),
                _enum("reason", scales.STOP_REASON, "Why the treatment was stopped.", True),
            ],
            "primaryKey": ["experience_id", "reason"],
            "foreignKeys": [_fk("experience_id", "experiences", "experience_id")],
            "missingValues": MISSING,
        },
        **FOLLOWUP_SCHEMAS,
        "doctor_ratings": {
            "fields": RATING_SCHEMA_FIELDS + ([COMMENT_FIELD] if with_text else []),
            "primaryKey": ["rating_id"],
            "foreignKeys": [_fk("doctor_id", "doctors", "doctor_id"), _fk("condition", "conditions", "slug")],
            "missingValues": MISSING,
        },
        "conditions": {
            "fields": [
                _string("slug", "Condition id.", True),
                _string("name", "Name of the condition.", True),
                _string("icd10", "ICD-10-CM code, when known."),
            ],
            "primaryKey": ["slug"],
            "missingValues": MISSING,
        },
        "treatments": {
            "fields": [
                _string("slug", "Treatment id.", True),
                _string("name", "Name; drugs under their generic (ingredient) name.", True),
                _enum("kind", scales.TREATMENT_KIND, "Kind of treatment.", True),
                _string("drugbank_id", "DrugBank id, when known."),
                _string("mesh_id", "MeSH id, when known."),
            ],
            "primaryKey": ["slug"],
            "missingValues": MISSING,
        },
        "doctors": {
            "fields": [
                {
                    "name": "doctor_id",
                    "type": "integer",
                    "description": "Doctor id.",
                    "constraints": {"required": True},
                },
                _string("name", "Doctor's name (professionals in public practice).", True),
                _string("specialty", "Specialty.", True),
                _string("city", "City.", True),
                _string("country", "ISO 3166-1 alpha-2 country.", True),
            ],
            "primaryKey": ["doctor_id"],
            "missingValues": MISSING,
        },
    }


# Parquet keeps real nulls, but frictionless reads a null double as NaN: "nan" is declared missing so
# that `frictionless validate` passes on the Parquet export too.
PARQUET_MISSING = ["", "nan"]

FILE_FORMATS = {
    "csv": {"format": "csv", "mediatype": "text/csv", "encoding": "utf-8"},
    "parquet": {"format": "parquet", "mediatype": "application/vnd.apache.parquet"},
}


def datapackage(with_text: bool, created: str, filters: dict, counts: dict[str, int], fmt: str = "csv") -> dict:
    """The Frictionless Data Package descriptor of an export (its files as CSV or as Parquet)."""
    return {
        "profile": "tabular-data-package",
        "name": "treatment-experience-registry-export",
        "title": "Treatment Experience Registry: research export",
        "description": (
            "Patients' own structured reports of treatments and doctors, from participants who consented "
            "to research use; de-identified (pseudonymous ids, year-month dates, age bands). "
            "The rows are exact: unlike the public report pages and API, whose every count carries bounded keyed "
            "noise and whose 95% intervals are Wilson intervals widened in quadrature by the noise's standard "
            "deviation on the share (docs/privacy.md), an export is given only to researchers under their role. "
            f"Filters: {filters or 'none'}."
        ),
        "created": created,
        "licenses": [{"name": "ODC-BY-1.0", "title": "Open Data Commons Attribution License 1.0"}],
        "resources": [
            {
                "name": name,
                "path": f"{name}.{fmt}",
                "profile": "tabular-data-resource",
                **FILE_FORMATS[fmt],
                "description": f"{counts.get(name, 0)} rows.",
                "schema": schema if fmt == "csv" else parquet_schema(schema),
            }
            for name, schema in schemas(with_text).items()
        ],
    }


def is_month(spec: dict) -> bool:
    """Whether a field of the CSV codebook is a year-month (a date of month precision in Parquet)."""
    return spec.get("constraints", {}).get("pattern") == MONTH_PATTERN


def parquet_schema(schema: dict) -> dict:
    """A table's schema as its Parquet file holds it: year-months are dates (the first of the month)."""
    fields = []
    for spec in schema["fields"]:
        if is_month(spec):
            constraints = {k: v for k, v in spec["constraints"].items() if k != "pattern"}
            spec = {k: v for k, v in spec.items() if k != "constraints"} | {"type": "date"}
            if constraints:
                spec["constraints"] = constraints
        fields.append(spec)
    return {**schema, "fields": fields, "missingValues": PARQUET_MISSING}
