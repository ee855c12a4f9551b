"""Forms a thumb can use on a phone (390 x 844): every answer's target is at least 44 x 44 px (its whole
label), a 1-10 scale sits on one row or two even rows, the stop fields hide while "still using" is
chosen, an error link leaves the field's label on screen, and "My experiences" shows its action
without sideways scrolling."""

from __future__ import annotations

import itertools

import pytest
from playwright.sync_api import expect

PHONE = {"width": 390, "height": 844}
MIN = 44
_accounts = itertools.count(1)

# The target of each visible control: a radio button or checkbox is its label's box (the box holds the
# input), any other control its own box. Returns those under MIN px either way.
SMALL_TARGETS = """min => {
  const small = [];
  for (const el of document.querySelectorAll('form.form input, form.form select, form.form textarea, form.form button')) {
    if (el.type === 'hidden' || !el.getClientRects().length) continue;
    const choice = el.type === 'radio' || el.type === 'checkbox';
    const target = choice ? (el.closest('label') || document.querySelector(`label[for="${el.id}"]`) || el) : el;
    const box = target.getBoundingClientRect();
    if (choice && target !== el && !target.contains(el)) {
      small.push(`${el.name}=${el.value}: label does not hold its box`);
    } else if (box.width < min - 0.5 || box.height < min - 0.5) {
      small.push(`${el.name || el.id || el.textContent.trim()}=${el.value}: ${box.width.toFixed(0)}x${box.height.toFixed(0)}`);
    }
  }
  return small;
}"""

# The options of a group, counted per row (by the top of each label).
ROWS = """name => {
  const rows = new Map();
  for (const el of document.querySelectorAll(`input[name="${name}"]`)) {
    const top = Math.round(el.closest('label').getBoundingClientRect().top);
    rows.set(top, (rows.get(top) || 0) + 1);
  }
  return [...rows.entries()].sort((a, b) => a[0] - b[0]).map(r => r[1]);
}"""


@pytest.fixture
def phone_only(viewport):
    if viewport != "phone":
        pytest.skip("a phone-size check")


@pytest.fixture
def member(ui, live_server):
    """A new account, logged in, with one experience of albuterol for asthma (still in use)."""
    n = next(_accounts)
    email = f"targets{n}@e2e.example"
    ui.register(email, f"thumb-{n}")
    from registry.accounts import auth
    from registry.contributions import experiences
    from registry.platform.extensions import db

    with live_server.app.app_context():
        user = auth.find_user(email)
        condition, treatment = experiences.by_slugs("asthma", "albuterol")
        answers = {
            "role": "patient",
            "started": "2024-02",
            "stopped": None,
            "effectiveness": "moderate",
            "side_effect_severity": "mild",
            "satisfaction": 6,
            "would_recommend": "yes",
            "side_effects": [],
            "stop_reasons": [],
        }
        experience_id = experiences.save(user, condition, treatment, answers).id
        db.session.commit()
        db.session.remove()
    return experience_id


def _no_small_targets(page) -> None:
    page.wait_for_load_state("networkidle")
    assert page.evaluate(SMALL_TARGETS, MIN) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _label_on_screen(page, locator) -> None:
    box = locator.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box


def test_the_experience_form_has_thumb_sized_targets(ui, page, member, phone_only):
    ui.goto("/experiences/new?condition=asthma")
    _no_small_targets(page)
    assert page.evaluate(ROWS, "satisfaction") in ([10], [5, 5])
    # "Why did you stop?" waits for a stop month, and stays while a reason is ticked.
    reasons = page.locator("#stop-reasons")
    expect(reasons).to_be_hidden()
    page.get_by_label("Stopped", exact=True).fill("2025-01")
    expect(reasons).to_be_visible()
    _no_small_targets(page)
    page.get_by_label("Cost", exact=True).check()
    page.get_by_label("Stopped", exact=True).fill("")
    expect(reasons).to_be_visible()  # a ticked reason is never hidden; the server asks about it
    # An error link shows the question, not the first option alone at the top edge.
    page.get_by_role("button", name="Share my experience").click()
    summary = page.locator("#form-errors")
    expect(summary).to_be_visible()
    summary.get_by_role("link", name="How well did it work?").click()
    expect(page.locator("#effectiveness-0")).to_be_focused()
    _label_on_screen(page, page.locator("legend", has_text="How well did it work?"))
    summary.scroll_into_view_if_needed()
    summary.get_by_role("link", name="Why did you stop?").click()
    _label_on_screen(page, page.locator("#stop-reasons legend"))
    expect(page.locator("#stop_reasons-error")).to_contain_text("need a stop month")


def test_the_follow_up_form_hides_the_stop_fields_while_still_using(ui, page, member, phone_only):
    ui.goto(f"/experiences/{member}/update")
    stop = page.locator("#stop-fields")
    expect(page.get_by_label("Yes, I still use it")).to_be_checked()
    expect(stop).to_be_hidden()
    _no_small_targets(page)
    assert page.evaluate(ROWS, "satisfaction") in ([10], [5, 5])
    page.get_by_label("No, I stopped").check()
    expect(stop).to_be_visible()
    _no_small_targets(page)
    # Typed, then back to "still using": the month stays in sight and the server asks instead of dropping it.
    page.get_by_label("When did you stop?").fill("2025-02")
    page.get_by_label("Yes, I still use it").check()
    expect(stop).to_be_visible()
    page.get_by_role("button", name="Save the update").click()
    expect(page.locator("#stopped-error")).to_contain_text("You said you still use it")
    expect(page.get_by_label("When did you stop?")).to_have_value("2025-02")
    page.locator("#form-errors").get_by_role("link", name="When did you stop?").click()
    expect(page.get_by_label("When did you stop?")).to_be_focused()
    _label_on_screen(page, page.locator("label[for=stopped]"))


def test_the_rating_form_has_thumb_sized_targets(ui, page, member, phone_only):
    ui.goto("/ratings/new?doctor={}".format(ui.server.ids["doctor"]))
    _no_small_targets(page)
    assert page.evaluate(ROWS, "overall") in ([11], [6, 5])
    assert page.evaluate(ROWS, "knowledge") == [5]
    page.get_by_role("button", name="Save my rating").click()
    summary = page.locator("#form-errors")
    link = summary.get_by_role("link").filter(has_text="how often did this doctor listen carefully")
    link.click()
    _label_on_screen(page, page.locator("legend", has_text="How often did this doctor listen carefully to you?"))


def test_my_experiences_shows_its_action_without_sideways_scroll(ui, page, member, phone_only):
    ui.goto("/experiences")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    action = page.get_by_role("link", name="Update Albuterol")
    box = action.bounding_box()
    assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"]
    assert box["height"] >= MIN - 0.5  # a thumb's target, though it reads as a link
    name = page.locator(f"#experience-{member} th[scope=row]")
    assert box["y"] > name.bounding_box()["y"]  # right under the card's title
    assert box["y"] - name.bounding_box()["y"] < 120
