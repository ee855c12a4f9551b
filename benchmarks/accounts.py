"""Benchmark what an attacker could time or slow down on the account pages.

Usage:
    python benchmarks/accounts.py [--requests 300] [--smtp-delay 0.2]

1. "Forgot your password?" for an address with an account and for one without, through a real
   SMTP server on 127.0.0.1 that answers after --smtp-delay seconds (a slow mail server): the
   median and 90th percentile answer times of both should be alike, because the mail goes out
   on a thread after the answer. The baseline sends the mail inside the request (MAIL_ASYNC off).
2. The cost of a signed-in page with server-side sessions: median time of GET /account.
Prints a table; run on SQLite in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import time
from pathlib import Path


class SlowInbox:
    def __init__(self, delay: float):
        self.delay, self.count = delay, 0

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed(client, n: int, method: str, url: str, **kwargs) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        getattr(client, method)(url, **kwargs)
        times.append((time.perf_counter() - start) * 1000)
    return times


def row(label: str, times: list[float]) -> str:
    p90 = statistics.quantiles(times, n=10)[-1]
    return f"{label:<52} {statistics.median(times):>9.2f} {p90:>9.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--smtp-delay", type=float, default=0.2)
    args = parser.parse_args()

    from aiosmtpd.controller import Controller
    from flask_migrate import upgrade

    from registry import MIGRATIONS
    from registry.accounts import auth
    from registry.app import create_app
    from registry.platform.extensions import db

    port = free_port()
    inbox = SlowInbox(args.smtp_delay)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        base = {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "EXPORT_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
        }
        app = create_app(base)
        with app.app_context():
            upgrade(directory=str(MIGRATIONS))
            auth.create_user("known@example.org", "correct horse battery", "known")
            db.session.commit()
        print(f"{'answer time, ms (' + str(args.requests) + ' requests each)':<52} {'median':>9} {'p90':>9}")
        for label, config in (
            ("mail on a thread (the registry)", {}),
            ("mail inside the request (baseline)", {"MAIL_ASYNC": False}),
        ):
            bench = create_app({**base, **config})
            client = bench.test_client()
            n = args.requests if not config else max(20, args.requests // 10)
            for email in ("known@example.org", "nobody@example.org"):  # warm up templates and connections
                client.post("/password/forgot", data={"email": email})
            times = {"known@example.org": [], "nobody@example.org": []}
            for _ in range(n):  # alternate, as an attacker comparing the two would
                for email in times:
                    times[email] += timed(client, 1, "post", "/password/forgot", data={"email": email})
            for email, values in times.items():
                print(row(f"forgot, {'account' if email.startswith('known') else 'no account'}: {label}", values))
        client = app.test_client()
        client.post("/login", data={"email": "known@example.org", "password": "correct horse battery"})
        print(row("GET /account signed in (server-side session)", timed(client, args.requests, "get", "/account")))
        time.sleep(args.smtp_delay * 2)
    controller.stop()


if __name__ == "__main__":
    main()
