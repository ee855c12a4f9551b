"""Phone first and light: no page scrolls sideways at 390 px, a first visit to a treatment page
stays under 1.5 MB, and the experience form's treatment list follows the chosen condition."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

PHONE = {"width": 390, "height": 844}
PUBLIC = [
    "/",
    "/about",
    "/search?q=Ozempic",
    "/search?q=type+2+diabetes",
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
SIGNED_IN = {
    "moderator@e2e.example": [
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
    ],
    "researcher@e2e.example": ["/research", "/research/codebook"],
}
LIMIT = 1_500_000  # bytes transferred by a first visit to a treatment page


@pytest.fixture
def phone_only(viewport):
    if viewport != "phone":
        pytest.skip("a phone-size check")


def _width_at_390(ui, path: str) -> int:
    ui.goto(path.format(doctor=ui.server.ids["doctor"]))
    ui.page.wait_for_load_state("networkidle")  # charts drawn, scripts run
    return ui.page.evaluate("document.documentElement.scrollWidth")


def test_no_page_scrolls_sideways_on_a_phone(ui, phone_only):
    wide = {path: w for path in PUBLIC if (w := _width_at_390(ui, path)) > PHONE["width"]}
    for email, paths in SIGNED_IN.items():
        ui.login(email)
        wide |= {path: w for path in paths if (w := _width_at_390(ui, path)) > PHONE["width"]}
        ui.logout()
    assert wide == {}


def test_wide_tables_scroll_inside_their_box_with_a_cue(ui, page, phone_only):
    # The codebook's tables are a researcher's reference, wider than a phone; tables a patient reads are cards.
    ui.goto("/research/codebook")
    box = page.locator(".table-scroll").first
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")  # this one is wider than a phone
    expect(page.locator(".scroll-hint").first).to_be_visible()
    first_cell = box.locator("tbody tr td").first
    left = first_cell.bounding_box()["x"]
    box.evaluate("e => e.scrollBy(200, 0)")
    assert abs(first_cell.bounding_box()["x"] - left) < 1  # the first column stays in place


def test_a_first_visit_to_a_treatment_page_is_light(browser, live_server, phone_only):
    context = browser.new_context(viewport=PHONE)  # a new context: an empty cache
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    sizes: dict[str, int] = {}
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    page.goto(live_server("/conditions/type-2-diabetes/treatments/semaglutide"))
    page.wait_for_load_state("networkidle")
    page.evaluate("document.querySelectorAll('details').forEach(function (d) { d.open = true; })")
    expect(page.locator("[data-figure] .main-svg").first).to_be_attached()  # the charts do draw (no more bytes)
    context.close()
    assert len(sizes) >= 3 and 0 < sum(sizes.values()) < LIMIT


def test_the_treatment_list_follows_the_condition(ui, page):
    ui.login("flagger@e2e.example")
    ui.goto("/experiences/new")
    page.get_by_label("Condition", exact=True).select_option("asthma")
    usual = page.locator("#treatment optgroup").first
    expect(usual).to_have_attribute("label", "Usual for Asthma")
    names = usual.locator("option").all_inner_texts()
    assert names and "Albuterol" in names and "Metformin" not in names
    page.get_by_label("Condition", exact=True).select_option("type-2-diabetes")
    expect(page.locator("#treatment optgroup").first).to_have_attribute("label", "Usual for Type 2 diabetes")
    assert "Metformin" in page.locator("#treatment optgroup").first.locator("option").all_inner_texts()
    page.get_by_label("Treatment", exact=True).select_option("metformin")  # every treatment stays choosable
