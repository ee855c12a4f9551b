"""Benchmark disclosure control: attacks against it, and what it costs a patient in answers.

Usage:
    python benchmarks/privacy.py                     # every attack (issue 24: 10 trials) and utility on a 20,000 demo
    python benchmarks/privacy.py --quick             # a smoke run: few trials, a 5,000 demo
    python benchmarks/privacy.py --skip-attacks --skip-utility --only self-edit --issue-trials 50
    python benchmarks/privacy.py --sigma 1.5 2 3     # compare noise levels (existing attacks, utility)

Attacks run on fresh SQLite registries (one per worker process), through the real write path
(experiences.save and experiences.delete: fixed report keys, maintained aggregates), a release
(registry.reporting.release.run) after EVERY save or delete, and the real report code over the PUBLISHED
numbers (reports.outcomes.treatment_report over PublishedSource, what pages, CSV and API
publish). The attacks of issue 24 (self-edit averaging, delete-and-resubmit, toggling, which
views changed, a term or dose written by one person, What's new counts) are in
benchmarks/privacy_attacks.py; each is printed with its target and whether it is met. Each trial gives a target Q an effectiveness answer drawn at random
from the 6 codes (chance: 1 in 6); the attacker knows every other member's profile and, for
sybils, their answers, and guesses the code whose averaged difference is largest.

- differencing: 5 women aged 45-64, 5 men aged 65+ and Q, a woman aged 65+ (all patients). The
  attacker averages dist(A) - dist(B) over every pair of shown one-value-per-filter views with
  A = B + {Q} (female vs 45_64, 65_plus vs male, and each with role=patient).
- before/after: 40 members with random profiles, then Q arrives; the attacker averages
  dist_after(V) - dist_before(V) over every view V containing Q that is shown both times.
- sybils: Q alone in a unit; four fresh accounts with known answers (and Q's profile, the
  attacker's best choice) lift it over the threshold; the attacker subtracts them from every
  shown view containing Q and averages.

Utility, on a demo community (`registry seed-demo`, then a release), published numbers: random views of the 40 largest treatments
with one to three filters (one value each), exact against protected: share of views with n >= 30
shown, error of the published "improved" share by n band, and how often the published interval
contains the exact share. Both parts print their figures with the exact mode as the baseline.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import random
import statistics
import tempfile
import time
from pathlib import Path

CODES = ("worse", "none", "slight", "moderate", "major", "cant_tell")
DIMENSIONS = ("role", "age_band", "sex", "years_since_diagnosis")
TARGET_ATTACK, TARGET_SHOWN = 0.50, 0.95


class Registry:
    """A fresh SQLite registry whose reports are read as the pages read them."""

    def __init__(self, folder: Path, mode: str, sigma: float, key: str | None = None, seed: int | None = None):
        from flask_migrate import upgrade

        from registry import MIGRATIONS
        from registry.app import create_app
        from registry.platform.extensions import db

        self.app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'privacy.sqlite'}",
                "SECRET_KEY": "bench",
                "EXPORT_KEY": "bench",
                "DISCLOSURE_KEY": key or f"bench-{random.random()}",
                "DISCLOSURE": mode,
                "DISCLOSURE_SIGMA": sigma,
                "TESTING": True,
                "RATELIMIT_ENABLED": False,
                "RELEASE": "manual",  # the benchmark releases after every save itself (release())
            }
        )
        with self.app.app_context():
            upgrade(directory=str(MIGRATIONS))
            from registry.catalog import catalog

            condition, _ = catalog.add_condition("Attack condition", None, ())
            db.session.commit()
            self.condition_id = condition.id
        self.units = 0
        self.users = 0
        # Report keys are fixed per participant and pair (a keyed hash with DISCLOSURE_KEY), so a fixed
        # key makes the noise repeatable; `seed` is kept for the tests' call and needs nothing more.
        self.seed = seed
        self.releases = 0
        self._reads: dict = {}  # (published version, treatment, view) -> report: the pages' cache, keyed alike

    def new_unit(self, kind: str = "other") -> int:
        """A new treatment for the condition: a fresh reporting unit."""
        from registry.catalog import catalog
        from registry.platform.extensions import db

        self.units += 1
        with self.app.app_context():
            treatment, _ = catalog.add_treatment(f"Attack treatment {self.units}", kind)
            db.session.commit()
            return treatment.id

    def member(self, profile: dict) -> int:
        """A new account with this profile (age band, sex); returns its user id."""
        from registry.models import User
        from registry.platform.extensions import db

        self.users += 1
        n = self.users
        year = {"18_29": 2000, "30_44": 1985, "45_64": 1970, "65_plus": 1950, "under_18": 2012}
        with self.app.app_context():
            user = User(
                email=f"member{n}@example.org",
                pseudonym=f"member{n}",
                pseudonym_key=f"member{n}",
                password_hash="!",
                session_token=f"t{n}",
                birth_year=year.get(profile.get("age_band")),
                sex=profile.get("sex"),
            )  # no password: a fast member, as the tests' factory makes them
            db.session.add(user)
            db.session.commit()
            return user.id

    def save(self, user_id: int, treatment_id: int, profile: dict, effectiveness: str, release: bool = True, **extra):
        """The member's experience of a treatment through the form's write path (experiences.save):
        a new report, or an edit of the one they have for that pair; `move_from` moves their report
        from another treatment (an edit that changes the treatment). A release follows (release())."""
        from registry.contributions import experiences
        from registry.models import Condition, Treatment, User
        from registry.platform.extensions import db

        with self.app.app_context():
            user = db.session.get(User, user_id)
            condition = db.session.get(Condition, self.condition_id)
            source = db.session.get(Treatment, extra.pop("move_from", treatment_id))
            diagnosed = {"lt_1": 2026, "1_5": 2023, "5_10": 2018, "10_plus": 2010}.get(
                profile.get("years_since_diagnosis")
            )
            answers = {
                "role": profile.get("role", "patient"),
                "started": "2024-01",
                "stopped": None,
                "effectiveness": effectiveness,
                "side_effect_severity": "mild",
                "satisfaction": 7,
                "would_recommend": "yes",
                "side_effects": [],
                "stop_reasons": [],
                **extra,
            }
            experiences.save(
                user,
                condition,
                db.session.get(Treatment, treatment_id),
                answers,
                diagnosed,
                experiences.find_own(user, condition, source),
            )
            db.session.commit()
        if release:
            self.release()

    def delete(self, user_id: int, treatment_id: int, release: bool = True) -> None:
        """The member deletes their report of this treatment (experiences.delete); a release follows."""
        from registry.contributions import experiences
        from registry.models import Condition, Treatment, User
        from registry.platform.extensions import db

        with self.app.app_context():
            own = experiences.find_own(
                db.session.get(User, user_id),
                db.session.get(Condition, self.condition_id),
                db.session.get(Treatment, treatment_id),
            )
            experiences.delete(own)
            db.session.commit()
        if release:
            self.release()

    def release(self):
        """registry.reporting.release.run, committed: what the timer (or auto mode before a page) does."""
        from registry.platform.extensions import db
        from registry.reporting import release

        with self.app.app_context():
            summary = release.run(db.session)
            db.session.commit()
        self.releases += 1
        return summary

    def add(self, treatment_id: int, profile: dict, effectiveness: str, **extra) -> int:
        """One new member's experience through the form's write path, then a release; returns the member."""
        user_id = self.member(profile)
        self.save(user_id, treatment_id, profile, effectiveness, **extra)
        return user_id

    def report(self, treatment_id: int, view: dict):
        """The treatment's report for a view as pages, CSV and API publish it (published numbers)."""
        from registry.models import Condition, Treatment
        from registry.platform.extensions import db
        from registry.reporting import cached_reports, release
        from registry.reporting.report_sources import PublishedSource
        from reports import outcomes
        from reports.filters import Filters

        with self.app.app_context():
            # The numbers change only when a release changed the condition's published version.
            key = (release.version(db.session, self.condition_id), treatment_id, tuple(sorted(view.items())))
            if key not in self._reads:
                if len(self._reads) > 50_000:
                    self._reads.clear()
                self._reads[key] = outcomes.treatment_report(
                    PublishedSource(db.session),
                    db.session.get(Condition, self.condition_id),
                    db.session.get(Treatment, treatment_id),
                    Filters(**{d: (v,) for d, v in view.items()}),
                    cached_reports.policy(),
                )
            return self._reads[key]

    def read(self, treatment_id: int, view: dict) -> dict | None:
        """The effectiveness distribution a view publishes, or None when hidden."""
        unit = self.report(treatment_id, view)
        return None if unit.suppressed else unit.distributions["effectiveness"]


