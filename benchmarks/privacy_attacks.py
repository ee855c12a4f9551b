"""The attacks of issue 24 against published numbers (benchmarks/privacy.py prints them).

Every attack writes through experiences.save / experiences.delete (privacy.Registry), runs
registry.reporting.release.run after EVERY save or delete (the worst case for the registry: a timer as
fast as the writes, or REGISTRY_RELEASE=auto with a read between writes), and reads what the
pages read (reports.outcomes / reports.dose over PublishedSource, registry.contributions.following for What's
new). Each function takes (registry, rng) and returns {row label: attacker succeeded}.
"""

from __future__ import annotations

import itertools
import random

from privacy import CODES, DIMENSIONS, Registry, contains, random_profile, views_containing

BACKGROUND = 20  # members already in the target's unit, published before the attack starts
EDIT_KS = (10, 50, 100)


def _background(reg: Registry, unit: int, rng: random.Random, size: int = BACKGROUND, **extra) -> list[dict]:
    """`size` members with random profiles and answers, released once at the end (an old community)."""
    profiles = []
    for _ in range(size):
        profile = random_profile(rng)
        reg.save(reg.member(profile), unit, profile, rng.choice(CODES), release=False, **extra)
        profiles.append(profile)
    reg.release()
    return profiles


def _mean(reads: list[dict]) -> dict:
    return {c: sum(r[c] for r in reads) / len(reads) for c in CODES} if reads else {}


def _guess(before: list[list], after: list[list], rng: random.Random) -> str:
    """before/after: per view, its published distributions (None when hidden) over the reads.

    The code whose mean published count rose most, summed over the views shown on both sides."""
    total = dict.fromkeys(CODES, 0.0)
    for b, a in zip(before, after):
        b, a = [r for r in b if r], [r for r in a if r]
        if b and a:
            mb, ma = _mean(b), _mean(a)
            for c in CODES:
                total[c] += ma[c] - mb[c]
    best = max(total.values())
    return rng.choice([c for c in CODES if abs(total[c] - best) < 1e-9])


def _edit_attack(reg: Registry, rng: random.Random, action: str, ks: tuple[int, ...]) -> dict[str, bool]:
    """One account with a report in the target's treatment changes it K times before and K times after
    the target reports, reading after every release; K = max(ks) is run once and every smaller K
    uses the last K reads before and the first K after (exactly what a K attacker sees)."""
    unit = reg.new_unit()
    other = reg.new_unit() if action == "toggle" else None
    _background(reg, unit, rng)
    attacker_profile, attacker_answer = random_profile(rng), rng.choice(CODES)
    attacker = reg.member(attacker_profile)
    reg.save(attacker, unit, attacker_profile, attacker_answer)
    target_profile, target_answer = random_profile(rng), rng.choice(CODES)
    views = views_containing(target_profile)  # the target's 16 "like me" views

    def read() -> list:
        return [reg.read(unit, v) for v in views]

    def step() -> list:
        if action == "resave":
            reg.save(attacker, unit, attacker_profile, attacker_answer)
        elif action == "delete":  # delete and resubmit: one step, two releases, read after each
            reg.delete(attacker, unit)
            reg.save(attacker, unit, attacker_profile, attacker_answer)
        else:  # toggle: to the other treatment and back, read after each move
            reg.save(attacker, other, attacker_profile, attacker_answer, move_from=unit)
            reg.save(attacker, unit, attacker_profile, attacker_answer, move_from=other)
        return read()

    k = max(ks)
    before = [step() for _ in range(k)]
    reg.add(unit, target_profile, target_answer)
    after = [step() for _ in range(k)]
    result = {}
    for size in ks:
        b, a = before[-size:], after[:size]
        one = _guess([[r[0] for r in b]], [[r[0] for r in a]], rng)  # the unfiltered view (views[0])
        every = _guess([list(x) for x in zip(*b)], [list(x) for x in zip(*a)], rng)
        result[f"K={size}"] = one == target_answer
        result[f"K={size}, 16 views"] = every == target_answer
    return result


def self_edit(reg: Registry, rng: random.Random, ks=EDIT_KS) -> dict[str, bool]:
    return _edit_attack(reg, rng, "resave", ks)


def delete_resubmit(reg: Registry, rng: random.Random, ks=(30,)) -> dict[str, bool]:
    return _edit_attack(reg, rng, "delete", ks)


def toggle(reg: Registry, rng: random.Random, ks=(20,)) -> dict[str, bool]:
    return _edit_attack(reg, rng, "toggle", ks)


# --- which views changed -------------------------------------------------------------------------------


