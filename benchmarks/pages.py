"""Benchmark report pages, the JSON API and form submissions, against the raw-rows baseline.

Usage:
    python benchmarks/pages.py --sizes 100000 1000000          # seeds fresh SQLite registries
    python benchmarks/pages.py --database URL                   # an existing, seeded registry
    python benchmarks/pages.py --sizes 100000 --gunicorn        # plus sustained submissions, 4 workers
    python benchmarks/pages.py --database sqlite:////path/registry.sqlite --before ../old-checkout
                                                                # another checkout's code against this one's
    python benchmarks/pages.py --sizes 100000 --language es     # plus each page read in Spanish

For each registry it times, server side (Flask test client, in process), the condition page of
the largest and of a median condition, a treatment page, compare (3 treatments), a filtered
("people like me") condition page and the JSON API: first from the maintained aggregates, then,
in the same run, from the raw rows (REPORT_SOURCE=raw), the naive baseline. Then the median
latency of submitting the experience form, and with --gunicorn the sustained submissions per
second through gunicorn with 4 workers on 127.0.0.1 (bounded in time), followed by
`registry aggregates check`.

With --before CHECKOUT (and a SQLite --database), the same pages are timed with the other checkout's code
and with this one's, alternately (before, after, before, after: a shared machine's drift falls on both),
each on a fresh copy of the database file, and the medians are printed side by side with their ratio.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS_MS = {"condition": 100, "treatment": 100, "compare": 150, "filtered": 150, "api": 50}


def registry(url: str, *args: str) -> str:
    env = {**os.environ, "REGISTRY_DATABASE_URL": url, "REGISTRY_SECRET_KEY": "benchmark"}
    return subprocess.run(
        [sys.executable, "-m", "registry", *args], env=env, check=True, capture_output=True, text=True
    ).stdout


def timed(client, url: str, repeat: int, language: str | None = None) -> list[float]:
    headers = {"Accept-Language": language} if language else {}
    client.get(url, headers=headers)  # warm caches and imports
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def page_urls(client) -> dict[str, str]:
    conditions = [c for c in client.get("/api/v1/conditions").get_json()["conditions"] if c["n"]]
    conditions.sort(key=lambda c: -c["n"])
    urls = {}
    for label, condition in (("largest", conditions[0]), ("median", conditions[len(conditions) // 2])):
        slug = condition["slug"]
        shown = [
            t["slug"]
            for t in client.get(f"/api/v1/conditions/{slug}/treatments").get_json()["treatments"]
            if not t["suppressed"]
        ]
        urls[f"condition ({label})"] = f"/conditions/{slug}"
        if shown:
            urls[f"treatment ({label})"] = f"/conditions/{slug}/treatments/{shown[0]}"
        drug = next(
            (t for t in shown if client.get(f"/api/v1/conditions/{slug}/treatments/{t}/dose").status_code == 200), None
        )
        if drug:  # a drug's page has the "By dose" section too (issue 19)
            urls[f"treatment, a drug ({label})"] = f"/conditions/{slug}/treatments/{drug}"
            urls[f"api dose ({label})"] = f"/api/v1/conditions/{slug}/treatments/{drug}/dose"
            urls[f"api years ({label})"] = f"/api/v1/conditions/{slug}/treatments/{drug}/years"
        if len(shown) >= 3:
            urls[f"compare 3 ({label})"] = f"/conditions/{slug}/compare?" + "&".join(f"t={t}" for t in shown[:3])
        urls[f"filtered ({label})"] = f"/conditions/{slug}?sex=female&age_band=45_64"
        urls[f"api ({label})"] = f"/api/v1/conditions/{slug}/treatments"
    return urls


def submissions(app, n: int) -> list[float]:
    """Median latency of posting the experience form as new participants."""
    from registry.accounts import auth
    from registry.platform.extensions import db

    client = app.test_client()
    with app.app_context():
        from sqlalchemy import select

        from registry.models import Condition

        condition = db.session.scalar(select(Condition).order_by(Condition.id))
        condition_slug, slugs = condition.slug, [t.slug for t in condition.treatments]
        user = auth.create_user(
            f"bench{time.time_ns()}@example.org", "benchmark password", f"b{time.time_ns() % 10**9}"
        )
        db.session.commit()
        email = user.email
    client.post("/login", data={"email": email, "password": "benchmark password"})
    times = []
    for slug in slugs[:n]:
        data = {
            "condition": condition_slug,
            "treatment": slug,
            "role": "patient",
            "started": "2024-01",
            "effectiveness": "moderate",
            "side_effect_severity": "mild",
            "satisfaction": "7",
            "would_recommend": "yes",
            "side_effects": ["nausea"],
        }
        start = time.perf_counter()
        response = client.post("/experiences/new", data=data)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 302, response.text[:500]
    return times


def gunicorn_load(url: str, seconds: float = 20.0, threads: int = 8, port: int = 8765) -> tuple[float, int]:
    """Sustained submissions per second through gunicorn (4 workers) on 127.0.0.1."""
    # A load test from one address: rate limits off; plain http, so the cookies cannot be HTTPS-only.
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": url,
        "REGISTRY_SECRET_KEY": "benchmark",
        "REGISTRY_WTF_CSRF_ENABLED": "false",
        "REGISTRY_RATELIMIT_ENABLED": "false",
        "REGISTRY_SESSION_COOKIE_SECURE": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "4", "-b", f"127.0.0.1:{port}", "registry.app:create_app()"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/about", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        from registry.accounts import auth
        from registry.app import create_app
        from registry.platform.extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "benchmark", "EXPORT_KEY": "benchmark"})
        with app.app_context():
            from sqlalchemy import select

            from registry.models import Condition, Treatment

            condition_slug = db.session.scalar(select(Condition.slug).order_by(Condition.id))
            treatments = db.session.scalars(select(Treatment.slug).order_by(Treatment.id)).all()
            users = []
            for i in range(threads):
                email = f"load{time.time_ns()}-{i}@example.org"
                auth.create_user(email, "benchmark password", f"l{time.time_ns() % 10**9}-{i}")
                users.append(email)
            db.session.commit()
        done, errors, stop = [0], [0], time.perf_counter() + seconds

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):  # count the submission, not the page after it
                return None

        def worker(email: str) -> None:
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect())
            body = urllib.parse.urlencode({"email": email, "password": "benchmark password"}).encode()
            try:
                opener.open(base + "/login", body, timeout=10)
            except urllib.error.HTTPError as error:  # the 302 after logging in
                assert error.code == 302, error.code
            for slug in treatments:
                if time.perf_counter() > stop:
                    return
                data = urllib.parse.urlencode(
                    {
                        "condition": condition_slug,
                        "treatment": slug,
                        "role": "patient",
                        "started": "2024-01",
                        "effectiveness": "moderate",
                        "side_effect_severity": "mild",
                        "satisfaction": "7",
                        "would_recommend": "yes",
                    }
                ).encode()
                try:
                    opener.open(base + "/experiences/new", data, timeout=10)
                    errors[0] += 1  # a 200 is the form again: the submission was refused
                except urllib.error.HTTPError as error:
                    if error.code == 302:
                        done[0] += 1
                    else:
                        errors[0] += 1
                except OSError:
                    errors[0] += 1

        start = time.perf_counter()
        workers = [threading.Thread(target=worker, args=(email,)) for email in users]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        return done[0] / (time.perf_counter() - start), errors[0]
    finally:
        server.terminate()
        server.wait(timeout=10)


def run(
    url: str, n_label: str, repeat: int, baseline_repeat: int, with_gunicorn: bool, language: str | None = None
) -> list[tuple]:
    from registry.app import create_app

    rows = []
    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "benchmark",
        "EXPORT_KEY": "benchmark",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
    }
    app = create_app({**config, "CACHE_TYPE": "NullCache"})  # every request computes its report
    cached_app = create_app(config)  # the report cache on (a hit after the first request)
    client, cached_client = app.test_client(), cached_app.test_client()
    urls = page_urls(client)
    for label, path in urls.items():
        app.config["REPORT_SOURCE"] = "published"  # what pages read since issue 24 (registry/reporting/release.py)
        fast = timed(client, path, repeat)
        app.config["REPORT_SOURCE"] = "cells"  # the live report tables: what pages read before releases
        live = statistics.median(timed(client, path, repeat))
        app.config["REPORT_SOURCE"] = "raw"
        slow = timed(client, path, baseline_repeat)
        app.config["REPORT_SOURCE"] = "published"
        hit = statistics.median(timed(cached_client, path, repeat))
        # The same published page in another language: its words, numbers and chart labels translated.
        other = statistics.median(timed(client, path, repeat, language)) if language else None
        rows.append((label, n_label, fast, statistics.median(slow), hit, live, other))
    times = submissions(app, 10)
    rows.append(("submit experience form", n_label, times, None, None, None, None))
    if with_gunicorn:
        rate, errors = gunicorn_load(url)
        check = subprocess.run(
            [sys.executable, "-m", "registry", "aggregates", "check"],
            capture_output=True,
            text=True,
            env={**os.environ, "REGISTRY_DATABASE_URL": url, "REGISTRY_SECRET_KEY": "benchmark"},
        )
        rows.append(
            (
                f"sustained submissions/s, gunicorn -w 4 ({errors} errors); check: "
                f"{'clean' if check.returncode == 0 else 'DIFFERENCES'}",
                n_label,
                [1000 / rate],
                None,
                None,
                None,
                None,
            )
        )
    return rows


def _medians(checkout: Path, database: Path, repeat: int) -> dict[str, float]:
    """One run of a checkout's own pages.py on a copy of the database: its median per operation."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / database.name
        shutil.copyfile(database, copy)
        output = subprocess.run(
            [sys.executable, str(checkout / "benchmarks" / "pages.py"), "--database", f"sqlite:///{copy}"]
            + ["--repeat", str(repeat)],
            cwd=checkout,
            env={**os.environ, "PYTHONPATH": str(checkout)},  # its code before any installed copy
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    table = output.split("\noperation", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return {line[:44].strip(): float(line[44:].split()[1]) for line in table if line.strip()}


def compare(args) -> None:
    """Time the pages with --before's code and this checkout's, alternately, on copies of one database."""
    database = Path(args.database.removeprefix("sqlite:///"))
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for round_number in range(args.rounds):
        for name, checkout in (("before", args.before.resolve()), ("after", ROOT)):
            print(f"round {round_number + 1}: {name} ({checkout})...", file=sys.stderr)
            runs[name].append(_medians(checkout, database, args.repeat))
    print(f"\n{'operation':<44} {'before ms':>10} {'after ms':>10} {'after/before':>13}")
    worst = 0.0
    for operation in runs["after"][0]:
        before = statistics.median(run[operation] for run in runs["before"] if operation in run)
        after = statistics.median(run[operation] for run in runs["after"])
        worst = max(worst, after / before)
        print(f"{operation:<44} {before:>10.1f} {after:>10.1f} {after / before:>12.2f}x")
    print(f"\nmedian of {args.rounds} runs of each (each the median of {args.repeat} requests), alternated on copies")
    print(f"of {database.name}; before: {args.before}; the slowest page relative to before: {worst:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--database", help="An existing registry database URL instead of seeding.")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--baseline-repeat", type=int, default=3)
    parser.add_argument("--gunicorn", action="store_true", help="Also measure sustained submissions under gunicorn.")
    parser.add_argument("--before", type=Path, help="Another checkout to time on the same --database (SQLite).")
    parser.add_argument("--rounds", type=int, default=2, help="With --before: runs of each checkout, alternated.")
    parser.add_argument(
        "--language", help="Also time the published pages read in this language (Accept-Language), e.g. es."
    )
    args = parser.parse_args()
    if args.before:
        compare(args)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        targets = (
            [(args.database, "given")]
            if args.database
            else [(f"sqlite:///{tmp}/bench{n}.sqlite", f"{n:,}") for n in args.sizes]
        )
        for url, label in targets:
            if not args.database:
                print(f"seeding {label} experiences on SQLite...", file=sys.stderr)
                registry(url, "init")
                registry(url, "seed-demo", "--experiences", label.replace(",", ""), "--seed", "1")
            rows += run(url, label, args.repeat, args.baseline_repeat, args.gunicorn, args.language)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\n{'operation':<44} {'N':>10} {'median ms':>9} {'p95 ms':>7} {'per s':>7} {'baseline ms':>11} "
        f"{'speed-up':>8} {'cached ms':>9} {'live ms':>8}" + (f" {args.language + ' ms':>8}" if args.language else "")
    )
    for label, n, times, baseline, hit, live, other in rows:
        median = statistics.median(times)
        p95 = sorted(times)[max(0, int(round(0.95 * len(times))) - 1)]
        base = f"{baseline:,.0f}" if baseline else "-"
        ratio = f"{baseline / median:,.0f}x" if baseline else "-"
        cached = f"{hit:.1f}" if hit else "-"
        before = f"{live:.1f}" if live else "-"
        print(
            f"{label:<44} {n:>10} {median:>9.1f} {p95:>7.1f} {1000 / median:>7.1f} {base:>11} {ratio:>8} {cached:>9} "
            f"{before:>8}" + (f" {other:>8.1f}" if other else (f" {'-':>8}" if args.language else ""))
        )
    print(f"\npeak RSS of this process: {peak:,.0f} MB. median/p95: computed from the published numbers with the")
    print("report cache off; baseline: the same page computed from the raw rows; cached: with the report cache on;")
    print("live: from the live report tables, uncached (what every page read before releases, issue 24).")
    if args.language:
        print(f"{args.language} ms: the published page, uncached, read with Accept-Language: {args.language}.")
    print(
        "targets (SQLite, 1,000,000): condition and treatment <= 100 ms, compare and filtered <= 150 ms, API <= 50 ms"
    )


if __name__ == "__main__":
    main()
