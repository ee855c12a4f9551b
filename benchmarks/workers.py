"""Resident memory per gunicorn worker after it served every page kind, and throughput with 20
concurrent readers, for this checkout and an older one, in one run on one machine (issue 26 item 7).

Usage:
    git worktree add --detach /tmp/before <older commit>
    python benchmarks/workers.py --before /tmp/before [--experiences 20000] [--seconds 60] [--readers 20]
    git worktree remove /tmp/before

For each checkout in turn (the older first) it seeds its own SQLite registry with the same demo
community (`registry init`, `registry seed-demo`, the demo accounts), starts gunicorn with the
shipped configuration (registry/web/gunicorn_conf.py: gthread, --workers, --threads) on 127.0.0.1,
and then:

1. times the first search, --settle seconds after /health first answers, and later ones;
2. walks every page kind, anonymously and signed in as the demo patient, researcher and moderator
   (home, search, condition pages with and without filters, treatment, drug, compare, side effects,
   doctors, chart CSV, the JSON API, the forms, My experiences, What's new, account data, research,
   moderation, audit), each URL as many times as there are workers x 3 so that every worker serves it,
   and the research export in CSV, Parquet and FHIR, each as many times as there are workers;
3. reads each worker's resident memory (VmRSS, and its peak VmHWM) from /proc;
4. runs --readers threads for --seconds, each a reader following random page links (condition,
   treatment, compare, filtered, search, API), and reports requests/s, p50/p95/p99 latency and errors;
5. reads the workers' memory again.

The older checkout runs with the same Python environment (PYTHONPATH points at it). The machine's
load average is printed beside each figure: the benchmark shares the machine with whatever else runs.
Only 127.0.0.1 is contacted; every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEARCHES = ["Lipitor", "Camrese", "type 2 diabetes", "migraine", "metformin", "Ozempic", "asthma", "Zoloft"]
SEARCHES += ["depression", "Ambien", "sertraline for depression"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def _env(tree: Path, folder: Path) -> dict[str, str]:
    return os.environ | {
        "PYTHONPATH": str(tree),
        "REGISTRY_DATABASE_URL": f"sqlite:///{folder}/registry.sqlite",
        "REGISTRY_INSTANCE_PATH": str(folder / "instance"),
        "REGISTRY_SECRET_KEY": "benchmark",
        "REGISTRY_RATELIMIT_ENABLED": "false",
        "REGISTRY_SESSION_COOKIE_SECURE": "false",
        "REGISTRY_VOCABULARY_DIR": str(folder / "vocabulary"),
    }


def seed(tree: Path, folder: Path, experiences: int) -> None:
    """A fresh registry of the checkout's own schema, with the demo community and accounts."""
    env = _env(tree, folder)
    run = dict(cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    subprocess.run([sys.executable, "-m", "registry", "init"], **run)
    doctors = str(max(experiences // 10, 100))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "registry" if (Path(tree) / "registry" / "__main__.py").exists() else "registry.cli",  # either layout
            "seed-demo",
            "--experiences",
            str(experiences),
            "--doctor-ratings",
            doctors,
        ],
        **run,
    )
    code = (  # this layout, or one from before the rooms (a --before checkout)
        "try:\n    from registry.accounts import auth\n    from registry.app import create_app\n"
        "    from registry.cli.demo import ensure_demo_accounts\n"
        "except ImportError:\n    from registry import auth, create_app\n    from registry.cli import ensure_demo_accounts\n"
    )
    code += "try:\n    from registry.platform.extensions import db\nexcept ImportError:\n    from registry.extensions import db\napp = create_app()\nwith app.app_context():\n"
    code += "    ensure_demo_accounts()\n"
    code += f"    auth.create_user('{ADMIN[0]}', '{ADMIN[1]}', 'bench-admin', 'admin', confirmed=True)\n"
    code += "    db.session.commit()\n"
    subprocess.run([sys.executable, "-c", code], **run)


class Server:
    """gunicorn with the shipped configuration, serving one checkout."""

    def __init__(self, tree: Path, folder: Path, workers: int, threads: int):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = _env(tree, folder) | {
            "REGISTRY_BIND": f"127.0.0.1:{self.port}",
            "REGISTRY_WORKERS": str(workers),
            "REGISTRY_THREADS": str(threads),
        }
        self.log = open(folder / "gunicorn.log", "w")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:registry.web.gunicorn_conf"],
            cwd=tree,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait(self, timeout: float = 180) -> float:
        """Seconds from start until /health answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=5) as response:
                    response.read()
                return time.perf_counter() - self.started
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /health")

    def workers(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    pids.append(int(entry))
        return sorted(pids)

    def memory(self) -> list[tuple[int, int, int]]:
        """(pid, VmRSS MB, VmHWM MB) of each worker."""
        rows = []
        for pid in self.workers():
            fields = {}
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    fields[key] = int(value.split()[0]) // 1024
            rows.append((pid, fields.get("VmRSS", 0), fields.get("VmHWM", 0)))
        return rows

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Browser:
    """A cookie-keeping client that signs in through the login form (CSRF token included)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=120) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def post(self, form_page: str, path: str, data: dict) -> tuple[int, int]:
        """Post a form with the CSRF token of the page that shows it; (status, bytes of the answer)."""
        _, page = self.get(form_page)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if token:
            data = data | {"csrf_token": token.group(1)}
        request = urllib.request.Request(self.base + path, data=urllib.parse.urlencode(data).encode())
        try:
            with self.opener.open(request, timeout=300) as response:
                return response.status, len(response.read())
        except urllib.error.HTTPError as error:
            return error.code, len(error.read())

    def login(self, email: str, password: str) -> None:
        self.post("/login", "/login", {"email": email, "password": password})


