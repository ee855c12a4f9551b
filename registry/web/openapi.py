"""The OpenAPI 3 description of /api/v1, built from the answer scales so the two cannot drift."""

from __future__ import annotations

import scales
from reports.disclosure import MODES
from reports.filters import FILTER_SCALES
from reports.followup import HORIZONS, tolerance

MAX_QUERY = 120  # the longest search text the API takes

NAME = {"type": "string"}
NULLABLE_STRING = {"type": "string", "nullable": True}
COUNT = {"type": "integer", "minimum": 0}
MEAN = {"type": "number", "nullable": True}


def _object(properties: dict, required=None) -> dict:
    """A closed object: every key listed, all required unless told otherwise."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
        "additionalProperties": False,
    }


def _codes(codes) -> dict:
    return {"type": "string", "enum": list(codes)}


def _distribution(codes) -> dict:
    """Every code of a scale mapped to its count."""
    return _object({code: COUNT for code in codes})


SHARE = {
    **_object({name: {"type": "number", "minimum": 0, "maximum": 1} for name in ("share", "low", "high")}),
    "nullable": True,
    "description": "A share with its 95% Wilson score interval; null when nobody answered.",
}
ERROR = _object({"error": NAME, "status": {"type": "integer"}})
TERM = _object({"term": NAME, "n": COUNT, "share": {"type": "number", "minimum": 0}})
SUPPRESSED_UNIT = _object({"slug": NAME, "name": NAME, "suppressed": {"type": "boolean", "enum": [True]}})
SHOWN = {"type": "boolean", "enum": [False]}

SUMMARY = {
    "slug": NAME,
    "name": NAME,
    "n": COUNT,
    "suppressed": SHOWN,
    "effectiveness": _distribution(scales.EFFECTIVENESS.codes),
    "improved": SHARE,
    "satisfaction_mean": MEAN,
    "side_effect_severity": _distribution(scales.SIDE_EFFECT_SEVERITY.codes),
    "insurance_coverage": _distribution(scales.INSURANCE_COVERAGE.codes),
    "severe_side_effects": SHARE,
    "not_covered": SHARE,
}
DETAIL = {
    **SUMMARY,
    **{name: _distribution(codes) for name, codes in scales.EXPERIENCE_CODES.items()},
    "recommended": {
        **SHARE,
        "description": "The share who would recommend it (would_recommend = yes), with its interval.",
    },
    "side_effects": {"type": "array", "items": TERM, "description": "Terms reported at least min_n times."},
    "stop_reasons": _distribution(scales.STOP_REASON.codes),
    "duration": _distribution(scales.DURATION.codes),
}
NULLABLE_SHARE = {"type": "number", "minimum": 0, "maximum": 1, "nullable": True}
NULLABLE_MONTHS = {"type": "integer", "nullable": True}
TIME_BAND = _object(
    {
        "months": {"type": "integer", "enum": [1, 3, 6, 12, 24]},
        "share": NULLABLE_SHARE,
        "low": NULLABLE_SHARE,
        "high": NULLABLE_SHARE,
        "at_risk": {"type": "number", "minimum": 0},
        "stopped": COUNT,
        "still_using": COUNT,
    }
)
TIME_SHOWN = {
    "n": COUNT,
    "suppressed": SHOWN,
    "bands": {
        "type": "array",
        "items": TIME_BAND,
        "description": "The share still on it at the end of each band (months "
        "since starting) with its 95% band; at_risk, stopped and still_using are the band's protected counts.",
    },
    "open_band": _object({"stopped": COUNT, "still_using": COUNT}),
    "median": {
        **_object({"months": NULLABLE_MONTHS, "low": NULLABLE_MONTHS, "high": NULLABLE_MONTHS}),
        "description": "The first milestone by which half had stopped (null: not by 24 months), with its 95% "
        "interval read off the band.",
    },
    "stop_reasons": {
        **_object(
            {
                p: _object({"stops": COUNT, "reasons": _object({c: SHARE for c in scales.STOP_REASON.codes})})
                for p in ("early", "late")
            },
            required=[],
        ),
        "description": "Per period (early: stopped in the first 3 months; late: after), shown when it holds "
        "at least min_n protected stops; each reason's share of those stops.",
    },
}
TIME_CURVE = {
    "oneOf": [_object(TIME_SHOWN), _object({"suppressed": {"type": "boolean", "enum": [True]}})],
    "description": "Time on treatment, never filtered: a life-table (Kaplan-Meier) curve of protected band counts, "
    "suppressed unless its protected n reaches twice min_n (and the unit is shown).",
}
DOCTOR_SCORE = {
    "n": COUNT,
    "suppressed": SHOWN,
    "overall_mean": MEAN,
    "top_box": SHARE,
    "communication": SHARE,
    "access": SHARE,
    "knowledge_mean": MEAN,
}
# A doctor's own page adds every item's distribution; the list of doctors does not.
DOCTOR_DISTRIBUTIONS = {
    **{name: _distribution(codes) for name, codes in scales.RATING_CODES.items()},
    **{item: _distribution(scales.FREQUENCY.codes) for item in scales.COMMUNICATION_ITEMS},
}
SUPPRESSED_SCORE = _object({"suppressed": {"type": "boolean", "enum": [True]}})
DOCTOR = {"id": {"type": "integer"}, "name": NAME, "specialty": NAME, "city": NAME, "country": NAME}
DISCLOSURE = {
    "type": "string",
    "enum": list(MODES),
    "description": "perturb: every count carries keyed noise (the same for the same reports), shares are computed "
    "from protected counts with intervals widened for it; exact: true counts (trusted deployments).",
}
HEAD = {
    "condition": _object({"slug": NAME, "name": NAME, "icd10": NULLABLE_STRING}),
    "filters": _object(
        {name: {"type": "array", "items": _codes(scale.codes)} for name, scale in FILTER_SCALES.items()}
    ),
    "min_n": {"type": "integer"},
    "disclosure": DISCLOSURE,
}


def _param(name: str, schema: dict, description: str, where: str = "query", required: bool = False) -> dict:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": schema,
        "description": description,
    }


Q = {"type": "string", "minLength": 1, "maxLength": MAX_QUERY, "pattern": r"\S"}
LIMIT = _param("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "At most this many results.")
FILTERS = [
    {
        **_param(
            name,
            {"type": "array", "items": _codes(scale.codes)},
            f"Patients like me: {scale.description}. One value at a time (or every value: no filter).",
        ),
        "style": "form",
        "explode": True,
    }
    for name, scale in FILTER_SCALES.items()
]
CONDITION_SLUG = _param("slug", NAME, "A condition's slug.", "path")


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _get(summary: str, parameters: list, ok: dict, errors=(400,)) -> dict:
    messages = {400: "A parameter is not valid.", 404: "No such entry.", 429: "Too many requests; see Retry-After."}
    responses = {"200": ok} | {str(code): _json(ERROR, messages[code]) for code in (*errors, 429)}
    return {"get": {"summary": summary, "parameters": parameters, "responses": responses}}


def _shown_or_suppressed(properties: dict, suppressed: dict) -> dict:
    return {"oneOf": [_object(properties), suppressed]}


def _catalog_paths() -> dict:
    """Searching and listing conditions and treatments."""
    condition_hit = _object(
        {
            "slug": NULLABLE_STRING,
            "name": NAME,
            "icd10": NULLABLE_STRING,
            "matched": NAME,
            "in_catalog": {"type": "boolean"},
            "n": {"type": "integer", "minimum": 0, "nullable": True},
            "suppressed": {"type": "boolean"},
        }
    )
    condition_row = _object(
        {
            "slug": NAME,
            "name": NAME,
            "icd10": NULLABLE_STRING,
            "n": {"type": "integer", "minimum": 0, "nullable": True},
            "suppressed": {"type": "boolean"},
        }
    )
    treatment_hit = _object(
        {
            "slug": NULLABLE_STRING,
            "name": NAME,
            "kind": {**_codes(scales.TREATMENT_KIND.codes), "nullable": True},
            "matched": NAME,
            "in_catalog": {"type": "boolean"},
        }
    )
    return {
        "/conditions": _get(
            "Conditions with their number of reports; with q, matches including ICD-10-CM entries.",
            [_param("q", Q, "Search text: a name, synonym or ICD-10-CM code."), LIMIT],
            _json(
                {
                    "oneOf": [
                        _object({"conditions": {"type": "array", "items": condition_row}}),
                        _object({"q": NAME, "conditions": {"type": "array", "items": condition_hit}}),
                    ]
                },
                "The conditions.",
            ),
        ),
        "/treatments": _get(
            "Treatments matching q; brand names resolve to the generic drug.",
            [_param("q", Q, "Search text: a name, brand name or synonym.", required=True), LIMIT],
            _json(_object({"q": NAME, "treatments": {"type": "array", "items": treatment_hit}}), "The matches."),
        ),
    }


def _treatment_overview() -> dict:
    """The drug page's JSON: a treatment across the conditions it is shown for."""
    return _object(
        {
            "treatment": _object(
                {
                    "slug": NAME,
                    "name": NAME,
                    "kind": {**_codes(scales.TREATMENT_KIND.codes), "nullable": True},
                }
            ),
            "min_n": {"type": "integer"},
            "disclosure": DISCLOSURE,
            "n": {
                "type": "integer",
                "minimum": 0,
                "nullable": True,
                "description": "Sum of the shown conditions' protected counts; null when none is shown.",
            },
            "suppressed": {"type": "boolean"},
            "conditions": {
                "type": "array",
                "description": "Shown conditions, most reported first, then hidden ones the catalog lists.",
                "items": _object(
                    {
                        "condition": _object({"slug": NAME, "name": NAME}),
                        "treatment": _shown_or_suppressed(DETAIL, SUPPRESSED_UNIT),
                    }
                ),
            },
            "side_effects": {
                "type": "array",
                "items": TERM,
                "description": "Sums of the shown conditions' protected term counts, kept when at least min_n; share of n.",
            },
            "time_on_treatment": {
                "type": "array",
                "description": "Per shown condition with a curve, its time on treatment.",
                "items": _object({"condition": _object({"slug": NAME, "name": NAME}), **TIME_SHOWN}),
            },
        }
    )


