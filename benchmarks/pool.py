"""Database connections under load: gunicorn (registry serve) against PostgreSQL, peak connections
per server against the documented bound workers x (pool size + overflow), and the requests answered
while every connection is killed mid-run (pg_terminate_backend, as a restart or failover does).

    python benchmarks/pool.py --database-url postgresql://postgres@127.0.0.1:5432/DBNAME \\
        [--workers 2] [--threads 4] [--clients 16] [--seconds 10]

It works in its own schema (pool_bench) of the given database and drops it afterwards.
Needs the server extra (gunicorn). Prints a table.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter

import sqlalchemy as sa

SCHEMA = "pool_bench"
APP_NAME = "registry-pool-bench"
URLS = ["/", "/conditions", "/health", "/api/v1/conditions", "/about"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connections(admin) -> int:
    with admin.connect() as conn:
        return conn.execute(
            sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"), {"n": APP_NAME}
        ).scalar()


def kill(admin) -> int:
    with admin.connect() as conn:
        return conn.execute(
            sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :n"),
            {"n": APP_NAME},
        ).scalar()


def load(port: int, seconds: float, clients: int, statuses: Counter, stop_at: list[float]) -> None:
    def one(i: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = i
        while time.monotonic() < stop_at[0]:
            try:
                conn.request("GET", URLS[n % len(URLS)])
                response = conn.getresponse()
                response.read()
                statuses[response.status] += 1
            except OSError:
                statuses["connection error"] += 1
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            n += 1

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    url = sa.make_url(args.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    options = urllib.parse.quote(f"-csearch_path={SCHEMA}")
    app_url = (
        url.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")
        + f"?options={options}&application_name={APP_NAME}"
    )
    port = free_port()
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": app_url,
        "REGISTRY_BIND": f"127.0.0.1:{port}",
        "REGISTRY_WORKERS": str(args.workers),
        "REGISTRY_THREADS": str(args.threads),
        "REGISTRY_RATELIMIT_ENABLED": "false",
        "REGISTRY_SECRET_KEY": "bench",
        "REGISTRY_EXPORT_KEY": "bench",
        "REGISTRY_DISCLOSURE_KEY": "bench",
        "REGISTRY_CONTROL_SOCKET": f"/tmp/{APP_NAME}-{port}.ctl",
    }
    registry = [sys.executable, "-m", "registry"]
    subprocess.run([*registry, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
    log = open(os.environ.get("POOL_BENCH_LOG", os.devnull), "w")  # the server's log, to look into errors
    server = subprocess.Popen([*registry, "serve"], env=env, stdout=log, stderr=log)
    rows = []
    try:
        time.sleep(4)
        for phase in ("steady load", "load, connections killed every 2 s"):
            statuses: Counter = Counter()
            stop_at = [time.monotonic() + args.seconds]
            loader = threading.Thread(target=load, args=(port, args.seconds, args.clients, statuses, stop_at))
            started = time.monotonic()
            loader.start()
            peak, killed = 0, 0
            next_kill = started + 2
            while loader.is_alive():
                peak = max(peak, connections(admin))
                if phase.startswith("load, connections killed") and time.monotonic() >= next_kill:
                    killed += kill(admin)
                    next_kill += 2
                time.sleep(0.1)
            elapsed = time.monotonic() - started
            total = sum(statuses.values())
            rows.append(
                (
                    phase,
                    args.workers,
                    args.threads,
                    args.clients,
                    peak,
                    args.workers * (args.threads + 2),
                    f"{total / elapsed:.0f}",
                    killed,
                    ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=str)),
                )
            )
    finally:
        server.terminate()
        server.wait(timeout=60)
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        admin.dispose()
    header = (
        "phase",
        "workers",
        "threads",
        "clients",
        "peak connections",
        "bound w x (t + 2)",
        "requests/s",
        "connections killed",
        "statuses",
    )
    print(" | ".join(header))
    for row in rows:
        print(" | ".join(map(str, row)))


if __name__ == "__main__":
    main()
