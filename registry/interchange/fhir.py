"""FHIR R4: the forms as Questionnaires, the scales as CodeSystems, experiences as QuestionnaireResponses.

Everything here is built from scales (codes, labels, help) and the forms (field names,
labels, which answers are required), so a scale or question changed there changes the FHIR
resources too. The export streams the rows of the research export (registry.interchange.export: the same
consenting participants, pseudonyms and year-month dates) as FHIR Bulk Data ndjson: first the
catalog's definitions (the registry's CodeSystems of catalog entries, the ValueSets that the
condition and treatment items answer from, a Practitioner per doctor), then the experiences, each
experience's follow-up history (registry.contributions.followups) as responses of the follow-up questionnaire,
and the doctor ratings as responses of the doctor-rating questionnaire. `read_resource` turns one
line back into what registry.interchange.importer saves (registry.interchange.fhir_import for follow-ups, doctors, ratings).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field

from flask import has_app_context
from pydantic import ValidationError
from sqlalchemy import select
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, InputRequired

import scales
from forms.experience import ExperienceForm
from forms.followup import FollowupForm
from forms.rating import DoctorRatingForm
from registry.interchange import export
from registry.interchange.codebook import EXPERIENCE_SCHEMA_FIELDS, RATING_SCHEMA_FIELDS, UPDATE_FIELDS, UPDATE_KIND
from registry.models import Condition, Doctor, Treatment
from registry.platform.extensions import db
from registry.platform.i18n import other_languages, translations
from scales import i18n

FHIR_VERSION = "4.0.1"
# A name, not a location: the same in every deployment, so responses from one registry import into
# another. The .example domain (RFC 2606) can never belong to anyone.
CANONICAL = "https://treatment-registry.example/fhir"
QUESTIONNAIRE_VERSION = "1"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
DRUGBANK = "https://go.drugbank.com/drugs"
MESH = "http://www.nlm.nih.gov/research/umls/mesh"
CATALOG_CONDITION = f"{CANONICAL}/sid/condition"
CATALOG_TREATMENT = f"{CANONICAL}/sid/treatment"
CATALOG_DOCTOR = f"{CANONICAL}/sid/doctor"
# The registry's own CodeSystems of its catalog (every entry by slug): the code of an entry that has no
# ICD-10-CM, DrugBank or MeSH code. Their ids; their urls are the catalog systems above.
CATALOG_CODE_SYSTEMS = {"catalog-condition": CATALOG_CONDITION, "catalog-treatment": CATALOG_TREATMENT}
VALUE_SETS = ("condition", "treatment")
SLUG_EXTENSION = f"{CANONICAL}/StructureDefinition/catalog-slug"
REPORTED_EXTENSION = f"{CANONICAL}/StructureDefinition/first-reported"
# A follow-up response names its experience's response here: R4's QuestionnaireResponse.partOf may
# point only to an Observation or Procedure, and basedOn only to a CarePlan or ServiceRequest.
FOLLOW_UP_OF_EXTENSION = f"{CANONICAL}/StructureDefinition/follow-up-of"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"  # a string's text in another language
FHIR_JSON = "application/fhir+json"
FHIR_NDJSON = "application/fhir+ndjson"
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

SIDE_EFFECT = scales.Scale(
    "side_effect",
    tuple((term, term[:1].upper() + term[1:]) for term in scales.SIDE_EFFECT_STARTER_TERMS),
    "Common side-effect terms offered on the form; participants may add their own words.",
    "PatientsLikeMe, Druglib",
)

# CodeSystem id -> scale: every coded answer of both questionnaires.
CODE_SYSTEMS: dict[str, scales.Scale] = {
    "role": scales.ROLE,
    "age-band": scales.AGE_BAND,
    "sex": scales.SEX,
    "years-since-diagnosis": scales.YEARS_SINCE_DIAGNOSIS,
    "dose-unit": scales.DOSE_UNIT,
    "dose-frequency": scales.DOSE_FREQUENCY,
    "effectiveness": scales.EFFECTIVENESS,
    "side-effect-severity": scales.SIDE_EFFECT_SEVERITY,
    "side-effect": SIDE_EFFECT,
    "adherence": scales.ADHERENCE,
    "burden": scales.BURDEN,
    "cost-per-month": scales.COST_PER_MONTH,
    "insurance-coverage": scales.INSURANCE_COVERAGE,
    "stop-reason": scales.STOP_REASON,
    "would-recommend": scales.WOULD_RECOMMEND,
    "frequency": scales.FREQUENCY,
    "doctor-would-recommend": scales.DOCTOR_RECOMMEND,
    "update-kind": UPDATE_KIND,
}


def system_url(code_system: str) -> str:
    return f"{CANONICAL}/CodeSystem/{code_system}"


@dataclass(frozen=True)
class Item:
    """One question: linkId (the form field's name), FHIR item type, its CodeSystem id, constraints."""

    link_id: str
    type: str
    code_system: str | None = None
    repeats: bool = False
    low: int | None = None
    high: int | None = None
    max_length: int | None = None
    read_only: bool = False
    text: str | None = None  # only for items that are not fields of the form
    enable_when: tuple = ()
    value_set: str | None = None  # the ValueSet (of the catalog) its answers come from


def value_set_url(name: str) -> str:
    return f"{CANONICAL}/ValueSet/{name}"


EXPERIENCE_ITEMS = (
    Item("condition", "choice", value_set="condition"),
    Item("treatment", "choice", value_set="treatment"),
    Item("role", "choice", "role"),
    Item("diagnosed_year", "integer", low=1900),
    Item("started", "date"),
    Item("stopped", "date"),
    Item("dose_amount", "decimal"),
    Item("dose_unit", "choice", "dose-unit"),
    Item("dose_frequency", "choice", "dose-frequency"),
    Item("effectiveness", "choice", "effectiveness"),
    Item("side_effect_severity", "choice", "side-effect-severity"),
    Item("side_effects", "open-choice", "side-effect", repeats=True),
    Item("adherence", "choice", "adherence"),
    Item("burden", "choice", "burden"),
    Item("cost_per_month", "choice", "cost-per-month"),
    Item("insurance_coverage", "choice", "insurance-coverage"),
    Item("stop_reasons", "choice", "stop-reason", repeats=True, enable_when=(("stopped", "exists", True),)),
    Item("satisfaction", "integer", low=scales.SATISFACTION_MIN, high=scales.SATISFACTION_MAX),
    Item("would_recommend", "choice", "would-recommend"),
    Item("tips", "text", max_length=scales.TIPS_MAX_LENGTH),
    # Not asked on the form: the de-identified "patients like me" bands fixed when the report was
    # written (from the profile), as in the research export.
    Item("age_band", "choice", "age-band", read_only=True, text="Age band when the report was written"),
    Item("sex", "choice", "sex", read_only=True, text="Sex of the person the report is about"),
    Item(
        "years_since_diagnosis",
        "choice",
        "years-since-diagnosis",
        read_only=True,
        text="Years since diagnosis when the report was written",
    ),
    Item("country", "string", read_only=True, max_length=2, text="Country of the participant (ISO 3166-1 alpha-2)"),
)

RATING_ITEMS = (
    Item("doctor", "reference"),
    Item("condition", "choice", value_set="condition"),
    Item("last_visit", "date"),
    Item("overall", "integer", low=scales.OVERALL_MIN, high=scales.OVERALL_MAX),
    Item("explained_clearly", "choice", "frequency"),
    Item("listened_carefully", "choice", "frequency"),
    Item("showed_respect", "choice", "frequency"),
    Item("spent_enough_time", "choice", "frequency"),
    Item("got_appointment", "choice", "frequency"),
    Item("knowledge", "integer", low=scales.KNOWLEDGE_MIN, high=scales.KNOWLEDGE_MAX),
    Item("would_recommend", "choice", "doctor-would-recommend"),
    Item("comment", "text", max_length=scales.COMMENT_MAX_LENGTH),
)


# One dated point of an experience's history (registry.contributions.followups): the answers a follow-up asks again,
# named as in the experience questionnaire and in experience_updates.csv. The form's "still using?"
# is not kept: an empty `stopped` means still using then.
FOLLOWUP_ITEMS = (
    Item("kind", "choice", "update-kind", read_only=True, text="Where this point comes from"),
    Item(
        "months_since_start",
        "integer",
        read_only=True,
        text="Months from the experience's start month to this point (none without a start month)",
    ),
    Item("stopped", "date"),
    Item("stop_reasons", "choice", "stop-reason", repeats=True, enable_when=(("stopped", "exists", True),)),
    Item("effectiveness", "choice", "effectiveness"),
    Item("side_effect_severity", "choice", "side-effect-severity"),
    Item("satisfaction", "integer", low=scales.SATISFACTION_MIN, high=scales.SATISFACTION_MAX),
    Item("would_recommend", "choice", "would-recommend"),
)


def _form_fields(form_class) -> dict[str, UnboundField]:
    return {name: value for name, value in vars(form_class).items() if isinstance(value, UnboundField)}


def _questionnaires():

    return {
        "treatment-experience": (
            "TreatmentExperience",
            "A treatment experience",
            EXPERIENCE_ITEMS,
            ExperienceForm,
            "One participant's experience with one treatment for one condition, on the "
            "registry's scales (patient-reported).",
        ),
        "doctor-rating": (
            "DoctorRating",
            "A doctor rating",
            RATING_ITEMS,
            DoctorRatingForm,
            "One participant's rating of one doctor for one condition, on CG-CAHPS items.",
        ),
        FOLLOWUP_QUESTIONNAIRE: (
            "TreatmentExperienceFollowUp",
            "A follow-up of a treatment experience",
            FOLLOWUP_ITEMS,
            FollowupForm,
            "One dated point of a treatment experience's history: the answers a follow-up asks again, as they "
            "were then (patient-reported). `authored` is the month they were given; the extension "
            f"{FOLLOW_UP_OF_EXTENSION} names the experience's treatment-experience response, whose answers are "
            "the latest ones.",
        ),
    }


FOLLOWUP_QUESTIONNAIRE = "treatment-experience-follow-up"
QUESTIONNAIRE_NAMES = ("treatment-experience", "doctor-rating", FOLLOWUP_QUESTIONNAIRE)


def _coding(code_system: str, code: str) -> dict:
    return {"system": system_url(code_system), "code": code, "display": CODE_SYSTEMS[code_system].english(code)}


def _translated(text: str, languages: tuple[str, ...]) -> dict | None:
    """FHIR's translation extension for a string element (as its _element), or None when nothing translates it."""
    extensions = [
        {
            "url": TRANSLATION,
            "extension": [{"url": "lang", "valueCode": code}, {"url": "content", "valueString": value}],
        }
        for code, value in translations(text, languages).items()
    ]
    return {"extension": extensions} if extensions else None


def _english(text) -> str:
    """A form's label (translated where it is shown) as its English source."""
    with i18n.language_of("en"):
        return str(text)


def _item(spec: Item, unbound: UnboundField | None, languages: tuple[str, ...]) -> dict:
    validators = (unbound.kwargs.get("validators") or []) if unbound is not None else []
    label = _english(spec.text or (unbound.args[0] if unbound is not None and unbound.args else spec.link_id))
    item = {"linkId": spec.link_id, "text": label, "type": spec.type}
    if text_translations := _translated(label, languages):
        item["_text"] = text_translations
    if any(isinstance(v, DataRequired | InputRequired) for v in validators):
        item["required"] = True
    if spec.repeats:
        item["repeats"] = True
    if spec.read_only:
        item["readOnly"] = True
    if spec.max_length:
        item["maxLength"] = spec.max_length
    extensions = []
    if spec.low is not None:
        extensions.append({"url": MIN_VALUE, "valueInteger": spec.low})
    if spec.high is not None:
        extensions.append({"url": MAX_VALUE, "valueInteger": spec.high})
    if extensions:
        item["extension"] = extensions
    if spec.enable_when:
        item["enableWhen"] = [{"question": q, "operator": op, "answerBoolean": v} for q, op, v in spec.enable_when]
    if spec.code_system:
        item["answerOption"] = [
            {"valueCoding": _coding(spec.code_system, code)} for code in CODE_SYSTEMS[spec.code_system].codes
        ]
    if spec.value_set:
        item["answerValueSet"] = value_set_url(spec.value_set)
    if spec.link_id == "condition":
        item["code"] = [{"system": "http://loinc.org", "code": "29308-4", "display": "Diagnosis"}]
    return item


@functools.cache
def _questionnaire(name: str, languages: tuple[str, ...]) -> str:
    title_name, title, items, form_class, description = _questionnaires()[name]
    fields = _form_fields(form_class)
    resource = {
        "resourceType": "Questionnaire",
        "id": name,
        "url": f"{CANONICAL}/Questionnaire/{name}",
        "version": QUESTIONNAIRE_VERSION,
        "name": title_name,
        "title": title,
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": "Treatment Experience Registry",
        "description": description
        + (
            " Conditions are coded with ICD-10-CM where known, drugs with DrugBank "
            "(else MeSH) ids where known, anything else with the registry's catalog CodeSystem (its slug), as the "
            "ValueSets named by answerValueSet list them; every other coded answer uses the registry's CodeSystems."
            if any(spec.link_id == "condition" for spec in items)
            else " Every coded answer uses the registry's CodeSystems, as in the treatment-experience questionnaire."
        ),
        "item": [_item(spec, fields.get(spec.link_id), languages) for spec in items],
    }
    return json.dumps(resource)


def questionnaire(name: str) -> dict:
    """The Questionnaire resource of one form ("treatment-experience" or "doctor-rating")."""
    return json.loads(_questionnaire(name, _languages()))


def _languages() -> tuple[str, ...]:
    """The languages beside English the app offers: each label carries its translation into them."""
    return other_languages() if has_app_context() else ()


def code_system(name: str) -> dict:
    """The CodeSystem resource of one scale (ids in CODE_SYSTEMS)."""
    scale = CODE_SYSTEMS[name]
    languages = _languages()
    concepts = []
    for code, label in scale.options:
        concept = {"code": code, "display": label}
        if scale.help.get(code):
            concept["definition"] = scale.help[code]
        if designations := translations(label, languages):
            concept["designation"] = [{"language": lang, "value": value} for lang, value in designations.items()]
        concepts.append(concept)
    description = scale.description or label_of(name)
    if scale.source:
        description += f" Source: {scale.source}."
    return {
        "resourceType": "CodeSystem",
        "id": name,
        "url": system_url(name),
        "version": QUESTIONNAIRE_VERSION,
        "name": "".join(part.capitalize() for part in name.split("-")),
        "title": label_of(name),
        "status": "active",
        "publisher": "Treatment Experience Registry",
        "description": description,
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
        "concept": concepts,
    }


def label_of(name: str) -> str:
    return name.replace("-", " ").capitalize()


# --- identities ---------------------------------------------------------------------------------


def deployment_id(key: str) -> str:
    """A short id of this deployment, derived from its export key (reveals nothing about the key)."""
    digest = hashlib.blake2b(b"fhir-deployment", key=hashlib.sha256(key.encode()).digest(), digest_size=6)
    return digest.hexdigest()


def participant_system(key: str) -> str:
    return f"{CANONICAL}/sid/participant/{deployment_id(key)}"


def experience_system(key: str) -> str:
    return f"{CANONICAL}/sid/experience/{deployment_id(key)}"


def update_system(key: str) -> str:
    """The identifier system of follow-up points (the update_id of experience_updates.csv)."""
    return f"{CANONICAL}/sid/experience-update/{deployment_id(key)}"


def rating_system(key: str) -> str:
    """The identifier system of doctor ratings (the rating_id of doctor_ratings.csv)."""
    return f"{CANONICAL}/sid/doctor-rating/{deployment_id(key)}"


# --- export -------------------------------------------------------------------------------------

EXPORT_COLUMNS = [f["name"] for f in EXPERIENCE_SCHEMA_FIELDS]
_CODED = {spec.link_id: spec.code_system for spec in EXPERIENCE_ITEMS if spec.code_system}


@dataclass
class Catalog:
    """Slug -> (name, code) lookups of the catalog, loaded once per export."""

    conditions: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    treatments: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)
    answers: dict = field(default_factory=dict)
    doctors: dict[int, str] = field(default_factory=dict)  # id -> name

    @classmethod
    def load(cls, session) -> Catalog:

        conditions = {s: (n, i) for s, n, i in session.execute(select(Condition.slug, Condition.name, Condition.icd10))}
        treatments = {
            s: (n, d, m)
            for s, n, d, m in session.execute(
                select(Treatment.slug, Treatment.name, Treatment.drugbank_id, Treatment.mesh_id)
            )
        }
        doctors = dict(session.execute(select(Doctor.id, Doctor.name)).all())
        return cls(conditions, treatments, doctors=doctors)

    def codings(self, name: str) -> list[dict]:
        """Every coding the `name` item ("condition" or "treatment") may answer with, each once, in slug order."""
        coding = self.condition_coding if name == "condition" else self.treatment_coding
        seen, found = set(), []
        for slug in sorted(self.conditions if name == "condition" else self.treatments):
            answer = coding(slug)
            if (answer["system"], answer["code"]) not in seen:
                seen.add((answer["system"], answer["code"]))
                found.append(answer)
        return found

    def condition_coding(self, slug: str) -> dict:
        name, icd10 = self.conditions[slug]
        if icd10:
            return {"system": ICD10CM, "code": icd10, "display": name}
        return {"system": CATALOG_CONDITION, "code": slug, "display": name}

    def condition_answer(self, slug: str) -> str:
        """The condition's answer, with the catalog slug as an extension (exact within one catalog); encoded once."""
        if slug not in self.answers:
            self.answers[slug] = _dumps(
                {"valueCoding": self.condition_coding(slug), "extension": [{"url": SLUG_EXTENSION, "valueCode": slug}]}
            )
        return self.answers[slug]

    def treatment_answer(self, slug: str) -> str:
        key = ("treatment", slug)
        if key not in self.answers:
            self.answers[key] = _dumps(
                {"valueCoding": self.treatment_coding(slug), "extension": [{"url": SLUG_EXTENSION, "valueCode": slug}]}
            )
        return self.answers[key]

    def treatment_coding(self, slug: str) -> dict:
        name, drugbank, mesh = self.treatments[slug]
        if drugbank:
            return {"system": DRUGBANK, "code": drugbank, "display": name}
        if mesh:
            return {"system": MESH, "code": mesh, "display": name}
        return {"system": CATALOG_TREATMENT, "code": slug, "display": name}


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


