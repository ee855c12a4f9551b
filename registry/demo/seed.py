"""A deterministic demo community a clinician would believe, inserted in bulk.

The shapes come from registry/data/demo_profiles.json (each figure with its source): conditions
weighted by prevalence and by how often people seek a community for them; treatments weighted
by how much they are used; side effects, severities, "made it worse" rates and effectiveness per
treatment class; ages, sexes, roles and years since diagnosis per condition. Time runs one way
for every row (diagnosis <= started <= stopped <= report; last visit <= rating), reports grow
year on year, and reasons for stopping follow from the answers.

Some reports still in use were followed up later: their history is kept as dated points with
answers that drift, and the report holds the latest (as registry.contributions.followups leaves it).

A batch is made in named steps (members, their treatments, answers, stopping, timeline, side
effects, tips, follow-ups) as numpy arrays, turned into columns per table in one place each, and inserted
in bulk (COPY on PostgreSQL, one prepared executemany on SQLite) with the report aggregates
kept current, one transaction per BATCHES_PER_COMMIT batches, so memory stays flat however many are asked for.
"""

from __future__ import annotations

import calendar
import contextlib
import gc
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timezone

import numpy as np
from flask import current_app
from sqlalchemy import text
from werkzeug.security import generate_password_hash

import scales
from registry.demo.community import (
    Batch,
    Community,
    Members,
    month_growth,
    month_number,
    next_id,
    report_keys,
    timestamps,
)
from registry.demo.doctors import add_doctors, rating_columns
from registry.models import (
    CONSENT_VERSION,
    ConsentEvent,
    Diagnosis,
    DoctorRating,
    Experience,
    ExperienceSideEffect,
    ExperienceStopReason,
    ExperienceUpdate,
    User,
)
from registry.platform.database import REPORT_KEY_BITS, insert_columns
from registry.platform.extensions import db
from registry.reporting import report_upkeep

CONSENT_SHARE = 0.80
TIPS_SHARE = 0.25
DIAGNOSIS_SHARE = 0.85
BIRTH_YEAR_SHARE = 0.90
YEARS = 10  # the community's age: report dates spread over the last ten years
REPORT_KEY_BOUND = 2**REPORT_KEY_BITS

# Codes as object arrays: indexing them gives Python strings, which the drivers take as they are.
ROLES = np.array(["patient", "survivor", "caregiver"], dtype=object)
SEXES = np.array(["female", "male", "other", "undisclosed"], dtype=object)
YES_NO = np.array(["no", "yes"], dtype=object)
EFFECT = {code: i for i, code in enumerate(scales.EFFECTIVENESS.codes)}  # worse=0 ... major=4, cant_tell=5
COST = {code: i for i, code in enumerate(scales.COST_PER_MONTH.codes)}
COVERAGE = {code: i for i, code in enumerate(scales.INSURANCE_COVERAGE.codes)}

TIP_OPENERS = [
    "Give it time:",
    "My advice:",
    "What helped me:",
    "From my experience,",
    "Honestly,",
    "Tip from a long-time user:",
    "Worth knowing:",
    "If you are just starting,",
    "Speaking as a caregiver,",
    "After a rough start,",
    "Two things I learned:",
    "Please note:",
    "Small thing, but",
    "For what it's worth,",
    "Looking back,",
    "Be patient:",
    "Practical tip:",
    "I wish someone had told me:",
    "Something that worked:",
    "My doctor suggested this and",
]
TIP_MIDDLES = [
    "the first weeks were the hardest",
    "taking it at the same time every day made a difference",
    "taking it with food stopped the nausea",
    "keeping a symptom diary helped me see the change",
    "it took about two months before I noticed anything",
    "lowering the dose for a while helped with side effects",
    "drinking more water helped",
    "asking the pharmacist about interactions was worth it",
    "a reminder app kept me on track",
    "taking it in the evening helped me sleep",
    "combining it with regular walks worked better than either alone",
    "the generic worked just as well for me",
    "checking my insurance's formulary first saved a lot of money",
    "the side effects faded after a few weeks",
    "it helped the worst days but not every day",
    "splitting the dose made it easier to tolerate",
    "I had to try two others before this one",
    "it works best when I keep a regular routine",
    "the patient assistance program covered most of the cost",
    "my energy came back slowly",
]
TIP_CLOSERS = [
    "Talk to your doctor before changing anything.",
    "Everyone is different, though.",
    "Hang in there.",
    "Hope this helps someone.",
    "Keep notes to show your doctor.",
    "Don't give up too early.",
    "It's not a miracle, but it helps.",
    "Ask about the side effects up front.",
    "Tell your doctor how it really goes.",
    "Good luck!",
]


# --- a batch: members, their reports ------------------------------------------------------


@dataclass
class Reports:
    """The batch's experiences, one entry per experience."""

    owner: np.ndarray  # index into Members
    unit: np.ndarray  # index into Community units
    effect: np.ndarray = None
    severity: np.ndarray = None
    adherence: np.ndarray = None
    burden: np.ndarray = None
    cost: np.ndarray = None
    coverage: np.ndarray = None
    satisfaction: np.ndarray = None
    recommend: np.ndarray = None
    stopped_flag: np.ndarray = None
    reasons: dict = None  # stop reason -> boolean mask
    month: np.ndarray = None  # report month
    day: np.ndarray = None
    started: np.ndarray = None
    stopped: np.ndarray = None
    terms: tuple = None  # (experience index array, term index array)
    tips: list = None
    dose: tuple = None  # (amounts, units, frequencies)
    updated_month: np.ndarray = None  # month of the latest answers (the report month without follow-ups)
    updated_day: np.ndarray = None
    history: dict = None  # follow-up points as columns (index into the batch's experiences, answers)


