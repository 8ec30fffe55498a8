"""Every main page scanned by axe-core (vendored under tests/vendor/, injected into Debian's
Chromium): no serious or critical WCAG 2.x A/AA violations, for each role that uses the
page. Screenshots of each page at desktop and mobile width land in ``tests/artifacts/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser

from tests.factories import IncidentFactory
from tests.incidents.test_plan import make_ready_to_close
from tests.test_browser import ARTIFACTS, Session, async_unsafe_allowed, chromium  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERIOUS = {"serious", "critical"}


def axe_violations(session: Session) -> list[dict[str, Any]]:
    page = session.page  # axe-core is there: Session(..., axe=True)
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
        })"""
    )
    return [v for v in result["violations"] if v["impact"] in SERIOUS]


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}" for v in violations)


def test_main_pages_have_no_serious_accessibility_violations(
    chromium: Browser,  # noqa: F811 - the fixture
    live_server: object,
    org: dict[str, User],
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.REPORTS_ROOT = tmp_path / "reports"
    incident = make_ready_to_close(org, IncidentFactory(reporter=org["reporter"]))
    ref = incident.reference
    pages = {
        "reporter": ["/incidents/", "/incidents/new/", f"/incidents/{ref}/", "/tasks/", "/accounts/code/set-up/"],
        "isim": [
            f"/incidents/{ref}/tracker/",
            f"/incidents/{ref}/reports/",
            f"/incidents/{ref}/reports/tracker-form/issue/",
        ],
        "siro": ["/dashboard/", "/reports/siro-summary/", "/controls/", "/escalation-policies/"],
    }
    failures = []
    for username, paths in pages.items():
        session = Session(chromium, str(live_server), username, axe=True)
        try:
            for path in paths:
                response = session.goto(path)
                assert response.status == 200, path
                violations = axe_violations(session)
                if violations:
                    failures.append(f"{username} {path}:\n{describe(violations)}")
                name = path.strip("/").replace("/", "_") or "home"
                ARTIFACTS.mkdir(exist_ok=True)
                session.page.screenshot(path=str(ARTIFACTS / f"a11y-{name}.png"), full_page=True)
                session.page.set_viewport_size({"width": 375, "height": 800})
                session.page.screenshot(path=str(ARTIFACTS / f"a11y-{name}-mobile.png"), full_page=True)
                # No sideways scrolling of the page itself at 375 px (WCAG 1.4.10), and the
                # same scan at that width (tables that now scroll in their own box).
                overflow = session.page.evaluate("document.documentElement.scrollWidth")
                if overflow > 375:
                    failures.append(f"{username} {path}: the page is {overflow}px wide at 375px")
                if violations := axe_violations(session):
                    failures.append(f"{username} {path} at 375px:\n{describe(violations)}")
                session.page.set_viewport_size({"width": 1280, "height": 800})
        finally:
            session.close()
    assert not failures, "\n\n".join(failures)