def views_containing(profile: dict) -> list[dict]:
    """Every one-value-per-filter view that contains a member with this profile (16 at most)."""
    given = [d for d in DIMENSIONS if profile.get(d)]
    return [
        {d: profile[d] for d in subset} for k in range(len(given) + 1) for subset in itertools.combinations(given, k)
    ]


def contains(view: dict, profile: dict) -> bool:
    return all(profile.get(d) == v for d, v in view.items())


def guess(differences: list[dict], rng: random.Random) -> str:
    """The code with the largest averaged difference; a random code when nothing was learned."""
    if not differences:
        return rng.choice(CODES)
    total = {c: sum(d[c] for d in differences) for c in CODES}
    best = max(total.values())
    return rng.choice([c for c in CODES if total[c] == best])


def random_profile(rng: random.Random) -> dict:
    import scales

    return {
        "role": rng.choice(scales.ROLE.codes),
        "age_band": rng.choice(scales.AGE_BAND.codes[1:]),
        "sex": rng.choice(("female", "male")),
        "years_since_diagnosis": rng.choice(scales.YEARS_SINCE_DIAGNOSIS.codes),
    }


def differencing(reg: Registry, rng: random.Random) -> bool:
    unit = reg.new_unit()
    members = [({"role": "patient", "age_band": "45_64", "sex": "female"}, rng.choice(CODES)) for _ in range(5)]
    members += [({"role": "patient", "age_band": "65_plus", "sex": "male"}, rng.choice(CODES)) for _ in range(5)]
    q_profile, q_answer = {"role": "patient", "age_band": "65_plus", "sex": "female"}, rng.choice(CODES)
    for profile, answer in [*members, (q_profile, q_answer)]:
        reg.add(unit, profile, answer)
    everyone = [p for p, _ in members] + [q_profile]
    values = {d: sorted({p[d] for p in everyone if p.get(d)}) for d in DIMENSIONS}
    views = [
        dict(zip(dims, combo))
        for k in range(4)
        for dims in itertools.combinations([d for d in DIMENSIONS if values[d]], k)
        for combo in itertools.product(*(values[d] for d in dims))
    ]
    members_of = {i: frozenset(j for j, p in enumerate(everyone) if contains(v, p)) for i, v in enumerate(views)}
    q = len(everyone) - 1
    read = {i: reg.read(unit, v) for i, v in enumerate(views)}
    differences = [
        {c: read[a][c] - read[b][c] for c in CODES}
        for a, b in itertools.permutations(range(len(views)), 2)
        if read[a] and read[b] and members_of[a] - members_of[b] == {q} and members_of[b] < members_of[a]
    ]
    return guess(differences, rng) == q_answer


