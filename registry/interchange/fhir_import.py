"""FHIR import: an ndjson file of the resources an export holds (import_fhir), through the form's write path.

Each line goes through `read`: an experience response comes back parsed and import_fhir saves it
through the experience form, as a form submission is saved (registry.interchange.importer's shared
write path); anything else is imported by `read` and its outcome word returned. A follow-up point attaches to the experience imported from the same file (its
response comes first in an export), as a dated history point, so "after N months" survives the
trip; a Practitioner finds or adds its catalog doctor; a doctor rating is checked by the rating
form and saved as a participant's rating is (registry.contributions.ratings), dated as the export dated it.
Each line runs in a savepoint of its own (importer.run_lines): a bad line leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

import scales
from forms.experience import ExperienceForm
from forms.rating import DoctorRatingForm
from forms.text import doctor_key
from registry.catalog import catalog
from registry.contributions import experiences, ratings
from registry.interchange import fhir, importer
from registry.models import Doctor, Experience, ExperienceUpdate
from registry.platform.extensions import db


@dataclass
class ImportState:
    """What earlier lines of the same file brought: experiences by their response's identifier, doctors by id."""

    dry_run: bool = False
    experiences: dict[tuple[str, str], int] = field(default_factory=dict)
    doctors: dict[str, int] = field(default_factory=dict)

    def experience_saved(self, parsed: fhir.Parsed, experience: Experience | None) -> None:
        if parsed.identifier and parsed.identifier[1] and experience is not None:
            self.experiences[parsed.identifier] = experience.id


def read(line: str, state: ImportState, resolver) -> fhir.Parsed | str:
    """An experience response parsed for the importer, or the outcome of importing any other line."""
    resource = fhir.read_resource(line)
    if isinstance(resource, fhir.Parsed):
        return resource
    if isinstance(resource, fhir.Definition):
        return "skipped"  # the export's ValueSets and CodeSystems describe its codes; nothing to store
    if isinstance(resource, fhir.ParsedDoctor):
        return _doctor(resource, state)
    if isinstance(resource, fhir.ParsedFollowUp):
        return _follow_up(resource, state)
    return _rating(resource, state, resolver)


def _month_start(month: str) -> datetime:
    return datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=timezone.utc)


def _participant(subject: tuple[str, str]):

    system, value = subject
    return importer.imported_participant(f"fhir:{system}", value, f"fhir:{system or 'no system'}")


def _doctor(parsed: fhir.ParsedDoctor, state: ImportState) -> str:
    doctor, created = catalog.add_doctor(parsed.name, parsed.specialty, parsed.city, parsed.country)
    state.doctors[parsed.id] = doctor.id
    return "added" if created else "unchanged"


def _follow_up(parsed: fhir.ParsedFollowUp, state: ImportState) -> str:

    experience_id = state.experiences.get(parsed.experience)
    experience = db.session.get(Experience, experience_id) if experience_id is not None else None
    if experience is None:
        if experience_id is not None and state.dry_run:
            return "added"  # its experience was checked and rolled back a line ago
        raise importer.LineError(
            f"a follow-up of experience {parsed.experience[1]!r}, which is not imported from this file "
            "(its treatment-experience response comes first in an export)"
        )
    if experience.user_id != _participant(parsed.subject).id:
        raise importer.LineError("a follow-up's subject must be the participant of its experience")
    answers = {**parsed.answers, "stop_reasons": " ".join(parsed.stop_reasons) or None}
    recorded = _month_start(parsed.recorded)
    for point in db.session.scalars(
        select(ExperienceUpdate).where(
            ExperienceUpdate.experience_id == experience.id,
            ExperienceUpdate.recorded_at == recorded,
            ExperienceUpdate.kind == parsed.kind,
        )
    ):
        if all(getattr(point, name) == value for name, value in answers.items()):
            return "unchanged"
    db.session.add(
        ExperienceUpdate(
            experience_id=experience.id,
            kind=parsed.kind,
            recorded_at=recorded,
            report_key=experience.report_key,
            **answers,
        )
    )
    db.session.flush()
    return "added"


