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
    from registry.catalog import catalog
    from registry.contributions import experiences
    from registry.models import User
    from registry.platform.extensions import db

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
    texts = _check_charts_have_no_markup(page).replace(" ", "")  # a long name is drawn on several lines
    assert '<ahref="https://evil.example/">Miracle</a>' in texts  # the name, drawn as typed
    ui.goto(f"/conditions/{condition}/treatments/{treatments[0]}")
    texts = _check_charts_have_no_markup(page).replace(" ", "")  # a long label is drawn on several lines
    for term in ("<b>bold</b> rash", '<a href="//evil.example/">free pills</a>'):  # whole, on a phone too
        assert term.replace(" ", "") in texts
    ui.goto(f"/conditions/{condition}/compare?t={treatments[0]}&t={treatments[1]}")
    _check_charts_have_no_markup(page)


# The pages that draw charts in the e2e community: a condition, a treatment with doses, years and a curve,
# a comparison and a drug page with a curve per condition.
CHART_PAGES = [
    "/conditions/type-2-diabetes",
    "/conditions/type-2-diabetes/treatments/metformin",
    "/conditions/type-2-diabetes/compare?t=metformin&t=semaglutide&t=tirzepatide",
    "/treatments/semaglutide",
]

# Every drawn text of every chart, with its box and its chart's box (the hover layer's empty texts left out).
_TEXT_BOXES = """() => Array.from(document.querySelectorAll('.figure[data-drawn]')).flatMap(function (figure) {
  var outer = figure.querySelector('svg.main-svg').getBoundingClientRect();
  return Array.from(figure.querySelectorAll('svg text')).map(function (text) {
    var box = text.getBoundingClientRect();
    return {chart: figure.getAttribute('aria-label').split(':')[0], text: text.textContent,
            box: [box.left, box.top, box.right, box.bottom], outer: [outer.left, outer.top, outer.right, outer.bottom]};
  }).filter(function (t) { return t.text.trim() && t.box[2] > t.box[0]; });
})"""


def _misfits(page) -> list[str]:
    """Every chart text of the page that runs out of its chart or is cut with an ellipsis, once all are drawn."""
    page.evaluate("document.querySelectorAll('details').forEach(function (d) { d.open = true; })")
    page.wait_for_selector(".figure[data-drawn] svg.main-svg")
    page.wait_for_timeout(300)  # responsive figures settle to their width
    texts = page.evaluate(_TEXT_BOXES)
    assert texts  # charts were drawn
    problems = []
    for t in texts:
        (left, top, right, bottom), (x0, y0, x1, y1) = t["box"], t["outer"]
        if left < x0 - 1 or top < y0 - 1 or right > x1 + 1 or bottom > y1 + 1:
            box, outer = [round(v) for v in t["box"]], [round(v) for v in t["outer"]]
            problems.append(f"{t['chart']}: {t['text']!r} at {box} outside {outer}")
        if t["text"].rstrip().endswith(("...", "\u2026")):
            problems.append(f"{t['chart']}: {t['text']!r} cut short")
    for x0, _, x1, _ in {tuple(t["outer"]) for t in texts}:  # and every chart within the screen
        if x0 < 0 or x1 > page.viewport_size["width"] + 1:
            problems.append(f"a chart at {x0:.0f}-{x1:.0f} px runs off the screen")
    return problems


@pytest.mark.parametrize("path", CHART_PAGES)
def test_every_chart_text_fits_inside_its_chart(ui, page, path):
    """Titles, axis titles, tick labels and legends are whole and inside their chart, on a phone and a desktop."""
    ui.goto(path)
    problems = _misfits(page)
    assert not problems, "\n".join(problems)


def test_long_names_wrap_inside_their_charts(ui, page, hostile):
    """Names of 40 characters and more, some without a space to break at, wrap inside the bars' charts."""
    condition, treatments = hostile["condition"], hostile["treatments"]
    for path in (
        f"/conditions/{condition}",
        f"/conditions/{condition}/treatments/{treatments[0]}",
        f"/conditions/{condition}/compare?t={treatments[0]}&t={treatments[1]}&t={treatments[2]}",
    ):
        ui.goto(path)
        problems = _misfits(page)
        assert not problems, "\n".join(problems)
