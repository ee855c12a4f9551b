"""The "By dose" and "Over the years" sections read on a phone: open, drawn, no sideways scroll."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect


@pytest.fixture
def phone(viewport):
    if viewport != "phone":
        pytest.skip("a phone-size check")


def test_dose_bands_and_years_read_on_a_phone(ui, page, phone):
    ui.goto("/conditions/type-2-diabetes/treatments/metformin")
    dose = page.locator("#dose")
    dose.locator("> summary").click()
    # 500 mg twice a day is 1,000 mg a day; 1,000 mg twice a day is 2,000 mg a day: two bands.
    expect(dose.get_by_text("under 2,000 mg a day")).to_be_visible()
    expect(dose.get_by_text("2,000 or more mg a day")).to_be_visible()
    expect(dose.locator(".figure .main-svg").first).to_be_visible()  # the chart is drawn
    expect(dose.get_by_text("How the bands are made")).to_be_visible()
    years = page.locator("#years")
    years.locator("> summary").click()
    year = datetime.now(timezone.utc).year
    expect(years.get_by_text(f"Only {year} has enough reports to show so far.")).to_be_visible()
    expect(years.locator(".figure .main-svg").first).to_be_visible()
    years.get_by_text("The numbers as a table").first.click()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for section in (dose, years):
        box = section.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
