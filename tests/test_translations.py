"""Every word of the registry is translated, and stays so (issue 30).

- Each shipped catalog (registry/translations/<lang>) holds every message a fresh extraction of the
  source finds, each translated, none fuzzy, with the same placeholders (pybabel's own checks).
- A pseudo-locale built from that extraction (every letter accented, every message a third longer)
  is rendered over every page kind, signed out and in, forms with their errors, charts included: any
  plain English word left on a page escaped gettext. Catalog names, doctors, pseudonyms and people's
  own texts are data and stay as written.
- In Spanish, the form's error messages and a page's words are Spanish.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "registry" / "translations"
PSEUDO = "eo"  # a real locale (Babel knows its plural rule and numbers) that no catalog ships
PLAIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
ACCENTED = "àƀçđéƒĝĥîĵķĺɱñöþʠŕšţûʋŵẋýžÀƁÇĐÉƑĜĤÎĴĶĹṀÑÖÞǪŔŠŢÛṼŴẊÝŽ"
TO_ACCENTED = str.maketrans(PLAIN, ACCENTED)
# What a message keeps as it is: placeholders, plotly's %{...}, tags, entities.
KEEP = re.compile(r"%\([a-z_0-9]+\)[sd]|%%|%[sd]|%\{[^}]*\}|<[^>]*>|&[#\w]+;")
# Words that are names, not English, wherever they appear.
NAMES = {"FHIR", "CSV", "JSON", "ICD", "UTC", "CM", "Parquet", "Stata", "SPSS", "DuckDB", "OpenAPI", "API", "NDJSON"}
NAMES |= {"CAHPS", "CG", "PROMIS", "LOINC", "DrugBank", "MeSH", "Frictionless", "SQLite", "PostgreSQL", "REDCap"}
NAMES |= {"Español", "English", "mg", "mcg", "ml", "IU"}


def extract(out: Path) -> Path:
    """The source's messages now, as docs/translating.md extracts them."""
    pot = out / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "lazy_gettext"]
        + ["-k", "N_", "--no-wrap", "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return pot


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory) -> dict:
    pot = extract(tmp_path_factory.mktemp("pot"))
    with pot.open("rb") as f:
        return {message.id: message for message in read_po(f) if message.id}


def shipped() -> list[Path]:
    return sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def test_spanish_is_shipped():
    assert TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po" in shipped()


@pytest.mark.parametrize("po", shipped(), ids=lambda p: p.parent.parent.name)
def test_every_message_is_translated_and_checked(po, source_messages):
    with po.open("rb") as f:
        catalog = read_po(f, locale=po.parent.parent.name)
    missing = [mid for mid in source_messages if catalog.get(mid) is None]
    untranslated = [m.id for m in catalog if m.id and not _translated(m)]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    errors = [(m.id, [str(e) for e in errs]) for m, errs in catalog.check() if errs]
    errors += [(m.id, ["placeholders differ"]) for m in catalog if m.id and _translated(m) and not same_placeholders(m)]
    assert not catalog.fuzzy, f"{po}'s header is fuzzy: compilers leave it (and its plural rule) out"
    assert not missing, f"{len(missing)} messages of the source not in {po}: {missing[:10]}"
    assert not untranslated, f"{len(untranslated)} untranslated in {po}: {untranslated[:10]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {po}: {fuzzy[:10]}"
    assert not errors, f"placeholders differ in {po}: {errors[:10]}"


def _translated(message) -> bool:
    return all(message.string) if isinstance(message.string, tuple | list) else bool(message.string)


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\{ *\w+ *\}\}")


def same_placeholders(message) -> bool:
    """A translation names the placeholders its source names (pybabel's checker lets a translation drop them all).

    A plural's forms may each leave out the count (Spanish "un reporte"), not add one the source lacks.
    """
    ids = [message.id] if isinstance(message.id, str) else list(message.id)
    strings = [message.string] if isinstance(message.string, str) else list(message.string)
    wanted = set().union(*(PLACEHOLDER.findall(i) for i in ids))
    if len(ids) == 1:
        return set(PLACEHOLDER.findall(strings[0])) == wanted
    return all(set(PLACEHOLDER.findall(s)) <= wanted for s in strings) and set().union(
        *(PLACEHOLDER.findall(s) for s in strings)
    ) >= wanted - {"%(num)s", "%(num)d"}