def _members(rng, c: Community, n: int, first_user: int, end_month: int) -> Members:
    """Who joins: condition, role, age, sex, country, diagnosis date and consent."""
    reports = np.minimum(1 + rng.poisson(1.1, size=n), 4)
    reports = reports[np.cumsum(reports) <= n]
    if reports.sum() < n:
        reports = np.append(reports, n - reports.sum())
    k = len(reports)
    condition = rng.choice(len(c.condition_ids), size=k, p=c.condition_p)
    u = rng.random(k)
    # u below the caregiver share: caregiver (2); below caregiver + survivor shares: survivor (1).
    role = ROLES[(u < c.caregiver[condition] + c.survivor[condition]).astype(int) + (u < c.caregiver[condition])]
    start = end_month - YEARS * 12 + 1
    joined = month_growth(rng, np.maximum(start, c.since_month[condition] + 3), np.full(k, end_month))
    # A caregiver of a child reports the child's age; other reports describe an adult.
    child = (role == "caregiver") & (c.age_mean[condition] < 45)
    age = np.where(child, rng.normal(10, 4, k), rng.normal(c.age_mean[condition], c.age_sd[condition]))
    age = np.clip(age, np.where(child, 2, 18), np.where(child, 17, 95)).astype(int)
    birth_year = joined // 12 - age
    u = rng.random((k, 2))
    sex = SEXES[np.select([u[:, 0] < 0.015, u[:, 0] < 0.025, u[:, 1] < c.female[condition]], [3, 2, 0], 1)]
    # Years since diagnosis at joining: a skewed spread around the condition's typical value,
    # never before birth (or age 2 for an adult-onset report) nor before the condition existed.
    years = rng.gamma(1.3, c.years[condition] / 1.3)
    diagnosed = joined - (years * 12).astype(int)
    earliest = np.maximum(birth_year * 12 + np.where(child, 0, 24), c.since_month[condition])
    diagnosed = np.clip(diagnosed, np.minimum(earliest, joined), joined)
    return Members(
        ids=np.arange(first_user, first_user + k),
        condition=condition,
        reports=reports,
        role=role,
        joined=joined,
        joined_day=rng.integers(1, 29, k),
        birth_year=birth_year,
        has_birth_year=rng.random(k) < BIRTH_YEAR_SHARE,
        sex=sex,
        country=rng.choice(c.countries, size=k, p=c.country_p),
        diagnosed=diagnosed,
        has_diagnosis=rng.random(k) < DIAGNOSIS_SHARE,
        consent=rng.random(k) < CONSENT_SHARE,
    )


def _treatments(rng, c: Community, m: Members) -> Reports:
    """Which treatments each member reports: distinct, by popularity, only ones that existed."""
    width = int(m.reports.max())
    unit = np.full((len(m.ids), width), -1)
    for ci in np.unique(m.condition):
        members = np.flatnonzero(m.condition == ci)
        units = c.unit_index[ci]
        # Gumbel top-k: sampling without replacement for all members of a condition at once.
        keys = np.log(c.unit_popularity[units]) + rng.gumbel(size=(len(members), len(units)))
        keys[c.unit_approved[units][None, :] > m.joined[members][:, None]] = -np.inf
        order = np.argsort(-keys, axis=1)[:, :width]
        chosen = units[order]
        chosen[np.take_along_axis(keys, order, axis=1) == -np.inf] = -1
        unit[members, : chosen.shape[1]] = chosen
    unit = np.where(np.arange(width) < m.reports[:, None], unit, -1)
    owner = np.repeat(np.arange(len(m.ids)), width)
    unit = unit.ravel()
    keep = unit >= 0
    return Reports(owner=owner[keep], unit=unit[keep])


def _cdf_pick(rng, cumulative: np.ndarray) -> np.ndarray:
    """Pick one index per row of cumulative probabilities."""
    u = rng.random(cumulative.shape[0])[:, None]
    return np.minimum((u > cumulative).sum(axis=1), cumulative.shape[1] - 1)


EFFECT_LEVEL = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 1.0])  # cant_tell sits with "slight"


def _answers(rng, c: Community, r: Reports) -> None:
    """Effectiveness, side-effect severity and the answers that follow from them."""
    k = len(r.unit)
    r.effect = _cdf_pick(rng, c.effect_cum[r.unit])
    r.severity = _cdf_pick(rng, c.severity_cum[r.unit])
    r.cost = _cdf_pick(rng, c.cost_cum[r.unit])
    r.coverage = _cdf_pick(rng, c.coverage_cum[r.unit])
    r.burden = np.clip(np.rint(0.55 * r.severity + rng.normal(0.2, 0.7, k)), 0, 3).astype(int)
    r.adherence = np.minimum(rng.poisson(0.2 + 0.25 * r.severity + 0.2 * r.burden), 3)
    level = EFFECT_LEVEL[r.effect]
    r.satisfaction = np.clip(np.rint(3.2 + 1.6 * level - 0.6 * r.severity + rng.normal(0, 1.1, k)), 1, 10).astype(int)
    r.recommend = YES_NO[(rng.random(k) < 1 / (1 + np.exp(-(r.satisfaction - 5.5)))).astype(int)]