# --- the catalog's definitions: CodeSystems of its entries, ValueSets of the items, doctors ----------


def catalog_code_system(name: str, catalog: Catalog) -> dict:
    """The registry's CodeSystem of its conditions or treatments ("catalog-condition", "catalog-treatment").

    Every catalog entry by slug: the code an answer carries when the entry has no ICD-10-CM, DrugBank or
    MeSH code. Its content is this deployment's catalog, so it is exported with the responses.
    """
    entries = catalog.conditions if name == "catalog-condition" else catalog.treatments
    what = "conditions" if name == "catalog-condition" else "treatments"
    concepts = [{"code": slug, "display": entries[slug][0]} for slug in sorted(entries)]
    return {
        "resourceType": "CodeSystem",
        "id": name,
        "url": CATALOG_CODE_SYSTEMS[name],
        "name": "Catalog" + what.capitalize(),
        "title": f"The registry's {what}",
        "status": "active",
        "publisher": "Treatment Experience Registry",
        "description": f"The registry's catalog of {what}, each by its slug. Answers use it for an entry that has "
        "no code in a standard terminology (ICD-10-CM for conditions; DrugBank, else MeSH, for drugs).",
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
        **({"concept": concepts} if concepts else {}),
    }


def value_set(name: str, catalog: Catalog) -> dict:
    """The ValueSet that the `name` item ("condition" or "treatment") answers from: its every coding, by system."""
    by_system: dict[str, list[dict]] = {}
    for coding in catalog.codings(name):
        by_system.setdefault(coding["system"], []).append({"code": coding["code"], "display": coding["display"]})
    include = [{"system": system, "concept": concepts} for system, concepts in by_system.items()]
    own = CATALOG_CONDITION if name == "condition" else CATALOG_TREATMENT
    return {
        "resourceType": "ValueSet",
        "id": name,
        "url": value_set_url(name),
        "version": QUESTIONNAIRE_VERSION,
        "name": name.capitalize(),
        "title": f"The registry's {name}s",
        "status": "active",
        "publisher": "Treatment Experience Registry",
        "description": f"Every {name} of the registry's catalog as its answers code it: "
        + (
            "ICD-10-CM where known"
            if name == "condition"
            else "DrugBank where known, else MeSH (no RxNorm: no licensed source of RxCUIs is packaged)"
        )
        + f", else the registry's own CodeSystem {own} (the catalog slug).",
        "compose": {"include": include or [{"system": own}]},
    }


