"""FHIR R4 definitions: the forms as Questionnaires and the answer scales as CodeSystems (public, read-only)."""

from __future__ import annotations

import json

from flask import Blueprint, Response

from registry import fhir

bp = Blueprint("fhir", __name__, url_prefix="/fhir")


def _fhir(resource: dict, status: int = 200) -> Response:
    response = Response(json.dumps(resource, indent=2, ensure_ascii=False), status=status, mimetype=fhir.FHIR_JSON)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _not_found(kind: str, name: str, known) -> Response:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": "not-found", "diagnostics": f"No {kind} {name!r}. Known: {', '.join(known)}."}
        ],
    }
    return _fhir(outcome, 404)


@bp.get("/Questionnaire/<name>")
def questionnaire(name: str):
    """The Questionnaire of the experience form or the doctor-rating form."""
    if name not in fhir.QUESTIONNAIRE_NAMES:
        return _not_found("Questionnaire", name, fhir.QUESTIONNAIRE_NAMES)
    return _fhir(fhir.questionnaire(name))


@bp.get("/CodeSystem/<name>")
def code_system(name: str):
    """The CodeSystem of one answer scale, built from scales."""
    if name not in fhir.CODE_SYSTEMS:
        return _not_found("CodeSystem", name, fhir.CODE_SYSTEMS)
    return _fhir(fhir.code_system(name))
