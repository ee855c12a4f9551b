"""Issue 25's closing walk: a patient's phone (390 x 844) through the demo community, every page checked together.

A second registry is served for this module, built as `registry demo` builds it (the real demo seeded up to
today, perturbed numbers, releases before a page, CSRF on, the demo's logins). The walk goes home, searches
"Metformin for Type 2 diabetes", opens the largest condition, its first shown treatment (every section
open), the compare page of its top three, its side effects, the doctors list and one doctor, a drug page,
then, signed in as the demo patient, My experiences, the experience form, a follow-up, the rating form and
What's new twice. On every page, from what the browser shows:

- numbers agree (issue 25 point 1): no "of the M people who answered" above the "N people reported" it
  follows, parts never above their whole, words paraphrase the percent beside them by reports.wording's
  rule, no group under the threshold beside the sentence promising none, a doctor's mean within its rows';
- every chart's texts lie inside its chart, none cut with "...";
- no form target under 44 x 44 px (a radio or checkbox through its label);
- every key cell of a card table lies on the 390 px screen, and no page scrolls sideways;
- no date after today, on a page or in the demo's rows;
- What's new, read once, then reads "Nothing new since your last visit".

Every problem is collected and the test fails once, listing them all.
"""

from __future__ import annotations

import re
import threading
from datetime import date, datetime, timezone

import pytest
from conftest import UI, VIEWPORTS, Server
from test_chart_labels import _TEXT_BOXES
from test_targets import MIN, SMALL_TARGETS

from reports import wording

PHONE = VIEWPORTS["phone"]
EXPERIENCES = 4_000  # a few thousand: every kind of page has enough to show, built in about 20 s
DOCTOR_RATINGS = 800
SEARCH = "Metformin for Type 2 diabetes"
MONTHS = "January February March April May June July August September October November December".split()

COUNT = r"(\d[\d,]*)"
REPORTED = re.compile(COUNT + r" (?:people|person) reported")
ANSWERED = re.compile(r"of the " + COUNT + r" people who answered")
ALL_REPORTED = re.compile(r"Share of all " + COUNT + r" people who reported")
# "About 6 in 10 improved; likely between 5 and 7 in 10 (62%, likely 55-68%)": words, then the numbers they say.
IN_WORDS = re.compile(
    r"\b[Aa]bout (\d+) in (10|100)\b([^().:]*?)\((\d+)%(?:;|,) (?:95% interval|likely) (\d+)-(\d+)%\)"
)
LIKELY = re.compile(r"likely (?:about|between|no more than|at least) [\d a-z]*?in (?:10|100)\b")
# Promises that no group under a threshold is shown ("Groups with fewer than 5 reports are not shown"), and
# the older one that no number at all is ("Numbers are shown only for groups ... of at least 5").
GROUP_PROMISE = re.compile(r"Groups with fewer than (\d+) reports are not shown")
ALL_PROMISE = re.compile(r"[Nn]umbers are shown only for groups\b[^.]*? of at least (\d+)")
DATES = [
    (re.compile(r"\b(\d{1,2}) (" + "|".join(MONTHS) + r") (\d{4})\b"), lambda m: (int(m[3]), m[2], int(m[1]))),
    (re.compile(r"(?<!\d )\b(" + "|".join(MONTHS) + r") (\d{4})\b"), lambda m: (int(m[2]), m[1], 1)),
    (re.compile(r"\b(\d{4})-(\d{2})(?:-(\d{2}))?\b"), lambda m: (int(m[1]), MONTHS[int(m[2]) - 1], int(m[3] or 1))),
]