def practitioner(doctor_id: int, name: str, specialty: str, city: str, country: str) -> dict:
    """A catalog doctor as a FHIR Practitioner (doctors are professionals in public practice)."""
    return {
        "resourceType": "Practitioner",
        "id": str(doctor_id),
        "identifier": [{"system": CATALOG_DOCTOR, "value": str(doctor_id)}],
        "active": True,
        "name": [{"text": name}],
        "address": [{"city": city, "country": country}],
        "qualification": [{"code": {"text": specialty}}],
    }


def definitions(catalog: Catalog, session):
    """The export's first lines: the catalog CodeSystems, the condition and treatment ValueSets, the doctors."""

    for name in CATALOG_CODE_SYSTEMS:
        yield _dumps(catalog_code_system(name, catalog))
    for name in VALUE_SETS:
        yield _dumps(value_set(name, catalog))
    query = select(Doctor.id, Doctor.name, Doctor.specialty, Doctor.city, Doctor.country).order_by(Doctor.id)
    for row in session.execute(query):
        yield _dumps(practitioner(*row))


@functools.cache
def _coded_answer(code_system: str, code: str) -> str:
    """One coded answer, encoded once: most of a response is these (an export writes millions)."""
    return _dumps({"valueCoding": _coding(code_system, code)})