def _treatment_paths() -> dict:
    """A treatment's reports: across its conditions, ranked within one, and one treatment for one condition."""
    return {
        "/treatments/{treatment_slug}": _get(
            "One treatment for every condition it is shown for (each as its own report), and its side effects overall.",
            [_param("treatment_slug", NAME, "A treatment's slug.", "path")],
            _json(
                _treatment_overview(),
                "The treatment's reports.",
            ),
            errors=(404,),
        ),
        "/conditions/{slug}/treatments": _get(
            "A condition's treatments ranked by the lower Wilson bound of 'improved'.",
            [CONDITION_SLUG, *FILTERS],
            _json(
                _object(
                    {
                        **HEAD,
                        "n": {"type": "integer", "minimum": 0, "nullable": True},
                        "suppressed": {"type": "boolean"},
                        "treatments": {"type": "array", "items": _shown_or_suppressed(SUMMARY, SUPPRESSED_UNIT)},
                    }
                ),
                "The ranked treatments.",
            ),
            errors=(400, 404),
        ),
        "/conditions/{slug}/treatments/{treatment_slug}": _get(
            "Every distribution of one treatment for one condition.",
            [CONDITION_SLUG, _param("treatment_slug", NAME, "A treatment's slug.", "path"), *FILTERS],
            _json(
                _object(
                    {
                        **HEAD,
                        "treatment": _shown_or_suppressed(DETAIL, SUPPRESSED_UNIT),
                        "time_on_treatment": TIME_CURVE,
                    }
                ),
                "The treatment's report.",
            ),
            errors=(400, 404),
        ),
    }


