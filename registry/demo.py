"""A deterministic, realistic demo community, inserted in bulk.

Popularity is skewed (a few conditions hold most reports), every treatment has its own true
effect and side-effect profile for each condition, and answers are correlated the way patients'
answers are (a treatment that works well gets high satisfaction and is recommended). Rows are
generated with numpy in batches and inserted in bulk (COPY on PostgreSQL, prepared executemany on
SQLite; see registry.database.bulk_insert), one transaction
per batch, so memory stays flat however many experiences are asked for.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import numpy as np
from sqlalchemy import func, select, text
from werkzeug.security import generate_password_hash

from registry import aggregates, scales
from registry.database import REPORT_KEY_BITS, bulk_insert
from registry.extensions import db
from registry.models import (
    CONSENT_VERSION,
    Condition,
    ConsentEvent,
    Diagnosis,
    Doctor,
    DoctorRating,
    Experience,
    ExperienceSideEffect,
    ExperienceStopReason,
    Treatment,
    User,
    condition_treatment,
)

ROLE_SHARES = {"patient": 0.80, "caregiver": 0.15, "survivor": 0.05}
CONSENT_SHARE = 0.80
TIPS_SHARE = 0.25
YEARS = 10

TIP_OPENERS = [
    "Give it time:", "My advice:", "What helped me:", "From my experience,", "Honestly,",
    "Tip from a long-time user:", "Worth knowing:", "If you are just starting,", "Speaking as a caregiver,",
    "After a rough start,", "Two things I learned:", "Please note:", "Small thing, but", "For what it's worth,",
    "Looking back,", "Be patient:", "Practical tip:", "I wish someone had told me:", "Something that worked:",
    "My doctor suggested this and",
]  # fmt: skip
TIP_MIDDLES = [
    "the first weeks were the hardest", "taking it at the same time every day made a difference",
    "taking it with food stopped the nausea", "keeping a symptom diary helped me see the change",
    "it took about two months before I noticed anything", "lowering the dose for a while helped with side effects",
    "drinking more water helped", "asking the pharmacist about interactions was worth it",
    "a reminder app kept me on track", "taking it in the evening helped me sleep",
    "combining it with regular walks worked better than either alone", "the generic worked just as well for me",
    "checking my insurance's formulary first saved a lot of money", "the side effects faded after a few weeks",
    "it helped the worst days but not every day", "splitting the dose made it easier to tolerate",
    "I had to try two others before this one", "it works best when I keep a regular routine",
    "the patient assistance program covered most of the cost", "my energy came back slowly",
]  # fmt: skip
TIP_CLOSERS = [
    "Talk to your doctor before changing anything.", "Everyone is different, though.", "Hang in there.",
    "Hope this helps someone.", "Keep notes to show your doctor.", "Don't give up too early.",
    "It's not a miracle, but it helps.", "Ask about the side effects up front.",
    "Tell your doctor how it really goes.", "Good luck!",
]  # fmt: skip


@dataclass
class Unit:
    """One condition-treatment pair's true profile."""

    condition_index: int
    treatment_id: int
    is_drug: bool
    effect_p: np.ndarray  # probabilities over EFFECTIVENESS codes
    severity_p: np.ndarray  # probabilities over SIDE_EFFECT_SEVERITY codes
    side_effect_terms: np.ndarray  # indices into SIDE_EFFECT_STARTER_TERMS
    coverage_p: np.ndarray
    cost_p: np.ndarray


def _cdf_pick(rng, cumulative: np.ndarray) -> np.ndarray:
    """Pick one index per row of cumulative probabilities."""
    u = rng.random(cumulative.shape[0])[:, None]
    return np.minimum((u > cumulative).sum(axis=1), cumulative.shape[1] - 1)


def _ordered_probs(rng, levels: int, location: float, spread: float = 1.0) -> np.ndarray:
    """Probabilities over ordered categories from a latent normal (ordered probit)."""
    cuts = np.arange(1, levels) - levels / 2
    from math import erf, sqrt

    cdf = np.array([0.5 * (1 + erf((c - location) / (spread * sqrt(2)))) for c in cuts])
    return np.diff(np.concatenate([[0.0], cdf, [1.0]]))


