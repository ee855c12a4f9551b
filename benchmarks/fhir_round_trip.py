"""A FHIR round trip of a demo registry: export, import into an empty registry, compare tables and published numbers.

Usage:
    python benchmarks/fhir_round_trip.py                      # the demo's 20,000 experiences and 4,000 ratings
    python benchmarks/fhir_round_trip.py --experiences 5000 --ratings 1000

Seeds registry A (SQLite, exact disclosure, releases on read) as `registry demo` does, gives every
participant research consent (so that the export holds the whole registry and every published number
can be compared), writes `registry fhir export --with-text`, imports the file into an empty registry B
with `registry fhir import`, then prints the rows per table in A, in the export and in B, and compares
every number the API publishes in both (conditions, each condition's ranked treatments, each
treatment's report and "after N months", every doctor), keyed by slugs and names (ids differ).
Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter

os.environ.setdefault("REGISTRY_PRELOAD_VOCABULARIES", "false")


def _app(path: str):
    from registry.app import create_app

    return create_app(
        {
            "SECRET_KEY": "benchmark",
            "EXPORT_KEY": f"export-key-{os.path.basename(path)}",
            "DISCLOSURE_KEY": "benchmark",
            "DISCLOSURE": "exact",
            "RELEASE": "auto",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "RATELIMIT_ENABLED": False,
        }
    )


def _cli(app, *args) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    if result.exit_code != 0:
        sys.exit(f"registry {' '.join(args)} failed:\n{result.output}")
    return result.output


def _tables(app) -> dict[str, int]:
    from sqlalchemy import func, select

    from registry.models import (
        Doctor,
        DoctorRating,
        Experience,
        ExperienceSideEffect,
        ExperienceStopReason,
        ExperienceUpdate,
    )
    from registry.platform.extensions import db

    models = {
        "experiences": Experience,
        "experience_side_effects": ExperienceSideEffect,
        "experience_stop_reasons": ExperienceStopReason,
        "experience_updates": ExperienceUpdate,
        "doctor_ratings": DoctorRating,
        "doctors": Doctor,
    }
    with app.app_context():
        return {name: db.session.scalar(select(func.count()).select_from(model)) for name, model in models.items()}


def _published(app) -> dict:
    """Every number the API publishes, keyed by slugs and names (ids left out)."""
    from sqlalchemy import select

    from registry.models import Doctor
    from registry.platform.extensions import db

    client = app.test_client()

    def get(url):
        response = client.get(url)
        if response.status_code != 200:
            sys.exit(f"{url}: {response.status_code}")
        return response.get_json()

    def without_ids(value):
        if isinstance(value, dict):
            return {k: without_ids(v) for k, v in value.items() if k != "id"}
        return [without_ids(v) for v in value] if isinstance(value, list) else value

    found = {"conditions": get("/api/v1/conditions")}
    for condition in found["conditions"]["conditions"]:
        if not condition.get("n"):
            continue
        slug = condition["slug"]
        found[slug] = get(f"/api/v1/conditions/{slug}/treatments")
        for unit in found[slug]["treatments"]:
            base = f"/api/v1/conditions/{slug}/treatments/{unit['slug']}"
            found[f"{slug}/{unit['slug']}"] = get(base)
            found[f"{slug}/{unit['slug']}/after-months"] = get(f"{base}/after-months")
    with app.app_context():
        doctors = db.session.execute(select(Doctor.id, Doctor.name, Doctor.city)).all()
    for doctor_id, name, city in doctors:
        found[f"doctor {name}, {city}"] = without_ids(get(f"/api/v1/doctors/{doctor_id}"))
    return found


def _shown_horizons(published: dict) -> tuple[int, int]:
    """(treatments whose "after N months" shows a number, horizons shown)."""
    pairs = [v["after_months"] for k, v in published.items() if k.endswith("/after-months")]
    shown = [sum(not h["suppressed"] for h in a.get("horizons", ())) for a in pairs]
    return sum(1 for n in shown if n), sum(shown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiences", type=int, default=20_000)
    parser.add_argument("--ratings", type=int, default=4_000)
    args = parser.parse_args()
    from sqlalchemy import func, update

    from registry.models import User
    from registry.platform.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        source, target = _app(f"{tmp}/a.sqlite"), _app(f"{tmp}/b.sqlite")
        _cli(source, "init")
        started = time.perf_counter()
        _cli(
            source,
            "seed-demo",
            "--experiences",
            str(args.experiences),
            "--seed",
            "1",
            "--doctor-ratings",
            str(args.ratings),
        )
        with source.app_context():
            db.session.execute(update(User).values(research_consent_at=func.now()))
            db.session.commit()
        print(f"seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        ndjson = f"{tmp}/registry.ndjson"
        started = time.perf_counter()
        _cli(source, "fhir", "export", "--out", ndjson, "--with-text")
        exported = time.perf_counter() - started
        with open(ndjson, encoding="utf-8") as handle:
            kinds = Counter()
            for line in handle:
                resource = json.loads(line)
                kinds[resource.get("questionnaire", resource["resourceType"]).split("|")[0].rsplit("/", 1)[-1]] += 1
        _cli(target, "init")
        started = time.perf_counter()
        output = _cli(target, "fhir", "import", ndjson)
        imported = time.perf_counter() - started
        before, after = _tables(source), _tables(target)
        print(f"\nexport {exported:.0f} s, import {imported:.0f} s: {output.strip().splitlines()[-1]}")
        print(f"lines of the export: {dict(kinds)}")
        print(f"\n{'table':<26} {'source':>9} {'imported':>9}")
        for name in before:
            print(
                f"{name:<26} {before[name]:>9,} {after[name]:>9,}{'' if before[name] == after[name] else '  DIFFERS'}"
            )
        published_before, published_after = _published(source), _published(target)
        differing = sorted(k for k in published_before if published_before[k] != published_after.get(k))
        differing += sorted(set(published_after) - set(published_before))
        treatments, horizons = _shown_horizons(published_before)
        after_treatments, after_horizons = _shown_horizons(published_after)
        print(
            f"\npublished views compared: {len(published_before):,}; differing: {len(differing)}"
            f"\n'after N months' shown: {treatments} treatments ({horizons} horizons) before the trip, "
            f"{after_treatments} ({after_horizons}) after"
        )
        for key in differing[:20]:
            print(f"  differs: {key}")
        if differing or before != after:
            sys.exit(1)


if __name__ == "__main__":
    main()