def before_after(reg: Registry, rng: random.Random, size: int = 40) -> bool:
    unit = reg.new_unit()
    for _ in range(size):
        reg.add(unit, random_profile(rng), rng.choice(CODES))
    q_profile, q_answer = random_profile(rng), rng.choice(CODES)
    views = views_containing(q_profile)
    before = [reg.read(unit, v) for v in views]
    reg.add(unit, q_profile, q_answer)
    after = [reg.read(unit, v) for v in views]
    differences = [{c: a[c] - b[c] for c in CODES} for b, a in zip(before, after) if a and b]
    return guess(differences, rng) == q_answer


def sybils(reg: Registry, rng: random.Random, count: int = 4) -> bool:
    unit = reg.new_unit()
    q_profile, q_answer = random_profile(rng), rng.choice(CODES)
    reg.add(unit, q_profile, q_answer)
    known = [rng.choice(CODES) for _ in range(count)]
    for answer in known:
        reg.add(unit, q_profile, answer)  # same profile as Q: in every view Q is in
    differences = []
    for view in views_containing(q_profile):
        dist = reg.read(unit, view)
        if dist:
            differences.append({c: dist[c] - known.count(c) for c in CODES})
    return guess(differences, rng) == q_answer


ATTACKS = {"differencing": differencing, "before/after": before_after, "four sybils": sybils}


