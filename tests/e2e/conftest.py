"""Browser journeys: the real app on a real server on 127.0.0.1, driven by Debian's Chromium.

The server is werkzeug's threaded server on a free port, in a thread of the test process, on a
SQLite file built through the migrations with the starter catalog (as `registry init` does) and a
small deterministic community seeded through the domain functions. CSRF stays on: the browser
fills in the real forms. Every page of every journey is watched: a request to another host, a
console error or an uncaught script error fails the test.

Without /usr/bin/chromium the tests are skipped, unless CI=true (then they fail).
Set SCREENSHOTS=1 to (re)write the README pictures in docs/screenshots/.
"""

from __future__ import annotations

import os
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
AXE = HERE / "vendor" / "axe.min.js"
SCREENSHOTS = HERE.parent.parent / "docs" / "screenshots"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
PASSWORD = "e2e correct horse battery"

# condition -> treatment -> number of seeded reports (REPORT_MIN_N is 5: 4 stays hidden).
COMMUNITY = {
    "type-2-diabetes": {"metformin": 30, "semaglutide": 26, "tirzepatide": 14, "empagliflozin": 8, "sitagliptin": 3},
    "obesity": {"semaglutide": 11, "tirzepatide": 8, "orlistat": 5, "phentermine": 2},
    "hypertension": {"lisinopril": 10, "amlodipine": 8, "losartan": 6, "hydrochlorothiazide": 6},
    "asthma": {"albuterol": 9, "budesonide-formoterol": 6},
}
TIPS = [
    "Taking it with food stopped the nausea for me.",
    "Give it two months before you judge it; the first weeks were the hardest.",
    "A reminder app kept me on track with the doses.",
    "The generic worked just as well and cost far less.",
    "Drinking more water helped with the headaches.",
]
ACCOUNTS = {
    # role: email (password PASSWORD)
    "researcher": "researcher@e2e.example",
    "moderator": "moderator@e2e.example",
    "flagger": "flagger@e2e.example",
}
DOCTOR = ("Dr. Amina Okafor", "Endocrinology", "Leeds", "GB")


def _chromium_or_skip() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message + "; CI=true requires the browser journeys", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """Debian's Chromium, headless, with no background calls home."""
    _chromium_or_skip()
    return {
        "executable_path": str(CHROMIUM),
        "args": ["--no-sandbox", "--disable-background-networking"],
        "headless": True,
    }


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    """Relative page.goto() paths resolve against the live server.

    (Also replaces pytest-playwright's own base_url fixture, whose instance-method form pytest
    deprecates - an error under filterwarnings=error.)
    """
    return live_server.url


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> str:
    """Every browser test runs at a phone and a desktop size."""
    return request.param


@pytest.fixture
def browser_context_args(browser_context_args, viewport):
    return {**browser_context_args, "viewport": VIEWPORTS[viewport], "accept_downloads": True}