def _stopping(rng, c: Community, m: Members, r: Reports) -> None:
    """Who stopped and why; each reason agrees with the answers given."""
    k = len(r.unit)
    e, s = r.effect, r.severity
    logit = _stop_logit(e, s, r.cost, m.role[r.owner] == "survivor")
    one_off = c.unit_one_off[r.unit]  # a procedure is done once: it "stops" the month it starts
    r.stopped_flag = one_off | (rng.random(k) < 1 / (1 + np.exp(-logit)))
    ongoing = r.stopped_flag & ~one_off
    draw = rng.random((k, 6))
    r.reasons = _stop_reasons(draw, e, s, r.cost, r.coverage, m.role[r.owner] == "survivor", ongoing)


def _stop_logit(e: np.ndarray, s: np.ndarray, cost: np.ndarray, survivor: np.ndarray) -> np.ndarray:
    """How likely a treatment is stopped, from its answers (a logit): worse effect, side effects, cost."""
    return (
        -1.3
        + 1.4 * (e <= EFFECT["none"])
        + 0.6 * (e == EFFECT["slight"])
        - 0.5 * (e == EFFECT["major"])
        + 0.55 * s
        + 0.5 * (cost >= COST["500_1000"])
        + 2.2 * survivor
    )


def _stop_reasons(draw, e, s, cost, coverage, survivor, ongoing) -> dict:
    """Stop reason -> mask of the rows in `ongoing` that give it; each reason agrees with the answers."""
    worked = (e == EFFECT["moderate"]) | (e == EFFECT["major"])
    reasons = {
        "side_effects": ongoing & (((s >= 2) & (draw[:, 0] < 0.75)) | ((s == 1) & (draw[:, 0] < 0.15))),
        "not_effective": ongoing
        & (
            ((e <= EFFECT["none"]) & (draw[:, 1] < 0.85))
            | ((e == EFFECT["slight"]) & (draw[:, 1] < 0.5))
            | ((e == EFFECT["cant_tell"]) & (draw[:, 1] < 0.3))
        ),
        "improved": ongoing & worked & (draw[:, 2] < np.where(survivor, 0.75, 0.45)),
        "cost": ongoing & (cost >= COST["100_500"]) & (cost != COST["unknown"]) & (draw[:, 3] < 0.3),
        "not_covered": ongoing
        & ((coverage == COVERAGE["not_covered"]) | (coverage == COVERAGE["denied"]))
        & (draw[:, 4] < 0.4),
    }
    none_yet = ongoing & ~np.logical_or.reduce(list(reasons.values()))
    fallback = np.array(["doctor_advice", "inconvenient", "other"])[np.searchsorted([0.45, 0.75], draw[:, 5])]
    for reason in ("doctor_advice", "inconvenient", "other"):
        reasons[reason] = none_yet & (fallback == reason)
    return reasons


def _timeline(rng, c: Community, m: Members, r: Reports, end_month: int) -> None:
    """Report month, started and stopped: diagnosis <= started <= stopped <= report."""
    k = len(r.unit)
    joined = m.joined[r.owner]
    # Most reports are written on joining; some members add one later.
    lag = np.where(rng.random(k) < 0.3, rng.geometric(1 / 8, k), 0)
    r.month = np.where(joined + lag <= end_month, joined + lag, joined)
    r.day = np.where(r.month == joined, m.joined_day[r.owner], 1) + rng.integers(0, 28, k)
    r.day = np.minimum(r.day, 28)
    # How long it was taken follows why it stopped: side effects end it fast, improvement late.
    duration = rng.geometric(1 / 9, k)
    for reason, mean in (("not_covered", 5), ("cost", 6), ("improved", 11), ("not_effective", 4), ("side_effects", 2)):
        has = r.reasons[reason]
        duration[has] = rng.geometric(1 / mean, int(has.sum()))
    one_off = c.unit_one_off[r.unit]
    duration[one_off] = 0
    since_stop = np.where(r.stopped_flag, rng.geometric(1 / 14, k) - 1, 0)
    ongoing_for = rng.geometric(1 / 20, k) - 1
    gap = np.where(r.stopped_flag, duration + since_stop, ongoing_for)
    earliest = np.maximum(m.diagnosed[r.owner], c.unit_approved[r.unit])
    r.started = np.clip(r.month - gap, np.minimum(earliest, r.month), r.month)
    r.stopped = np.where(r.stopped_flag, np.minimum(r.started + duration, r.month), -1)