class Community:
    """The fixed part of the demo: conditions, their treatments and true profiles."""

    def __init__(self, rng, session):
        rows = session.execute(
            select(Condition.id, condition_treatment.c.treatment_id, Treatment.kind)
            .join(condition_treatment, condition_treatment.c.condition_id == Condition.id)
            .join(Treatment, Treatment.id == condition_treatment.c.treatment_id)
            .order_by(Condition.id, condition_treatment.c.treatment_id)
        ).all()
        if not rows:
            raise RuntimeError("the catalog is empty: run `registry init` first")
        by_condition: dict[int, list[tuple[int, str]]] = {}
        for condition_id, treatment_id, kind in rows:
            by_condition.setdefault(condition_id, []).append((treatment_id, kind))
        self.condition_ids = np.array(sorted(by_condition))
        # Zipf-like in catalog order (common conditions first): the busiest condition holds about
        # half of all reports, a long tail holds few.
        order = np.arange(len(self.condition_ids))
        weights = 1.0 / np.arange(1, len(order) + 1) ** 1.5
        self.condition_p = np.empty(len(order))
        self.condition_p[order] = weights / weights.sum()
        self.mean_age = rng.uniform(28, 68, len(order))
        self.female_share = rng.uniform(0.3, 0.8, len(order))
        self.units: list[Unit] = []
        self.unit_index: list[np.ndarray] = []  # per condition: its unit indices
        self.unit_p: list[np.ndarray] = []  # per condition: treatment popularity
        effect_codes = len(scales.EFFECTIVENESS) - 1  # cant_tell is drawn separately
        for ci, condition_id in enumerate(self.condition_ids):
            treatments = by_condition[int(condition_id)]
            popularity = 1.0 / np.arange(1, len(treatments) + 1) ** 1.0
            popularity = popularity[rng.permutation(len(treatments))]
            indices = []
            for treatment_id, kind in treatments:
                location = rng.normal(0.3, 0.6)  # the treatment's true effect for this condition
                effect = _ordered_probs(rng, effect_codes, location, spread=1.3)
                cant_tell = rng.uniform(0.03, 0.12)
                effect_p = np.append(effect * (1 - cant_tell), cant_tell)
                severity_p = _ordered_probs(rng, len(scales.SIDE_EFFECT_SEVERITY), rng.normal(-0.8, 0.8))
                terms = rng.choice(len(scales.SIDE_EFFECT_STARTER_TERMS), size=rng.integers(3, 7), replace=False)
                coverage_p = rng.dirichlet(np.array([6, 2, 1.5, 0.6, 0.5, 0.8]))
                cost_p = rng.dirichlet(np.array([2, 3, 3, 1.5, 0.5, 0.3, 1]))
                indices.append(len(self.units))
                self.units.append(
                    Unit(ci, treatment_id, kind == "drug", effect_p, severity_p, terms, coverage_p, cost_p)
                )
            self.unit_index.append(np.array(indices))
            self.unit_p.append(popularity / popularity.sum())
        self.effect_cum = np.cumsum(np.array([u.effect_p for u in self.units]), axis=1)
        self.severity_cum = np.cumsum(np.array([u.severity_p for u in self.units]), axis=1)
        self.coverage_cum = np.cumsum(np.array([u.coverage_p for u in self.units]), axis=1)
        self.cost_cum = np.cumsum(np.array([u.cost_p for u in self.units]), axis=1)
        self.unit_treatment = np.array([u.treatment_id for u in self.units])
        self.unit_condition = np.array([u.condition_index for u in self.units])
        self.unit_is_drug = np.array([u.is_drug for u in self.units])
        self.unit_terms = np.array([u.side_effect_terms[:3] for u in self.units])


def _next_id(session, model) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def _month_str(months: np.ndarray) -> list[str]:
    """Month numbers (year * 12 + month - 1) as YYYY-MM strings."""
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months.tolist()]


def _band(values: np.ndarray, edges: list[int], codes: tuple[str, ...]) -> np.ndarray:
    return np.array(codes, dtype=object)[np.digitize(values, edges)]