def _find_doctor(parsed: fhir.ParsedRating, state: ImportState) -> Doctor | None:
    reference = parsed.doctor.get("reference") or ""
    exported_id = reference.removeprefix("Practitioner/") if reference.startswith("Practitioner/") else None
    exported_id = exported_id or (parsed.doctor.get("identifier") or {}).get("value")
    if exported_id in state.doctors:
        return db.session.get(Doctor, state.doctors[exported_id])
    display = parsed.doctor.get("display")
    if display:  # a rating without its Practitioner: a doctor of this catalog by that name, if only one
        found = db.session.scalars(select(Doctor).where(Doctor.name_key == doctor_key(display))).all()
        if len(found) == 1:
            return found[0]
    return None


def _rating(parsed: fhir.ParsedRating, state: ImportState, resolver) -> str:

    condition = resolver.condition(parsed.condition)
    doctor = _find_doctor(parsed, state)
    if doctor is None:
        if state.dry_run and (parsed.doctor.get("reference") or "").removeprefix("Practitioner/") in state.doctors:
            return "added"  # its doctor was checked and rolled back a line ago
        raise importer.LineError(
            f"doctor {parsed.doctor.get('display') or parsed.doctor.get('reference')!r} is neither a Practitioner "
            "earlier in this file nor a doctor of this registry's catalog"
        )
    posted = MultiDict([(name, value) for name, values in parsed.form.items() for value in values])
    posted.setlist("doctor", [str(doctor.id)])
    posted.setlist("condition", [condition.slug])
    form = DoctorRatingForm(formdata=posted, meta={"csrf": False}, conditions=[(condition.slug, condition.name)])
    if not form.validate():
        raise importer.LineError(importer.form_errors(form))
    values = form.values()
    user = _participant(parsed.subject)
    existing = ratings.find_own(user, doctor, condition)
    updated = _month_start(parsed.updated)
    if existing is not None:
        same = all(getattr(existing, name) == values.get(name) for name in ratings.FORM_FIELDS)
        if same and existing.updated_at.astimezone(timezone.utc).strftime("%Y-%m") == parsed.updated:
            return "unchanged"
    rating = ratings.save(user, doctor, condition, values, existing)
    rating.updated_at = updated  # the month the export says it was last changed, not today
    if existing is None:
        rating.created_at = updated
    db.session.flush()
    return "updated" if existing is not None else "added"


def import_fhir(path: Path, dry_run: bool = False, progress=None) -> importer.ImportReport:
    """Import an ndjson file of FHIR resources (one per line): the treatment-experience responses here, their
    follow-up points, doctors (Practitioners) and doctor ratings here; definitions skipped."""
    resolver = importer.CatalogResolver()
    state = ImportState(dry_run)

    def handle(line: str) -> str:
        parsed = read(line, state, resolver)
        if isinstance(parsed, str):  # a follow-up point, doctor or rating imported, or a definition skipped
            return parsed
        condition = resolver.condition(parsed.condition)
        treatment = resolver.treatment(parsed.treatment)
        # The experience form validates the answers, exactly as for a participant submitting it.
        posted = MultiDict([(name, value) for name, values in parsed.form.items() for value in values])
        posted.setlist("condition", [condition.slug])
        posted.setlist("treatment", [treatment.slug])
        form = ExperienceForm(
            formdata=posted,
            meta={"csrf": False},
            conditions=[(condition.slug, condition.name)],
            treatments=[(treatment.slug, treatment.name)],
            drug_slugs=frozenset([treatment.slug]) if treatment.kind == "drug" else frozenset(),
        )
        if not form.validate():
            raise importer.LineError(importer.form_errors(form))
        bands = dict(parsed.bands)
        if bands["years_since_diagnosis"] is None and form.diagnosed_year.data:
            bands["years_since_diagnosis"] = scales.years_since_diagnosis(
                form.diagnosed_year.data, int(parsed.updated[:4])
            )
        system, value = parsed.subject
        user = importer.imported_participant(f"fhir:{system}", value, f"fhir:{system or 'no system'}")
        if parsed.country:
            user.country = parsed.country
        imported = {
            **bands,
            "updated_at": importer.month_start(parsed.updated),
            "created_at": importer.month_start(parsed.reported) if parsed.reported else None,
        }
        outcome = importer.save_experience(user, condition, treatment, form.values(), imported)
        state.experience_saved(parsed, experiences.find_own(user, condition, treatment))  # for its follow-ups
        return outcome

    with open(path, encoding="utf-8") as handle_file:
        numbered = ((n, text) for n, text in enumerate(handle_file, 1) if text.strip())
        return importer.run_lines(numbered, handle, importer.ImportReport(), dry_run, progress)