def _filter_views(max_filters: int = 2) -> list[dict]:
    """Every view with 0..max_filters filters of one value each (the attacker reads them all)."""
    from reports.filters import FILTER_SCALES

    return [
        dict(zip(dims, combo))
        for k in range(max_filters + 1)
        for dims in itertools.combinations(DIMENSIONS, k)
        for combo in itertools.product(*(FILTER_SCALES[d].codes for d in dims))
    ]


def _profiles() -> list[dict]:
    """Every profile random_profile draws (the attacker's candidates)."""
    import scales

    return [
        dict(zip(DIMENSIONS, combo))
        for combo in itertools.product(
            scales.ROLE.codes, scales.AGE_BAND.codes[1:], ("female", "male"), scales.YEARS_SINCE_DIAGNOSIS.codes
        )
    ]


def _snapshot(reg: Registry, unit: int, views: list[dict]) -> list:
    """What a reader sees of each view: hidden, or its n and effectiveness counts."""
    out = []
    for view in views:
        report = reg.report(unit, view)
        out.append(None if report.suppressed else (report.n, tuple(report.distributions["effectiveness"].values())))
    return out


def which_views(reg: Registry, rng: random.Random, arrivals: int = 1, size: int = 40) -> dict[str, bool]:
    """40 members (released), 0-4 more (a release after each), then `arrivals` new members (a release after each),
    the first of them the target; the attacker reads every one- and two-filter view before and after
    and names the profile whose views changed most (ties at random). Exact profile = success."""
    unit = reg.new_unit()
    _background(reg, unit, rng, size)  # released once: pending changes are left in the small views
    for _ in range(rng.randrange(5)):  # then a few arrivals, a release after each (a running registry)
        reg.add(unit, random_profile(rng), rng.choice(CODES))
    views = _filter_views()
    before = _snapshot(reg, unit, views)
    newcomers = [random_profile(rng) for _ in range(arrivals)]
    for profile in newcomers:
        reg.add(unit, profile, rng.choice(CODES))
    after = _snapshot(reg, unit, views)
    changed = [v for v, b, a in zip(views, before, after) if b != a]
    unchanged = [v for v, b, a in zip(views, before, after) if b == a and a is not None]
    scores = {}
    for i, profile in enumerate(_profiles()):
        # every changed view should hold a newcomer: a profile in many changed views, few shown unchanged ones
        scores[i] = (sum(contains(v, profile) for v in changed), -sum(contains(v, profile) for v in unchanged))
    best = max(scores.values())
    guess = _profiles()[rng.choice([i for i, s in scores.items() if s == best])]
    return {f"{arrivals} arrival{'s' if arrivals > 1 else ''} between reads": guess == newcomers[0]}


def which_views_one(reg, rng):
    return which_views(reg, rng, 1)


def which_views_three(reg, rng):
    return which_views(reg, rng, 3)


def which_views_five(reg, rng):
    return which_views(reg, rng, 5)


# --- a term or a dose written by one person ----------------------------------------------------------


COMMON_TERMS = ("nausea", "headache", "fatigue")
STRENGTHS = (10, 20, 40)  # mg once daily: the community's doses; the target takes 35 mg


def _lone_term(reg: Registry, rng: random.Random, attacker_k: int) -> bool:
    """True when the target's own side-effect term appears anywhere the pages show terms."""
    from registry.models import Condition
    from registry.platform.extensions import db
    from registry.reporting import cached_reports
    from registry.reporting.report_sources import PublishedSource
    from reports import outcomes
    from reports.filters import Filters

    unit = reg.new_unit()
    for _ in range(BACKGROUND):
        profile = random_profile(rng)
        terms = rng.sample(COMMON_TERMS, rng.randint(1, 2))
        reg.save(reg.member(profile), unit, profile, rng.choice(CODES), release=False, side_effects=terms)
    reg.release()
    word = f"lone term {reg.units}"
    target = random_profile(rng)
    views = views_containing(target)
    seen = False

    def look() -> bool:
        for view in views:
            if any(t["term"] == word for t in reg.report(unit, view).side_effects):
                return True
        with reg.app.app_context():
            condition = db.session.get(Condition, reg.condition_id)
            page = outcomes.condition_report(PublishedSource(db.session), condition, Filters(), cached_reports.policy())
            return any(t["term"] == word for t in page.side_effects)

    reg.add(unit, target, rng.choice(CODES), side_effects=[word, "nausea"])
    attacker = random_profile(rng)
    attacker_id = reg.add(unit, attacker, rng.choice(CODES), side_effects=["nausea"])
    seen |= look()
    for _ in range(attacker_k):  # the attacker re-saves, reading after every release
        reg.save(attacker_id, unit, attacker, rng.choice(CODES), side_effects=["nausea"])
        seen |= look()
    for _ in range(6):  # the community goes on: the target's report gets into the published numbers
        reg.add(unit, random_profile(rng), rng.choice(CODES), side_effects=rng.sample(COMMON_TERMS, 1))
        seen |= look()
    return seen