def _side_effects(rng, c: Community, r: Reports) -> None:
    """Side-effect terms from the treatment's class: none without side effects, more when worse."""
    k = len(r.unit)
    extra = rng.random((k, 2))
    count = np.select(
        [r.severity == 0, r.severity == 1, r.severity == 2],
        [0, 1 + (extra[:, 0] < 0.35), 1 + (extra[:, 0] < 0.6) + (extra[:, 1] < 0.3)],
        2 + (extra[:, 0] < 0.6) + (extra[:, 1] < 0.4),
    )
    rows = np.flatnonzero(count > 0)
    # Gumbel top-k over each class's own few terms: distinct terms, likelier ones first.
    keys = c.term_logw[r.unit[rows]] + rng.gumbel(size=(len(rows), c.term_logw.shape[1]))
    top = np.argsort(-keys, axis=1)[:, :4]
    width = top.shape[1]  # fewer than 4 when no class has 4 terms (a catalog of "other" treatments)
    available = np.isfinite(np.take_along_axis(keys, top, axis=1))
    wanted = (np.arange(width) < count[rows, None]) & available
    term = np.take_along_axis(c.term_index[r.unit[rows]], top, axis=1)
    r.terms = (np.repeat(rows, width).reshape(-1, width)[wanted], term[wanted])


def _tips(rng, k: int) -> list:
    """A coping tip on about a quarter of the reports."""
    has_tip = rng.random(k) < TIPS_SHARE
    parts = rng.integers(0, [len(TIP_OPENERS), len(TIP_MIDDLES), len(TIP_CLOSERS)], size=(k, 3))
    return [
        f"{TIP_OPENERS[a]} {TIP_MIDDLES[b]}. {TIP_CLOSERS[z]}" if keep else None
        for (a, b, z), keep in zip(parts.tolist(), has_tip.tolist())
    ]


def _doses(rng, c: Community, r: Reports) -> tuple[list, list, list]:
    """Dose amount, unit and frequency for drugs with a typical dose on file (most reports give it).

    A mild dose-response: people who improved more, or had worse side effects, tend to report a
    higher strength (the strength is drawn after the answers, so the draws of the community stay
    as they were). A few split a once-daily dose in two (25 mg twice a day for 50 mg a day) and a
    few give a schedule the bands cannot use ("other").
    """
    k = len(r.unit)
    give = c.unit_has_dose[r.unit] & (rng.random(k) < 0.7)
    pick = rng.random(k)
    second = (pick * 1000) % 1  # a second uniform from the same draw: no extra draws, same community
    lean = 0.06 * (EFFECT_LEVEL[r.effect] - 1.0) + 0.05 * (r.severity - 1.0)
    place = np.clip(pick + lean, 0.0, 0.999999)
    amount, unit, frequency = [None] * k, [None] * k, [None] * k
    for i in np.flatnonzero(give).tolist():
        dose_unit, amounts, how_often = c.dose[int(r.unit[i])]
        amount[i] = float(amounts[int(place[i] * len(amounts))])
        unit[i], frequency[i] = dose_unit, how_often
        if how_often == "once_daily" and second[i] < 0.08:
            amount[i], frequency[i] = amount[i] / 2, "twice_daily"
        elif second[i] > 0.98:
            frequency[i] = "other"
    return amount, unit, frequency


# --- follow-ups: earlier answers kept as dated points --------------------------------------

FOLLOWUP_SHARE = 0.30  # of the experiences still in use at their report, with room for a follow-up
UPDATES_P = np.array([0.5, 0.3, 0.2])  # 1, 2 or 3 follow-ups
# Per effectiveness code (worse, none, slight, moderate, major): the chance that a follow-up reports
# one step better (a treatment that takes time to work) or one step worse (it wanes).
EFFECT_UP = np.array([0.10, 0.22, 0.25, 0.12, 0.0])
EFFECT_DOWN = np.array([0.0, 0.05, 0.10, 0.12, 0.15])


