"""The demo community's shapes and catalog: profiles (registry/data/demo_profiles.json), each
condition's and treatment's place in them, and the Community the generator (registry.demo.seed) draws from.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

import numpy as np
from sqlalchemy import func, select

from registry import PACKAGE
from registry.catalog.catalog import STARTER_CATALOG
from registry.models import Condition, Treatment, condition_treatment
from registry.platform.database import REPORT_KEY_BITS

PROFILES_PATH = PACKAGE / "data" / "demo_profiles.json"
MAX_CONDITION_SHARE = 0.12


@functools.cache
def load_profiles() -> dict:
    """The curated shapes of the demo (registry/data/demo_profiles.json)."""
    return json.loads(PROFILES_PATH.read_text(encoding="utf-8"))


@functools.cache
def _catalog_order() -> dict[str, dict[str, int]]:
    """Condition slug -> treatment slug -> its position in the starter catalog's list."""
    catalog = json.loads(STARTER_CATALOG.read_text(encoding="utf-8"))
    return {c["slug"]: {t: i for i, t in enumerate(c["treatments"])} for c in catalog["conditions"]}


def condition_profile(profiles: dict, slug: str, icd10: str | None) -> dict:
    """A condition's people and prevalence: defaults, then its ICD-10 chapter's, then its own."""
    profile = dict(profiles["condition_defaults"])
    chapter = profiles["icd10_chapter_defaults"].get((icd10 or " ")[0].upper())
    if chapter:
        profile.update({k: v for k, v in chapter.items() if k in profile})
    profile.update(profiles["conditions"].get(slug, {}))
    return profile


def capped_shares(weights: np.ndarray, cap: float = MAX_CONDITION_SHARE) -> np.ndarray:
    """Normalize weights to shares, none above cap (the excess goes to the others in proportion)."""
    shares = weights / weights.sum()
    if len(shares) * cap < 1:
        return shares  # too few conditions to respect the cap: keep the shape
    for _ in range(len(shares)):
        over = shares > cap
        if not over.any():
            break
        excess = (shares[over] - cap).sum()
        shares[over] = cap
        free = ~over & (shares < cap)
        shares[free] += excess * shares[free] / shares[free].sum()
    return shares


def treatment_class(profiles: dict, condition_slug: str, treatment_slug: str, kind: str) -> tuple[str, dict]:
    """(name, profile) of a treatment's class for a condition: side effects, effect, cost."""
    named = {c["name"]: c for c in profiles["classes"]}
    pair = profiles["pair_classes"].get(condition_slug, {}).get(treatment_slug)
    if pair:
        return pair, named[pair]
    for cls in profiles["classes"]:
        if re.search(cls["match"], treatment_slug):
            return cls["name"], cls
    for name, cls in profiles["slug_classes"].items():
        if name != "source" and re.search(cls["match"], treatment_slug):
            return name, cls
    kinds = profiles["kind_classes"]
    return kind, kinds.get(kind, kinds["other"])


def effect_probabilities(improved: float, worse: float, cant_tell: float) -> np.ndarray:
    """Probabilities over EFFECTIVENESS codes from the share improved and the share made worse."""
    improved = float(np.clip(improved, 0.05, 0.92))
    worse = float(np.clip(worse, 0.005, 0.3))
    rest = max(1.0 - improved - worse, 0.02)
    major = improved * (0.25 + 0.4 * improved)  # a strong treatment has more "major" among improved
    p = np.array([worse, 0.4 * rest, 0.6 * rest, improved - major, major])
    return np.append(p / p.sum() * (1 - cant_tell), cant_tell)


