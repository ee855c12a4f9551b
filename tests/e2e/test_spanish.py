"""Issue 30's journey in Spanish on a phone: a Spanish browser registers, searches, reads a treatment
page and shares an experience with a mistake and its fix. Every page is Spanish (its words looked up in
the shipped catalog, so a changed translation changes the test with it), and nothing runs off the screen
with the longer words.
"""

from __future__ import annotations

import re

import pytest
from babel.support import Translations
from playwright.sync_api import expect

from registry.platform.i18n import TRANSLATIONS

PASSWORD = "e2e correct horse battery"  # tests/e2e/conftest.py's
es = Translations.load(str(TRANSLATIONS), ["es"]).gettext


@pytest.fixture
def browser_context_args(browser_context_args):
    """A browser that asks for Spanish (Accept-Language: es-ES) and says so to scripts."""
    return {**browser_context_args, "locale": "es-ES"}


@pytest.fixture
def phone(viewport):
    if viewport != "phone":
        pytest.skip("the Spanish journey is walked on a phone")


def fits(page) -> None:
    """Nothing on the page is wider than the phone: no sideways scroll with Spanish's longer words."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide"


def choose(page, group: str, option: str) -> None:
    page.get_by_role("group", name=es(group)).get_by_label(es(option), exact=True).check()


def test_a_spanish_speaker_registers_reads_and_shares_on_a_phone(ui, page, phone):
    assert es("Create my account") != "Create my account"  # the catalog is there and compiled

    ui.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("a.brand")).to_have_text(es("Treatment Experience Registry"))
    fits(page)

    # Register.
    page.get_by_role("link", name=es("Join")).first.click()
    page.get_by_label(es("Email")).fill("maria@e2e.example")
    page.get_by_label(es("Public name")).fill("maria-es")
    page.get_by_label(es("Password"), exact=True).fill(PASSWORD)
    page.get_by_label(es("Repeat password")).fill(PASSWORD)
    fits(page)
    page.get_by_role("button", name=es("Create my account")).click()
    expect(page.get_by_text(es("Welcome, %(name)s. Your account is ready.") % {"name": "maria-es"})).to_be_visible()
    with ui.server.app.app_context():
        from registry.accounts import auth

        assert auth.find_user("maria@e2e.example").locale == "es"  # her mails will be Spanish too

    # Search a brand name, then read the drug's report for a condition.
    ui.goto("/")
    search = page.get_by_role("search").first
    search.get_by_role("searchbox").fill("Ozempic")
    search.get_by_role("button", name=es("Search")).click()
    page.get_by_role("link", name="Semaglutide", exact=True).click()
    fits(page)
    ui.goto("/conditions/type-2-diabetes/treatments/semaglutide")
    summary = page.locator("section.summary")
    expect(summary).to_contain_text(re.compile(r"\d+ personas reportaron|\d+ personas"))
    expect(page.locator("main")).not_to_contain_text("people reported")
    ui.screenshot("es-treatment")
    fits(page)

    # Share an experience, with a mistake: a start month that does not exist.
    share = es("Share your experience with %(treatment)s for %(condition)s")
    page.get_by_role("link", name=share % {"treatment": "Semaglutide", "condition": "Type 2 diabetes"}).click()
    expect(page.get_by_label(es("Treatment"), exact=True)).to_have_value("semaglutide")
    choose(page, "Who is this about?", "I have this condition")
    page.get_by_label(es("Started")).fill("2022-13")
    choose(page, "How well did it work?", "Moderate")
    choose(page, "Side effects at their worst", "Mild")
    page.get_by_label(es("Nausea"), exact=True).check()
    page.get_by_role("group", name=es("Overall satisfaction")).get_by_label("8", exact=True).check()
    choose(page, "Would you recommend it to someone with the same condition?", "Yes")
    ui.screenshot("es-experience-form")
    fits(page)
    page.get_by_role("button", name=es("Share my experience")).click()

    # The mistake is named in Spanish beside its field, and nothing typed is lost.
    error = page.locator(".field.has-error p.error").first
    expect(error).to_have_text(es("Give the start month as YYYY-MM, for example 2024-03."))
    expect(page.get_by_label(es("Nausea"), exact=True)).to_be_checked()
    fits(page)
    page.get_by_label(es("Started")).fill("2022-03")
    page.get_by_role("button", name=es("Share my experience")).click()
    expect(page.locator(".flash-success")).to_contain_text("Semaglutide")
    expect(page.locator(".flash-success")).not_to_contain_text("is saved")
    fits(page)
