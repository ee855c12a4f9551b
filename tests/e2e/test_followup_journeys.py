"""A participant adds a follow-up to an experience and follows a condition, on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

PHONE_WIDTH = 390


@pytest.fixture
def phone_only(viewport):
    if viewport != "phone":
        pytest.skip("a phone-size journey")


def _experience_for(server, email: str) -> int:
    """An experience of the account, shared through the domain as the form shares it."""
    from registry.accounts import auth
    from registry.contributions import experiences
    from registry.platform.extensions import db

    with server.app.app_context():
        user = auth.find_user(email)
        condition, treatment = experiences.by_slugs("asthma", "albuterol")
        saved = experiences.save(
            user,
            condition,
            treatment,
            {
                "role": "patient",
                "started": "2024-02",
                "stopped": None,
                "effectiveness": "moderate",
                "side_effect_severity": "mild",
                "satisfaction": 6,
                "would_recommend": "yes",
                "side_effects": [],
                "stop_reasons": [],
            },
        )
        db.session.commit()
        experience_id = saved.id
        db.session.remove()
    return experience_id


def _fits_the_phone(page) -> None:
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


def test_a_participant_adds_an_update_and_follows_a_condition_on_a_phone(ui, page, live_server, phone_only):
    ui.register("followup@e2e.example", "follow-up-fan")
    experience_id = _experience_for(live_server, "followup@e2e.example")
    ui.goto("/experiences")
    page.get_by_role("link", name="Update Albuterol").click()
    expect(page.get_by_role("heading", name="How is Albuterol working now?")).to_be_visible()
    _fits_the_phone(page)
    # A mistake first: "stopped" without its month keeps the answers and says what is missing by the field.
    page.get_by_label("No, I stopped").check()
    page.get_by_label("Major", exact=True).check()
    page.get_by_role("button", name="Save the update").click()
    expect(page.locator("#stopped-error")).to_contain_text("Give the month you stopped")
    expect(page.get_by_label("Major", exact=True)).to_be_checked()
    page.get_by_label("When did you stop?").fill("2024-09")
    page.get_by_label("Side effects", exact=True).check()
    page.get_by_role("button", name="Save the update").click()
    expect(page.get_by_text("Your update on Albuterol is saved")).to_be_visible()
    ui.goto(f"/experiences/{experience_id}/update")
    history = page.locator("#history-table tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("stopped 2024-09")
    expect(history.last).to_contain_text("(first answers)")
    _fits_the_phone(page)

    ui.goto("/conditions/asthma")
    page.get_by_role("button", name="Follow Asthma").click()
    expect(page.get_by_text("You follow Asthma")).to_be_visible()
    ui.goto("/whats-new")
    expect(page.get_by_role("heading", name="Asthma")).to_be_visible()
    expect(page.get_by_text("since your last visit", exact=False).first).to_be_visible()
    _fits_the_phone(page)