def test_placeholders_are_checked():
    from babel.messages.catalog import Message

    assert not same_placeholders(Message("%(n)s people reported", "reportaron"))
    assert not same_placeholders(Message("Hello %(name)s", "Hola %(nombre)s"))
    assert same_placeholders(Message("%(n)s people reported", "%(n)s personas reportaron"))
    assert same_placeholders(Message(("%(num)s report", "%(num)s reports"), ("un reporte", "%(num)s reportes")))


# --- the pseudo-locale ----------------------------------------------------------------------------


def pseudo(text: str) -> str:
    """Accented and a third longer, placeholders and markup untouched: 'Log in' -> 'Ĺöĝ îñ ··'."""
    parts, last = [], 0
    for keep in KEEP.finditer(text):
        parts.append(text[last : keep.start()].translate(TO_ACCENTED))
        parts.append(keep.group())
        last = keep.end()
    parts.append(text[last:].translate(TO_ACCENTED))
    letters = sum(c.isalpha() for c in text)
    return "".join(parts) + (" " + "·" * max(1, letters // 3) if letters else "")


@pytest.fixture(scope="module")
def pseudo_dir(tmp_path_factory) -> Path:
    """A compiled pseudo-locale catalog of the source's messages, in a translations directory of its own."""
    from babel.messages.catalog import Catalog

    root = tmp_path_factory.mktemp("pseudo")
    with extract(root).open("rb") as f:
        template = read_po(f)
    catalog = Catalog(locale=PSEUDO)
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            string = tuple(pseudo(message.id[i]) for i in (0, 1))
        else:
            string = pseudo(message.id)
        catalog.add(message.id, string, flags=message.flags)
    target = root / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as f:
        write_mo(f, catalog)
    return root


def test_pseudo_keeps_placeholders_and_markup():
    assert pseudo("%(n)s people").startswith("%(n)s þéöþĺé")
    assert pseudo('Read <a href="/about">how</a> 100%%').startswith('Ŕéàđ <a href="/about">ĥöŵ</a> 100%%')


class Visible(HTMLParser):
    """A page's visible words: text outside scripts and styles, the attributes people see or hear, chart texts.

    Text a page marks as English on purpose (lang="en": the codebook's descriptions of the English export
    files) is left out; a run of text is read whole, entities and all.
    """

    ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "data-label")
    SKIPPED = ("script", "style", "code", "pre")

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self._skip: list[str] = []  # the open elements whose text is skipped
        self._run = False  # the last text piece is still open (an entity splits a run)

    def handle_starttag(self, tag, attrs):
        self._run = False
        attrs = dict(attrs)
        if tag in self.SKIPPED or attrs.get("lang") == "en" or self._skip:
            if tag not in VOID:
                self._skip.append(tag)
            if self._skip:
                return
        self.texts += [attrs[a] for a in self.ATTRIBUTES if attrs.get(a)]
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.texts.append(attrs["value"])
        if attrs.get("data-figure"):
            self.texts += chart_texts(json.loads(attrs["data-figure"]))

    def handle_endtag(self, tag):
        self._run = False
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data):
        if self._skip:
            return
        if self._run:
            self.texts[-1] += data
        elif data.strip():
            self.texts.append(data)
            self._run = True


