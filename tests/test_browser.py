"""One reporting journey in a real browser (Debian's Chromium) against the live server.

Screenshots land in ``tests/artifacts/`` (git-ignored) for a human to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Response, expect, sync_playwright

from incidents.choices import Category

from .conftest import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
REFERENCE_RE = re.compile(r"BD-\d{4}-\d{6}")

TITLE = "Case file left on the Metro"
DESCRIPTION = "A paper case file with two names and addresses was left on the Metro at Haymarket about 20 minutes ago."
CATEGORY = "Laptop, phone, memory stick or disk lost or stolen"


@pytest.fixture(scope="module")
def async_unsafe_allowed() -> Iterator[None]:
    """Playwright's sync API runs an event loop in the test thread, and Django's ORM (seed_demo in
    ``org``, the database flush afterwards) refuses to run in a thread with a running loop unless
    told it is safe. Only while this module runs: set for the whole session it would leak into
    ``manage.py check --deploy`` in tests/test_project.py, which rightly fails on it (async.E001)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def chromium(async_unsafe_allowed: None) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


class Session:
    """A fresh browser context signed in as one user, recording what went wrong on the wire."""

    def __init__(self, browser: Browser, base_url: str, username: str, *, axe: bool = False) -> None:
        self.context: BrowserContext = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
        if axe:
            # axe-core, put into every page by the browser itself: a <script> added to the page
            # would be refused by BreachDesk's Content-Security-Policy, as it should be.
            self.context.add_init_script(path=str(AXE))
        self.page: Page = self.context.new_page()
        self.failed_assets: list[str] = []
        self.console_errors: list[str] = []
        self.page.on("response", self._on_response)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.console_errors.append(str(exc)))
        self._sign_in(username)

    def _on_response(self, response: Response) -> None:
        # Pages may answer 400 or 404 on purpose; stylesheets, scripts, fonts and images may not.
        if response.request.resource_type != "document" and response.status >= 400:
            self.failed_assets.append(f"{response.status} {response.url}")

    def _on_console(self, message: ConsoleMessage) -> None:
        # HTTP errors are checked through responses (a 400 for a form with errors is expected).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(message.text)

    def _sign_in(self, username: str) -> None:
        page = self.page
        page.goto("/accounts/login/")
        expect(page.get_by_role("heading", name="Sign in to BreachDesk")).to_be_visible()
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#signed-in-as")).to_be_visible()
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))

    def goto(self, path: str) -> Response:
        response = self.page.goto(path)
        assert response is not None, path
        return response

    def close(self) -> None:
        self.context.close()

    def assert_page_healthy(self) -> None:
        """Stylesheets, fonts and scripts all loaded, and no script errors."""
        loaded_fonts = self.page.evaluate(
            """async () => {
                await document.fonts.ready;
                return [...document.fonts].filter((f) => f.status === "loaded").map((f) => f.family);
            }"""
        )
        assert any("GDS Transport" in family for family in loaded_fonts), loaded_fonts
        assert self.failed_assets == []
        assert self.console_errors == []


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_report_a_loss_in_the_browser(chromium: Browser, live_server: object, org: dict[str, User]) -> None:
    base_url = str(live_server)
    assert {"reporter", "reporter2", "manager"} <= org.keys()

    # 1. Sign in as a reporter.
    reporter = Session(chromium, base_url, "reporter")
    page = reporter.page

    # 2. The report form.
    response = reporter.goto("/incidents/new/")
    assert response.status == 200
    expect(page).to_have_title(re.compile(r"^Report a loss of personal data"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Report a loss of personal data")
    # GOV.UK Frontend's stylesheet and JavaScript are in use.
    expect(page.locator("body")).to_have_class(re.compile(r"\bgovuk-frontend-supported\b"))
    font = page.locator(".govuk-label").first.evaluate("el => getComputedStyle(el).fontFamily")
    assert "GDS Transport" in font

    # The prefilled bits: discovered now (UK time), the reporter's own unit, suspected.
    day, month, year, time_ = (
        page.get_by_label("Day", exact=True),
        page.get_by_label("Month", exact=True),
        page.get_by_label("Year", exact=True),
        page.get_by_label("Time (24-hour)", exact=True),
    )
    assert re.fullmatch(r"\d{1,2}", day.input_value())
    assert re.fullmatch(r"\d{1,2}", month.input_value())
    assert re.fullmatch(r"\d{4}", year.input_value())
    assert re.fullmatch(r"\d{2}:\d{2}", time_.input_value())
    unit = page.get_by_label("Which unit does the data belong to?")
    expect(unit).to_have_value("NE-TYNE-NCL")
    expect(page.get_by_label("Suspected: it may have been lost")).to_be_checked()
    shot(page, "01-report-form")

    # Keyboard: Tab from the top of the page lands on the skip link first.
    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()  # GOV.UK skip links are only shown when focused
    expect(skip_link).to_have_attribute("href", "#main-content")
    shot(page, "01b-skip-link-focused")
    page.keyboard.press("Enter")
    expect(page.locator("#main-content")).to_be_focused()  # GOV.UK Frontend's skip link moves focus to <main>
    # The address now ends in "#main-content"; the form posts to its own action, so the answer
    # below must still put focus on the error summary rather than jump to the fragment.

    # 3a. Submitting with nothing filled in shows the GOV.UK error summary.
    with page.expect_response(lambda r: r.request.method == "POST" and "/incidents/new/" in r.url) as response_info:
        page.get_by_role("button", name="Report now").click()
    assert response_info.value.status == 400
    expect(page).to_have_title(re.compile(r"^Error: Report a loss of personal data"))
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(summary).to_be_focused()  # GOV.UK Frontend moves focus to the summary on load
    title_error_link = summary.get_by_role("link", name="Enter a short title for the incident")
    expect(title_error_link).to_be_visible()
    expect(summary.get_by_role("link", name="Describe what happened")).to_be_visible()
    expect(summary.get_by_role("link", name="Select what kind of loss this is")).to_be_visible()
    title_input = page.get_by_label("Give the incident a short title")
    expect(title_input).to_have_attribute("aria-describedby", re.compile(r"\bid_title-error\b"))
    expect(page.locator("#id_title-error")).to_contain_text("Enter a short title for the incident")
    shot(page, "02-report-form-errors")
    # The summary's links take you, and keyboard focus, to the field.
    title_error_link.click()
    expect(title_input).to_be_focused()
    shot(page, "02b-error-link-moved-focus")
    summary.get_by_role("link", name="Select what kind of loss this is").click()
    expect(page.get_by_label(Category.choices[0][1], exact=True)).to_be_focused()

    # 3b. Fill it in properly; the discovered date, unit and "suspected" stay as prefilled.
    title_input.fill(TITLE)
    page.get_by_label("What happened?").fill(DESCRIPTION)
    page.get_by_label(CATEGORY, exact=True).check()
    expect(unit).to_have_value("NE-TYNE-NCL")
    shot(page, "03-report-form-filled")
    page.get_by_role("button", name="Report now").click()

    expect(page).to_have_url(re.compile(r"/incidents/BD-\d{4}-\d{6}/reported/$"))
    expect(page.get_by_role("heading", level=1, name="Incident reported")).to_be_visible()
    reference = page.locator("#reference").inner_text().strip()
    assert REFERENCE_RE.fullmatch(reference), reference
    clocks = page.get_by_role("table", name="Clocks")
    expect(clocks.get_by_role("rowheader", name="Line manager informed (within 1 hour)")).to_be_visible()
    shot(page, "04-confirmation")

    # The incident page.
    response = reporter.goto(f"/incidents/{reference}/")
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_text(DESCRIPTION)).to_be_visible()
    expect(page.get_by_text(CATEGORY, exact=True)).to_be_visible()
    shot(page, "05-incident")
    reporter.assert_page_healthy()

    # The report form on a phone-sized screen.
    page.set_viewport_size({"width": 390, "height": 844})
    reporter.goto("/incidents/new/")
    expect(page.get_by_role("button", name="Report now")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "page scrolls sideways"
    shot(page, "07-report-form-mobile")
    reporter.close()

    # 4. A reporter in another area cannot see it, and cannot tell whether it exists.
    other = Session(chromium, base_url, "reporter2")
    response = other.goto(f"/incidents/{reference}/")
    assert response.status == 404
    expect(other.page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(other.page.get_by_text(TITLE)).to_have_count(0)
    shot(other.page, "06-not-found-for-reporter2")
    other.assert_page_healthy()
    other.close()

    # 5. The reporter's line manager can.
    manager = Session(chromium, base_url, "manager")
    response = manager.goto(f"/incidents/{reference}/")
    assert response.status == 200
    expect(manager.page.get_by_role("heading", level=1)).to_have_text(TITLE)
    shot(manager.page, "08-incident-as-manager")
    manager.assert_page_healthy()
    manager.close()