def _answered(link_id: str, answers) -> str:
    return f'{{"linkId":"{link_id}","answer":[{",".join(answers)}]}}'


@functools.cache
def _coded_items() -> dict[str, dict[str, str]]:
    """field -> code -> the whole encoded item: a coded answer costs one lookup."""
    return {
        name: {code: _answered(name, [_coded_answer(system, code)]) for code in CODE_SYSTEMS[system].codes}
        for name, system in _CODED.items()
        if name not in _OWN_ENCODING
    }


_VALUE_KEYS = {
    "started": "valueDate",
    "stopped": "valueDate",
    "dose_amount": "valueDecimal",
    "satisfaction": "valueInteger",
    "tips": "valueString",
    "country": "valueString",
}
# Each item in questionnaire order, with how its answer is encoded.
_OWN_ENCODING = ("condition", "treatment", "side_effects", "stop_reasons")
_PLAN = tuple(
    (
        spec.link_id,
        spec.link_id
        if spec.link_id in _OWN_ENCODING
        else "coded"
        if spec.link_id in _CODED
        else _VALUE_KEYS.get(spec.link_id),
    )
    for spec in EXPERIENCE_ITEMS
)


def response_json(row: dict, side_effects: list[str], stop_reasons: list[str], catalog: Catalog, key_systems) -> str:
    """One experience row of the research export as a QuestionnaireResponse, JSON-encoded on one line."""
    participant_sys, experience_sys = key_systems
    coded = _coded_items()
    items = []
    for name, how in _PLAN:
        if how == "coded":
            value = row.get(name)
            if value is not None:
                items.append(coded[name][value])
        elif how == "condition":
            items.append(_answered(name, [catalog.condition_answer(row["condition"])]))
        elif how == "treatment":
            items.append(_answered(name, [catalog.treatment_answer(row["treatment"])]))
        elif how == "side_effects":
            if side_effects:
                starter = SIDE_EFFECT.codes
                items.append(
                    _answered(
                        name,
                        [
                            _coded_answer("side-effect", t) if t in starter else _dumps({"valueString": t})
                            for t in side_effects
                        ],
                    )
                )
        elif how == "stop_reasons":
            if stop_reasons:
                items.append(_answered(name, [_coded_answer("stop-reason", r) for r in stop_reasons]))
        elif how is not None:
            value = row.get(name)
            if value is not None and value != "":
                items.append(f'{{"linkId":"{name}","answer":[{{"{how}":{_dumps(value)}}}]}}')
    experience, participant = _dumps(row["experience_id"]), _dumps(row["participant_id"])
    return (
        f'{{"resourceType":"QuestionnaireResponse","id":{experience},'
        f'"extension":[{{"url":"{REPORTED_EXTENSION}","valueDateTime":{_dumps(row["reported"])}}}],'
        f'"identifier":{{"system":"{experience_sys}","value":{experience}}},'
        f'"questionnaire":"{CANONICAL}/Questionnaire/treatment-experience|{QUESTIONNAIRE_VERSION}",'
        f'"status":"completed","subject":{{"identifier":{{"system":"{participant_sys}","value":{participant}}}}},'
        f'"authored":{_dumps(row["updated"])},"item":[{",".join(items)}]}}'
    )