def chart_texts(figure) -> list[str]:
    """The words a chart shows: titles, axis titles, legend names, annotations and hover text; not its data."""
    found = []

    def walk(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            if key in ("text", "hovertext", "ticktext") or key == "annotations":
                for v in value:
                    walk(v, key)
        elif isinstance(value, str) and key in ("text", "name", "hovertemplate", "hovertext", "ticktext", "title"):
            found.append(re.sub(r"%\{[^}]*\}|<[^>]*>", " ", value))

    walk(figure)
    return found


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
WORD = re.compile(r"(?<![\w@./-])[A-Za-z]{2,}(?![\w@/-])")


class Reader:
    """Reads pages in the pseudo-locale and keeps every English word found, with its page and context."""

    def __init__(self, client, data: list[str], wtforms: set[str]):
        self.client = client
        self.data = sorted((d for d in data if d), key=len, reverse=True)
        self.wtforms = wtforms
        self.found: dict[str, list[str]] = {}
        self.pages = 0

    def get(self, path: str, **kwargs):
        return self.read(path, self.client.get(path, **kwargs))

    def post(self, path: str, data: dict):
        return self.read(path + " (POST)", self.client.post(path, data=data))

    def read(self, where: str, response):
        assert response.status_code < 500, (where, response.status_code)
        if "text/html" not in response.content_type or 300 <= response.status_code < 400:
            return response
        self.pages += 1
        parser = Visible()
        parser.feed(response.get_data(as_text=True))
        for text in parser.texts:
            for english in self.english(text):
                self.found.setdefault(where, []).append(english)
        return response

    def english(self, text: str) -> list[str]:
        """The text, shortened, when a plain English word is left in it once data and WTForms' messages are out."""
        for message in self.wtforms:  # WTForms' own messages come from its catalogs, which have no pseudo-locale
            text = text.replace(message, " ")
        for name in self.data:
            if name in text:  # a whole name only: "SH" (a country code) is not taken out of "MeSH"
                text = re.sub(r"(?<!\w)" + re.escape(name) + r"(?!\w)", " ", text)
        words = [m for m in WORD.finditer(text) if m.group() not in NAMES]
        return [" ".join(text[words[0].start() :].split())[:60]] if words else []


def _wtforms_messages() -> set[str]:
    """WTForms' own messages (each up to its first placeholder): Flask-WTF takes them from WTForms' catalogs."""
    import wtforms

    pot = Path(wtforms.__file__).parent / "locale" / "wtforms.pot"
    with pot.open("rb") as f:
        ids = [m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id]
    heads = {re.split(r"%\(|%s", i)[0].strip() for i in ids}
    return {head for head in heads if len(head) > 8}


def _data_strings(session) -> list[str]:
    """Names and people's own words: what stays as written in every language."""
    from sqlalchemy import text

    queries = [
        "SELECT name FROM condition",
        "SELECT name FROM treatment",
        "SELECT name FROM condition_synonym",
        "SELECT name FROM treatment_synonym",
        "SELECT name FROM doctor",
        "SELECT specialty FROM doctor",
        "SELECT city FROM doctor",
        'SELECT pseudonym FROM "user"',
        "SELECT tips FROM experience WHERE tips IS NOT NULL",
        "SELECT comment FROM doctor_rating WHERE comment IS NOT NULL",
        "SELECT term FROM experience_side_effect",
        "SELECT icd10 FROM condition WHERE icd10 IS NOT NULL",
    ]
    found = [row[0] for query in queries for row in session.execute(text(query))]
    return [f for f in found if f] + _locale_names(PSEUDO)


def _locale_names(code: str) -> list[str]:
    """Babel's own words for a locale (month and country names): the locale's, not English left behind."""
    from babel import Locale

    locale = Locale.parse(code)
    names = list(locale.territories.values()) + list(locale.territories)  # names, and the codes doctors show
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            names += list(locale.months[context][width].values())
            names += [name.capitalize() for name in locale.months[context][width].values()]
    return names


@pytest.fixture
def community(app, base_config, pseudo_dir):
    """A small demo community on an app that also offers the pseudo-locale; the `app` fixture empties it after."""
    from registry.app import create_app
    from registry.catalog.catalog import load_starter_catalog
    from registry.demo import seed as demo_module
    from registry.models import Experience, User
    from registry.platform.extensions import db

    site = create_app({**base_config, "EXTRA_TRANSLATIONS": [str(pseudo_dir)]})
    with site.app_context():
        load_starter_catalog()
        db.session.commit()
        demo_module.seed_demo(600, seed=3, until=date.today(), doctor_ratings=120)
        patient = db.session.get(User, db.session.scalar(db.select(Experience.user_id).limit(1)))
        patient.email, patient.email_confirmed_at = "patient@example.org", patient.created_at
        patient.set_password(PASSWORD)
        for role in ("moderator", "admin"):
            staff = User(email=f"{role}@example.org", pseudonym=role, pseudonym_key=role, account_role=role)
            staff.set_password(PASSWORD)
            staff.session_token = role
            db.session.add(staff)
        db.session.commit()
        site.extensions["test_data"] = _data_strings(db.session)
        site.extensions["test_own"] = db.session.scalar(
            db.select(Experience.id).where(Experience.user_id == patient.id)
        )
    yield site
    with site.app_context():
        db.session.remove()
        db.engine.dispose()


PASSWORD = "correct horse battery"


def _links(html: str, pattern: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r'href="(' + pattern + r')"', html)))


