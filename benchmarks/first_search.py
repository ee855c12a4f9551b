"""Time the first search a fresh worker answers, against later searches, with and without the
vocabularies preloaded at start.

Usage:
    python benchmarks/first_search.py [--wait 0] [--repeat 3]

For each mode it starts a new server process (`registry run`, one process) on a temporary SQLite
registry with the starter catalog, waits until the home page answers, waits `--wait` seconds
more (a worker that has been up a moment, as behind a load balancer's health check), then times
`/search?q=...` for the first search and for later ones. "preload off" is the old behaviour
(vocabularies loaded by the first search); "preload on" starts loading them when the worker starts.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

QUERIES = ["Ambien", "type 2 diabetes", "metformin", "migraine", "Lipitor", "asthma"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
    return time.perf_counter() - started


def _run(preload: bool, wait: float, db_url: str) -> tuple[float, float, float]:
    port = _free_port()
    env = os.environ | {
        "REGISTRY_DATABASE_URL": db_url,
        "REGISTRY_SECRET_KEY": "benchmark",
        "REGISTRY_RATELIMIT_ENABLED": "false",
        "REGISTRY_PRELOAD_VOCABULARIES": "true" if preload else "false",
        "REGISTRY_SESSION_COOKIE_SECURE": "false",
    }
    registry = str(Path(sys.executable).with_name("registry"))
    started = time.perf_counter()
    server = subprocess.Popen(
        [registry, "run", "--port", str(port), "--no-reload"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                _get(base + "/")
                break
            except OSError:
                if time.perf_counter() - started > 60:
                    raise SystemExit("the server did not start")
                time.sleep(0.05)
        ready = time.perf_counter() - started
        time.sleep(wait)
        first = _get(f"{base}/search?q={QUERIES[0].replace(' ', '+')}")
        later = statistics.median(_get(f"{base}/search?q={q.replace(' ', '+')}") for q in QUERIES[1:])
        return ready, first, later
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--wait", type=float, default=0.0, help="seconds between the server answering and the first search"
    )
    parser.add_argument("--repeat", type=int, default=3, help="fresh servers per mode (the median is printed)")
    args = parser.parse_args()
    db_url = f"sqlite:///{tempfile.mkdtemp()}/first-search.sqlite"
    env = os.environ | {
        "REGISTRY_DATABASE_URL": db_url,
        "REGISTRY_SECRET_KEY": "benchmark",
        "REGISTRY_PRELOAD_VOCABULARIES": "false",
    }
    subprocess.run([str(Path(sys.executable).with_name("registry")), "init"], env=env, check=True, capture_output=True)
    print(
        f"{'mode':12} {'server up s':>12} {'first search s':>15} {'later searches s':>17}   (median of {args.repeat})"
    )
    for preload in (False, True):
        runs = [_run(preload, args.wait, db_url) for _ in range(args.repeat)]
        ready, first, later = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"{'preload ' + ('on' if preload else 'off'):12} {ready:>12.2f} {first:>15.2f} {later:>17.3f}")


if __name__ == "__main__":
    main()