def _histories(rng, c: Community, m: Members, r: Reports, last_month: int) -> None:
    """Follow-ups of some experiences still in use: an "original" point at the report, then 1-3
    updates about three months or more apart, up to last_month.

    Answers drift as a follow-up would tell them: effectiveness may grow or wane, side effects
    fade, satisfaction and recommending follow, and some stop, for reasons drawn as at the report.
    The experience's current answers become its latest point's, as registry.contributions.followups.add_update
    leaves them: each update is a saved edit with a new updated_at (every point carries the
    report's fixed key, added with the rows). Draws come from their own rng, so the rest of the
    community is the one the seed always gave.
    """
    k = len(r.unit)
    r.updated_month, r.updated_day = r.month.copy(), r.day.copy()
    eligible = ~r.stopped_flag & ~c.unit_one_off[r.unit] & (r.month <= last_month - 3)
    h = np.flatnonzero(eligible & (rng.random(k) < FOLLOWUP_SHARE))
    n = len(h)
    wanted = 1 + _cdf_pick(rng, np.tile(np.cumsum(UPDATES_P), (n, 1)))
    effect, severity = r.effect[h].copy(), r.severity[h].copy()
    satisfaction, recommend = r.satisfaction[h].copy(), r.recommend[h].copy()
    month, day = r.month[h].copy(), r.day[h].copy()
    stopped = np.full(n, -1)
    reasons = {reason: np.zeros(n, dtype=bool) for reason in r.reasons}
    survivor = m.role[r.owner[h]] == "survivor"
    cost, coverage = r.cost[h], r.coverage[h]
    original = (np.arange(n), "original", month, day, effect, severity, satisfaction, recommend)
    # Still in use at the report: no stop month, no reasons. Copies: the state below moves on.
    points = [(*(a.copy() if isinstance(a, np.ndarray) else a for a in original), stopped.copy(), np.full(n, None))]
    for step in range(1, len(UPDATES_P) + 1):
        gap = 2 + rng.geometric(1 / 2.5, n)  # reminded after three months; some come back later
        at = month + gap
        if step == 1:  # everyone in the history has at least one follow-up
            at = np.minimum(at, last_month)
        go = np.flatnonzero((wanted >= step) & (stopped < 0) & (at <= last_month))
        if not len(go):
            break
        g = len(go)
        e_new, s_new, sat_new, recommend[go] = _drift(
            rng, step, effect[go], severity[go], satisfaction[go], recommend[go]
        )
        # Some stop between the last point and this one, as likely as at a report (per few months).
        logit = _stop_logit(e_new, s_new, cost[go], survivor[go])
        stop = rng.random(g) < 0.45 / (1 + np.exp(-logit))
        draw = rng.random((g, 6))
        why = _stop_reasons(draw, e_new, s_new, cost[go], coverage[go], survivor[go], stop)
        stop_month = month[go] + (rng.random(g) * (at[go] - month[go] + 1)).astype(int)
        effect[go], severity[go], satisfaction[go] = e_new, s_new, sat_new
        month[go], day[go] = at[go], rng.integers(1, 29, g)
        stopped[go] = np.where(stop, stop_month, -1)
        for reason, has in why.items():
            reasons[reason][go] = has
        # Drawn and unused: a saved edit drew a new report key before keys were fixed (issue 24), and
        # the draws after these must stay where they were (a seed gives the demo it always gave).
        rng.integers(0, REPORT_KEY_BOUND, g)
        text = np.full(g, None, dtype=object)
        names = list(why)
        held = np.column_stack([why[name] for name in names])
        for i in np.flatnonzero(stop).tolist():
            text[i] = " ".join(sorted(name for name, has in zip(names, held[i].tolist()) if has)) or None
        points.append(
            (go, "update", at[go], day[go].copy(), e_new, s_new, sat_new, recommend[go].copy(), stopped[go], text)
        )
    # The experience's current answers: its latest point's.
    r.effect[h], r.severity[h], r.satisfaction[h], r.recommend[h] = effect, severity, satisfaction, recommend
    r.stopped_flag[h], r.stopped[h] = stopped >= 0, stopped
    for reason in r.reasons:
        r.reasons[reason][h] = reasons[reason]
    r.updated_month[h], r.updated_day[h] = month, day
    r.history = _history_table(h, points)


def _drift(rng, step: int, e: np.ndarray, s: np.ndarray, satisfaction: np.ndarray, recommend: np.ndarray):
    """The answers of a follow-up, from the previous point's: effectiveness, severity, satisfaction, recommend.

    Effectiveness may grow (a treatment that takes time) or wane, more often at later follow-ups;
    "can't tell" often settles; side effects often fade; satisfaction follows both, and someone whose
    satisfaction moved by two or more answers "would recommend" again.
    """
    g = len(e)
    u = rng.random((g, 4))
    known = e != EFFECT["cant_tell"]
    e_new = np.where(known, e + (u[:, 0] < EFFECT_UP[np.minimum(e, 4)]), e)
    e_new = np.where(known & (u[:, 0] > 1 - EFFECT_DOWN[np.minimum(e, 4)] - 0.03 * (step - 1)), e - 1, e_new)
    # "Can't tell yet" often settles on a known answer by the next follow-up.
    settled = EFFECT["none"] + (u[:, 1] * 3).astype(int)  # none, slight or moderate
    e_new = np.where(~known & (u[:, 1] < 0.5), settled, e_new)
    e_new = np.where(known, np.clip(e_new, EFFECT["worse"], EFFECT["major"]), e_new)
    # Side effects often fade after the first weeks; they never vanish from the report's terms.
    s_new = np.where(s > 0, np.clip(s - (u[:, 2] < 0.25) + (u[:, 2] > 0.92), 1, 3), 0)
    change = 1.6 * (EFFECT_LEVEL[e_new] - EFFECT_LEVEL[e]) - 0.6 * (s_new - s) + rng.normal(0, 0.7, g)
    sat_new = np.clip(np.rint(satisfaction + change), 1, 10).astype(int)
    redraw = np.abs(sat_new - satisfaction) >= 2
    fresh = YES_NO[(u[:, 3] < 1 / (1 + np.exp(-(sat_new - 5.5)))).astype(int)]
    return e_new, s_new, sat_new, np.where(redraw, fresh, recommend)


def _history_table(h: np.ndarray, points: list[tuple]) -> dict:
    """The history points, each a tuple of columns over some of the followed-up experiences, as one table."""
    columns = list(zip(*points))
    return {
        "experience": h[np.concatenate(columns[0])],
        "kind": np.concatenate([np.full(len(p[0]), p[1], dtype=object) for p in points]),
        **{
            name: np.concatenate(columns[i])
            for i, name in enumerate(
                ("month", "day", "effect", "severity", "satisfaction", "recommend", "stopped"), start=2
            )
        },
        "stop_reasons": np.concatenate(columns[9]),
    }


# --- rows: each table's columns built in one place -------------------------------------------


def _month_text(months: np.ndarray) -> np.ndarray:
    """Month numbers (year * 12 + month - 1) as YYYY-MM strings (each distinct month formatted once)."""
    distinct, index = np.unique(months, return_inverse=True)
    return np.array([f"{m // 12:04d}-{m % 12 + 1:02d}" for m in distinct.tolist()], dtype=object)[index]