def response(row: dict, side_effects: list[str], stop_reasons: list[str], catalog: Catalog, key_systems) -> dict:
    """One experience row of the research export as a QuestionnaireResponse dict."""
    return json.loads(response_json(row, side_effects, stop_reasons, catalog, key_systems))


def _grouped(rows):
    """(experience pseudonym, [values]) runs of a long table ordered like the experiences."""
    current, values = None, []
    for experience_id, value in rows:
        if experience_id != current:
            if current is not None:
                yield current, values
            current, values = experience_id, []
        values.append(value)
    if current is not None:
        yield current, values


def responses(req, key: str):
    """Every exported experience as a QuestionnaireResponse (one JSON line each), in the export's order."""

    pseudo = export.Pseudonymizer(key)
    catalog = Catalog.load(db.session)
    # First the definitions the responses refer to: catalog CodeSystems, the items' ValueSets, the doctors.
    yield from definitions(catalog, db.session)
    columns = EXPORT_COLUMNS + (["tips"] if req.with_text else [])
    systems = (participant_system(key), experience_system(key))
    # Three cursors in the same experience order: merge the long tables in without holding them.
    side_effects = _grouped(export.side_effect_rows(req, pseudo))
    stop_reasons = _grouped(export.stop_reason_rows(req, pseudo))
    next_effects, next_reasons = next(side_effects, None), next(stop_reasons, None)
    for values in export.experience_rows(req, pseudo):
        row = dict(zip(columns, values))
        experience_id = row["experience_id"]
        effects = reasons = []
        if next_effects is not None and next_effects[0] == experience_id:
            effects, next_effects = next_effects[1], next(side_effects, None)
        if next_reasons is not None and next_reasons[0] == experience_id:
            reasons, next_reasons = next_reasons[1], next(stop_reasons, None)
        yield response_json(row, effects, reasons, catalog, systems)
    # Then the follow-up history: its points name their experience's response, written above.
    yield from followup_responses(req, key, pseudo)
    # Then the doctor ratings: their doctors are the Practitioners written first.
    yield from rating_responses(req, key, catalog, pseudo)


# --- export: the follow-up history, one response per dated point --------------------------------

FOLLOWUP_COLUMNS = [f["name"] for f in UPDATE_FIELDS]
_FOLLOWUP_VALUE_KEYS = {"months_since_start": "valueInteger", "stopped": "valueDate", "satisfaction": "valueInteger"}


def followup_response_json(row: dict, stop_reasons: list[str], key_systems) -> str:
    """One row of experience_updates.csv as a QuestionnaireResponse of the follow-up questionnaire, on one line.

    The same pseudonyms as the CSV (update, experience and participant ids) and its year-month
    dates: `authored` is the month the answers were given, never a day.
    """
    participant_sys, experience_sys, update_sys = key_systems
    items = []
    for spec in FOLLOWUP_ITEMS:
        name = spec.link_id
        if name == "stop_reasons":
            if stop_reasons:
                items.append(_answered(name, [_coded_answer("stop-reason", r) for r in stop_reasons]))
            continue
        value = row.get(name)
        if value is None or value == "":
            continue
        if spec.code_system:
            items.append(_answered(name, [_coded_answer(spec.code_system, value)]))
        else:
            items.append(_answered(name, [_dumps({_FOLLOWUP_VALUE_KEYS[name]: value})]))
    experience = row["experience_id"]
    of = {
        "reference": f"QuestionnaireResponse/{experience}",  # the experience's response in the same export
        "type": "QuestionnaireResponse",
        "identifier": {"system": experience_sys, "value": experience},
    }
    update, participant = _dumps(row["update_id"]), _dumps(row["participant_id"])
    return (
        f'{{"resourceType":"QuestionnaireResponse","id":{update},'
        f'"extension":[{{"url":"{FOLLOW_UP_OF_EXTENSION}","valueReference":{_dumps(of)}}}],'
        f'"identifier":{{"system":"{update_sys}","value":{update}}},'
        f'"questionnaire":"{CANONICAL}/Questionnaire/{FOLLOWUP_QUESTIONNAIRE}|{QUESTIONNAIRE_VERSION}",'
        f'"status":"completed","subject":{{"identifier":{{"system":"{participant_sys}","value":{participant}}}}},'
        f'"authored":{_dumps(row["recorded"])},"item":[{",".join(items)}]}}'
    )


def followup_responses(req, key: str, pseudo=None):
    """Every exported history point (experience_updates.csv) as a follow-up response, one JSON line each."""

    pseudo = pseudo or export.Pseudonymizer(key)
    systems = (participant_system(key), experience_system(key), update_system(key))
    # Both cursors in the same order (experience, then date): merge the reasons in without holding them.
    reasons = _grouped(export.update_stop_reason_rows(req, pseudo))
    next_reasons = next(reasons, None)
    for values in export.update_rows(req, pseudo):
        row = dict(zip(FOLLOWUP_COLUMNS, values))
        stop_reasons = []
        if next_reasons is not None and next_reasons[0] == row["update_id"]:
            stop_reasons, next_reasons = next_reasons[1], next(reasons, None)
        yield followup_response_json(row, stop_reasons, systems)


# --- export: doctor ratings, one response of the doctor-rating questionnaire each -------------------

RATING_COLUMNS = [f["name"] for f in RATING_SCHEMA_FIELDS]
_RATING_VALUE_KEYS = {"last_visit": "valueDate", "overall": "valueInteger", "knowledge": "valueInteger"}