def _doctor_paths() -> dict:
    """Doctors' scores: the filtered list and one doctor."""
    doctor_row = {
        "oneOf": [
            _object({**DOCTOR, **DOCTOR_SCORE}),
            _object({**DOCTOR, "suppressed": {"type": "boolean", "enum": [True]}}),
        ]
    }
    return {
        "/doctors": _get(
            "Doctors filtered by condition, specialty and place, ranked by the top-box lower bound.",
            [
                _param("condition", NAME, "A condition's slug: scores for that condition only."),
                *(
                    _param(name, NAME, f"Only doctors whose {name} matches.")
                    for name in ("specialty", "city", "country", "q")
                ),
                LIMIT,
            ],
            _json(
                _object(
                    {
                        "filters": _object({name: NAME for name in ("condition", "specialty", "city", "country", "q")}),
                        "min_n": {"type": "integer"},
                        "disclosure": DISCLOSURE,
                        "doctors": {"type": "array", "items": doctor_row},
                    }
                ),
                "The doctors.",
            ),
            errors=(400, 404),
        ),
        "/doctors/{doctor_id}": _get(
            "One doctor's scores overall and per condition.",
            [_param("doctor_id", {"type": "integer"}, "The doctor's id.", "path")],
            _json(
                _object(
                    {
                        "doctor": _object(DOCTOR),
                        "min_n": {"type": "integer"},
                        "disclosure": DISCLOSURE,
                        "overall": _shown_or_suppressed({**DOCTOR_SCORE, **DOCTOR_DISTRIBUTIONS}, SUPPRESSED_SCORE),
                        "conditions": {
                            "type": "array",
                            "items": {
                                "oneOf": [
                                    _object({"slug": NAME, "name": NAME, **DOCTOR_SCORE, **DOCTOR_DISTRIBUTIONS}),
                                    _object(
                                        {
                                            "slug": NAME,
                                            "name": NAME,
                                            "suppressed": {"type": "boolean", "enum": [True]},
                                        }
                                    ),
                                ]
                            },
                        },
                        "other_conditions": {
                            "description": "The conditions too small to show alone, pooled (null when the pool "
                            "itself is too small); the overall is the sum of the conditions listed and this pool.",
                            "oneOf": [_object({**DOCTOR_SCORE, **DOCTOR_DISTRIBUTIONS}), {"type": "null"}],
                        },
                    }
                ),
                "The doctor's scores.",
            ),
            errors=(404,),
        ),
    }


