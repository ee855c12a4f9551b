"""Every page of a perturbed demo agrees with itself, as a reader checks it (issue 24 property 5, issue 25 point 1).

A demo community is seeded in perturb mode, published, and read through the test client as a visitor
reads it: the home page, the conditions list, every condition page, every shown treatment page, some
"Patients like me" pages, compare pages, every drug page, the doctors list and every doctor page, and
the JSON API behind them. From each page's own text or JSON, and from the pages it links to:

- "N people reported" is never below "Share of the M people who answered" (M <= N), and a question's
  answer counts add up to the M printed beside them; in JSON, a distribution never sums above its n;
- no count of a term (side effect, stop reason) above the n it is a share of; "all B people who
  reported" is the page's N; a term listed "reported at least 5 times" shows at least 5;
- parts of a treatment never above its N: the people with a start month ("Staying on it"), the dose
  bands with "without a dose" and "other units", the years, the people "after N months";
- a shown group (treatment, dose band, year, "after N months", curve, doctor row) is never under min_n;
- a doctor's overall mean lies within the per-condition means shown ("Other conditions" included), the
  overall ratings are the sum of the rows, and neither a histogram ("would recommend") nor the comments
  listed (one per rating) pass the ratings;
- totals are sums of what is shown: a condition's total (its page, the API list, the home page, the
  conditions list) is the sum of its shown treatments, a drug's the sum of its conditions, a time
  curve's the sum of its bands; the same group shows the same n on every page that names it, and a
  "Patients like me" group is never larger than everyone;
- every share lies in its interval, within [0, 1], and agrees with the counts it is made of; a mean
  agrees with its histogram;
- words paraphrase their numbers by one rule (issue 25): "about N in 10" is the shown percent rounded
  half up to tens (so one percent always reads the same words, on every page), "likely between a and b
  in 10" rounds the interval's ends the same way, and no figure is put in words when its interval is too
  wide to say anything ("about 0 in 100 ... 0-100%"); a condition's top treatments read as its table;
- no page promises that numbers are shown only for groups of at least min_n beside a smaller count.

The test collects every contradiction and fails once, listing them all.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from html.parser import HTMLParser

import pytest

import scales
from registry.app import create_app
from registry.platform.extensions import db
from reports.wording import MAX_SPAN

EXPERIENCES = 4_000
DOCTOR_RATINGS = 600
SEED = 11
COMPARED_CONDITIONS = 4  # compare pages of the conditions with the most shown treatments
FILTERED_CONDITIONS = 2  # "Patients like me" pages of the largest conditions...
FILTERS = ["role=patient", "role=caregiver", "sex=female", "sex=male", "age_band=45_64", "years_since_diagnosis=1_5"]
FILTERED_TREATMENTS = 2  # ...and of their first treatments shown under each filter
SHARE_ROUNDING = 0.0001  # JSON shares are rounded to 4 places
MEAN_ROUNDING = 0.006  # JSON means to 2
KNOWN_EFFECT_CODES = tuple(c for c in scales.EFFECTIVENESS.codes if c != scales.UNKNOWN_EFFECT_CODE)
TOP_BOX_CODES = tuple(str(n) for n in range(scales.TOP_BOX_MIN, scales.OVERALL_MAX + 1))
COMMENTS_PER_PAGE = 10  # registry/contributions/ratings.py recent_comments
EARLY_MONTHS = 3  # stop reasons' "early" period: the bands ending at 1 and 3 months


# --- a small HTML tree, enough to read tables, lists and sentences ------------------------------

INLINE = {"a", "abbr", "b", "code", "em", "i", "label", "small", "span", "strong", "sub", "sup", "time"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "meter", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict, parent: Node | None = None):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def text(self) -> str:
        """The text as read: cells, items and paragraphs never run together."""
        parts = []

        def walk(node):
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                elif child.tag not in ("script", "style"):
                    gap = "" if child.tag in INLINE else " "
                    parts.append(gap)
                    walk(child)
                    parts.append(gap)

        walk(self)
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def find_all(self, tag: str | None = None, cls: str | None = None, id: str | None = None) -> list[Node]:
        found = []

        def walk(node):
            for child in node.children:
                if isinstance(child, str):
                    continue
                if (
                    (tag is None or child.tag == tag)
                    and (cls is None or cls in child.attrs.get("class", "").split())
                    and (id is None or child.attrs.get("id") == id)
                ):
                    found.append(child)
                walk(child)

        walk(self)
        return found

    def find(self, tag: str | None = None, cls: str | None = None, id: str | None = None) -> Node | None:
        found = self.find_all(tag, cls, id)
        return found[0] if found else None


EMPTY = Node("#empty", {})


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html: str) -> Node:
    tree = _Tree()
    tree.feed(re.sub(r'data-figure="[^"]*"', "", html))  # the charts' own JSON: the tables below them hold its numbers
    tree.close()
    return tree.root


def table_rows(table: Node | None) -> tuple[list[str], list[list[str]]]:
    """A table's header texts and its body rows' cell texts (th and td alike)."""
    if table is None:
        return [], []
    head = [th.text() for th in (table.find("thead") or EMPTY).find_all("th")]
    rows = [
        [cell.text() for cell in tr.children if isinstance(cell, Node) and cell.tag in ("td", "th")]
        for tr in (table.find("tbody") or table).find_all("tr")
    ]
    return head, rows


def number(text: str) -> int:
    return int(text.replace(",", ""))


def read(pattern: str, text: str, where: str) -> re.Match:
    """A sentence the page must hold; its absence is a page this test can no longer read, said with its address."""
    match = re.search(pattern, text)
    assert match, f"{where}: no {pattern!r} in {text[:300]!r}... (did the wording change?)"
    return match


def slug_after(href: str, part: str) -> str:
    return href.split(part, 1)[1].split("?")[0].split("#")[0]


COUNT = r"(\d[\d,]*)"
# "62% (55-68%)" (words.interval, doctor scores), "62% (55%-68%)" (chart tables), "62%; 95% interval 55-68%".
INTERVALS = [
    re.compile(r"(\d+)%\s*\((\d+)%?\s*-\s*(\d+)%\)"),
    re.compile(r"(\d+)%; 95% interval (\d+)-(\d+)%"),
    re.compile(r"(\d+)%,? \(?likely (\d+)-(\d+)%"),
]
# "About 6 in 10 improved; likely between 5 and 7 in 10 (62%, likely 55-68%)": words, then the numbers they say.
IN_WORDS = re.compile(
    r"\b[Aa]bout (\d+) in (10|100)\b([^().:]*?)\((\d+)%(?:;|,) (?:95% interval|likely) (\d+)-(\d+)%\)"
)
LIKELY = [
    (re.compile(r"likely about (\d+) in (\d+)"), lambda m: (int(m[1]), int(m[1]))),
    (re.compile(r"likely between (\d+) and (\d+) in (\d+)"), lambda m: (int(m[1]), int(m[2]))),
    (re.compile(r"likely no more than (\d+) in (\d+)"), lambda m: (0, int(m[1]))),
    (re.compile(r"likely at least (\d+) in (\d+)"), lambda m: (int(m[1]), int(m[2]))),
]
# A promise that no count under a threshold is shown (wrong beside the counts of a shown group's answers).
PROMISES = [re.compile(r"[Nn]umbers are shown only for groups\b[^.]*? of at least (\d+)")]


def in_tens(percent: int) -> tuple[int, int]:
    """The one rounding rule, written again here: (N, base) of "about N in base" for a shown whole percent."""
    base = 10 if 10 <= percent <= 90 else 100
    return (percent if base == 100 else (percent + 5) // 10), base


# --- the reader -----------------------------------------------------------------------------


class Reader:
    """Reads the pages, keeps what they said, and writes down every contradiction."""

    def __init__(self, client, treatments: dict[str, tuple[str, str]]):
        self.client = client
        self.min_n = 0  # read from the API
        self.names = {slug: name for slug, (name, _) in treatments.items()}
        self.kinds = {slug: kind for slug, (_, kind) in treatments.items()}
        self.problems: list[str] = []
        self.pages = 0
        self.checked: Counter = Counter()  # what was read, so that a parser gone blind fails the test
        self.condition_n: dict[str, int | None] = {}  # /api/v1/conditions
        self.condition_names: dict[str, str] = {}
        self.unit_n: dict[tuple[str, str], int] = {}  # (condition, treatment) -> n, unfiltered
        self.shown_units: dict[str, list[str]] = {}  # condition -> its ranked treatments, in page order
        self.condition_doctors: dict[int, dict[str, tuple[int, str]]] = {}  # doctor -> condition -> (n, page)
        self.doctor_list: dict[int, tuple[int, str, str]] = {}  # doctor -> (ratings, mean, page) on /doctors
        self.doctor_api_list: dict[int, dict] = {}  # doctor -> its entry on /api/v1/doctors
        self.percent_words: dict[int, tuple[tuple[int, int], str]] = {}  # shown percent -> (its words, first page)

    # --- reading ---

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def get(self, url: str):
        response = self.client.get(url)
        self.pages += 1
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        return response

    def html(self, url: str) -> Node:
        page = parse(self.get(url).text)
        self.intervals(url, page)
        self.words(url, page)
        self.promises(url, page)
        return page

    def json(self, url: str) -> dict:
        return self.get(url).get_json()

    # --- the rules ---

    def intervals(self, where: str, page: Node) -> None:
        """Every interval printed in the page's text holds its share, within 0-100%."""
        text = (page.find("main") or page).text()
        for pattern in INTERVALS:
            for match in pattern.finditer(text):
                self.checked["intervals in text"] += 1
                share, low, high = (int(g) for g in match.groups())
                if not 0 <= low <= share <= high <= 100:
                    self.problem(where, f'"{match.group(0)}": the share is not inside its interval')

    def words(self, where: str, page: Node) -> None:
        """Every figure in words followed by its numbers ("about 6 in 10 ... (62%, likely 55-68%)") says them by the rule."""
        for match in IN_WORDS.finditer((page.find("main") or page).text()):
            about = (int(match[1]), int(match[2]))
            self.paraphrase(where, match.group(0), about, match[3], *(int(match[i]) for i in (4, 5, 6)))

    def paraphrase(self, where: str, quote: str, about, between: str, percent: int, low: int, high: int) -> None:
        """ "about N in B" is the shown percent rounded half up; "likely ..." rounds each end alike; none when too wide."""
        self.checked["figures in words"] += 1
        expected = in_tens(percent)
        if about != expected:
            self.problem(where, f'"{quote}": {percent}% reads "about {expected[0]} in {expected[1]}" by the one rule')
        first, first_page = self.percent_words.setdefault(percent, (about, where))
        if first != about:
            self.problem(
                where,
                f'{percent}% reads "about {about[0]} in {about[1]}" here, "about {first[0]} in {first[1]}" on {first_page}',
            )
        if high - low > 100 * MAX_SPAN + 1:  # + 1: the ends are shown rounded
            self.problem(where, f'"{quote}": a figure in words for a range too wide to tell anything ({low}-{high}%)')
            return
        base = expected[1]
        for pattern, ends in LIKELY:
            said = pattern.search(between)
            if said:
                want = tuple(e if base == 100 else (e + 5) // 10 for e in (low, high))
                if ends(said) != want:
                    self.problem(
                        where,
                        f'"{quote}": "{said.group(0)}" does not round {low}-{high}% to {want[0]}-{want[1]} in {base}',
                    )
                return

    def promises(self, where: str, page: Node) -> None:
        """No page promises that small groups are never shown beside a count under that threshold."""
        text = (page.find("main") or page).text()
        for pattern in PROMISES:
            promise = pattern.search(text)
            if promise is None:
                continue
            least = int(promise[1])
            for section in page.find_all("section", cls="chart"):
                head, rows = table_rows(section.find("table"))
                if "People" not in head:
                    continue
                column = head.index("People")
                small = [r for r in rows if re.fullmatch(COUNT, r[column]) and number(r[column]) < least]
                if small:
                    self.problem(where, f'"{small[0][0]} {small[0][column]}" beside "{promise.group(0)}"')
                    return

    def share(self, where: str, label: str, s: dict | None) -> None:
        if s and not 0 <= s["low"] <= s["share"] <= s["high"] <= 1:
            self.problem(where, f"{label} {s}: the share is not inside its interval within [0, 1]")

    def share_of(self, where: str, label: str, s: dict | None, counts: dict, success, base=None) -> None:
        """A share agrees with the published counts it is made of."""
        self.share(where, label, s)
        known = sum(counts[c] for c in (tuple(counts) if base is None else base))
        if s and known:
            expected = sum(counts[c] for c in success) / known
            if abs(s["share"] - expected) > SHARE_ROUNDING:
                self.problem(where, f"{label} share {s['share']} but its counts give {expected:.4f} ({counts})")

    def mean_of(self, where: str, label: str, value, histogram: dict) -> None:
        """A mean agrees with its histogram and lies within the answers given."""
        given = {int(c): n for c, n in histogram.items() if n}
        if value is None or not given:
            return
        expected = sum(c * n for c, n in given.items()) / sum(given.values())
        if not min(given) - MEAN_ROUNDING <= value <= max(given) + MEAN_ROUNDING:
            self.problem(where, f"{label} mean {value} outside the answers given ({min(given)}-{max(given)})")
        elif abs(value - expected) > MEAN_ROUNDING:
            self.problem(where, f"{label} mean {value} but its histogram gives {expected:.2f} ({histogram})")

    def group_size(self, where: str, label: str, n) -> None:
        if n is not None and n < self.min_n:
            self.problem(where, f"{label} shown with n={n}, under the {self.min_n} the page promises")

    def distribution(self, where: str, label: str, counts: dict, n: int) -> None:
        self.checked["distributions in JSON"] += 1
        if any(not isinstance(v, int) or v < 0 for v in counts.values()):
            self.problem(where, f"{label} has a negative or fractional count: {counts}")
        if sum(counts.values()) > n:
            self.problem(where, f"{label} counts add up to {sum(counts.values())}, above n={n}")

    def same(self, where: str, label: str, here, there, there_name: str) -> None:
        if here != there:
            self.problem(where, f"{label} is {here} here but {there} on {there_name}")

    def at_most(self, where: str, part_label: str, part: int, whole_label: str, whole: int | None) -> None:
        if whole is not None and part > whole:
            self.problem(where, f"{part_label} ({part}) above {whole_label} ({whole})")

    # --- the JSON API ---

    def unit_json(self, where: str, unit: dict, detail: bool) -> None:
        """A shown treatment's JSON (the condition list's summary, or every distribution): parts within n."""
        n = unit["n"]
        self.group_size(where, "the treatment", n)
        names = (
            [*scales.EXPERIENCE_CODES, "duration"]
            if detail
            else ["effectiveness", "side_effect_severity", "insurance_coverage"]
        )
        for name in names:
            self.distribution(where, name, unit[name], n)
        self.share_of(
            where, "improved", unit["improved"], unit["effectiveness"], scales.IMPROVED_CODES, KNOWN_EFFECT_CODES
        )
        self.share_of(where, "severe", unit["severe_side_effects"], unit["side_effect_severity"], scales.SEVERE_CODES)
        self.share_of(where, "not covered", unit["not_covered"], unit["insurance_coverage"], scales.NOT_COVERED_CODES)
        if not detail:
            return
        self.share_of(where, "would recommend", unit["recommended"], unit["would_recommend"], ("yes",))
        self.mean_of(where, "satisfaction", unit["satisfaction_mean"], unit["satisfaction"])
        for term in unit["side_effects"]:
            self.at_most(where, f"side effect {term['term']!r}'s count", term["n"], "n", n)
            self.group_size(where, f"side effect {term['term']!r}", term["n"])
        for code, count in unit["stop_reasons"].items():
            self.at_most(where, f"stop reason {code!r}'s count", count, "n", n)

    def curve_json(self, where: str, curve: dict, n: int | None) -> None:
        """Time on treatment: its n within the treatment's, band counts adding up to it, stops by period."""
        if curve.get("suppressed"):
            return
        self.checked["time curves"] += 1
        self.group_size(where, "time on treatment", curve["n"])
        self.at_most(where, "time on treatment's people with a start month", curve["n"], "the treatment's n", n)
        bands, open_band = curve["bands"], curve["open_band"]
        people = sum(b["stopped"] + b["still_using"] for b in bands) + sum(open_band.values())
        if people != curve["n"]:
            self.problem(where, f"time on treatment bands add up to {people} people, not its n={curve['n']}")
        for b in bands:
            if b.get("share") is not None:
                self.share(where, f"still on it at {b['months']} months", b)
        stops = {
            "early": sum(b["stopped"] for b in bands if b["months"] <= EARLY_MONTHS),
            "late": sum(b["stopped"] for b in bands if b["months"] > EARLY_MONTHS) + open_band.get("stopped", 0),
        }
        for period, entry in curve["stop_reasons"].items():
            self.same(where, f"the {period} stops behind the stop reasons", entry["stops"], stops[period], "the bands")
            for code, s in entry["reasons"].items():
                self.share(where, f"{period} stop reason {code}", s)

    def _outcomes(self, where: str, part: dict) -> None:
        self.group_size(where, "the group", part["n"])
        self.share(where, "improved", part["improved"])
        self.share(where, "severe", part["severe_side_effects"])
        sat = part["satisfaction"]
        if sat and not sat["low"] <= sat["mean"] <= sat["high"]:
            self.problem(where, f"satisfaction {sat}: the mean is not inside its interval")

    def slices_json(self, base: str, treatment: str, n: int) -> None:
        """Dose bands, years and "after N months" of a treatment: every report, never filtered."""
        if self.kinds.get(treatment) == "drug":
            url = base + "/dose"
            dose = self.json(url)["dose"]
            if not dose.get("suppressed"):
                self.checked["dose sections"] += 1
                shown = [b for b in dose["bands"] if not b.get("suppressed")]
                for band in shown:
                    self._outcomes(f"{url} band {band['label']!r}", band)
                parts = [b["n"] for b in shown] + [dose["without_dose"] or 0, dose["other_units"] or 0]
                self.at_most(url, f"dose bands, without a dose and other units {parts}", sum(parts), "n", n)
        url = base + "/years"
        years = self.json(url)["years"]
        if not years.get("suppressed"):
            shown = [y for y in years["years"] if not y.get("suppressed")]
            self.checked["years"] += len(shown)
            for year in shown:
                self._outcomes(f"{url} {year['year']}", year)
            self.at_most(url, f"the years shown {[y['n'] for y in shown]}", sum(y["n"] for y in shown), "n", n)
        url = base + "/after-months"
        for h in self.json(url)["after_months"].get("horizons", []):
            if h.get("suppressed"):
                continue
            self.checked["after N months"] += 1
            where = f"{url} {h['months']} months"
            self.group_size(where, "the horizon", h["n"])
            self.at_most(where, "the people answering then", h["n"], "the treatment's n", n)
            for name in ("improved", "still_using", "severe_side_effects"):
                self.share(where, name, h[name])

    def doctor_json(self, where: str, score: dict, label: str) -> None:
        if score.get("suppressed"):
            return
        self.group_size(where, label, score["n"])
        for name in ("top_box", "access", "communication"):
            self.share(where, f"{label} {name}", score[name])
        if "overall" not in score:  # the list gives scores without their histograms
            return
        for name in scales.RATING_COUNTED_CODES:
            self.distribution(where, f"{label} {name}", score[name], score["n"])
        self.mean_of(where, f"{label} overall", score["overall_mean"], score["overall"])
        self.mean_of(where, f"{label} knowledge", score["knowledge_mean"], score["knowledge"])
        self.share_of(where, f"{label} top box", score["top_box"], score["overall"], TOP_BOX_CODES)
        self.share_of(where, f"{label} access", score["access"], score["got_appointment"], ("always",))

    # --- the pages ---

    def charts(self, url: str, page: Node, n: int, reports: dict[str, int] | None = None) -> None:
        """Every chart of a page whose N people reported: each says what its 100% is, and its numbers agree."""
        for section in page.find_all("section", cls="chart"):
            title = section.find("h3").text()
            note = (section.find("p", cls="muted") or EMPTY).text()
            head, rows = table_rows(section.find("table"))
            where = f"{url} chart {title!r}"
            if "People" in head and "Share" in head:
                people = [number(r[head.index("People")]) for r in rows]
                for r in rows:
                    share, interval = r[head.index("Share")], r[head.index("Likely range")]
                    if share:
                        low, high = (int(x) for x in read(r"^(\d+)%-(\d+)%$", interval, where).groups())
                        if not low <= int(share.rstrip("%")) <= high:
                            self.problem(where, f"{r[0]}: {share} outside its interval {interval}")
                answered = re.search(r"Share of the " + COUNT + r" people who answered", note)
                reported = re.search(r"Share of all " + COUNT + r" people who reported", note)
                if answered:
                    self.checked["charts of people who answered"] += 1
                    m = number(answered.group(1))
                    if m > n:
                        self.problem(where, f'"Share of the {m:,} people who answered" above "{n:,} people reported"')
                    if sum(people) != m:
                        self.problem(where, f"the answers add up to {sum(people)} people, not the {m} who answered")
                elif reported:
                    self.checked["charts of people who reported"] += 1
                    self.same(where, '"all B people who reported"', number(reported.group(1)), n, "the page's N")
                    listed = re.search(r"reported at least (\d+) times are listed", note)
                    for r, count in zip(rows, people):
                        self.at_most(where, f"{r[0]}'s count", count, "the people who reported", n)
                        if listed and count < int(listed.group(1)):
                            self.problem(where, f'{r[0]} listed with {count} people, beside "{listed.group(0)}"')
            if "Reports" in head and reports is not None:  # the condition page's ranking and popularity charts
                for r in rows:
                    self.same(
                        where,
                        f"{r[0]}'s reports",
                        number(r[head.index("Reports")]),
                        reports.get(r[0]),
                        "the ranking table",
                    )

    def read_home(self) -> None:
        page = self.html("/")
        for li in page.find_all("li"):
            link, muted = li.find("a"), li.find("span", cls="muted")
            match = re.fullmatch(COUNT + r" reports", muted.text()) if link and muted else None
            if match and link.attrs.get("href", "").startswith("/conditions/"):
                self.checked["home page counts"] += 1
                slug = slug_after(link.attrs["href"], "/conditions/")
                here = number(match.group(1))
                self.same(
                    "/ (home)", f"{link.text()}'s reports", here, self.condition_n.get(slug), "/api/v1/conditions"
                )

    def read_conditions_list(self) -> None:
        seen: set[str] = set()
        slugs = {name: slug for slug, name in self.condition_names.items()}
        for page_number in range(1, 100):
            url = f"/conditions?page={page_number}"
            rows = table_rows(self.html(url).find("table"))[1]
            if not {r[0] for r in rows} - seen:
                return  # past the last page
            seen |= {r[0] for r in rows}
            for name, _, reports in rows:
                self.checked["conditions list counts"] += 1
                n = number(reports) if re.fullmatch(COUNT, reports) else None
                self.same(url, f"{name}'s reports", n, self.condition_n.get(slugs.get(name)), "/api/v1/conditions")

    def read_condition(self, slug: str, query: str = "") -> list[str]:
        """A condition page and its API list (with filters when query is given); its ranked treatments."""
        q = f"?{query}" if query else ""
        where = f"/api/v1/conditions/{slug}/treatments{q}"
        api = self.json(where)
        self.min_n = api["min_n"]
        shown = {t["slug"]: t for t in api["treatments"] if not t["suppressed"]}
        total = sum(t["n"] for t in shown.values())
        self.same(where, "n", api["n"] or 0, total, "the sum of its shown treatments")
        if query:
            self.at_most(where, "the people matching the filters", api["n"] or 0, "everyone", self.condition_n[slug])
        else:
            self.same(where, "n", api["n"], self.condition_n[slug], "/api/v1/conditions")
        for t in shown.values():
            self.unit_json(f"{where} {t['slug']}", t, detail=False)
            if query:
                self.at_most(
                    where,
                    f"{t['slug']}'s people matching the filters",
                    t["n"],
                    "everyone",
                    self.unit_n.get((slug, t["slug"])),
                )
            else:
                self.unit_n[(slug, t["slug"])] = t["n"]

        url = f"/conditions/{slug}{q}"
        page = self.html(url)
        summary = page.find("section", cls="summary")
        if summary is None:
            if shown:
                self.problem(url, f"no summary, while {where} shows {len(shown)} treatments")
            return []
        self.checked["condition pages"] += 1
        match = read(COUNT + r" (?:people|person) reported on (\d+) treatments?", summary.text(), url)
        n, k = number(match.group(1)), int(match.group(2))
        self.same(url, "the people reported", n, api["n"], where)
        actions = read(COUNT + r" experiences? reported", page.find("p", cls="actions").text(), url)
        self.same(url, '"experiences reported"', number(actions.group(1)), n, "its summary")
        rows: dict[str, int] = {}
        improved_in: dict[str, tuple[int, int, int]] = {}  # treatment -> its table's improved percent and interval
        for tr in page.find("table", cls="ranking").find("tbody").find_all("tr"):
            cells = [c.text() for c in tr.children if isinstance(c, Node) and c.tag in ("td", "th")]
            if len(cells) < 7:
                continue  # too few reports to show
            treatment = slug_after(tr.find("a").attrs["href"], "/treatments/")
            name = tr.find("a").text()
            rows[treatment] = number(cells[1])
            self.same(url, f"{name}'s reports", rows[treatment], shown.get(treatment, {}).get("n"), where)
            improved = re.match(r"(\d+)% \((\d+)-(\d+)%\)", cells[2])
            if improved:
                improved_in[treatment] = tuple(int(x) for x in improved.groups())
            if improved and cells[3] != f"{improved.group(2)}%":
                self.problem(url, f"{name} ranked by {cells[3]}, but its interval's low end is {improved.group(2)}%")
        if sum(rows.values()) != n or len(rows) != k:
            self.problem(url, f"{n} people reported on {k} treatments, but the ranking lists {list(rows.values())}")
        for li in summary.find_all("li"):
            treatment = slug_after(li.find("a").attrs["href"], "/treatments/")
            people = number(read(COUNT + r" people", li.text(), url).group(1))
            self.same(url, f"the summary's {li.find('a').text()}", people, rows.get(treatment), "the ranking table")
            said = re.search(r"about (\d+) in (10|100) improved;([^()]*)", li.text())
            if said and treatment in improved_in:
                self.paraphrase(url, li.text(), (int(said[1]), int(said[2])), said[3], *improved_in[treatment])
        self.charts(url, page, n, {self.names[t]: count for t, count in rows.items()})
        for li in (page.find("ol", cls="doctors") or EMPTY).find_all("li"):
            doctor = int(slug_after(li.find("a").attrs["href"], "/doctors/"))
            match = read(
                r"(\d+)% rated 9 or 10 \(likely (\d+)-(\d+)%\), from "
                + COUNT
                + " ratings?|"
                + COUNT
                + " ratings? so far",
                li.text(),
                url,
            )
            self.condition_doctors.setdefault(doctor, {})[slug] = (number(match.group(4) or match.group(5)), url)
        return list(rows)

    def read_treatment(self, slug: str, treatment: str, query: str = "") -> None:
        """A treatment page and its API (with filters when query is given), and its unfiltered sections."""
        q = f"?{query}" if query else ""
        base = f"/api/v1/conditions/{slug}/treatments/{treatment}"
        api = self.json(base + q)
        unit = api["treatment"]
        everyone = self.unit_n.get((slug, treatment))  # the sections on time, dose and years are never filtered
        reported = '"people reported"' if not query else '"people reported" without the filters'
        if unit["suppressed"]:
            self.problem(base + q, "hidden, while its condition page ranks it")
            return
        n = unit["n"]
        self.unit_json(base + q, unit, detail=True)
        if query:
            self.at_most(base + q, "the people matching the filters", n, "everyone", everyone)
        else:
            self.same(base, "n", n, everyone, f"/api/v1/conditions/{slug}/treatments")
            self.curve_json(base, api["time_on_treatment"], everyone)
            self.slices_json(base, treatment, everyone)

        url = f"/conditions/{slug}/treatments/{treatment}{q}"
        page = self.html(url)
        self.checked["treatment pages"] += 1
        people = read(COUNT + r" (?:people|person) reported", page.find("section", cls="summary").text(), url)
        page_n = number(people.group(1))
        self.same(url, '"people reported"', page_n, n, base + q)
        self.charts(url, page, page_n)
        staying = page.find("details", id="staying-on-it")
        if staying is not None:
            start = read(r"with a start month \(" + COUNT + r" (?:people|person)\)", staying.text(), url)
            self.at_most(
                url, '"Staying on it": the people with a start month', number(start.group(1)), reported, everyone
            )
        dose = page.find("details", id="dose")
        if dose is not None:
            text = dose.text()
            parts = [number(x) for x in re.findall(COUNT + r" reports\.", text)]
            for label in ("Without a dose", "In other units or schedules"):
                match = re.search(label + r": " + COUNT + r"\.", text)
                parts += [number(match.group(1))] if match else []
            self.at_most(
                url, f'"By dose": the bands, without a dose and in other units {parts}', sum(parts), reported, everyone
            )
        after = page.find("details", id="after-months")
        if after is not None:
            for cells in table_rows(after.find("table"))[1]:
                if re.fullmatch(COUNT, cells[1]):
                    self.at_most(url, f"the people after {cells[0]}", number(cells[1]), reported, everyone)

    def read_compare(self, slug: str, treatments: list[str]) -> None:
        url = f"/conditions/{slug}/compare?" + "&".join(f"t={t}" for t in treatments)
        page = self.html(url)
        reported = {self.names[t]: self.unit_n[(slug, t)] for t in treatments}
        for section in page.find_all("section", cls="chart"):
            head, rows = table_rows(section.find("table"))
            where = f"{url} chart {section.find('h3').text()!r}"
            if "Reports" in head:
                for r in rows:
                    self.same(
                        where,
                        f"{r[0]}'s reports",
                        number(r[head.index("Reports")]),
                        reported.get(r[0]),
                        "its treatment page",
                    )
                continue
            for column, label in enumerate(head[1:], start=1):
                match = re.fullmatch(r"(.*) \(" + COUNT + r" (?:people|person)\)", label)
                if not match:
                    continue
                self.checked["compare columns"] += 1
                name, m = match.group(1), number(match.group(2))
                self.at_most(
                    where, f"{name}'s people who answered", m, "the people who reported it", reported.get(name)
                )
                counts = [number(read(COUNT + r" (?:people|person)", r[column], where).group(1)) for r in rows]
                if sum(counts) != m:
                    self.problem(where, f"{name}: the answers add up to {sum(counts)} people, not n={m}")

    def read_drug(self, treatment: str) -> None:
        api_url = f"/api/v1/treatments/{treatment}"
        api = self.json(api_url)
        shown = [
            (c["condition"]["slug"], c["treatment"]) for c in api["conditions"] if not c["treatment"]["suppressed"]
        ]
        total = sum(u["n"] for _, u in shown)
        self.same(api_url, "n", api["n"] or 0, total, "the sum of its conditions")
        for slug, unit in shown:
            self.unit_json(f"{api_url} for {slug}", unit, detail=True)
            self.same(
                f"{api_url} for {slug}",
                "n",
                unit["n"],
                self.unit_n.get((slug, treatment)),
                f"/api/v1/conditions/{slug}/treatments",
            )
        for term in api["side_effects"]:
            self.at_most(api_url, f"side effect {term['term']!r}'s count", term["n"], "n", total)
        for curve in api["time_on_treatment"]:
            slug = curve["condition"]["slug"]
            self.curve_json(f"{api_url} time on treatment for {slug}", curve, self.unit_n.get((slug, treatment)))

        url = f"/treatments/{treatment}"
        page = self.html(url)
        lead = page.find("p", cls="lead")
        if lead is None:
            if shown:
                self.problem(url, f"no total, while {api_url} shows {len(shown)} conditions")
            return
        self.checked["drug pages"] += 1
        match = read(r"Reported by " + COUNT + r" people for (\d+) conditions?", lead.text(), url)
        n, k = number(match.group(1)), int(match.group(2))
        self.same(url, '"reported by"', n, api["n"], api_url)
        parts = []
        for section in page.find_all("section", cls="use"):
            slug = section.attrs["id"].removeprefix("for-")
            people = number(read(COUNT + r" (?:people|person) reported", section.text(), url).group(1))
            parts.append(people)
            self.same(
                url,
                f"the {slug} section's people reported",
                people,
                self.unit_n.get((slug, treatment)),
                f"/conditions/{slug}/treatments/{treatment}",
            )
        if sum(parts) != n or len(parts) != k:
            self.problem(url, f"reported by {n} people for {k} conditions, but its sections show {parts}")
        effects = page.find("section", id="side-effects")
        if effects is not None:
            base = number(read(r"Share of all " + COUNT + r" people", effects.text(), url).group(1))
            self.same(url, "the side effects' people who reported", base, n, "its total")
            listed = int(read(r"reported at least (\d+) times are listed", effects.text(), url).group(1))
            for li in effects.find_all("li"):
                term = li.find("span").text()
                count = number(read(r"\(" + COUNT + r" (?:people|person)\)", li.text(), url).group(1))
                self.at_most(url, f"side effect {term!r}'s count", count, "the people who reported", base)
                if count < listed:
                    self.problem(url, f"side effect {term!r} listed with {count} people, under {listed}")

    def read_doctors_list(self) -> list[int]:
        ids: dict[int, None] = {}
        for page_number in range(1, 100):
            url = f"/doctors?page={page_number}"
            table = self.html(url).find("table")
            trs = (table.find("tbody") or EMPTY).find_all("tr") if table else []
            listed = [int(slug_after(tr.find("a").attrs["href"], "/doctors/")) for tr in trs]
            if not set(listed) - set(ids):
                break  # past the last page (a number past the end shows the last page again)
            for doctor, tr in zip(listed, trs):
                ids[doctor] = None
                cells = {td.attrs.get("data-label"): td.text() for td in tr.find_all("td")}
                if cells.get("Ratings"):
                    self.doctor_list[doctor] = (number(cells["Ratings"]), cells["Average (0-10)"], url)
        for d in self.json("/api/v1/doctors?limit=100")["doctors"]:
            self.doctor_json(f"/api/v1/doctors (doctor {d['id']})", d, "overall")
            if not d.get("suppressed"):
                self.doctor_api_list[d["id"]] = d
        return list(ids)

    def comments(self, doctor: int, first: Node) -> int:
        """How many comments a doctor's pages list (each is one rating's), following the pages of ten."""
        texts: list[str] = []
        page, number_ = first, 1
        while True:
            found = [li.text() for li in (page.find("ul", cls="tips") or EMPTY).find_all("li")]
            if not found or found[0] in texts:
                break  # past the last page
            texts += found
            if len(found) < COMMENTS_PER_PAGE:
                break
            number_ += 1
            page = self.html(f"/doctors/{doctor}?page={number_}")
        self.checked["doctor comments"] += len(texts)
        return len(texts)

    def read_doctor(self, doctor: int) -> None:
        url = f"/doctors/{doctor}"
        page = self.html(url)
        tables = page.find_all("table")
        rows: dict[str, tuple[int, float]] = {}  # per condition, with "Other conditions" when shown
        n = None
        if tables and "Ratings" in tables[0].text():
            self.checked["doctor pages"] += 1
            overall = {cells[0]: cells[1] for cells in table_rows(tables[0])[1]}
            n, mean = number(overall["Ratings"]), overall["Average rating (0 to 10)"]
            self.group_size(url, "the doctor", n)
            recommend = [number(cells[1]) for cells in table_rows(tables[1])[1]]
            if sum(recommend) > n:
                self.problem(
                    url, f'"would recommend" counts {recommend} add up to {sum(recommend)}, above the {n} ratings'
                )
            if doctor in self.doctor_list:
                listed_n, listed_mean, listed_url = self.doctor_list[doctor]
                self.same(url, "the ratings", n, listed_n, listed_url)
                self.same(url, "the mean overall rating", mean, listed_mean, listed_url)
            for table in tables[2:]:
                head, body = table_rows(table)
                if "Average (0-10)" in head:
                    at_n, at_mean = head.index("Ratings"), head.index("Average (0-10)")
                    for cells in body:
                        rows[cells[0]] = (number(cells[at_n]), float(cells[at_mean]))
            if rows:
                self.checked["doctor rows"] += len(rows)
                self.checked["doctor 'Other conditions' rows"] += "Other conditions" in rows
                means = [m for _, m in rows.values()]
                if not min(means) <= float(mean) <= max(means):
                    shown = ", ".join(f"{name} {m}" for name, (_, m) in rows.items())
                    self.problem(
                        url, f"mean overall rating {mean} outside its rows' means {min(means)}-{max(means)} ({shown})"
                    )
                self.same(url, "the ratings overall", n, sum(r for r, _ in rows.values()), "the sum of its rows")
                for name, (count, _) in rows.items():
                    self.group_size(url, f"the row {name!r}", count)
            elif n:
                self.problem(url, f"{n} ratings overall, but no row per condition")

        comments = self.comments(doctor, page)
        if n is not None and comments > n:
            self.problem(url, f"{comments} comments listed (one per rating), above the {n} ratings shown")

        api_url = f"/api/v1/doctors/{doctor}"
        api = self.json(api_url)
        o = api["overall"]
        self.doctor_json(api_url, o, "overall")
        shown = [c for c in api["conditions"] if not c.get("suppressed")]
        for c in shown:
            self.doctor_json(api_url, c, c["slug"])
            self.same(api_url, f"{c['name']}'s ratings", c["n"], rows.get(c["name"], (None,))[0], url)
        other = api.get("other_conditions")
        if other:
            self.doctor_json(api_url, other, "other conditions")
            self.same(
                api_url, "the 'Other conditions' ratings", other["n"], rows.get("Other conditions", (None,))[0], url
            )
            shown = [*shown, other]
        if not o.get("suppressed"):
            self.same(api_url, "the ratings overall", o["n"], n, url)
            parts = sum(c["n"] for c in shown)
            if parts != o["n"]:
                self.problem(
                    api_url,
                    f'{o["n"]} ratings overall, but its conditions add up to {parts} (no "Other conditions" in the JSON)',
                )
            means = [c["overall_mean"] for c in shown]
            if means and not min(means) <= o["overall_mean"] <= max(means):
                self.problem(
                    api_url, f"overall mean {o['overall_mean']} outside its conditions' means {min(means)}-{max(means)}"
                )
            if doctor in self.doctor_api_list:
                listed = self.doctor_api_list[doctor]
                self.same(api_url, "the ratings overall", o["n"], listed["n"], "/api/v1/doctors")
                self.same(
                    api_url, "the mean overall rating", o["overall_mean"], listed["overall_mean"], "/api/v1/doctors"
                )
        for slug, (count, where) in self.condition_doctors.get(doctor, {}).items():
            name = self.condition_names[slug]
            self.same(where, f"doctor {doctor}'s ratings for {name}", count, rows.get(name, (None,))[0], url)


@pytest.fixture
def demo(app, base_config):
    """A demo community in perturb mode, released before every read; the `app` fixture empties the tables after."""
    from registry.catalog.catalog import load_starter_catalog
    from registry.demo import seed as demo_module

    perturbed = create_app({**base_config, "DISCLOSURE": "perturb", "RELEASE": "auto", "RELEASE_BUDGET": 0})
    with perturbed.app_context():
        load_starter_catalog()
        db.session.commit()
        demo_module.seed_demo(EXPERIENCES, seed=SEED, until=date.today(), doctor_ratings=DOCTOR_RATINGS)
        db.session.commit()
    yield perturbed
    with perturbed.app_context():
        db.session.remove()
        db.engine.dispose()


def test_every_page_of_the_demo_agrees_with_itself(demo):
    """Issue 24's "Done when": every page of the demo passes the consistency rules, in perturb mode."""
    from registry.models import Treatment

    with demo.app_context():
        catalog = {
            slug: (name, kind)
            for slug, name, kind in db.session.execute(db.select(Treatment.slug, Treatment.name, Treatment.kind))
        }
    reader = Reader(demo.test_client(), catalog)
    listed = reader.json("/api/v1/conditions")["conditions"]
    reader.condition_n = {c["slug"]: c["n"] for c in listed}
    reader.condition_names = {c["slug"]: c["name"] for c in listed}
    shown = [slug for slug, n in reader.condition_n.items() if n]

    for slug in reader.condition_n:  # hidden ones too: the page must not show what the API hides
        reader.shown_units[slug] = reader.read_condition(slug)
    reader.read_home()
    reader.read_conditions_list()
    units = [(slug, t) for slug in shown for t in reader.shown_units[slug]]
    for slug, treatment in units:
        reader.read_treatment(slug, treatment)
    for slug in sorted(shown, key=lambda s: -reader.condition_n[s])[:FILTERED_CONDITIONS]:
        for query in FILTERS:
            for treatment in reader.read_condition(slug, query)[:FILTERED_TREATMENTS]:
                reader.read_treatment(slug, treatment, query)
    for slug in sorted(shown, key=lambda s: -len(reader.shown_units[s]))[:COMPARED_CONDITIONS]:
        reader.read_compare(slug, reader.shown_units[slug][:4])
    for treatment in sorted({t for _, t in units}):
        reader.read_drug(treatment)
    for doctor in reader.read_doctors_list():
        reader.read_doctor(doctor)

    # The reader saw what it should have, so that a page whose wording changed cannot pass unread.
    assert len(shown) >= 10 and len(units) >= 30, (len(shown), len(units))
    for what, least in {
        "condition pages": 10,
        "treatment pages": 30,
        "charts of people who answered": 100,
        "charts of people who reported": 30,
        "compare columns": 8,
        "drug pages": 20,
        "time curves": 20,
        "dose sections": 5,
        "doctor pages": 5,
        "doctor rows": 5,
        "home page counts": 5,
        "conditions list counts": 50,
        "figures in words": 100,
    }.items():
        assert reader.checked[what] >= least, f"read only {reader.checked[what]} {what}: {dict(reader.checked)}"
    assert not reader.problems, (
        f"{len(reader.problems)} contradictions on {reader.pages:,} pages of the perturbed demo "
        f"(read: {dict(reader.checked)}):\n" + "\n".join(reader.problems)
    )


class _Canned:
    """A client answering from canned pages, for the reader's own test."""

    def __init__(self, pages: dict):
        self.pages = pages

    def get(self, url: str):
        body = self.pages[url]

        class Response:
            status_code = 200
            text = body if isinstance(body, str) else ""

            @staticmethod
            def get_json():
                return body

        return Response


def test_the_reader_catches_what_readers_saw():
    """The contradictions of issue 25 point 1, on pages shaped like ours, are each caught (the reader is not blind)."""
    treatment_page = """<main><section class="summary"><dl><div><dt>People</dt><dd><strong>337</strong> people reported</dd></div>
      <div><dt>Improved</dt><dd>About 6 in 10 (55%; 95% interval 61-70%)</dd></div></dl></section>
      <section class="chart"><h3>How well it worked</h3><p class="muted">Share of the 344 people who answered this question, with 95% interval.</p>
        <table><thead><tr><th>Answer</th><th>People</th><th>Share</th><th>Likely range</th></tr></thead>
        <tbody><tr><td>Moderate</td><td>200</td><td>58%</td><td>52%-63%</td></tr><tr><td>Major</td><td>144</td><td>42%</td><td>36%-47%</td></tr></tbody></table></section>
      <section class="chart"><h3>Why people stopped</h3><p class="muted">Share of all 337 people who reported, with 95% interval.</p>
        <table><thead><tr><th>Answer</th><th>People</th><th>Share</th><th>Likely range</th></tr></thead>
        <tbody><tr><td>Coverage denied</td><td>340</td><td>100%</td><td>99%-100%</td></tr></tbody></table></section></main>"""
    doctor_page = """<main><table class="list scores"><tbody><tr><th>Ratings</th><td>146</td></tr>
        <tr><th>Average rating (0 to 10)</th><td>9.01</td></tr></tbody></table>
      <table class="list scores"><tbody><tr><th>Definitely no</th><td>10</td></tr><tr><th>Probably no</th><td>20</td></tr>
        <tr><th>Probably yes</th><td>60</td></tr><tr><th>Definitely yes</th><td>61</td></tr></tbody></table>
      <table class="list"><thead><tr><th>Condition</th><th>Ratings</th><th>Average (0-10)</th></tr></thead>
        <tbody><tr><td>Migraine</td><td>100</td><td>8.52</td></tr><tr><td>Other conditions</td><td>46</td><td>5.42</td></tr></tbody></table></main>"""
    doctor_api = {"overall": {"suppressed": True}, "conditions": []}
    reader = Reader(_Canned({"/doctors/1": doctor_page, "/api/v1/doctors/1": doctor_api}), {})
    reader.min_n = 5
    page = parse(treatment_page)
    reader.intervals("/t", page)
    reader.charts("/t", page, 337)
    reader.read_doctor(1)
    caught = "\n".join(reader.problems)
    for sign in (
        '"55%; 95% interval 61-70%"',  # a share outside its interval
        '"Share of the 344 people who answered" above "337 people reported"',
        "Coverage denied's count (340) above the people who reported (337)",
        "mean overall rating 9.01 outside its rows' means 5.42-8.52",
        '"would recommend" counts [10, 20, 60, 61] add up to 151, above the 146 ratings',
    ):
        assert sign in caught, f"not caught: {sign}\n{caught}"


def test_the_reader_catches_words_that_do_not_say_their_numbers():
    """Issue 25 points 1 and 2: two roundings of one percent, words wider than their interval, words for a
    range that says nothing, and a small count beside the promise that none is shown."""
    first = (
        """<main><dl><dd>About 6 in 10 improved; likely between 5 and 6 in 10 (55%, likely 49-61%)</dd></dl></main>"""
    )
    second = """<main><dl><dd>About 5 in 10 improved; likely between 4 and 7 in 10 (55%; 95% interval 49-61%)</dd>
      <dd>About 0 in 100 improved; too few reports to say how likely (0%; 95% interval 0-100%)</dd></dl>
      <section class="chart"><h3>Insurance</h3><table><thead><tr><th>Answer</th><th>People</th></tr></thead>
        <tbody><tr><td>Covered</td><td>40</td></tr><tr><td>Coverage denied</td><td>1</td></tr></tbody></table></section>
      <p>Numbers are shown only for groups (a treatment, a year) of at least 5 reports.</p></main>"""
    reader = Reader(_Canned({"/a": first, "/b": second}), {})
    reader.min_n = 5
    assert reader.html("/a") and not reader.problems, reader.problems
    reader.html("/b")
    caught = "\n".join(reader.problems)
    for sign in (
        '55% reads "about 6 in 10" by the one rule',
        '55% reads "about 5 in 10" here, "about 6 in 10" on /a',
        '"likely between 4 and 7 in 10" does not round 49-61% to 5-6 in 10',
        "a figure in words for a range too wide to tell anything (0-100%)",
        '"Coverage denied 1" beside "Numbers are shown only for groups (a treatment, a year) of at least 5"',
    ):
        assert sign in caught, f"not caught: {sign}\n{caught}"