def doctor_reference(doctor_id: int, name: str | None) -> dict:
    """The doctor answer: the Practitioner written at the top of the same export, and its catalog id."""
    reference = {
        "reference": f"Practitioner/{doctor_id}",
        "type": "Practitioner",
        "identifier": {"system": CATALOG_DOCTOR, "value": str(doctor_id)},
    }
    return {**reference, "display": name} if name else reference


def rating_response_json(row: dict, catalog: Catalog, key_systems) -> str:
    """One row of doctor_ratings.csv as a QuestionnaireResponse of the doctor-rating questionnaire, on one line."""
    participant_sys, rating_sys = key_systems
    items = []
    for spec in RATING_ITEMS:
        name = spec.link_id
        if name == "doctor":
            doctor = doctor_reference(row["doctor_id"], catalog.doctors.get(row["doctor_id"]))
            items.append(_answered(name, [_dumps({"valueReference": doctor})]))
        elif name == "condition":
            items.append(_answered(name, [catalog.condition_answer(row["condition"])]))
        elif spec.code_system:
            if row.get(name) is not None:
                items.append(_answered(name, [_coded_answer(spec.code_system, row[name])]))
        elif name == "comment":
            if row.get("comment"):
                items.append(_answered(name, [_dumps({"valueString": row["comment"]})]))
        elif row.get(name) is not None:
            items.append(_answered(name, [_dumps({_RATING_VALUE_KEYS[name]: row[name]})]))
    rating, participant = _dumps(row["rating_id"]), _dumps(row["participant_id"])
    return (
        f'{{"resourceType":"QuestionnaireResponse","id":{rating},'
        f'"identifier":{{"system":"{rating_sys}","value":{rating}}},'
        f'"questionnaire":"{CANONICAL}/Questionnaire/doctor-rating|{QUESTIONNAIRE_VERSION}",'
        f'"status":"completed","subject":{{"identifier":{{"system":"{participant_sys}","value":{participant}}}}},'
        f'"authored":{_dumps(row["rated"])},"item":[{",".join(items)}]}}'
    )


def rating_responses(req, key: str, catalog: Catalog, pseudo=None):
    """Every exported doctor rating (doctor_ratings.csv) as a doctor-rating response, one JSON line each."""

    pseudo = pseudo or export.Pseudonymizer(key)
    columns = RATING_COLUMNS + (["comment"] if req.with_text else [])
    systems = (participant_system(key), rating_system(key))
    for values in export.rating_rows(req, pseudo):
        yield rating_response_json(dict(zip(columns, values)), catalog, systems)


def write_ndjson(handle, req, key: str, every: int = 5_000):
    """Write the responses as ndjson (one resource per line); yield the count every `every`; return it."""
    n = 0
    lines = []
    for line in responses(req, key):
        lines.append(line)
        n += 1
        if len(lines) == every:
            handle.write("\n".join(lines) + "\n")
            lines = []
            yield n
    if lines:
        handle.write("\n".join(lines) + "\n")
    yield n
    return n


class _Lines:
    """A text sink whose written lines are drained as bytes while the export runs."""

    def __init__(self):
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def drain(self) -> bytes:
        data, self.parts = "".join(self.parts).encode("utf-8"), []
        return data


def stream_ndjson(req, key: str, on_done=None):
    """The responses as ndjson bytes, produced while the rows are read; on_done(count) at the end."""
    sink = _Lines()
    generator = write_ndjson(sink, req, key)
    n = 0
    for n in generator:
        chunk = sink.drain()
        if chunk:
            yield chunk
    if on_done is not None:
        on_done(n)


# --- import: one response back into the form's fields ------------------------------------------


class ResponseError(ValueError):
    """A line that is not a QuestionnaireResponse of the treatment-experience questionnaire."""


@dataclass
class Parsed:
    """What one QuestionnaireResponse says, as the experience form's posted fields plus context."""

    subject: tuple[str, str]  # (system, value)
    identifier: tuple[str, str] | None
    condition: dict  # the answer's coding, with "slug" when the catalog-slug extension was present
    treatment: dict
    form: dict[str, list[str]]  # form field -> posted values
    bands: dict[str, str | None]
    reported: str | None
    updated: str
    country: str | None = None


def _validate_model(data: dict):
    # Imported here for validation only: fhir.resources builds its models at import (150 ms, 12 MB a worker).
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    try:
        return QuestionnaireResponse.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:3])
        raise ResponseError(f"not a valid FHIR QuestionnaireResponse ({problems})") from None


def _answer_value(answer: dict):
    for key, value in answer.items():
        if key.startswith("value"):
            return key[5:], value
    return None, None


def _month(value, what: str) -> str:
    text = str(value or "")[:7]
    if not MONTH.match(text):
        raise ResponseError(f"{what} must be a date with at least year and month, not {value!r}")
    return text


def _code(link_id: str, answer: dict) -> str:
    kind, value = _answer_value(answer)
    if kind != "Coding":
        raise ResponseError(f"{link_id}: expected a Coding answer")
    system = system_url(_CODED[link_id])
    if value.get("system") != system:
        raise ResponseError(f"{link_id}: code system must be {system}, not {value.get('system')!r}")
    return value.get("code") or ""


def _catalog_coding(link_id: str, answers: list[dict]) -> dict:
    if len(answers) != 1:
        raise ResponseError(f"{link_id}: expected one answer")
    kind, value = _answer_value(answers[0])
    if kind != "Coding" or not value.get("code") and not value.get("display"):
        raise ResponseError(f"{link_id}: expected a Coding answer with a code or display")
    coding = dict(value)
    for extension in answers[0].get("extension") or ():
        if extension.get("url") == SLUG_EXTENSION and extension.get("valueCode"):
            coding["slug"] = extension["valueCode"]
    return coding


@dataclass
class Definition:
    """A definition the export writes before the responses (a ValueSet, CodeSystem or Questionnaire): not imported."""

    resource_type: str
    id: str | None


@dataclass
class ParsedDoctor:
    """A Practitioner of the export: a catalog doctor (its id there, name, specialty, city, country)."""

    id: str
    name: str
    specialty: str
    city: str
    country: str


