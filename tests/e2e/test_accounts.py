"""Account journeys in a real browser: forgot password by mail, the device list, log out everywhere."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD


def _mail_to(live_server, address: str, subject: str, timeout: float = 10.0):
    """The newest mail the registry sent to address (kept in memory by the locmem backend)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outbox = getattr(live_server.app.extensions["mailman"], "outbox", [])
        found = [m for m in outbox if address in m.to and m.subject == subject]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no mail {subject!r} to {address}")


def test_forgotten_password_is_reset_through_the_mailed_link(ui, page, viewport, live_server):
    email = f"forgetful-{viewport}@e2e.example"
    ui.register(email, f"forgetful-{viewport}")
    ui.logout()
    ui.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_text(re.compile("we sent it a link to set a new password"))).to_be_visible()
    body = _mail_to(live_server, email, "Set a new password").body
    link = re.search(r"https?://\S+/password/reset/\S+", body).group(0)
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("a new e2e password")
    page.get_by_label("Repeat new password").fill("a new e2e password")
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_text("Your new password is set.")).to_be_visible()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    page.goto(link)  # the link worked once
    expect(page.get_by_role("alert")).to_contain_text("not valid any more")
    page.expected_errors = ["status of 400"]


def test_devices_are_listed_and_log_out_everywhere_ends_them(ui, page, viewport, live_server, browser):
    email = f"traveller-{viewport}@e2e.example"
    ui.register(email, f"traveller-{viewport}")
    other = browser.new_context()
    try:
        second = other.new_page()
        second.goto(live_server("/login"))
        second.get_by_label("Email").fill(email)
        second.get_by_label("Password", exact=True).fill(PASSWORD)
        second.get_by_role("button", name="Log in").click()
        second.get_by_text("You are logged in.").wait_for()
        ui.goto("/account")
        devices = page.get_by_role("region", name="Devices logged in")
        expect(devices.locator("tbody tr")).to_have_count(2)
        expect(devices).to_contain_text("this device")
        expect(devices).to_contain_text("Chrome")
        page.get_by_role("button", name="Log out everywhere").click()
        expect(page.get_by_text(re.compile(r"logged out everywhere \(2 devices\)"))).to_be_visible()
        second.goto(live_server("/account"))
        expect(second).to_have_url(re.compile(r"/login"))
    finally:
        other.close()
