"""Reading time on treatment on a phone (issue 19): the curve, its milestones in words, its table, one axis on compare."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

TREATMENT = "/conditions/type-2-diabetes/treatments/metformin"
COMPARE = "/conditions/type-2-diabetes/compare?t=metformin&t=semaglutide&t=tirzepatide"
DRUG = "/treatments/semaglutide"


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width} px wide"


def _axis_ticks(chart) -> list[str]:
    return chart.locator(".xtick text").all_text_contents()


@pytest.mark.parametrize("viewport", ["phone"], indirect=True)
def test_the_curve_reads_on_a_phone_in_words_chart_and_table(ui, page):
    ui.goto(TREATMENT)
    section = page.locator("details#staying-on-it")
    expect(section).not_to_have_attribute("open", "")
    page.get_by_role("link", name="Staying on it", exact=True).click()  # the page index opens the section
    expect(section.locator(".lead")).to_contain_text("half")  # the median, in words
    milestones = section.locator("ul.milestones li")
    expect(milestones).to_have_count(5)
    expect(milestones.first).to_contain_text("After 1 month:")
    chart = section.locator("section.chart").filter(has=page.locator("#chart-staying-title"))
    expect(chart.locator(".figure .main-svg").first).to_be_attached()
    assert _axis_ticks(chart) == ["1", "3", "6", "12", "24"]  # every milestone labelled, none dropped at 390 px
    box = chart.locator(".figure").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    chart.get_by_text("The numbers as a table").click()
    table = chart.locator("table")
    expect(table).to_contain_text("Still on it")
    expect(table).to_contain_text("24 or more")
    _fits(page)
    ui.screenshot("staying")


@pytest.mark.parametrize("viewport", ["phone"], indirect=True)
def test_compare_puts_the_curves_on_one_axis_on_a_phone(ui, page):
    ui.goto(COMPARE)
    chart = page.locator("section.chart").filter(has=page.locator("#chart-staying-title"))
    chart.scroll_into_view_if_needed()
    expect(chart.locator(".figure .main-svg").first).to_be_attached()
    expect(chart.locator(".legend .traces")).to_have_count(3)  # one entry per treatment, bands not listed
    assert _axis_ticks(chart) == ["1", "3", "6", "12", "24"]
    text = chart.locator("p.muted").first.inner_text()  # each treatment's median in words
    assert all(name in text for name in ("Metformin:", "Semaglutide:", "Tirzepatide:"))
    _fits(page)


def test_the_drug_page_draws_a_curve_per_condition(ui, page):
    ui.goto(DRUG)
    section = page.locator("#staying-on-it")
    expect(section.get_by_role("heading", name="Staying on it, for each condition")).to_be_visible()
    expect(section.locator(".figure .main-svg").first).to_be_attached()
    expect(section.locator(".legend .traces")).to_have_count(2)  # type 2 diabetes and obesity
    _fits(page)