def spec() -> dict:
    """The OpenAPI document served at /api/v1/openapi.json."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Treatment Experience Registry API",
            "version": "1",
            "description": "Read-only, de-identified reports. Codes are those of the registry's answer scales; "
            "every number is protected by disclosure control (see `disclosure`), and a unit whose protected count is "
            "under the minimum group size (min_n) is reported as suppressed, never with its numbers.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {**_catalog_paths(), **_treatment_paths(), **slice_paths(), **_doctor_paths()},
    }


# --- dose bands, years of report and follow-ups (issue 19) ----------------------------------------------

MEAN_INTERVAL = {
    **_object({name: {"type": "number"} for name in ("mean", "low", "high")}),
    "nullable": True,
    "description": "A mean with its 95% interval (normal approximation, widened for the noise); null when nobody answered.",
}


def _slice(extra: dict) -> dict:
    """One slice (a dose band, a year): its outcomes, or only that it is suppressed; both with extra keys."""
    return {
        "oneOf": [
            _object(
                {
                    "label": NAME,
                    **extra,
                    "suppressed": SHOWN,
                    "n": COUNT,
                    "improved": SHARE,
                    "severe_side_effects": SHARE,
                    "satisfaction": MEAN_INTERVAL,
                }
            ),
            _object({"label": NAME, **extra, "suppressed": {"type": "boolean", "enum": [True]}}),
        ]
    }


EDGE = {"type": "number", "nullable": True}
SLICE_HEAD = {
    "condition": _object({"slug": NAME, "name": NAME, "icd10": NULLABLE_STRING}),
    "treatment": _object(
        {"slug": NAME, "name": NAME, "kind": {**_codes(scales.TREATMENT_KIND.codes), "nullable": True}}
    ),
    "min_n": {"type": "integer"},
    "disclosure": DISCLOSURE,
}
DOSE = {
    "oneOf": [
        _object(
            {
                "suppressed": SHOWN,
                "measure": {
                    **NULLABLE_STRING,
                    "description": "The common unit, e.g. 'mg a day'; null when no dose is reported often enough.",
                },
                "bands": {
                    "type": "array",
                    "items": _slice({"from": EDGE, "below": EDGE}),
                    "description": "Dose bands, lowest first; edges are doses reported by at least min_n people. 'from': a band's "
                    "lower edge (null for the lowest band, which holds every lower dose); 'below': the next band's edge.",
                },
                "without_dose": {
                    "type": "integer",
                    "minimum": 0,
                    "nullable": True,
                    "description": "Protected count; null when under min_n.",
                },
                "other_units": {
                    "type": "integer",
                    "minimum": 0,
                    "nullable": True,
                    "description": "Reports in other units or schedules (protected count; null when under min_n).",
                },
            }
        ),
        _object({"suppressed": {"type": "boolean", "enum": [True]}}),
    ]
}
MOVED = {
    **_object({"from": NAME, "to": NAME, "direction": _codes(("up", "down", "steady"))}),
    "nullable": True,
    "description": "First and last shown years; up or down only when their 95% intervals do not overlap.",
}
YEARS = {
    "oneOf": [
        _object(
            {
                "suppressed": SHOWN,
                "years": {
                    "type": "array",
                    "description": "Every year from the first to the last shown one.",
                    "items": _slice({"year": {"type": "integer"}}),
                },
                "improved_moved": MOVED,
                "satisfaction_moved": MOVED,
            }
        ),
        _object({"suppressed": {"type": "boolean", "enum": [True]}}),
    ]
}

HORIZON_HEAD = {
    "months": {"type": "integer", "enum": list(HORIZONS), "description": "Months after starting."},
    "tolerance": {
        "type": "integer",
        "enum": sorted({tolerance(m) for m in HORIZONS}),
        "description": "How far (months) an answer may lie from it: a quarter of it, at least one.",
    },
}
AFTER_MONTHS = {
    "oneOf": [
        _object(
            {
                "suppressed": SHOWN,
                "horizons": {
                    "type": "array",
                    "description": "One row per horizon the page shows (3, 6 and 12 months), each from the answer of "
                    "every followed-up experience nearest to it; hidden when under min_n.",
                    "items": {
                        "oneOf": [
                            _object(
                                {
                                    **HORIZON_HEAD,
                                    "suppressed": SHOWN,
                                    "n": COUNT,
                                    "improved": SHARE,
                                    "still_using": SHARE,
                                    "severe_side_effects": SHARE,
                                    "satisfaction_mean": MEAN,
                                }
                            ),
                            _object({**HORIZON_HEAD, "suppressed": {"type": "boolean", "enum": [True]}}),
                        ]
                    },
                },
            }
        ),
        _object({"suppressed": {"type": "boolean", "enum": [True]}}),
    ],
    "description": "Suppressed as a whole when the treatment itself is (too few reports for the condition).",
}


def slice_paths() -> dict:
    """The dose, years and after-months endpoints: never filtered, every number protected."""
    parameters = [CONDITION_SLUG, _param("treatment_slug", NAME, "A treatment's slug.", "path")]
    return {
        "/conditions/{slug}/treatments/{treatment_slug}/dose": _get(
            "A drug's improved share, severe side effects and satisfaction by dose band (every report; not filtered).",
            parameters,
            _json(_object({**SLICE_HEAD, "dose": DOSE}), "The dose bands."),
            errors=(404,),
        ),
        "/conditions/{slug}/treatments/{treatment_slug}/years": _get(
            "A treatment's improved share and satisfaction by year of report (every report; not filtered).",
            parameters,
            _json(_object({**SLICE_HEAD, "years": YEARS}), "The years."),
            errors=(404,),
        ),
        "/conditions/{slug}/treatments/{treatment_slug}/after-months": _get(
            "What people who sent follow-ups reported about 3, 6 and 12 months after starting (not filtered).",
            parameters,
            _json(_object({**SLICE_HEAD, "after_months": AFTER_MONTHS}), "The horizons."),
            errors=(404,),
        ),
    }