@dataclass
class ParsedFollowUp:
    """A response of the follow-up questionnaire: one dated point of an experience's history."""

    subject: tuple[str, str]
    identifier: tuple[str, str] | None
    experience: tuple[str, str]  # the identifier of the experience's response (system, value)
    recorded: str  # YYYY-MM
    kind: str
    answers: dict  # stopped, effectiveness, side_effect_severity, satisfaction, would_recommend
    stop_reasons: list[str]


@dataclass
class ParsedRating:
    """A response of the doctor-rating questionnaire, as the rating form's posted fields plus context."""

    subject: tuple[str, str]
    identifier: tuple[str, str] | None
    doctor: dict  # the valueReference: reference, identifier, display
    condition: dict
    form: dict[str, list[str]]
    updated: str


def _load(line: str) -> dict:
    try:
        data = json.loads(line)
    except ValueError as error:
        raise ResponseError(f"not JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise ResponseError(f"expected a FHIR resource, found {type(data).__name__!r}")
    return data


def read_resource(line: str) -> Parsed | ParsedFollowUp | ParsedRating | ParsedDoctor | Definition:
    """Validate one ndjson line of an export and read it; ResponseError when it is nothing this registry imports."""
    data = _load(line)
    kind = data.get("resourceType")
    if kind in ("ValueSet", "CodeSystem", "Questionnaire"):
        return Definition(kind, data.get("id"))
    if kind == "Practitioner":
        return _parse_practitioner(data)
    if kind != "QuestionnaireResponse":
        raise ResponseError(f"expected a QuestionnaireResponse or Practitioner, found {kind!r}")
    _validate_model(data)
    questionnaire_url = (data.get("questionnaire") or "").split("|")[0]
    parse = {
        f"{CANONICAL}/Questionnaire/treatment-experience": _parse_experience,
        f"{CANONICAL}/Questionnaire/{FOLLOWUP_QUESTIONNAIRE}": _parse_followup,
        f"{CANONICAL}/Questionnaire/doctor-rating": _parse_rating,
    }.get(questionnaire_url)
    if parse is None:
        raise ResponseError(
            f"answers {questionnaire_url or 'no questionnaire'!r}, not a questionnaire of this registry"
        )
    return parse(data)


def parse_response(line: str) -> Parsed:
    """Validate one ndjson line and read it as the experience form's fields; ResponseError when it cannot be."""
    data = _load(line)
    if data.get("resourceType") != "QuestionnaireResponse":
        raise ResponseError(f"expected a QuestionnaireResponse, found {data.get('resourceType')!r}")
    _validate_model(data)
    questionnaire_url = (data.get("questionnaire") or "").split("|")[0]
    if questionnaire_url != f"{CANONICAL}/Questionnaire/treatment-experience":
        raise ResponseError(
            f"answers {questionnaire_url or 'no questionnaire'!r}, not the treatment-experience questionnaire"
        )
    return _parse_experience(data)


def _head(data: dict, items, questionnaire: str):
    """(subject, identifier, answers by linkId) of a response, its status and items checked."""
    if data.get("status") not in ("completed", "amended"):
        raise ResponseError(f"status {data.get('status')!r}: only completed or amended responses are imported")
    subject = ((data.get("subject") or {}).get("identifier")) or {}
    if not subject.get("value"):
        raise ResponseError("subject: a pseudonymous participant identifier (subject.identifier) is required")
    identifier = data.get("identifier") or None
    answers: dict[str, list[dict]] = {}
    for item in data.get("item") or ():
        if item.get("item"):
            raise ResponseError(f"item {item.get('linkId')!r}: nested items are not part of this questionnaire")
        answers[item["linkId"]] = item.get("answer") or []
    unknown = sorted(set(answers) - {spec.link_id for spec in items})
    if unknown:
        raise ResponseError(f"unknown item {', '.join(unknown)} (not in the {questionnaire} questionnaire)")
    repeating = {spec.link_id for spec in items if spec.repeats}
    for link_id, item_answers in answers.items():
        if len(item_answers) > 1 and link_id not in repeating:
            raise ResponseError(f"{link_id}: one answer expected, found {len(item_answers)}")
    if not data.get("authored"):
        raise ResponseError("authored: the month the answers were given is required")
    pair = (identifier.get("system") or "", identifier.get("value")) if identifier else None
    return (subject.get("system") or "", subject["value"]), pair, answers


def _coded_value(link_id: str, answer: dict, code_system: str) -> str:
    """The code of a Coding answer from one of the registry's CodeSystems, checked against its scale."""
    kind, value = _answer_value(answer)
    system = system_url(code_system)
    if kind != "Coding" or value.get("system") != system:
        raise ResponseError(f"{link_id}: expected a Coding of {system}")
    code = value.get("code") or ""
    if code not in CODE_SYSTEMS[code_system]:
        raise ResponseError(f"{link_id}: unknown code {code!r}")
    return code


def _plain_value(link_id: str, answer: dict, kind: str):
    found, value = _answer_value(answer)
    if found != kind:
        raise ResponseError(f"{link_id}: expected a value{kind} answer")
    return value


def _parse_followup(data: dict) -> ParsedFollowUp:
    subject, identifier, answers = _head(data, FOLLOWUP_ITEMS, FOLLOWUP_QUESTIONNAIRE)
    of = None
    for extension in data.get("extension") or ():
        if extension.get("url") == FOLLOW_UP_OF_EXTENSION:
            of = ((extension.get("valueReference") or {}).get("identifier")) or {}
    if not of or not of.get("value"):
        raise ResponseError(f"a follow-up names its experience's response (extension {FOLLOW_UP_OF_EXTENSION})")
    specs = {spec.link_id: spec for spec in FOLLOWUP_ITEMS}
    values: dict = {name: None for name in ("stopped", *(n for n in UPDATE_ANSWERS if n != "stopped"))}
    kind, reasons = None, []
    for link_id, item_answers in answers.items():
        if not item_answers:
            continue
        spec = specs[link_id]
        if link_id == "stop_reasons":
            reasons = sorted({_coded_value(link_id, a, "stop-reason") for a in item_answers})
        elif link_id == "kind":
            kind = _coded_value(link_id, item_answers[0], "update-kind")
        elif spec.code_system:
            values[link_id] = _coded_value(link_id, item_answers[0], spec.code_system)
        elif link_id == "stopped":
            values[link_id] = _month(_plain_value(link_id, item_answers[0], "Date"), link_id)
        elif link_id == "satisfaction":
            value = _plain_value(link_id, item_answers[0], "Integer")
            if not scales.SATISFACTION_MIN <= value <= scales.SATISFACTION_MAX:
                raise ResponseError(f"satisfaction must be {scales.SATISFACTION_MIN}-{scales.SATISFACTION_MAX}")
            values[link_id] = value
    if kind is None:
        raise ResponseError("kind: an answer is required")
    if reasons and not values["stopped"]:
        raise ResponseError("stop_reasons: only for a point that says when the treatment stopped")
    return ParsedFollowUp(
        subject=subject,
        identifier=identifier,
        experience=(of.get("system") or "", of["value"]),
        recorded=_month(data["authored"], "authored"),
        kind=kind,
        answers=values,
        stop_reasons=reasons,
    )


UPDATE_ANSWERS = ("stopped", "effectiveness", "side_effect_severity", "satisfaction", "would_recommend")


def _parse_rating(data: dict) -> ParsedRating:
    subject, identifier, answers = _head(data, RATING_ITEMS, "doctor-rating")
    for link_id in ("doctor", "condition"):
        if not answers.get(link_id):
            raise ResponseError(f"{link_id}: an answer is required")
    doctor = _plain_value("doctor", answers["doctor"][0], "Reference")
    if not (doctor.get("reference") or (doctor.get("identifier") or {}).get("value") or doctor.get("display")):
        raise ResponseError("doctor: a reference to the Practitioner, its identifier or its name is required")
    specs = {spec.link_id: spec for spec in RATING_ITEMS}
    form: dict[str, list[str]] = {}
    for link_id, item_answers in answers.items():
        if link_id in ("doctor", "condition") or not item_answers:
            continue
        spec = specs[link_id]
        if spec.code_system:
            form[link_id] = [_coded_value(link_id, item_answers[0], spec.code_system)]
        elif link_id == "last_visit":
            form[link_id] = [_month(_plain_value(link_id, item_answers[0], "Date"), link_id)]
        elif link_id == "comment":
            form[link_id] = [str(_plain_value(link_id, item_answers[0], "String"))]
        else:
            form[link_id] = [str(_plain_value(link_id, item_answers[0], "Integer"))]
    return ParsedRating(
        subject=subject,
        identifier=identifier,
        doctor=doctor,
        condition=_catalog_coding("condition", answers["condition"]),
        form=form,
        updated=_month(data["authored"], "authored"),
    )


def _parse_practitioner(data: dict) -> ParsedDoctor:
    # Imported here for validation only: fhir.resources builds its models at import (150 ms, 12 MB a worker).
    from fhir.resources.R4B.practitioner import Practitioner

    try:
        Practitioner.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:3])
        raise ResponseError(f"not a valid FHIR Practitioner ({problems})") from None
    name = ((data.get("name") or [{}])[0]).get("text") or ""
    address = (data.get("address") or [{}])[0]
    specialty = (((data.get("qualification") or [{}])[0]).get("code") or {}).get("text") or ""
    country = str(address.get("country") or "").upper()
    if not (data.get("id") and name.strip() and specialty.strip() and address.get("city")):
        raise ResponseError("a Practitioner needs an id, name.text, address.city and qualification.code.text")
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise ResponseError(f"Practitioner address.country must be an ISO 3166-1 alpha-2 code, not {country!r}")
    return ParsedDoctor(data["id"], name, specialty, address["city"], country)


