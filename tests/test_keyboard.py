"""Keyboard only, in a real browser: a member of staff signs in and reports a loss, and their
line manager confirms receipt on My tasks, without ever touching a mouse. Every control is
reached with Tab, shows where the focus is, and is worked with the keys a keyboard user has.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, BrowserContext, Page, expect

from incidents.models import Incident
from notifications.models import Notification
from notifications.services import timers_sweep

from .conftest import DEMO_PASSWORD
from .test_browser import async_unsafe_allowed, chromium, shot  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def tab_to(page: Page, selector: str, *, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has the focus; fail if it never does."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError(f"{selector} cannot be reached with the Tab key")
    # the focus can be seen: GOV.UK's yellow outline or highlight
    style = page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return [s.outlineStyle, s.outlineWidth, s.boxShadow, s.backgroundColor]; }"""
    )
    outline_style, outline_width, shadow, background = style
    visible = (outline_style != "none" and outline_width != "0px") or shadow != "none" or "255, 221, 0" in background
    assert visible, f"no visible focus on {selector}: {style}"


def sign_in_by_keyboard(browser: Browser, base_url: str, username: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    page.goto("/accounts/login/")
    tab_to(page, "#id_username")
    page.keyboard.type(username)
    tab_to(page, "#id_password")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#signed-in-as")).to_be_visible()
    return context, page


def test_report_and_confirm_by_keyboard_alone(chromium: Browser, live_server: object, org: dict[str, User]) -> None:  # noqa: F811
    context, page = sign_in_by_keyboard(chromium, str(live_server), "reporter")

    # The service navigation reaches the report form.
    tab_to(page, "a[href='/incidents/new/']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Report a loss of personal data")
    tab_to(page, "#id_title")
    page.keyboard.type("USB stick lost at the bus station")
    tab_to(page, "#id_description")
    page.keyboard.type("An encrypted USB stick with a court list was dropped at the bus station.")
    # A radio group is one Tab stop; the arrow keys choose within it.
    tab_to(page, "input[name='category']")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    chosen = page.evaluate("() => document.querySelector(\"input[name='category']:checked\")?.value")
    assert chosen
    shot(page, "keyboard-01-report-form")
    tab_to(page, "button[type='submit']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Incident reported")).to_be_visible()
    reference = page.locator("#reference").inner_text().strip()
    incident = Incident.objects.get(reference=reference)
    assert incident.category == chosen
    context.close()

    # The line manager confirms receipt on My tasks, by keyboard.
    timers_sweep()
    context, page = sign_in_by_keyboard(chromium, str(live_server), "manager")
    tab_to(page, "a[href='/tasks/']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("My tasks")
    tab_to(page, "form[action$='/acknowledge/'] button")
    shot(page, "keyboard-02-confirm-focused")
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(f"Receipt confirmed for {reference}"))).to_be_visible()
    note = Notification.objects.get(incident=incident, recipient=org["manager"])
    assert note.state == "acknowledged"
    context.close()