def attack_table(trials: int, sigmas: list[float], seed: int) -> None:
    print(
        f"\nAttacks (published numbers, a release after every save): share of {trials} trials recovering the "
        f"target's effectiveness answer (chance {1 / len(CODES):.0%}; target <= {TARGET_EXISTING:.0%})"
    )
    print(f"{'attack':<14}{'exact':>9}" + "".join(f"{'sigma ' + str(s):>12}" for s in sigmas) + "  met")
    for name, attack in ATTACKS.items():
        row, met = f"{name:<14}", True
        for mode, sigma in [("exact", 2.0), *(("perturb", s) for s in sigmas)]:
            wins = sum(
                sum(wins.get(name, 0) for wins in part) for part in _parallel(_run_old, name, mode, sigma, trials, seed)
            )
            row += f"{wins / trials:>{9 if mode == 'exact' else 12}.0%}"
            met &= mode == "exact" or wins / trials <= TARGET_EXISTING
        print(row + f"  {'yes' if met else 'NO'}", flush=True)


TARGET_EXISTING = 0.35
WORKERS = 2


def _chunks(trials: int) -> list[tuple[int, int]]:
    size = -(-trials // WORKERS)
    return [(start, min(size, trials - start)) for start in range(0, trials, size)]


def _parallel(function, name: str, mode: str, sigma: float, trials: int, seed: int) -> list:
    """function(name, mode, sigma, first trial, trials, seed) over WORKERS processes, each on its own registry."""
    from concurrent.futures import ProcessPoolExecutor

    chunks = _chunks(trials)
    if WORKERS == 1 or len(chunks) == 1:
        return [function(name, mode, sigma, start, count, seed) for start, count in chunks]
    with ProcessPoolExecutor(len(chunks)) as pool:
        return list(pool.map(function, *zip(*((name, mode, sigma, s, c, seed) for s, c in chunks))))


def _run_old(name, mode, sigma, start, count, seed) -> list[dict]:
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as folder:
        reg = Registry(Path(folder), mode, sigma, key=f"bench-{seed}")
        out = []
        for trial in range(start, start + count):
            out.append({name: ATTACKS[name](reg, random.Random(seed * 100_003 + trial))})
        return out


def _run_new(name, mode, sigma, start, count, seed) -> list[dict]:
    import privacy_attacks

    logging.disable(logging.INFO)
    function = privacy_attacks.ISSUE24_ATTACKS[name][0]
    with tempfile.TemporaryDirectory() as folder:
        reg = Registry(Path(folder), mode, sigma, key=f"bench-{seed}")
        return [function(reg, random.Random(seed * 100_003 + trial)) for trial in range(start, start + count)]


def issue24_table(trials: int, exact_trials: int, sigma: float, seed: int, only: list[str] | None) -> None:
    """Every attack of issue 24 with its target: success share (exact counts: the same scenario on true counts)."""
    import privacy_attacks

    print(
        f"\nAttacks of issue 24 (published numbers, a release after every save or delete; sigma {sigma}; "
        f"{trials} trials, exact counts {exact_trials})"
    )
    print(f"{'attack':<24}{'variant':<26}{'exact':>7}{'protected':>11}{'target':>9}  met")
    for name, (function, target) in privacy_attacks.ISSUE24_ATTACKS.items():
        if only and not any(word in name for word in only):
            continue
        started = time.perf_counter()
        results = {}
        for mode, count in (("exact", exact_trials), ("perturb", trials)):
            if not count:
                continue
            parts = _parallel(_run_new, name, mode, sigma, count, seed)
            for part in parts:
                for trial in part:
                    for label, won in trial.items():
                        results.setdefault(label, {}).setdefault(mode, []).append(won)
        for label, by_mode in results.items():
            exact = by_mode.get("exact")
            protected = by_mode["perturb"]
            share = sum(protected) / len(protected)
            if target == 0:  # appearance: counted, not a share
                cell, exact_cell = (
                    f"{sum(protected)} of {len(protected)}",
                    f"{sum(exact)}/{len(exact)}" if exact else "-",
                )
                met = sum(protected) == 0
            else:
                cell, exact_cell = f"{share:.0%}", f"{sum(exact) / len(exact):.0%}" if exact else "-"
                met = share <= target
            goal = "0" if target == 0 else f"<={target:.0%}"
            print(
                f"{name.strip():<24}{label:<26}{exact_cell:>7}{cell:>11}{goal:>9}  {'yes' if met else 'NO'}", flush=True
            )
        print(f"{'':<24}({time.perf_counter() - started:.0f} s)", flush=True)


def utility_table(experiences: int, sigmas: list[float], seed: int, samples: int) -> None:
    from click.testing import CliRunner  # noqa: F401  (the CLI is invoked through the app's runner)
    from flask_migrate import upgrade
    from sqlalchemy import select

    from registry import MIGRATIONS
    from registry.app import create_app
    from registry.catalog import catalog
    from registry.models import Condition, Treatment
    from registry.platform.extensions import db
    from registry.reporting.report_sources import CellSource, PublishedSource
    from reports import outcomes
    from reports.disclosure import Policy
    from reports.filters import FILTER_SCALES, Filters

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/demo.sqlite",
                "SECRET_KEY": "bench",
                "EXPORT_KEY": "bench",
                "DISCLOSURE_KEY": "bench",
                "TESTING": True,
            }
        )
        with app.app_context():
            upgrade(directory=str(MIGRATIONS))
            catalog.load_starter_catalog()
            db.session.commit()
        start = time.perf_counter()
        result = app.test_cli_runner().invoke(
            args=["seed-demo", "--experiences", str(experiences), "--seed", str(seed)]
        )
        assert result.exit_code == 0, result.output
        print(
            f"\nUtility (published numbers after a release) on a demo community of {experiences:,} experiences (seeded in {time.perf_counter() - start:.0f} s), "
            f"{samples:,} random views of the 40 largest treatments, 1-3 filters of one value each"
        )
        with app.app_context():
            from registry.reporting import release

            release.run(db.session)  # seed-demo released already; this one publishes anything left
            db.session.commit()
            published_source = PublishedSource(db.session)
            units = sorted(published_source.unit_sizes().items(), key=lambda item: -item[1][0])[:40]
            rng = random.Random(seed)
            views = []
            for _ in range(samples):
                (cid, tid), _ = rng.choice(units)
                dims = rng.sample(list(FILTER_SCALES), rng.randint(1, 3))
                views.append((cid, tid, Filters(**{d: (rng.choice(FILTER_SCALES[d].codes),) for d in dims})))
            views += [(cid, tid, Filters()) for (cid, tid), _ in units]
            conditions = {c.id: c for c in db.session.scalars(select(Condition))}
            treatments = {t.id: t for t in db.session.scalars(select(Treatment))}

            def published(policy, source):
                return [outcomes.treatment_report(source, conditions[c], treatments[t], f, policy) for c, t, f in views]

            exact = published(Policy(mode="exact", min_n=1), CellSource(db.session))  # the live true counts
            print(
                f"{'sigma':>6}{'shown n>=30':>13}{'unfiltered n>=10':>18}{'p95 err n>=50':>15}{'p95 err n>=500':>16}"
                f"{'covers exact':>14}"
            )
            for sigma in sigmas:
                protected = published(
                    Policy(mode="perturb", min_n=5, sigma=sigma, key=b"utility-benchmark"), published_source
                )
                big = [p for e, p in zip(exact, protected) if e.n >= 30]
                unfiltered = [p for e, p, v in zip(exact, protected, views) if not v[2] and e.n >= 10]
                errors = {50: [], 500: []}
                covered = total = 0
                for e, p in zip(exact, protected):
                    if p.suppressed or not e.improved or not p.improved:
                        continue
                    total += 1
                    covered += p.improved["low"] <= e.improved["share"] <= p.improved["high"]
                    for floor in errors:
                        if e.n >= floor:
                            errors[floor].append(abs(p.improved["share"] - e.improved["share"]) * 100)

                def p95(values):
                    return f"{statistics.quantiles(values, n=20)[-1]:.1f} pts" if len(values) >= 20 else "n/a"

                print(
                    f"{sigma:>6}{sum(not p.suppressed for p in big) / max(len(big), 1):>13.1%}"
                    f"{sum(not p.suppressed for p in unfiltered) / max(len(unfiltered), 1):>18.1%}"
                    f"{p95(errors[50]):>15}{p95(errors[500]):>16}{covered / max(total, 1):>14.1%}"
                )
            print(
                f"(views with n >= 30: {sum(e.n >= 30 for e in exact):,}; n >= 50: {sum(e.n >= 50 for e in exact):,}; "
                f"n >= 500: {sum(e.n >= 500 for e in exact):,}; exact mode shows every view at or over min_n by definition)"
            )


