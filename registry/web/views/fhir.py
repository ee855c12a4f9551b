"""FHIR R4 definitions: the forms as Questionnaires, the answer scales and the catalog as CodeSystems, the
condition and treatment items' ValueSets (public, read-only)."""

from __future__ import annotations

import json

from flask import Blueprint, Response

from registry.interchange import fhir
from registry.platform.extensions import db

bp = Blueprint("fhir", __name__, url_prefix="/fhir")


def _fhir(resource: dict, status: int = 200, max_age: int = 3600) -> Response:
    response = Response(json.dumps(resource, indent=2, ensure_ascii=False), status=status, mimetype=fhir.FHIR_JSON)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"  # the catalog's definitions change sooner
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
    """The CodeSystem of one answer scale, built from scales, or of the catalog's conditions or treatments."""
    if name in fhir.CATALOG_CODE_SYSTEMS:
        return _fhir(fhir.catalog_code_system(name, fhir.Catalog.load(db.session)), max_age=300)
    if name not in fhir.CODE_SYSTEMS:
        return _not_found("CodeSystem", name, [*fhir.CODE_SYSTEMS, *fhir.CATALOG_CODE_SYSTEMS])
    return _fhir(fhir.code_system(name))


@bp.get("/ValueSet/<name>")
def value_set(name: str):
    """The ValueSet the condition or treatment item answers from: this registry's catalog, as answers code it."""
    if name not in fhir.VALUE_SETS:
        return _not_found("ValueSet", name, fhir.VALUE_SETS)
    return _fhir(fhir.value_set(name, fhir.Catalog.load(db.session)), max_age=300)