def _lone_dose(reg: Registry, rng: random.Random, attacker_k: int) -> bool:
    """True when the strength only the target reported (35 mg a day) appears as a band edge."""
    from registry.platform.extensions import db
    from registry.reporting import cached_reports
    from registry.reporting.report_sources import PublishedSource
    from reports import dose

    unit = reg.new_unit("drug")

    def dose_of(amount):
        return {"dose_amount": amount, "dose_unit": "mg", "dose_frequency": "once_daily"}

    for _ in range(BACKGROUND):
        profile = random_profile(rng)
        reg.save(reg.member(profile), unit, profile, rng.choice(CODES), release=False, **dose_of(rng.choice(STRENGTHS)))
    reg.release()

    def look() -> bool:
        with reg.app.app_context():
            frame = PublishedSource(db.session).slices(("dose", "year"), reg.condition_id, [unit])
            report = dose.dose_report(cached_reports.policy(), frame)
        return 35.0 in report.edges

    seen = False
    reg.add(unit, random_profile(rng), rng.choice(CODES), **dose_of(35))
    attacker = random_profile(rng)
    attacker_id = reg.add(unit, attacker, rng.choice(CODES), **dose_of(10))
    seen |= look()
    for _ in range(attacker_k):
        reg.save(attacker_id, unit, attacker, rng.choice(CODES), **dose_of(10))
        seen |= look()
    for _ in range(6):
        reg.add(unit, random_profile(rng), rng.choice(CODES), **dose_of(rng.choice(STRENGTHS)))
        seen |= look()
    return seen


def lone_term(reg, rng):
    return {"no attacker": _lone_term(reg, rng, 0)}


def lone_term_edit(reg, rng):
    return {"attacker re-saves K=30": _lone_term(reg, rng, 30)}


def lone_dose(reg, rng):
    return {"no attacker": _lone_dose(reg, rng, 0)}


def lone_dose_edit(reg, rng):
    return {"attacker re-saves K=30": _lone_dose(reg, rng, 30)}


# --- What's new: the number of new reports in a followed condition -------------------------------------


def whats_new(reg: Registry, rng: random.Random, saves: int = 60) -> dict[str, bool]:
    """A follower's visit, then X new reports (0-9) in a unit, then an attacker re-saves 60 times
    (a release after each) reading What's new's count each time; success = naming X exactly."""
    from registry.contributions import following
    from registry.models import Condition
    from registry.platform.database import now_utc
    from registry.platform.extensions import db

    unit = reg.new_unit()
    _background(reg, unit, rng)
    attacker = random_profile(rng)
    attacker_id = reg.add(unit, attacker, rng.choice(CODES))
    with reg.app.app_context():
        since = now_utc()  # the follower's last visit
    x = rng.randrange(10)
    for _ in range(x):
        reg.add(unit, random_profile(rng), rng.choice(CODES))
    seen = []
    for _ in range(saves):
        reg.save(attacker_id, unit, attacker, rng.choice(CODES))
        with reg.app.app_context():
            news = following._new_reports(db.session.get(Condition, reg.condition_id), since)
        if news.shown:
            seen.append(news.n)
    if seen:
        guess = round(sum(seen) / len(seen))
    else:
        guess = rng.randrange(reg.app.extensions["disclosure"].min_n)  # "a few, or none"
    return {f"{saves} saves": guess == x}


# name -> (function, target, chance note); each row label is reported separately
EDIT_ATTACKS = {
    "self-edit averaging": (self_edit, 0.30),
    "delete-and-resubmit": (delete_resubmit, 0.30),
    "toggle two treatments": (toggle, 0.30),
}
VIEW_ATTACKS = {
    "which views changed": (which_views_one, 0.10),
    "which views changed ": (which_views_three, 0.10),
    "which views changed  ": (which_views_five, 0.10),
}
APPEARANCE_ATTACKS = {
    "lone side-effect term": (lone_term, 0.0),
    "lone side-effect term ": (lone_term_edit, 0.0),
    "lone dose strength": (lone_dose, 0.0),
    "lone dose strength ": (lone_dose_edit, 0.0),
}
NEWS_ATTACKS = {"what's new count": (whats_new, 0.30)}
ISSUE24_ATTACKS = {**EDIT_ATTACKS, **VIEW_ATTACKS, **APPEARANCE_ATTACKS, **NEWS_ATTACKS}