def main() -> None:
    global WORKERS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=50, help="trials per existing attack (default 50)")
    parser.add_argument("--issue-trials", type=int, default=10, help="trials per attack of issue 24 (default 10)")
    parser.add_argument("--exact-trials", type=int, default=3, help="trials of the exact-counts baseline (issue 24)")
    parser.add_argument("--experiences", type=int, default=20_000, help="demo community size for utility")
    parser.add_argument("--samples", type=int, default=3000, help="random filtered views for utility")
    parser.add_argument("--sigma", type=float, nargs="+", default=[2.5], help="noise levels to compare")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="processes (one registry each)")
    parser.add_argument("--only", nargs="+", help="issue-24 attacks whose name contains one of these words")
    parser.add_argument("--quick", action="store_true", help="few trials and a 5,000 demo: a smoke run")
    parser.add_argument("--skip-attacks", action="store_true")
    parser.add_argument("--skip-issue24", action="store_true")
    parser.add_argument("--skip-utility", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.issue_trials, args.exact_trials = min(args.trials, 10), min(args.issue_trials, 4), 1
        args.experiences, args.samples = min(args.experiences, 5000), min(args.samples, 1000)
    WORKERS = max(1, args.workers)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    started = time.perf_counter()
    if not args.skip_attacks:
        attack_table(args.trials, args.sigma, args.seed)
    if not args.skip_issue24:
        issue24_table(args.issue_trials, args.exact_trials, args.sigma[0], args.seed, args.only)
    if not args.skip_utility:
        utility_table(args.experiences, args.sigma, args.seed, args.samples)
    print(f"\n({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