def _parse_experience(data: dict) -> Parsed:
    subject, identifier, answers = _head(data, EXPERIENCE_ITEMS, "treatment-experience")
    for link_id in ("condition", "treatment"):
        if not answers.get(link_id):
            raise ResponseError(f"{link_id}: an answer is required")
    form: dict[str, list[str]] = {}
    country = None
    bands: dict[str, str | None] = {"age_band": None, "sex": None, "years_since_diagnosis": None}
    for link_id, item_answers in answers.items():
        if link_id in ("condition", "treatment") or not item_answers:
            continue
        if link_id in bands:
            bands[link_id] = _band(link_id, item_answers[0])
        elif link_id == "country":  # a property of the participant, not of the experience
            country = _country(item_answers[0])
        else:
            form[link_id] = _form_answers(link_id, item_answers)
    reported = None
    for extension in data.get("extension") or ():
        if extension.get("url") == REPORTED_EXTENSION:
            reported = _month(extension.get("valueDateTime"), "the first-reported extension")
    return Parsed(
        subject=subject,
        identifier=identifier,
        condition=_catalog_coding("condition", answers["condition"]),
        treatment=_catalog_coding("treatment", answers["treatment"]),
        form=form,
        bands=bands,
        reported=reported,
        updated=_month(data["authored"], "authored"),
        country=country,
    )


def _band(link_id: str, answer: dict) -> str:
    """An age band, sex or years-since-diagnosis code, checked against its CodeSystem."""
    code = _code(link_id, answer)
    if code not in CODE_SYSTEMS[_CODED[link_id]]:
        raise ResponseError(f"{link_id}: unknown code {code!r}")
    return code


def _country(answer: dict) -> str:
    _, value = _answer_value(answer)
    if not re.fullmatch(r"[A-Z]{2}", str(value)):
        raise ResponseError(f"country must be an ISO 3166-1 alpha-2 code, not {value!r}")
    return value


def _form_answers(link_id: str, item_answers: list[dict]) -> list[str]:
    """An item's answers as the experience form receives them (codes, "a, b" terms, YYYY-MM months, text)."""
    if link_id == "side_effects":
        terms = []
        for answer in item_answers:
            kind, value = _answer_value(answer)
            terms.append(value.get("code") if kind == "Coding" else str(value))
        if any("," in t for t in terms):
            raise ResponseError("side_effects: a term cannot contain a comma")
        return [", ".join(terms)]
    if link_id in _CODED:
        return [_code(link_id, answer) for answer in item_answers]
    _, value = _answer_value(item_answers[0])
    if link_id in ("started", "stopped"):
        value = _month(value, link_id)
    return ["" if value is None else str(value)]
