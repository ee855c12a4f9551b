"""The ranking a patient reads on a phone (issue 25, item 4): the largest condition's first screen says the
best treatments in words, and the ranked table is one card per treatment with its score under the name."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

LARGEST = "/conditions/type-2-diabetes"  # the e2e community's largest condition (conftest.COMMUNITY)


@pytest.mark.parametrize("viewport", ["phone"], indirect=True)
def test_the_first_screen_of_the_largest_condition_ranks_in_words(ui, page):
    ui.goto(LARGEST)
    summary = page.locator("section.summary")
    box = summary.bounding_box()
    assert box["y"] + box["height"] <= page.viewport_size["height"], box  # the whole summary on the first screen
    text = summary.inner_text()
    assert "Best first, among those with enough reports to rank" in text or "None has enough reports yet" in text
    for item in summary.locator("ol.top-treatments > li").all():
        said = item.inner_text()
        assert re.search(r"about \d+ in 10+ improved; likely", said), said  # words, not a bare percent
        assert "95% interval" not in said and "n=" not in said


@pytest.mark.parametrize("viewport", ["phone"], indirect=True)
def test_the_ranked_table_is_a_card_per_treatment_with_its_score_under_the_name(ui, page):
    ui.goto(LARGEST)
    rows = page.locator("table.ranking tbody tr")
    expect(rows.first).to_be_attached()
    width = page.viewport_size["width"]
    for row in rows.all():
        name, key = row.locator("th[scope=row]"), row.locator(".key")
        name_box, key_box = name.bounding_box(), key.bounding_box()
        assert key_box["x"] + key_box["width"] <= width, (name.inner_text(), key_box)  # never off to the side
        assert key_box["y"] >= name_box["y"] + name_box["height"] - 1, (name.inner_text(), name_box, key_box)
        if row.locator("td").count() > 1:  # a shown treatment: the score's label is read before its value
            label = key.evaluate("cell => getComputedStyle(cell, '::before').content")
            assert "Improved" in label, label
    assert page.evaluate("document.documentElement.scrollWidth") <= width