@dataclass
class Server:
    """The running registry: its address, the app (for seeding and checks) and the seeded ids."""

    url: str
    app: object
    ids: dict = field(default_factory=dict)

    def __call__(self, path: str = "/") -> str:
        return self.url + path


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The registry served on 127.0.0.1 on a free port for the whole browser session."""
    _chromium_or_skip()
    from werkzeug.serving import make_server

    from registry.app import create_app
    from registry.platform.extensions import db

    path = tmp_path_factory.mktemp("e2e") / "registry.sqlite"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "SECRET_KEY": "e2e-secret-key",
            "EXPORT_KEY": "e2e-export-key",
            "DISCLOSURE_KEY": "e2e-disclosure-key",
            # The journeys check that one report counts (6, then 7, then 6 again), which only exact counts
            # show; protected numbers are tested in tests/test_disclosure.py.
            "DISCLOSURE": "exact",
            "RELEASE": "auto",  # one server, no timer: it publishes before a page whenever reports moved
            "SESSION_COOKIE_SECURE": False,  # plain http on 127.0.0.1
            "REMEMBER_COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": False,  # one browser logs in many times a minute
            "MAIL_BACKEND": "locmem",  # mail is on (reset, confirmation pages), kept in memory
        }
    )
    with app.app_context():
        from registry.cli.database import init_database

        init_database()
        ids = seed_community()
        # Load the drug and ICD-10-CM vocabularies now (seconds, once), not inside a page's time-out.
        from registry.catalog import catalog

        catalog.search_treatments("Ozempic")
        catalog.search_conditions("diabetes")
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{server.server_port}", app, ids)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    with app.app_context():
        db.engine.dispose()


def seed_community() -> dict:
    """A small, fixed community: enough reports for charts, tips, a rated doctor and staff accounts."""
    import scales
    from registry.accounts import auth
    from registry.catalog import catalog
    from registry.contributions import experiences, ratings
    from registry.models import User
    from registry.platform.extensions import db

    rng = random.Random(9)
    good = ["major", "moderate", "moderate", "slight", "none", "cant_tell", "worse"]
    members: list[User] = []
    for n in range(80):
        user = User(
            email=f"member{n}@e2e.example",
            pseudonym=f"member{n}",
            pseudonym_key=f"member{n}",
            password_hash="!",
            session_token=f"e2e-token-{n}",
            birth_year=rng.randint(1945, 2003),
            sex=rng.choice(["female", "male"]),
        )
        db.session.add(user)
        members.append(user)
    db.session.flush()
    for user in members[:60]:
        auth.set_consent(user, True)
    for condition_slug, treatments in COMMUNITY.items():
        for treatment_slug, count in treatments.items():
            condition, treatment = experiences.by_slugs(condition_slug, treatment_slug)
            for i, user in enumerate(rng.sample(members, count)):
                started = f"{rng.randint(2016, 2023)}-{rng.randint(1, 12):02d}"
                stopped = rng.choice([None, None, f"2024-{rng.randint(1, 9):02d}"])
                answers = {
                    "role": rng.choice(["patient"] * 5 + ["caregiver", "survivor"]),
                    "started": started,
                    "stopped": stopped,
                    "effectiveness": rng.choice(good),
                    "side_effect_severity": rng.choice(scales.SIDE_EFFECT_SEVERITY.codes),
                    "side_effects": rng.sample(list(scales.SIDE_EFFECT_STARTER_TERMS), rng.randint(0, 3)),
                    "adherence": rng.choice(scales.ADHERENCE.codes),
                    "burden": rng.choice(scales.BURDEN.codes),
                    "cost_per_month": rng.choice(scales.COST_PER_MONTH.codes),
                    "insurance_coverage": rng.choice(scales.INSURANCE_COVERAGE.codes),
                    "stop_reasons": [rng.choice(scales.STOP_REASON.codes)] if stopped else [],
                    "satisfaction": rng.randint(2, 10),
                    "would_recommend": rng.choice(["yes", "yes", "no"]),
                    "tips": rng.choice(TIPS) if rng.random() < 0.3 else None,
                }
                if (
                    treatment_slug == "metformin"
                ):  # doses for the "By dose" section (no draws: the rest stays as it was)
                    answers.update(dose_amount=[500, 1000][i % 2], dose_unit="mg", dose_frequency="twice_daily")
                experiences.save(user, condition, treatment, answers, rng.randint(2000, 2022))
    doctor, _ = catalog.add_doctor(*DOCTOR)
    diabetes, _ = experiences.by_slugs("type-2-diabetes", None)
    for user in members[:8]:
        ratings.save(
            user,
            doctor,
            diabetes,
            {
                "last_visit": "2024-05",
                "overall": rng.randint(6, 10),
                "explained_clearly": "always",
                "listened_carefully": rng.choice(["usually", "always"]),
                "showed_respect": "always",
                "spent_enough_time": rng.choice(["sometimes", "usually", "always"]),
                "got_appointment": "usually",
                "knowledge": rng.randint(3, 5),
                "would_recommend": "definitely_yes",
                "comment": "Explained every option and listened." if rng.random() < 0.5 else None,
            },
        )
    for role, email in ACCOUNTS.items():
        auth.create_user(email, PASSWORD, f"e2e-{role}", role if role != "flagger" else "patient")
    db.session.commit()
    return {"doctor": doctor.id}


@pytest.fixture
def page(context, live_server):
    """A page that fails the test on a request off 127.0.0.1, a console error or a script error.

    A test that provokes an error on purpose lists its text in page.expected_errors.
    """
    page = context.new_page()
    problems: list[str] = []
    page.expected_errors = []

    def on_request(request):
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.hostname != "127.0.0.1":
            problems.append(f"request left 127.0.0.1: {request.method} {request.url}")

    def on_console(message):
        if message.type == "error":
            problems.append(f"console error on {page.url}: {message.text}")

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script error on {page.url}: {error}"))
    yield page
    unexpected = [p for p in problems if not any(text in p for text in page.expected_errors)]
    assert not unexpected, "\n".join(unexpected)


class UI:
    """What a person does in the browser, in a few words: log in and out, take pictures, run axe."""

    def __init__(self, page, server: Server, viewport: str):
        self.page, self.server, self.viewport = page, server, viewport

    def goto(self, path: str):
        """Open a page of the registry and check that it answered."""
        response = self.page.goto(self.server(path))
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        return response

    def login(self, email: str, password: str = PASSWORD) -> None:
        """Log in through the form."""
        self.goto("/login")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password", exact=True).fill(password)
        self.page.get_by_role("button", name="Log in").click()
        self.page.get_by_text("You are logged in.").wait_for()

    def logout(self) -> None:
        """Log out with the header's button."""
        self.page.get_by_role("button", name="Log out", exact=True).click()
        self.page.get_by_text("You are logged out.").wait_for()

    def register(self, email: str, pseudonym: str) -> None:
        """Create an account through the form; it lands on the profile."""
        self.goto("/register")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Public name").fill(pseudonym)
        self.page.get_by_label("Password", exact=True).fill(PASSWORD)
        self.page.get_by_label("Repeat password").fill(PASSWORD)
        self.page.get_by_role("button", name="Create my account").click()
        self.page.get_by_text(f"Welcome, {pseudonym}.").wait_for()

    def screenshot(self, name: str) -> None:
        """Save a README picture when SCREENSHOTS=1 (a normal run leaves the checkout clean)."""
        if os.environ.get("SCREENSHOTS") != "1":
            return
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.wait_for_load_state("networkidle")
        self.page.evaluate("window.scrollTo(0, 0)")  # the top of the page, as a visitor first sees it
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{self.viewport}.png"))

    def axe(self) -> list[dict]:
        """Run axe-core (the vendored copy) on the page; return its serious and critical violations."""
        self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        return [
            {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]


@pytest.fixture
def ui(page, live_server, viewport) -> UI:
    return UI(page, live_server, viewport)
