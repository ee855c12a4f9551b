"""Report pages a patient reads on a phone: the summary first, the drug page, tips and the vote (issue 14, items 1-4)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

TREATMENT = "/conditions/type-2-diabetes/treatments/semaglutide"
DRUG = "/treatments/semaglutide"


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width} px wide"


@pytest.mark.parametrize("viewport", ["phone"], indirect=True)
def test_the_treatment_summary_is_visible_without_scrolling_on_a_phone(ui, page):
    ui.goto(TREATMENT)
    summary = page.locator("section.summary")
    expect(summary).to_be_visible()
    box = summary.bounding_box()
    assert page.evaluate("window.scrollY") == 0
    assert box["y"] + box["height"] <= page.viewport_size["height"], box  # the whole summary in the first screen
    for label in ("People", "Improved", "Satisfaction", "Severe side effects", "Would recommend", "Insurance"):
        expect(summary.get_by_text(label, exact=True)).to_be_visible()
    expect(summary).to_contain_text("in 10 improved")
    expect(summary).to_contain_text("out of 10")


@pytest.mark.parametrize("viewport", ["phone"], indirect=True)
def test_the_condition_summary_is_visible_without_scrolling_on_a_phone(ui, page):
    ui.goto("/conditions/type-2-diabetes")
    box = page.locator("section.summary").bounding_box()
    assert box["y"] + box["height"] <= page.viewport_size["height"], box


def test_sections_open_on_demand_and_draw_their_charts(ui, page):
    ui.goto(TREATMENT)
    section = page.locator("details#side-effects")
    expect(section).not_to_have_attribute("open", "")
    expect(section.locator(".figure .main-svg")).to_have_count(0)  # nothing drawn while closed
    page.get_by_role("link", name="Side effects", exact=True).click()  # the page index opens the section
    expect(section.locator(".figure .main-svg").first).to_be_attached()
    expect(section.get_by_role("link", name="Download these numbers (CSV)").first).to_be_visible()
    _no_sideways_scroll(page)


def test_the_drug_page_on_a_phone_and_a_desktop(ui, page):
    ui.goto(DRUG)
    expect(page.get_by_role("heading", level=1)).to_have_text("Semaglutide")
    for condition in ("Type 2 diabetes", "Obesity"):
        expect(page.get_by_role("heading", name=f"For {condition}")).to_be_visible()
    expect(page.locator("section.use").first).to_contain_text("in 10 improved")
    _no_sideways_scroll(page)
    ui.screenshot("drug")
    page.get_by_role("link", name="Full report and tips: Semaglutide for Obesity").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Semaglutide for Obesity")


@pytest.mark.parametrize("viewport", ["phone"], indirect=True)
def test_a_participant_marks_a_tip_as_helpful_and_takes_it_back(ui, page):
    ui.login("flagger@e2e.example")
    ui.goto(TREATMENT + "#tips")
    first = page.locator("ul.tips > li").first
    first.get_by_role("button", name="This helped me").click()
    expect(page.get_by_text("Thank you: marked as helpful.")).to_be_visible()
    button = page.locator("ul.tips").get_by_role("button", name="You said this helped you (undo)")
    expect(button).to_have_count(1)
    button.click()
    expect(page.get_by_text("Taken back.")).to_be_visible()
    page.get_by_label("Order").select_option("helpful")
    page.get_by_role("button", name="Show").click()
    assert "sort=helpful" in page.url
    expect(page.locator("ul.tips > li").first).to_be_visible()
    _no_sideways_scroll(page)
