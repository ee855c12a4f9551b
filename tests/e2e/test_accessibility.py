"""Accessibility in a real browser: axe-core on the main pages, keyboard use, announced errors.

axe-core is the vendored copy in vendor/ (from the npm registry), injected as a script tag; the
context bypasses the Content-Security-Policy for that tag only (the journeys run with the policy).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

PUBLIC_PAGES = {
    # screenshot name: path
    "home": "/",
    "condition": "/conditions/type-2-diabetes",
    "treatment": "/conditions/type-2-diabetes/treatments/semaglutide",
    "drug": "/treatments/semaglutide",
    "compare": "/conditions/type-2-diabetes/compare?t=semaglutide&t=metformin",
    "doctor": None,  # the seeded doctor's page
    "search": "/search?q=Ozempic",
    "forgot-password": "/password/forgot",
    "doctors": "/doctors?condition=type-2-diabetes",
    "treatments": "/treatments",
    "not-found": None,  # a 404
}
MEMBER_PAGES = {
    "experience-form": "/experiences/new?condition=type-2-diabetes",
    "research": "/research",
    "my-experiences": "/experiences",
    "my-data": "/account/data",
    "delete-account": "/account/delete",
    "my-account": "/account",  # with the devices table and "log out everywhere"
    "change-email": "/account/email",
}


def _open(ui, path: str) -> None:
    response = ui.page.goto(ui.server(path))
    assert response is not None
    # Open every closed section (charts, tables of numbers), so that axe checks what is inside too.
    ui.page.evaluate("document.querySelectorAll('details:not([open])').forEach(d => { d.open = true; })")
    if ui.page.locator("[data-figure]").count():  # let plotly draw: axe checks the drawn charts too
        expect(ui.page.locator("[data-figure] .main-svg").first).to_be_attached()


@pytest.mark.browser_context_args(bypass_csp=True)
def test_axe_finds_no_serious_or_critical_violation(ui, live_server):
    ui.page.expected_errors = ["status of 404"]  # the deliberate 404 below
    paths = dict(PUBLIC_PAGES, doctor=f"/doctors/{live_server.ids['doctor']}", **{"not-found": "/no/such/page"})
    found = {}
    for name, path in paths.items():
        _open(ui, path)
        if name in ("treatment", "compare"):  # picture the charts, not only the page's top
            ui.page.locator("section.chart").first.scroll_into_view_if_needed()
        if name in ("home", "condition", "treatment", "compare", "doctor"):  # "drug": test_reports.py
            ui.screenshot(name)
        found[name] = ui.axe()
    ui.login("researcher@e2e.example")
    for name, path in MEMBER_PAGES.items():
        _open(ui, path)
        if name == "research":  # the journey pictures the experience form filled in
            ui.screenshot(name)
        found[name] = ui.axe()
    ui.logout()
    ui.login("moderator@e2e.example")
    _open(ui, "/moderation")
    found["moderation"] = ui.axe()
    assert not {name: v for name, v in found.items() if v}


def test_charts_come_with_their_tables(ui, page):
    """Every chart has a caption, a header row and the numbers, and a CSV download of them."""
    _open(ui, "/conditions/type-2-diabetes/treatments/semaglutide")
    charts = page.locator("section.chart")
    assert charts.count() >= 5
    for chart in charts.all():
        title = chart.get_by_role("heading", level=3).inner_text()
        table = chart.get_by_role("table", name=title)
        expect(table.locator("thead th").first).to_be_visible()
        expect(table.locator("tbody tr").first).to_be_visible()
        expect(chart.get_by_role("img", name=title, exact=False).first).to_be_attached()
        expect(chart.get_by_role("link", name="Download these numbers (CSV)")).to_have_attribute(
            "href", re.compile(r"/conditions/type-2-diabetes/treatments/semaglutide\?format=csv&chart=\w+")
        )


def test_log_in_by_keyboard_alone(ui, page):
    """Skip link, then Tab, type and Enter: no mouse needed."""
    ui.goto("/login")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    focused = []
    for _ in range(6):  # into the form: the heading is not focusable, the email field is next
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id"))
        if focused[-1] == "email":
            break
    assert focused[-1] == "email", focused
    page.keyboard.type("researcher@e2e.example")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type("e2e correct horse battery")
    page.keyboard.press("Enter")
    expect(page.get_by_text("You are logged in.")).to_be_visible()


def test_form_errors_are_announced_and_linked(ui, page):
    """A form sent incomplete says so in an alert, and each error is tied to its field."""
    ui.login("flagger@e2e.example")
    ui.goto("/experiences/new?condition=asthma")
    page.get_by_role("button", name="Share my experience").focus()
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Please correct the answers marked below.")
    treatment = page.get_by_label("Treatment", exact=True)
    expect(treatment).to_have_attribute("aria-invalid", "true")
    expect(treatment).to_have_accessible_description(
        "Brand names are listed under the generic name (Prozac under fluoxetine). Choose the treatment."
    )
    effectiveness = page.get_by_role("group", name="How well did it work?")
    described = effectiveness.get_attribute("aria-describedby") or ""
    assert "effectiveness-error" in described
    expect(page.locator("#effectiveness-error")).not_to_be_empty()
    # The answers given are kept.
    expect(page.get_by_label("Condition", exact=True)).to_have_value("asthma")