def _codes(scale, index: np.ndarray) -> np.ndarray:
    return np.array(scale.codes, dtype=object)[index]


def _band(values: np.ndarray, edges: list[int], codes: tuple[str, ...]) -> np.ndarray:
    return np.array(codes, dtype=object)[np.digitize(values, edges)]


def _user_columns(m: Members, password_hash: str, until: date) -> dict:
    ids = m.ids.tolist()
    joined = timestamps(m.joined, m.joined_day, until)
    return {
        "id": ids,
        # Zero-padded, so the unique indexes grow at their right edge (text order = id order).
        "email": [f"member{i:08d}@demo.invalid" for i in ids],
        "pseudonym": [f"member-{i:08d}" for i in ids],
        "pseudonym_key": [f"member {i:08d}" for i in ids],
        "password_hash": [password_hash] * len(ids),
        "account_role": ["patient"] * len(ids),
        "birth_year": np.where(m.has_birth_year, m.birth_year, None),
        "sex": m.sex,
        "country": np.where(m.country == "", None, m.country),
        "research_consent_version": np.where(m.consent, CONSENT_VERSION, None),
        "research_consent_at": np.where(m.consent, joined, np.datetime64("NaT")),
        "session_token": [f"{i:032x}" for i in ids],
        "created_at": joined,
        "text_on_review": [False] * len(ids),
    }