# What the walk reads of a page at once: the main text, its tables (with the chart note above each) and the
# boxes of card tables' key cells.
READ_PAGE = """() => {
  const main = document.querySelector('main');
  const cells = tr => Array.from(tr.children).filter(c => c.matches('td, th')).map(c => c.innerText.trim());
  const tables = Array.from(main.querySelectorAll('table')).map(table => ({
    cls: table.className,
    head: table.tHead ? cells(table.tHead.rows[0]) : [],
    rows: Array.from(table.tBodies).flatMap(b => Array.from(b.rows)).map(cells),
    note: (table.closest('section.chart')?.querySelector('p.muted')?.innerText || ''),
  }));
  const keys = Array.from(main.querySelectorAll('table.cards .key')).filter(k => k.getClientRects().length).map(k => {
    const box = k.getBoundingClientRect();
    return {text: k.closest('tr').querySelector('th, td').innerText.trim(), left: box.left, right: box.right};
  });
  return {text: main.innerText, tables, keys, width: document.documentElement.scrollWidth};
}"""


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory, live_server):
    """The demo as `registry demo` makes it, served on 127.0.0.1 for this module, with its logins."""
    from werkzeug.serving import make_server

    from registry.accounts import auth
    from registry.app import create_app
    from registry.cli.database import init_database, publish
    from registry.cli.demo import DEMO_ACCOUNTS, ensure_demo_accounts
    from registry.demo.logins import seed_demo_follows, seed_demo_moderation, seed_demo_own_history
    from registry.demo.seed import seed_demo
    from registry.models import Experience
    from registry.platform.extensions import db

    path = tmp_path_factory.mktemp("demo") / "registry.sqlite"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "SECRET_KEY": "walk-secret-key",
            "EXPORT_KEY": "walk-export-key",
            "DISCLOSURE_KEY": "walk-disclosure-key",
            "DISCLOSURE": "perturb",  # as in production: the numbers a patient reads are the protected ones
            "RELEASE": "auto",
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": False,
            "MAIL_BACKEND": "locmem",
        }
    )
    assert app.config.get("WTF_CSRF_ENABLED", True) is not False
    with app.app_context():
        init_database()
        seed_demo(EXPERIENCES, seed=1, doctor_ratings=DOCTOR_RATINGS)  # --until: today
        publish()
        ensure_demo_accounts()
        patient = auth.find_user(DEMO_ACCOUNTS[0][0])
        seed_demo_moderation(patient)
        seed_demo_follows([auth.find_user(email) for email, *_ in DEMO_ACCOUNTS])
        seed_demo_own_history(patient)
        publish()
        own = db.session.scalars(db.select(Experience).where(Experience.user_id == patient.id)).first()
        ids = {"login": DEMO_ACCOUNTS[0][:3:2], "own": own.id}
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="walk-server", daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{server.server_port}", app, ids)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    with app.app_context():
        db.engine.dispose()


def _number(text: str) -> int:
    return int(text.replace(",", ""))


