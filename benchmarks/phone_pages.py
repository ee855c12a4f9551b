"""Measure every page at phone widths: how wide it is (a page wider than the screen scrolls
sideways), how tall, and what a first visit to a treatment page transfers.

Usage:
    python benchmarks/phone_pages.py [--widths 360 390] [--out FILE]

Serves the registry with the browser tests' small community (tests/e2e/conftest.py) on
127.0.0.1 and opens each page in Debian's Chromium (/usr/bin/chromium): as a visitor, then as
a moderator (moderation pages) and a researcher (research pages). Prints one row per page:
its scroll width at each width (the page is fine when it equals the width) and its height at
the last width, then the bytes a first visit (empty cache) to a treatment page transferred.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

PUBLIC = [
    "/",
    "/about",
    "/search?q=Ozempic",
    "/conditions",
    "/treatments",
    "/treatments/metformin",
    "/doctors",
    "/doctors?condition=type-2-diabetes",
    "/doctors/{doctor}",
    "/conditions/type-2-diabetes",
    "/conditions/type-2-diabetes/treatments/semaglutide",
    "/conditions/type-2-diabetes/compare?t=semaglutide&t=metformin&t=tirzepatide",
    "/login",
    "/register",
]
MEMBER = [
    "/experiences/new?condition=type-2-diabetes",
    "/experiences",
    "/account",
    "/account/password",
    "/account/data",
    "/account/delete",
    "/ratings/new?doctor={doctor}",
    "/conditions/new",
    "/treatments/new",
    "/doctors/new",
    "/moderation",
]
RESEARCHER = ["/research", "/research/codebook"]
TREATMENT = "/conditions/type-2-diabetes/treatments/semaglutide"


def serve():
    """The browser tests' registry on a free port; returns (url, doctor id)."""
    import tempfile

    import conftest  # tests/e2e/conftest.py
    from werkzeug.serving import make_server

    from registry.app import create_app
    from registry.cli.database import init_database
    from registry.platform.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tempfile.mkdtemp()}/phone.sqlite",
            "SECRET_KEY": "phone",
            "EXPORT_KEY": "phone",
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        init_database()
        ids = conftest.seed_community()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", ids["doctor"]


def measure(browser, url, paths, widths, login=None):
    """{path: ([scroll width per width], height at the last width, status)} for one visitor."""
    import conftest

    rows = {}
    context = browser.new_context(viewport={"width": widths[0], "height": 844})
    page = context.new_page()
    if login:
        page.goto(url + "/login")
        page.get_by_label("Email").fill(login)
        page.get_by_label("Password", exact=True).fill(conftest.PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
    for path in paths:
        scroll, height, status = [], 0, 0
        for width in widths:
            page.set_viewport_size({"width": width, "height": 844})
            response = page.goto(url + path)
            status = response.status if response else 0
            page.wait_for_load_state("networkidle")
            scroll.append(page.evaluate("document.documentElement.scrollWidth"))
            height = page.evaluate("document.documentElement.scrollHeight")
        rows[path] = (scroll, height, status)
    context.close()
    return rows


def first_visit_bytes(browser, url) -> tuple[int, int]:
    """(bytes transferred, requests) for a first visit to a treatment page, cache empty."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    client = context.new_cdp_session(page)
    client.send("Network.enable")
    sizes: dict[str, int] = {}
    client.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    page.goto(url + TREATMENT)
    page.wait_for_load_state("networkidle")
    context.close()
    return sum(sizes.values()), len(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs="+", default=[360, 390])
    args = parser.parse_args()
    import conftest
    from playwright.sync_api import sync_playwright

    url, doctor = serve()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        rows = measure(browser, url, [x.format(doctor=doctor) for x in PUBLIC], args.widths)
        rows |= measure(
            browser, url, [x.format(doctor=doctor) for x in MEMBER], args.widths, conftest.ACCOUNTS["moderator"]
        )
        rows |= measure(browser, url, RESEARCHER, args.widths, conftest.ACCOUNTS["researcher"])
        transferred, requests = first_visit_bytes(browser, url)
        browser.close()
    head = " ".join(f"{'w@' + str(w):>6}" for w in args.widths)
    print(f"{'page':70} {head} {'height':>7} status")
    wide = 0
    for path, (scroll, height, status) in rows.items():
        flag = " <- scrolls sideways" if any(s > w for s, w in zip(scroll, args.widths)) else ""
        wide += bool(flag)
        print(f"{path:70} " + " ".join(f"{s:>6}" for s in scroll) + f" {height:>7} {status}{flag}")
    print(f"pages scrolling sideways: {wide} of {len(rows)}")
    print(f"first visit to {TREATMENT}: {transferred:,} bytes in {requests} requests")


if __name__ == "__main__":
    main()