class Community:
    """The fixed part of the demo: conditions with their people, treatments with their profiles."""

    def __init__(self, rng, session, profiles: dict | None = None):
        profiles = profiles or load_profiles()
        rows = session.execute(
            select(Condition.id, Condition.slug, Condition.icd10, Treatment.id, Treatment.slug, Treatment.kind)
            .join(condition_treatment, condition_treatment.c.condition_id == Condition.id)
            .join(Treatment, Treatment.id == condition_treatment.c.treatment_id)
            .order_by(Condition.id, Treatment.id)
        ).all()
        if not rows:
            raise RuntimeError("the catalog is empty: run `registry init` first")
        by_condition: dict[int, list] = {}
        for condition_id, condition_slug, icd10, treatment_id, treatment_slug, kind in rows:
            by_condition.setdefault(condition_id, [condition_slug, icd10, []])[2].append(
                (treatment_id, treatment_slug, kind)
            )
        # The starter catalog lists each condition's treatments from most to least used.
        order = _catalog_order()
        for slug, _, treatments in by_condition.values():
            position = order.get(slug, {})
            treatments.sort(key=lambda t: (position.get(t[1], len(position)), t[0]))
        self.condition_ids = np.array(sorted(by_condition))
        self.condition_slugs = [by_condition[int(c)][0] for c in self.condition_ids]
        self._people(profiles, by_condition)
        self._units(rng, profiles, by_condition)

    def _people(self, profiles: dict, by_condition: dict) -> None:
        """Per condition: share of reports, ages, sexes, roles, years since diagnosis."""
        p = [condition_profile(profiles, *by_condition[int(c)][:2]) for c in self.condition_ids]
        w = profiles["weighting"]
        weight = np.array([(x["prevalence"] ** w["prevalence_power"] * x["seek"]) ** w["concentration"] for x in p])
        self.condition_p = capped_shares(weight)
        self.age_mean = np.array([x["age"][0] for x in p], dtype=float)
        self.age_sd = np.array([x["age"][1] for x in p], dtype=float)
        self.female = np.array([x["female"] for x in p])
        self.caregiver = np.array([x["caregiver"] for x in p])
        self.survivor = np.array([x["survivor"] for x in p])
        self.years = np.array([x["years"] for x in p], dtype=float)
        self.since_month = np.array([x.get("since", 0) * 12 for x in p])
        self.response = np.array([x["response"] for x in p])
        countries = {k: v for k, v in profiles["countries"].items() if k != "source"}
        self.countries = np.array(list(countries), dtype=object)
        self.country_p = np.array(list(countries.values())) / sum(countries.values())

    def _units(self, rng, profiles: dict, by_condition: dict) -> None:
        """One unit per condition-treatment pair: popularity, effect, side effects, cost."""
        severity_presets = profiles["severity"]
        costs = profiles["costs"]
        approved = profiles["approved"]
        first_line = profiles["first_line"]
        kind_weight = profiles["kind_weight"]
        doses = profiles["doses"]
        vocabulary: dict[str, int] = {}
        units = []  # (condition index, treatment id, slug, kind, class name, class profile)
        for ci, condition_id in enumerate(self.condition_ids):
            slug, _, treatments = by_condition[int(condition_id)]
            for treatment_id, treatment_slug, kind in treatments:
                name, cls = treatment_class(profiles, slug, treatment_slug, kind)
                for term in cls["terms"]:
                    vocabulary.setdefault(term, len(vocabulary))
                units.append((ci, treatment_id, treatment_slug, kind, name, cls))
        self.terms = np.array(list(vocabulary), dtype=object)
        n = len(units)
        self.unit_condition = np.array([u[0] for u in units])
        self.unit_treatment = np.array([u[1] for u in units])
        self.unit_class = np.array([u[4] for u in units], dtype=object)
        self.unit_one_off = np.array([u[3] == "procedure" for u in units])
        self.unit_approved = np.array([approved.get(u[2], 0) * 12 for u in units])
        self.unit_popularity = np.empty(n)
        self.unit_index: list[np.ndarray] = []  # per condition: its unit indices, in catalog order
        effect, severity, cost, coverage = [], [], [], []
        width = max(len(u[5]["terms"]) for u in units)
        self.term_logw = np.full((n, width), -np.inf)  # per unit: log weights of its class's terms
        self.term_index = np.zeros((n, width), dtype=int)  # ... and their indices into self.terms
        # The form takes a dose for drugs only: a supplement with a typical dose on file gets none.
        self.dose = [doses.get(u[2]) if u[3] == "drug" else None for u in units]
        self.unit_has_dose = np.array([d is not None for d in self.dose])
        for i, (ci, _, treatment_slug, kind, _, cls) in enumerate(units):
            jitter = rng.normal(0, 0.06)  # treatments of one class differ a little, per condition
            cant_tell = rng.uniform(0.03, 0.10)
            effect.append(effect_probabilities(cls["improved"] + self.response[ci] + jitter, cls["worse"], cant_tell))
            severity.append(np.array(severity_presets[cls["severity"]], dtype=float))
            cost.append(np.array(costs[cls["cost"]]["cost"], dtype=float))
            coverage.append(np.array(costs[cls["cost"]]["coverage"], dtype=float))
            for j, (term, w) in enumerate(cls["terms"].items()):
                self.term_logw[i, j], self.term_index[i, j] = np.log(w), vocabulary[term]
        for ci, condition_id in enumerate(self.condition_ids):
            indices = np.flatnonzero(self.unit_condition == ci)
            slug = self.condition_slugs[ci]
            boost = first_line.get(slug, {})
            # Catalog order is roughly order of use; kind and guideline boosts shape the rest.
            rank = np.arange(len(indices))
            w = (rank + 1.0) ** -0.9
            w *= [kind_weight.get(units[i][3], 0.3) * boost.get(units[i][2], 1.0) for i in indices]
            self.unit_popularity[indices] = w / w.sum()
            self.unit_index.append(indices)

        def cum(rows):
            p = np.array(rows)
            return np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)

        self.effect_cum, self.severity_cum = cum(effect), cum(severity)
        self.cost_cum, self.coverage_cum = cum(cost), cum(coverage)