class Walk:
    """Opens pages as a patient does and writes down every problem a patient would see."""

    def __init__(self, ui: UI):
        self.ui, self.page = ui, ui.page
        self.problems: list[str] = []
        self.read: dict[str, int] = {}  # what was checked, so that a reader gone blind fails
        self.today = datetime.now(timezone.utc).date()

    def problem(self, what: str) -> None:
        self.problems.append(f"{self.page.url.split('/', 3)[-1] or '/'}: {what}")

    def saw(self, what: str, n: int = 1) -> None:
        self.read[what] = self.read.get(what, 0) + n

    def open(self, path: str, form: bool = False) -> dict:
        self.ui.goto(path)
        return self.check(form)

    def check(self, form: bool = False) -> dict:
        """Every check on the page shown; returns what was read."""
        page = self.page
        page.wait_for_load_state("networkidle")
        page.evaluate("document.querySelectorAll('details').forEach(function (d) { d.open = true; })")
        if page.locator(".figure[data-figure]").count():
            page.wait_for_selector(".figure[data-drawn] svg.main-svg")
            page.wait_for_timeout(300)  # responsive figures settle to their width
        shown = page.evaluate(READ_PAGE)
        self.numbers(shown)
        self.charts()
        self.layout(shown)
        self.dates(shown["text"])
        if form:
            self.saw("forms")
            for small in page.evaluate(SMALL_TARGETS, MIN):
                self.problem(f"a target under {MIN} px: {small}")
        return shown

    # --- numbers (issue 25 point 1, as tests/test_page_consistency.py reads them) ---

    def numbers(self, shown: dict) -> None:
        text = shown["text"]
        marks = sorted(
            [(m.start(), "reported", _number(m[1])) for m in REPORTED.finditer(text)]
            + [(m.start(), "answered", _number(m[1])) for m in ANSWERED.finditer(text)]
        )
        reported = None
        for _, kind, n in marks:
            if kind == "reported":
                reported = n
            elif reported is not None:
                self.saw("answered after reported")
                if n > reported:
                    self.problem(f'"of the {n} people who answered" after "{reported} people reported"')
        for match in IN_WORDS.finditer(text):
            self.words(match[0], (int(match[1]), int(match[2])), match[3], *(int(match[i]) for i in (4, 5, 6)))
        groups = GROUP_PROMISE.search(text) or ALL_PROMISE.search(text)
        least = int(groups[1]) if groups else 0
        for table in shown["tables"]:
            self.table(table, text, least, bool(ALL_PROMISE.search(text)), groups)

    def words(self, quote: str, said: tuple[int, int], between: str, percent: int, low: int, high: int) -> None:
        """ "about N in B" is wording.about of the percent beside it; "likely ..." is wording.likely of its range."""
        self.saw("figures in words")
        share = {"share": percent / 100, "low": low / 100, "high": high / 100}
        expected = wording.about(share["share"])
        if f"about {said[0]} in {said[1]}" != expected:
            self.problem(f'"{quote}": {percent}% reads "{expected}" by reports.wording')
        likely = LIKELY.search(between)
        if likely and abs((high - low) - 100 * wording.MAX_SPAN) > 1:  # a range of 49-51 points may round either way
            if likely[0] != wording.likely(share):
                self.problem(f'"{quote}": its range {low}-{high}% reads "{wording.likely(share)}"')

    def table(self, table: dict, text: str, least: int, strict: bool, promise) -> None:
        head, rows, note = table["head"], table["rows"], table["note"]
        answered, everyone = ANSWERED.search(note), ALL_REPORTED.search(note)
        if "People" in head:
            column = head.index("People")
            people = [_number(r[column]) for r in rows if re.fullmatch(COUNT, r[column])]
            if answered and sum(people) > _number(answered[1]):
                self.problem(
                    f"{note[:60]!r}: the answers add up to {sum(people)}, above the {answered[1]} who answered"
                )
            if everyone and people and max(people) > _number(everyone[1]):
                self.problem(f"{note[:60]!r}: a count of {max(people)}, above the {everyone[1]} people who reported")
            self.saw("tables of people", bool(answered or everyone))
            if strict and people and min(people) < least:
                self.problem(f'a count of {min(people)} beside "{promise[0]}"')
        for label in ("Reports", "Ratings"):
            column = head.index(label) if label in head else -1
            if column > 0 and promise:
                counts = [(r[0], r[column]) for r in rows if len(r) > column and re.fullmatch(COUNT, r[column])]
                small = [name for name, n in counts if _number(n) < least]
                self.saw("group counts", len(counts))
                if small:
                    self.problem(f'{small[0]} shown with fewer than {least} {label.lower()}, beside "{promise[0]}"')
        if "ranking" in table["cls"].split():  # a condition's ranking: its reports add up to its people
            whole = re.search(COUNT + r" people reported on (\d+) treatments?", text)
            counts = [_number(r[1]) for r in rows if len(r) > 2 and re.fullmatch(COUNT, r[1])]
            self.saw("rankings")
            if whole and sum(counts) > _number(whole[1]):
                self.problem(f"the ranking's reports add up to {sum(counts)}, above the {whole[1]} people reported")
        for label in head:  # a compare table's columns: "Name (M people)" never above "Name: N people reported"
            named = re.fullmatch(r"(.*) \((?:n=)?" + COUNT + r"(?: people| person)?\)", label)
            whole = named and re.search(re.escape(named[1]) + r": " + COUNT + r" people reported", text)
            if whole:
                self.saw("compare columns")
                if _number(named[2]) > _number(whole[1]):
                    self.problem(f'"{label}" above "{whole[0]}"')

    def doctor(self) -> None:
        """A doctor's page: its mean within its rows' means, its rows and its recommendations within its ratings."""
        tables = self.page.evaluate(READ_PAGE)["tables"]
        overall = {r[0]: r[1] for r in tables[0]["rows"] if len(r) > 1}
        n, mean = _number(overall["Ratings"]), float(overall["Average rating (0 to 10)"])
        recommend = [_number(r[1]) for r in tables[1]["rows"] if len(r) > 1 and re.fullmatch(COUNT, r[1])]
        if sum(recommend) > n:
            self.problem(f'"would recommend" counts add up to {sum(recommend)}, above the {n} ratings')
        rows = [t for t in tables if "Average (0-10)" in t["head"]]
        assert rows, "no table of ratings per condition"
        head = rows[0]["head"]
        parts = [
            (r[0], _number(r[head.index("Ratings")]), float(r[head.index("Average (0-10)")])) for r in rows[0]["rows"]
        ]
        means = [m for _, _, m in parts]
        self.saw("doctor means")
        if not min(means) <= mean <= max(means):
            self.problem(f"mean overall rating {mean} outside its conditions' means {min(means)}-{max(means)}")
        if sum(c for _, c, _ in parts) > n:
            self.problem(f"the conditions' ratings add up to {sum(c for _, c, _ in parts)}, above the {n} ratings")

    # --- charts, layout, dates ---

    def charts(self) -> None:
        """Every chart text inside its chart and whole (as tests/e2e/test_chart_labels.py checks it)."""
        for t in self.page.evaluate(_TEXT_BOXES):
            self.saw("chart texts")
            (left, top, right, bottom), (x0, y0, x1, y1) = t["box"], t["outer"]
            if left < x0 - 1 or top < y0 - 1 or right > x1 + 1 or bottom > y1 + 1:
                box, outer = [round(v) for v in t["box"]], [round(v) for v in t["outer"]]
                self.problem(f"{t['chart']}: {t['text']!r} at {box} runs out of the chart at {outer}")
            if t["text"].rstrip().endswith(("...", "\u2026")):
                self.problem(f"{t['chart']}: {t['text']!r} cut short")
            if x0 < 0 or x1 > PHONE["width"] + 1:
                self.problem(f"{t['chart']}: the chart runs off the screen")

    def layout(self, shown: dict) -> None:
        if shown["width"] > PHONE["width"]:
            self.problem(f"the page scrolls sideways ({shown['width']} px wide)")
        for key in shown["keys"]:
            self.saw("key cells")
            if key["left"] < 0 or key["right"] > PHONE["width"] + 0.5:
                self.problem(f"{key['text']!r}'s key cell at {key['left']:.0f}-{key['right']:.0f} px, off the screen")

    def dates(self, text: str) -> None:
        for pattern, parts in DATES:
            for match in pattern.finditer(text):
                year, month, day = parts(match)
                self.saw("dates")
                if date(year, MONTHS.index(month) + 1, day) > self.today:
                    self.problem(f'"{match[0]}" is after today ({self.today})')