def page_kinds(browser: Browser) -> tuple[list[str], list[str]]:
    """(anonymous URLs of every public page kind, reader URLs for the load run)."""
    import json

    _, body = browser.get("/api/v1/conditions")
    conditions = sorted((c for c in json.loads(body)["conditions"] if c["n"]), key=lambda c: -c["n"])
    urls, readers = ["/", "/about", "/conditions", "/treatments", "/doctors", "/health", "/research"], []
    urls += ["/research/codebook", "/api/v1/conditions", "/api/v1/treatments?q=Camrese", "/api/v1/doctors"]
    urls += ["/api/v1/openapi.json", "/api/v1/conditions?q=diabetes"]
    urls += [f"/search?q={urllib.parse.quote(q)}" for q in SEARCHES]
    for condition in conditions[:3] + conditions[len(conditions) // 2 : len(conditions) // 2 + 1]:
        slug = condition["slug"]
        _, body = browser.get(f"/api/v1/conditions/{slug}/treatments")
        shown = [t["slug"] for t in json.loads(body)["treatments"] if not t["suppressed"]]
        page = f"/conditions/{slug}"
        readers += [page, page + "?sex=female&age_band=45_64", f"/api/v1/conditions/{slug}/treatments"]
        urls += [page + "?role=patient&years_since_diagnosis=1_5", f"/conditions/{slug}/side-effects"]
        for treatment in shown[:2]:
            readers.append(f"/conditions/{slug}/treatments/{treatment}")
            urls += [f"/treatments/{treatment}", f"/api/v1/treatments/{treatment}"]
            for tail in ("", "/dose", "/years", "/after-months"):
                urls.append(f"/api/v1/conditions/{slug}/treatments/{treatment}{tail}")
        if len(shown) >= 3:
            readers.append(f"/conditions/{slug}/compare?" + "&".join(f"t={t}" for t in shown[:3]))
    readers += [f"/search?q={urllib.parse.quote(q)}" for q in SEARCHES]
    urls += readers
    _, body = browser.get(readers[0])
    urls += sorted(set(html_unescape(m) for m in re.findall(r'href="([^"]*format=csv[^"]*)"', body)))[:3]
    _, body = browser.get("/api/v1/doctors")
    doctors = json.loads(body).get("doctors", [])
    urls += [f"/doctors/{d['id']}" for d in doctors[:2]] + [f"/api/v1/doctors/{d['id']}" for d in doctors[:2]]
    urls += [f"/ratings/new?doctor={d['id']}" for d in doctors[:1]]  # signed in: see walk()
    return list(dict.fromkeys(urls)), readers


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


ADMIN = ("admin@bench.example", "bench-admin-password")
SIGNED_IN = {
    ("patient@demo.example", "demo-patient-password"): [
        "/experiences",
        "/experiences/new",
        "/whats-new",
        "/account",
        "/account/data",
        "/conditions/new",
        "/treatments/new",
        "/doctors/new",
    ],
    ("researcher@demo.example", "demo-researcher-password"): ["/research", "/research/codebook"],
    ("moderator@demo.example", "demo-moderator-password"): ["/moderation"],
    ADMIN: ["/admin/audit", "/research/exports", "/moderation"],
}


def walk(base: str, workers: int) -> tuple[int, dict[int, int]]:
    """Every page kind, enough times for every worker to serve it; (requests, count per status)."""
    statuses: dict[int, int] = {}
    anonymous = Browser(base)
    urls, _ = page_kinds(anonymous)
    visits = [(anonymous, url) for url in urls]
    browsers = {}
    for (email, password), paths in SIGNED_IN.items():
        browser = browsers[email] = Browser(base)
        browser.login(email, password)
        rating = [u for u in urls if u.startswith("/ratings/new")]
        visits += [(browser, path) for path in paths + rating + ["/", urls[0]]]
    researcher = browsers["researcher@demo.example"]
    for _ in range(workers * 3):
        for browser, url in visits:
            status, _ = browser.get(url)
            statuses[status] = statuses.get(status, 0) + 1
    # The research export in each format, streamed whole, as many times as there are workers.
    for _ in range(workers):
        for fmt in ("csv", "parquet", "fhir"):
            status, _ = researcher.post("/research", "/research/export", {"format": fmt})
            statuses[status] = statuses.get(status, 0) + 1
    return sum(statuses.values()), statuses


def first_search(base: str) -> tuple[float, float]:
    """(ms of the first search, median ms of the later ones)."""
    times = []
    for q in ["Lipitor", "Camrese", "type 2 diabetes", "Zolof", "asthma", "Nexplanon", "migraine", "Norco"]:
        started = time.perf_counter()
        with urllib.request.urlopen(f"{base}/search?q={urllib.parse.quote(q)}", timeout=120) as response:
            response.read()
        times.append((time.perf_counter() - started) * 1000)
    return times[0], statistics.median(times[1:])


def readers_run(base: str, urls: list[str], readers: int, seconds: float) -> dict:
    """readers threads for seconds, each on one keep-alive connection; latencies and statuses."""
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def reader(n: int) -> None:
        rng = random.Random(n)
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        mine, bad = [], 0
        while time.monotonic() < stop_at:
            url = rng.choice(urls)
            started = time.perf_counter()
            try:
                connection.request("GET", url)
                response = connection.getresponse()
                response.read()
                ok = response.status < 500
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(host, int(port), timeout=60)
                ok = False
            mine.append((time.perf_counter() - started) * 1000)
            bad += not ok
        connection.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(readers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": q[49],
        "p95": q[94],
        "p99": q[98],
        "errors": errors[0],
    }


def measure(label: str, tree: Path, folder: Path, args) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\n== {label}: {tree} ({_load()})", flush=True)
    started = time.perf_counter()
    seed(tree, folder, args.experiences)
    print(f"seeded {args.experiences:,} experiences in {time.perf_counter() - started:.0f} s", flush=True)
    server = Server(tree, folder, args.workers, args.threads)
    result = {"label": label}
    try:
        result["up_s"] = server.wait()
        time.sleep(args.settle)  # as behind a load balancer, which sends traffic after a few health checks
        result["first_ms"], result["later_ms"] = first_search(server.base)
        result["first_load"] = _load()
        print(
            f"up in {result['up_s']:.1f} s; first search {result['first_ms']:.0f} ms, later {result['later_ms']:.0f} ms"
        )
        started = time.perf_counter()
        result["walk_requests"], result["walk_statuses"] = walk(server.base, args.workers)
        print(
            f"walked every page kind: {result['walk_requests']} requests in {time.perf_counter() - started:.0f} s, statuses {result['walk_statuses']}"
        )
        result["rss_walk"] = server.memory()
        result["walk_load"] = _load()
        print("RSS after the walk (MB):", [rss for _, rss, _ in result["rss_walk"]], result["walk_load"], flush=True)
        _, readers = page_kinds(Browser(server.base))
        result["run"] = readers_run(server.base, readers, args.readers, args.seconds)
        result["run_load"] = _load()
        result["rss_run"] = server.memory()
        run = result["run"]
        print(
            f"{args.readers} readers for {args.seconds:.0f} s: {run['rps']:.1f} requests/s, p50 {run['p50']:.0f} ms, "
            f"p95 {run['p95']:.0f} ms, p99 {run['p99']:.0f} ms, {run['errors']} errors ({result['run_load']})"
        )
        print(
            "RSS after the run (MB):",
            [rss for _, rss, _ in result["rss_run"]],
            "peak:",
            [hwm for _, _, hwm in result["rss_run"]],
            flush=True,
        )
    finally:
        server.stop()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="a checkout of the older code (a git worktree)")
    parser.add_argument("--after", type=Path, default=ROOT, help="the newer checkout (default: this one)")
    parser.add_argument("--experiences", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--limit-mb", type=int, default=250, help="the most a worker may hold")
    parser.add_argument("--settle", type=float, default=5, help="seconds from /health answering to the first search")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="workers-bench-"))
    trees = ([("before", args.before)] if args.before else []) + [("after", args.after)]
    results = [measure(label, tree.resolve(), folder / label, args) for label, tree in trees]

    print(
        f"\n{'':8} {'RSS/worker MB (walk)':>22} {'max after run':>14} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'err':>4} {'first search':>13} {'later':>6}"
    )
    for r in results:
        run, walked = r["run"], [rss for _, rss, _ in r["rss_walk"]]
        print(
            f"{r['label']:8} {min(walked):>9}-{max(walked):<12} {max(rss for _, rss, _ in r['rss_run']):>14} {run['rps']:>7.1f} "
            f"{run['p50']:>5.0f}ms {run['p95']:>5.0f}ms {run['p99']:>5.0f}ms {run['errors']:>4} {r['first_ms']:>11.0f}ms "
            f"{r['later_ms']:>4.0f}ms   ({r['run_load']})"
        )
    after = results[-1]
    worst = max(rss for _, rss, _ in after["rss_walk"] + after["rss_run"])
    print(f"\nlargest worker after serving every page kind and the run: {worst} MB (limit {args.limit_mb} MB)")
    return 0 if worst <= args.limit_mb else 1


if __name__ == "__main__":
    sys.exit(main())