def seed_demo(
    n_experiences: int,
    seed: int,
    until: date | None = None,
    batch_size: int = 25_000,
    progress=None,
    doctor_ratings: int = 0,
) -> dict[str, int]:
    """Insert a demo community of n_experiences experiences (and about doctor_ratings ratings
    of demo doctors by the same members); return counts of rows added."""
    session = db.session
    rng = np.random.default_rng(seed)
    community = Community(rng, session)
    until = until or date.today()
    end_month = until.year * 12 + until.month - 1
    # One unusable password hash for all demo members: nobody can log in as them.
    password_hash = generate_password_hash(secrets.token_hex(16))
    user_id = _next_id(session, User)
    experience_id = _next_id(session, Experience)
    added = {"users": 0, "experiences": 0, "side_effects": 0, "stop_reasons": 0, "doctors": 0, "doctor_ratings": 0}
    doctors = _add_doctors(rng, community, session, doctor_ratings) if doctor_ratings else None
    added["doctors"] = len(doctors.ids) if doctors else 0
    remaining = n_experiences
    while remaining > 0:
        chunk = min(batch_size, remaining)
        rows = _generate_batch(rng, community, chunk, user_id, experience_id, end_month, password_hash)
        connection = session.connection()
        for model, name in ((User, "users"), (ConsentEvent, "consent_events"), (Diagnosis, "diagnoses"),
                            (Experience, "experiences"), (ExperienceSideEffect, "side_effects"),
                            (ExperienceStopReason, "stop_reasons")):  # fmt: skip
            bulk_insert(connection, model.__table__, rows[name])
        aggregates.record(connection, rows["experiences"], rows["side_effects"], rows["stop_reasons"])
        if doctors is not None:
            ratings = _rating_rows(rng, doctors, rows, round(doctor_ratings * chunk / n_experiences), end_month)
            bulk_insert(connection, DoctorRating.__table__, ratings)
            added["doctor_ratings"] += len(ratings)
        session.commit()
        made = len(rows["experiences"])
        user_id += len(rows["users"])
        experience_id += made
        remaining -= made
        added["users"] += len(rows["users"])
        added["experiences"] += made
        added["side_effects"] += len(rows["side_effects"])
        added["stop_reasons"] += len(rows["stop_reasons"])
        if progress is not None:
            progress(made)
    _sync_sequences(session)
    return added


