"""Take the README's screenshots from a running demo registry (`registry demo`), phone and desktop.

Usage:
    registry demo &                                  # the demo community on http://127.0.0.1:5000
    python docs/screenshots.py [--base http://127.0.0.1:5000] [--out docs/screenshots]

Uses Playwright with Debian's Chromium (/usr/bin/chromium), as the browser tests do. The experience
form is shown signed in as the demo patient.
"""

from __future__ import annotations

import argparse
from pathlib import Path

SIZES = {"phone": (390, 844), "desktop": (1366, 900)}
PAGES = {
    "home": "/",
    "condition": "/conditions/type-2-diabetes",
    "treatment": "/conditions/type-2-diabetes/treatments/metformin",
    "drug": "/treatments/metformin",
    "compare": "/conditions/type-2-diabetes/compare?t=metformin&t=semaglutide&t=empagliflozin",
    "doctor": "/doctors?condition=type-2-diabetes",
    "research": "/research",
    "experience-form": "/experiences/new?condition=type-2-diabetes",
}
# Charts pictured on their own (page, the element to picture; a closed section is opened): issue 19.
CHARTS = {
    "staying": (PAGES["treatment"], "#staying-on-it"),
    "staying-compare": (PAGES["compare"], "section.chart:has(#chart-staying-title)"),
    "staying-drug": (PAGES["drug"], "#staying-on-it"),
    "dose": (PAGES["treatment"], "#dose"),
    "years": (PAGES["treatment"], "#years"),
}
SIGNED_IN = {"experience-form"}
RESEARCHER = {"research"}
SPANISH = {"treatment", "experience-form"}  # es-<name>-phone.png: a browser that asks for Spanish (issue 30)


WHO = ((None, set(PAGES) - SIGNED_IN - RESEARCHER), ("patient", SIGNED_IN), ("researcher", RESEARCHER))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="http://127.0.0.1:5000")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "screenshots"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-background-networking"]
        )
        shots = [(size, who, names, "en", "") for size in SIZES for who, names in WHO]
        shots += [("phone", who, names & SPANISH, "es", "es-") for who, names in WHO if names & SPANISH]
        for size, who, names, language, prefix in shots:
            width, height = SIZES[size]
            context = browser.new_context(viewport={"width": width, "height": height}, locale=language)
            page = context.new_page()
            if who:
                page.goto(args.base + "/login")
                page.locator("#email").fill(f"{who}@demo.example")
                page.locator("#password").fill(f"demo-{who}-password")
                page.locator("#password").press("Enter")
                page.wait_for_load_state()
            for name in sorted(names):
                page.goto(args.base + PAGES[name])
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out / f"{prefix}{name}-{size}.png"))
                print(f"{prefix}{name}-{size}.png")
            context.close()
        for size, (width, height) in SIZES.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            for name, (path, selector) in CHARTS.items():
                page.goto(args.base + path)
                element = page.locator(selector).first
                element.evaluate("e => { if (e.tagName === 'DETAILS') e.open = true; }")  # a closed section: open it
                element.locator(".main-svg").first.wait_for()
                page.wait_for_load_state("networkidle")
                element.screenshot(path=str(out / f"{name}-{size}.png"))
                print(f"{name}-{size}.png")
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