# --- one batch, step by step ------------------------------------------------------------------


# --- time and ids, shared by the members' batches and the doctors' ratings ------------------

GROWTH = 0.30  # members joining grow 30% a year (so the last year has ~10x the first year's)


def month_growth(rng, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A month in [low, high] per row, more likely late: the community grows GROWTH a year."""
    g = np.log1p(GROWTH) / 12
    span = (high - low + 1).astype(float)
    u = rng.random(len(low))
    t = np.log1p(u * np.expm1(g * span)) / g
    return np.minimum(low + t.astype(int), high)


def timestamps(months: np.ndarray, days: np.ndarray, until: date) -> np.ndarray:
    """Noon UTC on the given day (1-28) of each month, as datetime64; none after the start of `until`.

    Days drawn in until's month are spread over its days up to until (the month keeps its count of
    rows), and until's own rows are at 00:00 UTC: a demo seeded until today dates nothing after now.
    """
    last = min(until.day, 28)
    days = np.where(months == month_number(until), 1 + (days - 1) * last // 28, days)
    first = (months - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]")
    noon = (first + (days - 1).astype("timedelta64[D]")).astype("datetime64[s]") + np.timedelta64(12, "h")
    return np.minimum(noon, np.datetime64(until, "s"))


def month_number(day: date) -> int:
    """A date's month as the demo counts months: year * 12 + month - 1."""
    return day.year * 12 + day.month - 1


def report_keys(secret: bytes, kind: str, user_ids: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """registry.platform.database.report_key for many reports at once: the same integers, the key the app computes.

    BLAKE2b reads its input as a stream, so the keyed state after "kind|" is made once and copied
    for each report (a keyed hash sets up a whole block for the key); the digests become integers in one pass.
    """
    start = hashlib.blake2b(key=secret[:64], digest_size=8, person=b"report-key")
    start.update(f"{kind}|".encode())
    digests = []
    for u, a, b in zip(user_ids.tolist(), first.tolist(), second.tolist()):
        h = start.copy()
        h.update(f"{u}|{a}|{b}".encode())
        digests.append(h.digest())
    return (np.frombuffer(b"".join(digests), dtype=">u8") >> np.uint64(64 - REPORT_KEY_BITS)).astype(np.int64)


def month_start(month_number: int) -> datetime:
    return datetime(month_number // 12, month_number % 12 + 1, 1, 12, tzinfo=timezone.utc)


def next_id(session, model) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


@dataclass
class Members:
    """New members of one batch, one entry per member."""

    ids: np.ndarray
    condition: np.ndarray  # condition index
    reports: np.ndarray  # how many treatments they report
    role: np.ndarray
    joined: np.ndarray  # month number (year * 12 + month - 1)
    joined_day: np.ndarray
    birth_year: np.ndarray
    has_birth_year: np.ndarray
    sex: np.ndarray
    country: np.ndarray
    diagnosed: np.ndarray  # month number of the diagnosis
    has_diagnosis: np.ndarray
    consent: np.ndarray


@dataclass
class Batch:
    """One batch's rows as columns per table, plus what doctor ratings need."""

    tables: dict  # model -> {column: values}
    members: Members
    condition_ids: np.ndarray  # per member: the condition's id