def _sync_sequences(session) -> None:
    """After explicit ids, move PostgreSQL's sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("user", "consent_event", "diagnosis", "experience", "doctor", "doctor_rating"):
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM \"{table}\"), 0) + 1, false)"
            )
        )
    session.commit()


def _generate_batch(rng, c: Community, n: int, first_user: int, first_experience: int, end_month: int, password_hash):
    """Rows for about n experiences by new members, as lists of dicts per table."""
    # Members: each reports 1-4 treatments for one condition.
    per_user = np.minimum(1 + rng.poisson(1.2, size=n), 4)
    per_user = per_user[np.cumsum(per_user) <= n]
    if per_user.sum() < n:
        per_user = np.append(per_user, n - per_user.sum())
    n_users = len(per_user)
    user_ids = np.arange(first_user, first_user + n_users)
    condition = rng.choice(len(c.condition_ids), size=n_users, p=c.condition_p)
    role = rng.choice(list(ROLE_SHARES), size=n_users, p=list(ROLE_SHARES.values()))
    age_now = np.clip(rng.normal(c.mean_age[condition], 12), 8, 92).astype(int)
    birth_year = end_month // 12 - age_now
    sex = np.where(
        rng.random(n_users) < c.female_share[condition],
        "female",
        np.where(rng.random(n_users) < 0.96, "male", np.where(rng.random(n_users) < 0.5, "other", "undisclosed")),
    )
    has_birth = rng.random(n_users) < 0.9
    diagnosed_year = end_month // 12 - np.minimum(rng.exponential(6, n_users).astype(int), np.maximum(age_now - 1, 0))
    has_diagnosis = rng.random(n_users) < 0.85
    consent = rng.random(n_users) < CONSENT_SHARE
    joined_month = end_month - rng.integers(0, YEARS * 12, n_users)
    joined = [_month_start(m) + timedelta(days=int(d)) for m, d in zip(joined_month.tolist(), rng.integers(0, 28, n_users).tolist())]

    users, consent_events, diagnoses = [], [], []
    for i in range(n_users):
        uid = int(user_ids[i])
        consent_at = joined[i] if consent[i] else None
        users.append({
            "id": uid, "email": f"member{uid}@demo.invalid", "pseudonym": f"member-{uid}",
            "pseudonym_key": f"member {uid}", "password_hash": password_hash, "account_role": "patient",
            "birth_year": int(birth_year[i]) if has_birth[i] else None, "sex": str(sex[i]), "country": None,
            "research_consent_version": CONSENT_VERSION if consent[i] else None,
            "research_consent_at": consent_at, "session_token": f"{uid:032x}", "created_at": joined[i],
            "text_on_review": False,
        })  # fmt: skip
        if consent[i]:
            consent_events.append({"user_id": uid, "action": "given", "version": CONSENT_VERSION, "at": consent_at})
        if has_diagnosis[i]:
            diagnoses.append(
                {"user_id": uid, "condition_id": int(c.condition_ids[condition[i]]), "diagnosed_year": int(diagnosed_year[i])}
            )

    # Experiences: distinct treatments per member, drawn by popularity within the condition
    # (Gumbel top-k: sampling without replacement for all members of a condition at once).
    unit = np.full((n_users, int(per_user.max())), -1)
    for ci in np.unique(condition):
        members = np.flatnonzero(condition == ci)
        units = c.unit_index[ci]
        keys = np.log(c.unit_p[ci]) + rng.gumbel(size=(len(members), len(units)))
        ranked = units[np.argsort(-keys, axis=1)][:, : unit.shape[1]]
        unit[members, : ranked.shape[1]] = ranked
    wanted = np.arange(unit.shape[1]) < per_user[:, None]
    unit = np.where(wanted, unit, -1)
    owner = np.repeat(np.arange(n_users), unit.shape[1])
    unit = unit.ravel()
    keep = unit >= 0
    owner, unit = owner[keep], unit[keep]
    m = len(unit)

    effect = _cdf_pick(rng, c.effect_cum[unit])
    severity = _cdf_pick(rng, c.severity_cum[unit])
    coverage = _cdf_pick(rng, c.coverage_cum[unit])
    cost = _cdf_pick(rng, c.cost_cum[unit])
    effect_level = np.where(effect == 5, 1.5, effect)  # cant_tell sits in the middle
    satisfaction = np.clip(np.rint(2.5 + 1.5 * effect_level - 0.7 * severity + rng.normal(0, 1.2, m)), 1, 10).astype(int)
    recommend = np.where(rng.random(m) < 1 / (1 + np.exp(-(satisfaction - 5.5))), "yes", "no")
    adherence = np.minimum(np.clip(rng.poisson(0.4 + 0.3 * severity), 0, 3), 3)
    burden = np.clip(np.rint(severity * 0.6 + rng.normal(0.3, 0.8, m)), 0, 3).astype(int)
    started = joined_month[owner] - rng.integers(0, 36, m)
    started = np.maximum(started, end_month - YEARS * 12)
    duration = rng.geometric(1 / 14, m)
    stopped_flag = (rng.random(m) < 0.55) & (started + duration <= end_month)
    stopped = np.where(stopped_flag, started + duration, -1)
    created_month = np.minimum(np.where(stopped_flag, stopped, started + np.minimum(duration, 6)), end_month)
    report_year = created_month // 12
    ages = report_year - birth_year[owner]
    age_band = _band(ages, [18, 30, 45, 65], scales.AGE_BAND.codes)
    since = report_year - diagnosed_year[owner]
    since_band = _band(since, [1, 5, 10], scales.YEARS_SINCE_DIAGNOSIS.codes)
    has_tip = rng.random(m) < TIPS_SHARE
    tip_parts = rng.integers(0, [len(TIP_OPENERS), len(TIP_MIDDLES), len(TIP_CLOSERS)], size=(m, 3))
    has_dose = c.unit_is_drug[unit] & (rng.random(m) < 0.6)
    dose = rng.choice([0.5, 1, 2.5, 5, 10, 20, 25, 40, 50, 100, 200, 500], size=m)
    frequency = rng.choice(scales.DOSE_FREQUENCY.codes[:5], size=m, p=[0.15, 0.5, 0.25, 0.05, 0.05])
    day = rng.integers(0, 28, m)

    def codes(scale_codes, index):
        return np.array(scale_codes, dtype=object)[index].tolist()

    ids = np.arange(first_experience, first_experience + m)
    created = [
        _month_start(month) + timedelta(days=d) for month, d in zip(created_month.tolist(), day.tolist())
    ]
    tips = [
        f"{TIP_OPENERS[a]} {TIP_MIDDLES[b]}. {TIP_CLOSERS[z]}" if keep_tip else None
        for (a, b, z), keep_tip in zip(tip_parts.tolist(), has_tip.tolist())
    ]
    stopped_s = _month_str(np.maximum(stopped, 0))
    columns = {
        "id": ids.tolist(),
        "user_id": user_ids[owner].tolist(),
        "condition_id": c.condition_ids[c.unit_condition[unit]].tolist(),
        "treatment_id": c.unit_treatment[unit].tolist(),
        "role": role[owner].tolist(),
        "started": _month_str(started),
        "stopped": [s if flag else None for s, flag in zip(stopped_s, stopped_flag.tolist())],
        "dose_amount": np.where(has_dose, dose, np.nan).tolist(),
        "dose_unit": np.where(has_dose, "mg", None).tolist(),
        "dose_frequency": np.where(has_dose, frequency, None).tolist(),
        "effectiveness": codes(scales.EFFECTIVENESS.codes, effect),
        "side_effect_severity": codes(scales.SIDE_EFFECT_SEVERITY.codes, severity),
        "adherence": codes(scales.ADHERENCE.codes, adherence),
        "burden": codes(scales.BURDEN.codes, burden),
        "cost_per_month": codes(scales.COST_PER_MONTH.codes, cost),
        "insurance_coverage": codes(scales.INSURANCE_COVERAGE.codes, coverage),
        "satisfaction": satisfaction.tolist(),
        "would_recommend": recommend.tolist(),
        "tips": tips,
        "age_band": np.where(has_birth[owner], age_band, None).tolist(),
        "sex": sex[owner].tolist(),
        "years_since_diagnosis": np.where(has_diagnosis[owner], since_band, None).tolist(),
        "created_at": created,
        "updated_at": created,
        "text_state": ["public"] * m,  # demo tips hold no contact details
        "text_reason": [None] * m,
        "report_key": rng.integers(0, 2**REPORT_KEY_BITS, m).tolist(),
    }
    columns["dose_amount"] = [None if x != x else x for x in columns["dose_amount"]]  # NaN -> NULL
    names = list(columns)
    experiences = [dict(zip(names, values)) for values in zip(*columns.values())]

    # Side effects: up to three of the unit's typical terms, more for worse severity.
    terms = np.array(scales.SIDE_EFFECT_STARTER_TERMS, dtype=object)
    side_effects = []
    draw = rng.random((m, 3))
    for k in range(3):
        has = (severity > k) & (draw[:, k] < 0.7)
        term = terms[c.unit_terms[unit[has], k]]
        side_effects.extend({"experience_id": e, "term": t} for e, t in zip(ids[has].tolist(), term.tolist()))

    # Reasons stopped follow from the answers: side effects, no effect, cost, improvement.
    draw = rng.random((m, 4))
    reasons = {
        "side_effects": stopped_flag & (severity >= 2) & (draw[:, 0] < 0.7),
        "not_effective": stopped_flag & (effect <= 2) & (draw[:, 1] < 0.7),
        "cost": stopped_flag & (cost >= 4) & (draw[:, 2] < 0.5),
        "improved": stopped_flag & (effect == 4) & (draw[:, 3] < 0.4),
    }
    none_yet = stopped_flag & ~np.logical_or.reduce(list(reasons.values()))
    fallback = np.array(["doctor_advice", "inconvenient", "other", "not_covered"])[(draw[:, 3] * 4).astype(int)]
    stop_reasons = [{"experience_id": e, "reason": r} for e, r in zip(ids[none_yet].tolist(), fallback[none_yet].tolist())]
    for reason, has in reasons.items():
        stop_reasons.extend({"experience_id": e, "reason": reason} for e in ids[has].tolist())
    return {
        "member_condition": c.condition_ids[condition],
        "member_joined": joined_month,
        "users": users,
        "consent_events": consent_events,
        "diagnoses": diagnoses,
        "experiences": experiences,
        "side_effects": side_effects,
        "stop_reasons": stop_reasons,
    }


def _month_start(month_number: int) -> datetime:
    return datetime(month_number // 12, month_number % 12 + 1, 1, 12, tzinfo=timezone.utc)


# --- doctors and their ratings -----------------------------------------------------------

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
    ("Boston", "US"), ("Chicago", "US"), ("Houston", "US"), ("Seattle", "US"), ("Atlanta", "US"), ("Denver", "US"),
    ("Toronto", "CA"), ("Vancouver", "CA"), ("London", "GB"), ("Manchester", "GB"), ("Dublin", "IE"),
    ("Sydney", "AU"), ("Melbourne", "AU"), ("Auckland", "NZ"), ("Berlin", "DE"), ("Lyon", "FR"),
]  # fmt: skip
FIRST_NAMES = "Ana Ben Chloe David Elena Farid Grace Hiro Ines Jamal Kara Liam Maya Noah Olga Priya Quinn Rosa Sam Tomas Uma Victor Wen Yara Zoe".split()
LAST_NAMES = "Adams Becker Chen Diaz Evans Fischer Garcia Hughes Ito Jensen Khan Lopez Moreau Nakamura Okafor Patel Quinn Rossi Silva Tanaka Ueda Varga Weber Xu Young Zimmer".split()
POSITIVE_COMMENTS = [
    "Took the time to explain my options.", "Listened to me and adjusted the plan.", "Hard to get an appointment, but worth it.",
    "Knows this condition inside out.", "Kind, clear and honest.", "Answered my messages quickly.",
    "Helped me find a treatment that works.",
]  # fmt: skip
NEGATIVE_COMMENTS = [
    "Felt rushed at every visit.", "Never read my notes before the visit.", "Dismissed my symptoms at first.",
    "Good on paper, but did not listen.",
]  # fmt: skip


@dataclass
class DemoDoctors:
    ids: np.ndarray
    quality: np.ndarray
    communication: np.ndarray
    by_condition: dict[int, np.ndarray]  # condition id -> indices of doctors who treat it


def _specialty(name: str) -> str:
    lowered = name.lower()
    return next((s for words, s in SPECIALTIES if any(w in lowered for w in words)), "Family medicine")


def _add_doctors(rng, c: Community, session, n_ratings: int) -> DemoDoctors:
    """Demo doctors in several cities, each with a true quality and communication style."""
    names = dict(session.execute(select(Condition.id, Condition.name)).all())
    specialty_of = {int(cid): _specialty(names[int(cid)]) for cid in c.condition_ids}
    specialties = sorted(set(specialty_of.values()))
    n_doctors = max(2 * len(specialties), n_ratings // 40)
    first_id = _next_id(session, Doctor)
    combos = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES) * len(CITIES))[:n_doctors]
    rows, doctor_specialty = [], []
    for k, combo in enumerate(combos.tolist()):
        first, rest = divmod(combo, len(LAST_NAMES) * len(CITIES))
        last, city = divmod(rest, len(CITIES))
        specialty = specialties[k % len(specialties)]
        name = f"Dr. {FIRST_NAMES[first]} {LAST_NAMES[last]}"
        rows.append({"id": first_id + k, "name": name, "name_key": f"{FIRST_NAMES[first]} {LAST_NAMES[last]}".lower(),
                     "specialty": specialty, "city": CITIES[city][0], "city_key": CITIES[city][0].lower(),
                     "country": CITIES[city][1], "created_at": _month_start(24_000)})  # fmt: skip
        doctor_specialty.append(specialty)
    bulk_insert(session.connection(), Doctor.__table__, rows)
    session.commit()
    doctor_specialty = np.array(doctor_specialty)
    by_condition = {cid: np.flatnonzero(doctor_specialty == spec) for cid, spec in specialty_of.items()}
    return DemoDoctors(
        ids=np.arange(first_id, first_id + n_doctors),
        quality=rng.normal(0, 1, n_doctors),
        communication=rng.normal(0, 1, n_doctors),
        by_condition=by_condition,
    )


def _rating_rows(rng, d: DemoDoctors, batch: dict, n: int, end_month: int) -> list[dict]:
    """About n ratings of demo doctors by the batch's members, for the member's condition."""
    users = batch["users"]
    if n <= 0 or not users:
        return []
    who = rng.integers(0, len(users), n)
    seen, rows = set(), []
    # Doctors' popularity is skewed too: a few are rated often.
    for i, u in zip(who.tolist(), rng.random(n).tolist()):
        condition_id = int(batch["member_condition"][i])
        pool = d.by_condition[condition_id]
        doctor = int(pool[min(int(len(pool) * u**2), len(pool) - 1)])
        key = (users[i]["id"], doctor, condition_id)
        if key in seen:
            continue
        seen.add(key)
        q, comm = d.quality[doctor], d.communication[doctor]
        overall = int(np.clip(round(7.4 + 1.3 * q + rng.normal(0, 1.3)), 0, 10))
        items = np.digitize(1.0 + 0.9 * comm + 0.3 * q + rng.normal(0, 1, 5), [-0.6, 0.2, 0.9])
        frequency = scales.FREQUENCY.codes
        recommend = scales.DOCTOR_RECOMMEND.codes[int(np.digitize(overall + rng.normal(0, 1), [4.5, 6.5, 8.5]))]
        visit = int(batch["member_joined"][i] + rng.integers(0, 24))
        rows.append({
            "user_id": users[i]["id"], "doctor_id": int(d.ids[doctor]), "condition_id": condition_id,
            "last_visit": f"{min(visit, end_month) // 12:04d}-{min(visit, end_month) % 12 + 1:02d}",
            "overall": overall, "explained_clearly": frequency[items[0]], "listened_carefully": frequency[items[1]],
            "showed_respect": frequency[items[2]], "spent_enough_time": frequency[items[3]],
            "got_appointment": frequency[items[4]] if rng.random() < 0.8 else None,
            "knowledge": int(np.clip(round(3.8 + 0.6 * q + rng.normal(0, 0.8)), 1, 5)),
            "would_recommend": recommend,
            "comment": _comment(rng, overall) if rng.random() < 0.2 else None,
            "created_at": users[i]["created_at"], "updated_at": users[i]["created_at"],
            "text_state": "public", "text_reason": None,
            "report_key": int(rng.integers(0, 2**REPORT_KEY_BITS)),
        })  # fmt: skip
    return rows


def _comment(rng, overall: int) -> str:
    pool = POSITIVE_COMMENTS if overall >= 8 else NEGATIVE_COMMENTS
    return pool[int(rng.integers(0, len(pool)))]


def seed_demo_moderation(reporter: User) -> int:
    """Give the demo's moderator something to do: flagged tips and one tip held for its link.

    Runs once (does nothing when any flag exists); returns the number of queue items added.
    """
    from registry import moderation
    from registry.models import Experience, Flag

    if db.session.scalar(select(func.count(Flag.id))):
        return 0
    rows = db.session.scalars(
        select(Experience).where(Experience.tips.is_not(None), Experience.text_state == "public")
        .order_by(Experience.id).limit(3)
    ).all()  # fmt: skip
    reasons = [("misinformation", "This contradicts what my neurologist told me."), ("spam", None)]
    for row, (reason, note) in zip(rows, reasons):
        moderation.raise_flag(reporter, "tip", row.id, reason, note)
    if len(rows) == 3:
        old = rows[2].tips
        rows[2].tips = old + " More at www.example-miracle-cure.biz"
        moderation.screen_text(rows[2], old)
    db.session.commit()
    return len(rows)