def _future_rows(app) -> dict[str, int]:
    """The demo's rows dated after now: reports, their history, tips and ratings (none should be)."""
    from sqlalchemy import func, or_, select

    from registry.models import DoctorRating, Experience, ExperienceUpdate
    from registry.platform.extensions import db

    now = datetime.now(timezone.utc)
    month = now.strftime("%Y-%m")

    def count(model, *conditions) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(or_(*conditions)))

    with app.app_context():
        found = {
            "experiences": count(
                Experience,
                Experience.created_at > now,
                Experience.updated_at > now,
                Experience.started > month,
                Experience.stopped > month,
            ),
            "tips": count(Experience, Experience.tips_published_at > now),
            "follow-ups": count(ExperienceUpdate, ExperienceUpdate.recorded_at > now, ExperienceUpdate.stopped > month),
            "ratings": count(
                DoctorRating,
                DoctorRating.created_at > now,
                DoctorRating.updated_at > now,
                DoctorRating.last_visit > month,
            ),
        }
        db.session.remove()
    return {what: n for what, n in found.items() if n}


@pytest.mark.parametrize("viewport", ["phone"], indirect=True)
def test_a_patient_walks_the_demo_on_a_phone(page, demo_site):
    ui = UI(page, demo_site, "phone")
    walk = Walk(ui)

    shown = walk.open("/")
    largest = page.locator("main a[href^='/conditions/']").first  # "Most reported conditions", largest first
    condition = largest.get_attribute("href").split("?")[0]
    page.get_by_role("search").get_by_role("searchbox").fill(SEARCH)
    page.get_by_role("search").get_by_role("button", name="Search").click()
    shown = walk.check()
    assert re.search(SEARCH + r": About \d+ in 10", shown["text"]), shown["text"][:400]  # a headline, in words

    shown = walk.open(condition)
    first = page.locator("table.ranking tbody th[scope=row] a").first
    treatment = first.get_attribute("href")
    top = [
        a.get_attribute("href").rsplit("/", 1)[1] for a in page.locator("table.ranking tbody th[scope=row] a").all()[:3]
    ]
    summary = page.locator("section.summary ol.top-treatments > li").all()
    ranking = next(t for t in shown["tables"] if "ranking" in t["cls"].split())
    # The row's name without the rank note in its cell (wording.rank_notes, or "Early reports: ...").
    note = re.compile(r"\s+(\d+% \w+, from .*|Early reports: too few to rank yet)$", re.S)
    improved = {note.sub("", r[0].split("\n")[0]): r[2] for r in ranking["rows"] if len(r) > 2}
    for item in summary:  # the first screen's words against the ranking's percent and range
        said = re.search(r"^(.*?): about (\d+) in (10|100) improved;([^()]*)", item.inner_text())
        numbers = said and re.fullmatch(r"(\d+)% \((\d+)-(\d+)%\)", improved.get(said[1], ""))
        assert numbers, (item.inner_text(), improved)
        walk.words(said[0], (int(said[2]), int(said[3])), said[4], *(int(x) for x in numbers.groups()))

    walk.open(treatment)
    walk.open(f"{condition}/compare?" + "&".join(f"t={t}" for t in top))
    walk.open(f"{condition}/side-effects")
    term = page.locator("main select option").nth(0).get_attribute("value")
    walk.open(f"{condition}/side-effects?term={term}")

    walk.open("/doctors")
    doctor = page.locator("main table tbody th[scope=row] a, main table tbody td a").first.get_attribute("href")
    walk.open(doctor)
    walk.doctor()
    drug = treatment.rsplit("/", 1)[1]
    walk.open(f"/treatments/{drug}")

    email, password = demo_site.ids["login"]
    ui.login(email, password)
    walk.open("/experiences")
    walk.open(f"/experiences/new?condition={condition.rsplit('/', 1)[1]}", form=True)
    walk.open(f"/experiences/{demo_site.ids['own']}/update", form=True)
    walk.open(doctor.replace("/doctors/", "/ratings/new?doctor="), form=True)
    first = walk.open("/whats-new")
    walk.saw("news", "Nothing new since your last visit" not in first["text"])  # the demo's follows have news
    shown = walk.open("/whats-new")
    if "Nothing new since your last visit" not in shown["text"]:
        walk.problem(f"What's new, read a second time, still shows news: {shown['text'][:200]!r}")

    future = _future_rows(demo_site.app)
    if future:
        walk.problems.append(f"the demo has rows dated after now: {future}")
    for what, least in {
        "answered after reported": 5,
        "figures in words": 5,
        "tables of people": 10,
        "rankings": 1,
        "compare columns": 3,
        "group counts": 20,
        "doctor means": 1,
        "chart texts": 50,
        "key cells": 10,
        "dates": 3,
        "forms": 3,
        "news": 1,
    }.items():
        assert walk.read.get(what, 0) >= least, f"read only {walk.read.get(what, 0)} {what}: {walk.read}"
    assert not walk.problems, f"{len(walk.problems)} problems on the walk:\n" + "\n".join(walk.problems)