def _experience_columns(
    c: Community, m: Members, r: Reports, first_id: int, report_key: np.ndarray, until: date
) -> dict:
    k = len(r.unit)
    owner = r.owner
    # The bands are computed in the year the latest answers were saved, as the form does.
    report_year = r.updated_month // 12
    created = timestamps(r.month, r.day, until)
    updated = timestamps(r.updated_month, r.updated_day, until)
    amount, unit, frequency = r.dose
    # Bands as the form computes them (scales.age_band, years_since_diagnosis), in the report year.
    age_band = _band(report_year - m.birth_year[owner], [18, 30, 45, 65], scales.AGE_BAND.codes)
    since_band = _band(report_year - m.diagnosed[owner] // 12, [1, 5, 10], scales.YEARS_SINCE_DIAGNOSIS.codes)
    return {
        "id": np.arange(first_id, first_id + k),
        "user_id": m.ids[owner],
        "condition_id": c.condition_ids[c.unit_condition[r.unit]],
        "treatment_id": c.unit_treatment[r.unit],
        "report_key": report_key,  # fixed per member and pair, as registry.contributions.experiences.save sets it
        "role": m.role[owner],
        "started": _month_text(r.started),
        "stopped": np.where(r.stopped_flag, _month_text(np.maximum(r.stopped, 0)), None),
        "dose_amount": amount,
        "dose_unit": unit,
        "dose_frequency": frequency,
        "effectiveness": _codes(scales.EFFECTIVENESS, r.effect),
        "side_effect_severity": _codes(scales.SIDE_EFFECT_SEVERITY, r.severity),
        "adherence": _codes(scales.ADHERENCE, r.adherence),
        "burden": _codes(scales.BURDEN, r.burden),
        "cost_per_month": _codes(scales.COST_PER_MONTH, r.cost),
        "insurance_coverage": _codes(scales.INSURANCE_COVERAGE, r.coverage),
        "satisfaction": r.satisfaction,
        "would_recommend": r.recommend,
        "tips": r.tips,
        "age_band": np.where(m.has_birth_year[owner], age_band, None),
        "sex": m.sex[owner],
        "years_since_diagnosis": np.where(m.has_diagnosis[owner], since_band, None),
        "created_at": created,
        "updated_at": updated,
        "text_state": ["public"] * k,  # demo tips hold no contact details
        # Public from the first report on: a follow-up leaves the tip alone, so it is not news again.
        "tips_published_at": np.where([t is not None for t in r.tips], created, np.datetime64("NaT")),
        "text_reason": [None] * k,
    }


def _generate_batch(
    rng,
    c: Community,
    n: int,
    first_user: int,
    first_experience: int,
    end_month: int,
    password_hash: str,
    history_rng,
    last_month: int,
    secret: bytes,
    until: date | None = None,
) -> Batch:
    """About n experiences by new members, in named steps; every draw comes from rng, in order,
    but the follow-ups' (history_rng, points up to last_month). Report keys are the app's for
    the disclosure key ``secret`` (registry.platform.database.report_key). No row is dated after until
    (by default end_month's last day)."""
    until = until or _last_day(end_month)
    m = _members(rng, c, n, first_user, end_month)
    r = _treatments(rng, c, m)
    _answers(rng, c, r)
    _stopping(rng, c, m, r)
    _timeline(rng, c, m, r, end_month)
    _side_effects(rng, c, r)
    r.tips = _tips(rng, len(r.unit))
    r.dose = _doses(rng, c, r)
    rng.integers(0, REPORT_KEY_BOUND, len(r.unit))  # drawn and unused: random keys before issue 24 (see _histories)
    _histories(history_rng, c, m, r, last_month)
    report_key = report_keys(
        secret, "e", m.ids[r.owner], c.condition_ids[c.unit_condition[r.unit]], c.unit_treatment[r.unit]
    )
    experiences = _experience_columns(c, m, r, first_experience, report_key, until)
    return Batch(
        tables=_tables(c, m, r, experiences, password_hash, until),
        members=m,
        condition_ids=c.condition_ids[m.condition],
    )


def _tables(c: Community, m: Members, r: Reports, experiences: dict, password_hash: str, until: date) -> dict:
    """The batch's rows as columns per table: members, consent, diagnoses, experiences and their long tables."""
    ids = experiences["id"]
    consented = np.flatnonzero(m.consent)
    with_diagnosis = np.flatnonzero(m.has_diagnosis)
    term_rows, term_index = r.terms
    reason_ids, reason_codes = [], []
    for reason, has in r.reasons.items():
        reason_ids.append(ids[has])
        reason_codes.append(np.full(int(has.sum()), reason, dtype=object))
    tables = {
        User: _user_columns(m, password_hash, until),
        ConsentEvent: {
            "user_id": m.ids[consented],
            "action": ["given"] * len(consented),
            "version": [CONSENT_VERSION] * len(consented),
            "at": timestamps(m.joined[consented], m.joined_day[consented], until),
        },
        Diagnosis: {
            "user_id": m.ids[with_diagnosis],
            "condition_id": c.condition_ids[m.condition[with_diagnosis]],
            "diagnosed_year": m.diagnosed[with_diagnosis] // 12,
        },
        Experience: experiences,
        ExperienceSideEffect: {"experience_id": ids[term_rows], "term": c.terms[term_index]},
        ExperienceStopReason: {"experience_id": np.concatenate(reason_ids), "reason": np.concatenate(reason_codes)},
        ExperienceUpdate: _history_columns(r.history, ids, experiences["report_key"], until),
    }
    return tables


def _history_columns(history: dict, ids: np.ndarray, report_key: np.ndarray, until: date) -> dict:
    """experience_update rows, as registry.contributions.followups._point writes them (each with its experience's key)."""
    stopped = history["stopped"]
    return {
        "experience_id": ids[history["experience"]],
        "kind": history["kind"],
        "recorded_at": timestamps(history["month"], history["day"], until),
        "report_key": report_key[history["experience"]],
        "stopped": np.where(stopped >= 0, _month_text(np.maximum(stopped, 0)), None),
        "stop_reasons": history["stop_reasons"],
        "effectiveness": _codes(scales.EFFECTIVENESS, history["effect"]),
        "side_effect_severity": _codes(scales.SIDE_EFFECT_SEVERITY, history["severity"]),
        "satisfaction": history["satisfaction"],
        "would_recommend": history["recommend"],
    }


def _rows(columns: dict) -> list[dict]:
    """Columns as row dicts (what report_upkeep.record reads), timestamps as aware datetimes."""
    values, converted = [], {}
    for v in columns.values():
        if isinstance(v, np.ndarray) and v.dtype.kind == "M":
            if id(v) not in converted:  # created_at and updated_at are one array: convert once
                distinct, index = np.unique(v, return_inverse=True)  # a few thousand days: convert those
                aware = [
                    None if d is None else d.replace(tzinfo=timezone.utc)
                    for d in distinct.astype("datetime64[us]").tolist()
                ]
                converted[id(v)] = np.array(aware, dtype=object)[index].tolist()
            v = converted[id(v)]
        elif isinstance(v, np.ndarray):
            v = v.tolist()
        values.append(v)
    names = list(columns)
    return [dict(zip(names, row)) for row in zip(*values)]


def seed_demo(
    n_experiences: int,
    seed: int,
    until: date | None = None,
    batch_size: int = 25_000,
    progress=None,
    doctor_ratings: int = 0,
) -> dict[str, int]:
    """Insert a demo community of n_experiences experiences (and about doctor_ratings ratings
    of demo doctors by the same members) over the ten years up to `until` (default: today, UTC),
    no row dated after it; return counts of rows added. The same seed and until give the same community."""
    session = db.session
    rng = np.random.default_rng(seed)
    community = Community(rng, session)
    until = until or today()
    doctors = add_doctors(rng, community, session, doctor_ratings) if doctor_ratings else None
    added = _write_batches(rng, community, n_experiences, seed, until, batch_size, progress, doctors, doctor_ratings)
    added["doctors"] = len(doctors.ids) if doctors else 0
    _sync_sequences(session)
    # Every row is written and counted: a step over the whole seeded demo (such as a release) goes here.
    return added


def _write_batches(rng, c: Community, n_experiences, seed, until, batch_size, progress, doctors, doctor_ratings):
    """Generate and insert the batches, BATCHES_PER_COMMIT to a transaction, on a connection of their own (the
    settings of a bulk write are its alone); return counts of rows added."""
    session = db.session
    secret = current_app.extensions["disclosure"].key  # report keys as the app computes them
    # One unusable password hash for all demo members: nobody can log in as them.
    password_hash = generate_password_hash(secrets.token_hex(16))
    # Follow-ups draw from a stream of their own (the rest of the community stays as the seed gave
    # it) and end before until's month (by until alone, so the same until gives the same points).
    history_rng = np.random.default_rng([seed, 19])
    last_month = month_number(until) - 1
    user_id = next_id(session, User)
    experience_id = next_id(session, Experience)
    session.commit()  # the session's reads end here; the batches write on their own connection
    added = dict.fromkeys(("users", "experiences", "side_effects", "stop_reasons", "experience_updates"), 0)
    added["doctor_ratings"] = 0
    remaining = n_experiences
    defer = n_experiences >= experience_id - 1  # at least doubles the experiences (ids run from 1, gaps aside)
    counts, batches = report_upkeep.PendingCounts(), 0
    with _without_gc(), db.engine.connect() as connection, _bulk_settings(connection, defer):
        while remaining > 0:
            chunk = min(batch_size, remaining)
            batch = _generate_batch(
                rng,
                c,
                chunk,
                user_id,
                experience_id,
                month_number(until),
                password_hash,
                history_rng,
                last_month,
                secret,
                until,
            )
            t = batch.tables
            with report_upkeep.bulk_write():  # rows in bulk, their counts recorded in the same pass
                for model, columns in t.items():
                    insert_columns(connection, model.__table__, columns)
                report_upkeep.record_columns(
                    connection, t[Experience], t[ExperienceSideEffect], t[ExperienceStopReason], counts
                )
            if doctors is not None:
                ratings = rating_columns(
                    rng, doctors, batch, round(doctor_ratings * chunk / n_experiences), until, secret
                )
                insert_columns(connection, DoctorRating.__table__, ratings)
                added["doctor_ratings"] += len(ratings["user_id"])
            made = len(t[Experience]["id"])
            user_id += len(batch.members.ids)
            experience_id += made
            remaining -= made
            batches += 1
            if batches % BATCHES_PER_COMMIT == 0 or remaining <= 0:
                with report_upkeep.bulk_write():
                    counts.flush(connection)  # the counts of the rows since the last commit, added once
                connection.commit()
            added["users"] += len(batch.members.ids)
            added["experiences"] += made
            added["side_effects"] += len(t[ExperienceSideEffect]["term"])
            added["stop_reasons"] += len(t[ExperienceStopReason]["reason"])
            added["experience_updates"] += len(t[ExperienceUpdate]["kind"])
            if progress is not None:
                progress(made)
    return added


# Batches per transaction: their rows and, added once at its end, their counts (report_upkeep.PendingCounts;
# upserting each batch's counts apart cost a third of a seed of a million). A stopped seed loses its open one.
BATCHES_PER_COMMIT = 20


# While the batches are written (SQLite; restored after): a 64 MB page cache, since with a million
# rows the indexes outgrow the 2 MB default and every scattered index insert would read its page back
# from the OS; no fsync at checkpoints (a stopped seed loses at most its open transaction; a power loss
# while seeding could damage the file, which is what a demo may risk); and foreign keys unchecked,
# since every row's parents are in the same batch or the catalog (a test runs foreign_key_check).
BULK_SETTINGS = {"cache_size": -65536, "synchronous": 0, "foreign_keys": 0}
# A batch's entries in these land all over the index (by pair, by condition): when a seed at least
# doubles the experiences, SQLite builds them once after the batches instead of entry by entry (half
# the cost of inserting experiences at a million).
DEFERRED_INDEXES = ("ix_experience_pair_updated", "ix_experience_condition_tips_published")


@contextlib.contextmanager
def _bulk_settings(connection, defer_indexes: bool):
    """On SQLite, BULK_SETTINGS for the seeding connection while it writes, its own settings after;
    with defer_indexes, DEFERRED_INDEXES dropped meanwhile and built again (by their own SQL) after,
    when a batch failed too. One that a seed killed outright left dropped is built by the next seed."""
    if connection.dialect.name != "sqlite":
        yield
        return
    old = [(name, connection.exec_driver_sql(f"PRAGMA {name}").scalar()) for name in BULK_SETTINGS]
    for name, value in BULK_SETTINGS.items():
        connection.exec_driver_sql(f"PRAGMA {name}={int(value)}")
    deferred = []
    if defer_indexes:
        names = ", ".join("?" * len(DEFERRED_INDEXES))
        deferred = connection.exec_driver_sql(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ({names})", DEFERRED_INDEXES
        ).all()
        for name, _ in deferred:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
        connection.commit()
    try:
        yield
    finally:
        connection.rollback()  # a batch that failed: foreign_keys changes only outside a transaction
        for _, sql in deferred:
            connection.exec_driver_sql(sql)
        for index in Experience.__table__.indexes:
            if index.name in DEFERRED_INDEXES:
                index.create(connection, checkfirst=True)
        connection.commit()
        for name, value in old:
            connection.exec_driver_sql(f"PRAGMA {name}={int(value)}")


@contextlib.contextmanager
def _without_gc():
    """Python's cycle collector paused while the batches are written: each batch makes a few hundred
    thousand row tuples, and the collections they set off scanned the whole heap again and again
    (about a tenth of a seed). Rows hold no cycles; reference counting frees them all the same."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _last_day(month: int) -> date:
    year, month = divmod(month, 12)
    return date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def today() -> date:
    """Today in UTC, the demo's default last day (the timestamps it writes are UTC)."""
    return datetime.now(timezone.utc).date()


def _sync_sequences(session) -> None:
    """After explicit ids, move PostgreSQL's sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("user", "consent_event", "diagnosis", "experience", "doctor", "doctor_rating"):
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1, false)'
            )
        )
    session.commit()
