"""Chart labels stay text in the browser: plotly draws names and terms as typed, never as links or markup."""

from __future__ import annotations

import pytest

HOSTILE_TREATMENTS = [
    '<a href="https://evil.example/">Miracle</a>',
    "<b>Bold</b> <img src=x onerror=alert(1)> cure",
    '<a href="javascript:alert(1)">Click cure</a>',
]
HOSTILE_TERMS = ['<a href="//evil.example/">free pills</a>', "<b>bold</b> rash", '<img src="x">', "javascript:void(0)"]


@pytest.fixture
def hostile(live_server) -> dict:
    """A condition whose treatments and side-effect terms carry markup, with enough reports for charts."""
    from registry import catalog, experiences
    from registry.extensions import db
    from registry.models import User

    with live_server.app.app_context():
        condition = catalog.find_condition("Hostile label syndrome")
        if condition is None:
            condition, _ = catalog.add_condition("Hostile label syndrome")
            treatments = [catalog.add_treatment(name, "other")[0] for name in HOSTILE_TREATMENTS]
            for t, treatment in enumerate(treatments):
                condition.treatments.append(treatment)
                for n in range(6):
                    user = User(
                        email=f"hostile{t}-{n}@e2e.example",
                        pseudonym=f"hostile{t}-{n}",
                        pseudonym_key=f"hostile{t} {n}",
                        password_hash="!",
                        session_token=f"hostile{t}-{n}",
                    )
                    db.session.add(user)
                    db.session.flush()
                    experiences.save(
                        user,
                        condition,
                        treatment,
                        {
                            "role": "patient",
                            "started": "2023-01",
                            "effectiveness": ["major", "moderate"][n % 2],
                            "side_effect_severity": "mild",
                            "side_effects": HOSTILE_TERMS,
                            "satisfaction": 7,
                            "would_recommend": "yes",
                        },
                        None,
                    )
            db.session.commit()
        slugs = [t.slug for t in condition.treatments]
        result = {"condition": condition.slug, "treatments": slugs}
        db.session.remove()
    return result


def _check_charts_have_no_markup(page):
    # Charts in closed sections are drawn when opened: open every one.
    page.evaluate("document.querySelectorAll('details').forEach(function (d) { d.open = true; })")
    page.wait_for_selector(".figure svg.main-svg")
    svg = page.locator(".figure svg")
    assert svg.count() > 0
    assert page.locator(".figure svg a").count() == 0  # no link anywhere in any chart
    assert page.locator(".figure svg image").count() == 0
    assert page.locator(".figure svg [style*='bold']").count() == 0  # <b> drew nothing bold
    texts = " ".join(page.locator(".figure svg text").all_text_contents())
    return texts


def test_hostile_names_and_terms_are_drawn_as_text(ui, page, hostile):
    condition, treatments = hostile["condition"], hostile["treatments"]
    ui.goto(f"/conditions/{condition}")
    texts = _check_charts_have_no_markup(page)
    assert '<a href="https://evil.example/">Miracle</a>' in texts  # the name, drawn as typed
    ui.goto(f"/conditions/{condition}/treatments/{treatments[0]}")
    texts = _check_charts_have_no_markup(page)
    if page.viewport_size["width"] >= 520:  # a phone shortens long bar labels (charts.js): the table has them whole
        assert "<b>bold</b> rash" in texts and '<a href="//evil.example/">free pills</a>' in texts
    ui.goto(f"/conditions/{condition}/compare?t={treatments[0]}&t={treatments[1]}")
    _check_charts_have_no_markup(page)
