"""The demo's doctors and their ratings: names, specialties by condition, places, and ratings in bulk.

Ratings are given by the same members as the experiences (registry.demo.seed's batches), in the months
after they joined, with scores that follow each doctor's quality and communication.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timezone

import numpy as np
from sqlalchemy import select

import scales
from registry.contributions import ratings
from registry.demo.community import (
    Batch,
    Community,
    month_growth,
    month_number,
    month_start,
    next_id,
    report_keys,
    timestamps,
)
from registry.models import Condition, Doctor
from registry.platform.database import REPORT_KEY_BITS, insert_columns

REPORT_KEY_BOUND = 2**REPORT_KEY_BITS

SPECIALTIES = [
    (("diabet", "thyroid", "obes", "polycystic", "graves", "hashimoto", "osteopor"), "Endocrinology"),
    (("hypertens", "heart", "atrial", "coronary", "lipid", "cholesterol"), "Cardiology"),
    (("asthma", "copd", "apnea", "pulmonary", "lung"), "Pulmonology"),
    (("depress", "anxiety", "bipolar", "schizo", "adhd", "stress", "obsessive", "insomnia", "panic"), "Psychiatry"),
    (("migraine", "epilep", "sclerosis", "parkinson", "alzheim", "restless", "neuropath", "headache"), "Neurology"),
    (("arthritis", "lupus", "spondyl", "gout", "fibromyalg"), "Rheumatology"),
    (("psoria", "dermatitis", "acne", "rosacea", "eczema", "urticaria", "hidradenitis"), "Dermatology"),
    (("crohn", "colitis", "bowel", "reflux", "celiac", "constipation", "hepat", "liver"), "Gastroenterology"),
    (("kidney", "renal"), "Nephrology"),
    (("endometriosis", "menopaus"), "Gynecology"),
]
CITIES = [
    ("Boston", "US"),
    ("Chicago", "US"),
    ("Houston", "US"),
    ("Seattle", "US"),
    ("Atlanta", "US"),
    ("Denver", "US"),
    ("Toronto", "CA"),
    ("Vancouver", "CA"),
    ("London", "GB"),
    ("Manchester", "GB"),
    ("Dublin", "IE"),
    ("Sydney", "AU"),
    ("Melbourne", "AU"),
    ("Auckland", "NZ"),
    ("Berlin", "DE"),
    ("Lyon", "FR"),
]
FIRST_NAMES = "Ana Ben Chloe David Elena Farid Grace Hiro Ines Jamal Kara Liam Maya Noah Olga Priya Quinn Rosa Sam Tomas Uma Victor Wen Yara Zoe".split()
LAST_NAMES = "Adams Becker Chen Diaz Evans Fischer Garcia Hughes Ito Jensen Khan Lopez Moreau Nakamura Okafor Patel Quinn Rossi Silva Tanaka Ueda Varga Weber Xu Young Zimmer".split()
POSITIVE_COMMENTS = [
    "Took the time to explain my options.",
    "Listened to me and adjusted the plan.",
    "Hard to get an appointment, but worth it.",
    "Knows this condition inside out.",
    "Kind, clear and honest.",
    "Answered my messages quickly.",
    "Helped me find a treatment that works.",
]
NEGATIVE_COMMENTS = [
    "Felt rushed at every visit.",
    "Never read my notes before the visit.",
    "Dismissed my symptoms at first.",
    "Good on paper, but did not listen.",
]


@dataclass
class DemoDoctors:
    ids: np.ndarray
    quality: np.ndarray
    communication: np.ndarray
    # (condition id, member country) -> indices of doctors of that specialty practising there;
    # (condition id, "") -> all doctors of that specialty (members who gave no country)
    pools: dict


def _specialty(name: str) -> str:
    lowered = name.lower()
    return next((s for words, s in SPECIALTIES if any(w in lowered for w in words)), "Family medicine")


def add_doctors(rng, c: Community, session, n_ratings: int) -> DemoDoctors:
    """Demo doctors in the members' countries, every specialty in each, with a true quality."""
    names = dict(session.execute(select(Condition.id, Condition.name)).all())
    specialty_of = {int(cid): _specialty(names[int(cid)]) for cid in c.condition_ids}
    specialties = sorted(set(specialty_of.values()))
    countries = sorted({country for _, country in CITIES})
    # Every (name, city) once; the first doctors cover each specialty in each country.
    combos = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES) * len(CITIES))
    n_doctors = min(max(len(specialties) * len(countries), n_ratings // 40), len(combos))
    city_of = combos % len(CITIES)
    picked, used = [], np.zeros(len(combos), dtype=bool)
    for k, (specialty, country) in enumerate((s, co) for co in countries for s in specialties):
        at = int(np.flatnonzero(~used & (np.array([CITIES[i][1] for i in city_of]) == country))[0])
        used[at] = True
        picked.append((int(combos[at]), specialty))
    rest = np.flatnonzero(~used)[: n_doctors - len(picked)]
    picked += [(int(combos[i]), specialties[k % len(specialties)]) for k, i in enumerate(rest.tolist())]
    first_id = next_id(session, Doctor)
    rows = {
        "id": [],
        "name": [],
        "name_key": [],
        "specialty": [],
        "city": [],
        "city_key": [],
        "country": [],
        "created_at": [],
    }
    for k, (combo, specialty) in enumerate(picked):
        person, city = divmod(combo, len(CITIES))
        first, last = divmod(person, len(LAST_NAMES))
        full = f"{FIRST_NAMES[first]} {LAST_NAMES[last]}"
        for column, value in (
            ("id", first_id + k),
            ("name", f"Dr. {full}"),
            ("name_key", full.lower()),
            ("specialty", specialty),
            ("city", CITIES[city][0]),
            ("city_key", CITIES[city][0].lower()),
            ("country", CITIES[city][1]),
            ("created_at", month_start(24_000)),
        ):
            rows[column].append(value)
    insert_columns(session.connection(), Doctor.__table__, rows)
    session.commit()
    specialty_arr, country_arr = np.array(rows["specialty"]), np.array(rows["country"])
    pools = {}
    for cid, spec in specialty_of.items():
        pools[(cid, "")] = np.flatnonzero(specialty_arr == spec)
        for country in countries:
            pools[(cid, country)] = np.flatnonzero((specialty_arr == spec) & (country_arr == country))
    n = len(picked)
    return DemoDoctors(np.arange(first_id, first_id + n), rng.normal(0, 1, n), rng.normal(0, 1, n), pools)


def rating_columns(rng, d: DemoDoctors, batch: Batch, n: int, until: date, secret: bytes) -> dict:
    """About n ratings of demo doctors by the batch's members: a doctor of their condition's
    specialty in their own country, rated after the last visit and after joining, none after until; each with the
    report key the app computes for the disclosure key ``secret`` (registry.contributions.ratings.save)."""
    m = batch.members
    names = ("user_id", "doctor_id", "condition_id", *ratings.FORM_FIELDS, "created_at", "updated_at")
    columns = {name: [] for name in (*names, "text_state", "text_reason", "report_key")}
    if n <= 0 or not len(m.ids):
        return columns
    draws = _RatingDraws.of(rng, m, n, until)
    seen = set()
    for i in range(n):
        member = int(draws.who[i])
        condition_id = int(batch.condition_ids[member])
        pool = d.pools[(condition_id, m.country[member])]
        if not len(pool):
            continue
        # Doctors' popularity is skewed too: a few are rated often.
        doctor = int(pool[min(int(len(pool) * draws.skew[i] ** 2), len(pool) - 1)])
        if (member, doctor) in seen:
            continue
        seen.add((member, doctor))
        at = draws.created[i].replace(tzinfo=timezone.utc)
        row = {
            "user_id": int(m.ids[member]),
            "doctor_id": int(d.ids[doctor]),
            "condition_id": condition_id,
            **_answers(d, doctor, draws, i),
            "created_at": at,
            "updated_at": at,
        }
        for name in names:
            columns[name].append(row[name])
        columns["text_state"].append("public")
        columns["text_reason"].append(None)
    columns["report_key"] = report_keys(
        secret, "r", *(np.array(columns[name], dtype=np.int64) for name in ("user_id", "doctor_id", "condition_id"))
    )
    return columns


@dataclass
class _RatingDraws:
    """Every random draw of one batch's ratings, made up front and in a fixed order (the demo is deterministic)."""

    who: np.ndarray
    skew: np.ndarray
    noise: np.ndarray
    rated_month: np.ndarray
    visit_lag: np.ndarray
    created: list
    has_appointment: np.ndarray
    has_comment: np.ndarray
    comment_pick: np.ndarray

    @classmethod
    def of(cls, rng, m, n: int, until: date) -> _RatingDraws:
        who = rng.integers(0, len(m.ids), n)
        skew, noise = rng.random(n), rng.normal(0, 1, (n, 9))
        rated_month = month_growth(rng, m.joined[who], np.full(n, month_number(until)))
        visit_lag = rng.geometric(1 / 3, n) - 1
        day = np.where(rated_month == m.joined[who], m.joined_day[who], 1) + rng.integers(0, 28, n)
        created = timestamps(rated_month, np.minimum(day, 28), until).astype("datetime64[us]").tolist()
        has_appointment, has_comment, comment_pick = rng.random(n) < 0.8, rng.random(n) < 0.2, rng.random(n)
        # Drawn and unused: random keys before issue 24; the draws after these stay where they were.
        rng.integers(0, REPORT_KEY_BOUND, n)
        return cls(who, skew, noise, rated_month, visit_lag, created, has_appointment, has_comment, comment_pick)


def _answers(d: DemoDoctors, doctor: int, draws: _RatingDraws, i: int) -> dict:
    """One rating's answers (ratings.FORM_FIELDS) from the doctor's quality and communication and the draws."""
    q, comm, z = d.quality[doctor], d.communication[doctor], draws.noise[i]
    frequency = scales.FREQUENCY.codes
    overall = int(np.clip(round(7.4 + 1.3 * q + 1.3 * z[0]), 0, 10))
    items = np.digitize(1.0 + 0.9 * comm + 0.3 * q + z[1:6], [-0.6, 0.2, 0.9])
    visit = max(int(draws.rated_month[i] - draws.visit_lag[i]), 0)
    comments = POSITIVE_COMMENTS if overall >= 8 else NEGATIVE_COMMENTS
    return {
        "last_visit": f"{visit // 12:04d}-{visit % 12 + 1:02d}",
        "overall": overall,
        "explained_clearly": frequency[items[0]],
        "listened_carefully": frequency[items[1]],
        "showed_respect": frequency[items[2]],
        "spent_enough_time": frequency[items[3]],
        "got_appointment": frequency[items[4]] if draws.has_appointment[i] else None,
        "knowledge": int(np.clip(round(3.8 + 0.6 * q + 0.8 * z[6]), 1, 5)),
        "would_recommend": scales.DOCTOR_RECOMMEND.codes[int(np.digitize(overall + z[7], [4.5, 6.5, 8.5]))],
        "comment": comments[int(draws.comment_pick[i] * len(comments))] if draws.has_comment[i] else None,
    }