def test_no_english_escapes_gettext_on_any_page_kind(community):
    """The pseudo-locale over every page kind: signed out, as a patient, moderator and admin, forms with errors."""
    client = community.test_client()
    client.set_cookie("lang", PSEUDO)
    languages = [name for _, name in community.extensions["languages"]]  # each named in its own language
    reader = Reader(client, community.extensions["test_data"] + languages, _wtforms_messages())

    home = reader.get("/").get_data(as_text=True)
    assert f'<html lang="{PSEUDO}">' in home
    for path in ("/about", "/conditions", "/treatments", "/doctors", "/research", "/research/codebook"):
        reader.get(path)
    condition = _links(home, r"/conditions/[a-z0-9-]+")[0]  # "Most reported conditions", largest first
    page = reader.get(condition).get_data(as_text=True)
    treatments = _links(page, condition + r"/treatments/[a-z0-9-]+")
    assert treatments, f"no shown treatment on {condition}"
    reader.get(treatments[0])
    reader.get(treatments[0] + "?role=patient")
    reader.get(condition + "/compare?" + "&".join("t=" + t.rsplit("/", 1)[1] for t in treatments[:3]))
    reader.get(condition + "/side-effects")
    reader.get(condition + "/side-effects?term=nausea")
    drug = treatments[0].rsplit("/", 1)[1]
    reader.get(f"/treatments/{drug}")
    name = re.search(r'<a href="' + re.escape(treatments[0]) + r'"[^>]*>([^<]+)</a>', page)
    reader.data.append(drug)  # the query, echoed back
    reader.get("/search?q=" + drug)
    reader.get("/search?q=zzzz-nothing")
    doctors = _links(reader.get("/doctors").get_data(as_text=True), r"/doctors/\d+")
    reader.get(doctors[0])
    for path in ("/login", "/register", "/password/forgot", "/no-such-page", "/conditions/no-such-condition"):
        reader.get(path)
    reader.post("/register", {"email": "not an address", "password": "short", "pseudonym": ""})
    reader.post("/login", {"email": "patient@example.org", "password": "wrong password"})

    reader.post("/login", {"email": "patient@example.org", "password": PASSWORD})
    own = community.extensions["test_own"]
    for path in (
        "/experiences",
        "/experiences/new",
        f"/experiences/{own}/edit",
        f"/experiences/{own}/update",
        f"/experiences/{own}/delete",
        "/ratings/new?doctor=" + doctors[0].rsplit("/", 1)[1],
        "/whats-new",
        "/account",
        "/account/data",
        "/account/delete",
        "/account/email",
        "/account/password",
        "/conditions/new",
        "/treatments/new",
        "/doctors/new",
        "/",
    ):
        reader.get(path)
    reader.post("/experiences/new", {"condition": condition.rsplit("/", 1)[1], "start_month": "13/2020"})
    reader.post(f"/experiences/{own}/update", {"still_using": "yes", "stopped_month": "2020-01"})
    reader.post("/ratings/new?doctor=" + doctors[0].rsplit("/", 1)[1], {"overall": "11"})
    reader.get(condition)  # signed in: follow buttons, people like me
    client.post("/logout")

    for role, paths in {
        "moderator": ("/moderation", "/admin/audit"),
        "admin": ("/research/exports", "/admin/audit"),
    }.items():
        reader.post("/login", {"email": f"{role}@example.org", "password": PASSWORD})
        for path in paths:
            reader.get(path)
        client.post("/logout")

    assert reader.pages >= 45, reader.pages
    assert name, "the condition page names its treatments"
    found = {where: words for where, words in reader.found.items() if words}
    listing = "\n".join(f"{where}: {words[:8]}" for where, words in found.items())
    total = sum(len(words) for words in found.values())
    assert not found, f"{total} English texts escaped gettext on {len(found)} of {reader.pages} pages:\n{listing}"
