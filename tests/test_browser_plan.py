"""One incident walked through the four elements of the breach management plan to closure, in
a real browser (Debian's Chromium), by the people who do each part.

The risk assessment and the decisions on it have their own pages and tests; here they are
made through the services so the walk stays on the plan itself.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from incidents.models import Incident
from incidents.services import incident_report
from riskassess.services import decision_record, risk_assessment_create

from .incidents.test_plan import confirm_the_chain
from .riskassess.test_services import JTRACK
from .test_browser import Session, async_unsafe_allowed, chromium, shot  # noqa: F401 - pytest fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open(page: Page, summary: str) -> None:
    page.locator("summary", has_text=summary).click()


def test_walk_an_incident_through_the_four_elements_to_closure(
    chromium: Browser,  # noqa: F811 - the fixture
    live_server: object,
    org: dict[str, User],
) -> None:
    incident = incident_report(
        reporter=org["reporter"],
        title="Prisoner list emailed to a family",
        description="A spreadsheet of 40 prisoners' release dates was emailed to a prisoner's family.",
        category="emailed_to_wrong_recipient",
        discovered_at=timezone.now() - timedelta(minutes=30),
        org_unit=org["reporter"].profile.unit,
    )
    url = f"/incidents/{incident.reference}/"
    isim = Session(chromium, str(live_server), "isim")
    page = isim.page
    isim.goto(url)
    expect(page.get_by_role("heading", name=re.compile("1. Containment and recovery"))).to_be_visible()
    expect(page.locator("#status-panel")).to_contain_text("No containment and recovery action is recorded")

    # 1. Containment and recovery: an action, owned and done.
    _open(page, "Add a containment action")
    page.locator("#id_containment-description").fill("Ask the family to delete the email; police to confirm")
    page.locator("#id_containment-owner").select_option(label="Mo Anand (manager)")
    page.get_by_role("button", name="Add action").first.click()
    expect(page.get_by_role("table", name="Containment and recovery actions")).to_contain_text("To do")
    row = page.locator("tr", has_text="Ask the family to delete the email")
    row.locator("summary", has_text="Mark done or not done").click()
    row.get_by_label("Done", exact=True).check()
    row.get_by_label("What was done and the evidence").fill("Police visited at 19:10 and saw it deleted.")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("tr", has_text="Ask the family to delete the email")).to_contain_text("Done")

    # Start the tracker form (PC02-14); this starts the investigation.
    page.get_by_role("link", name="Security Incident Tracker Form").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Security Incident Tracker Form")
    page.get_by_label("Data involved").fill("Names, prison numbers and release dates.")
    page.get_by_label("People affected").fill("40 prisoners.")
    page.get_by_label("Containment and recovery so far").fill("Recipient deleted it; police confirmed.")
    page.get_by_label("Ongoing risk").fill("Low after deletion; two high-risk individuals monitored.")
    page.get_by_label("Who has been told").fill("ICO; the 40 prisoners through their governors.")
    page.get_by_label("Next steps").fill("Check addresses before sending; train the team.")
    page.get_by_label("Investigating officer").fill("Ian Sim")
    page.get_by_role("button", name="Save version 1").click()
    expect(page.get_by_text("Tracker form saved as version 1.")).to_be_visible()
    shot(page, "plan-01-tracker-form")
    assert Incident.objects.get(pk=incident.pk).status == "under_investigation"

    # 2. Assessment of ongoing risk, and the decisions it leads to (their own pages).
    risk_assessment_create(incident=incident, actor=org["isim"], data=dict(JTRACK))
    decision_record(incident=incident, actor=org["dpo"], kind="notify_regulator", decision=True, reason="High risk.")
    decision_record(incident=incident, actor=org["dpo"], kind="notify_subjects", decision=True, reason="High risk.")
    decision_record(incident=incident, actor=org["dpo"], kind="involve_police", decision=False, reason="Not a theft.")
    isim.goto(url)
    expect(page.get_by_role("table", name="Risk register by group")).to_contain_text("Vigilante attack")

    # 3. Notification: the ICO, then the people affected through an intermediary.
    _open(page, "Record a notification to the ICO")
    page.get_by_label("Initial report").check()
    page.get_by_label("ICO case reference").fill("ICO/00123")
    page.get_by_label("What was sent").fill("The initial breach report.")
    page.get_by_role("button", name="Record ICO notification").click()
    expect(page.locator("#ico ~ ul").first).to_contain_text("ICO case ICO/00123")
    _open(page, "Record who was told")
    page.locator("#id_notice-party").select_option("data_subjects")
    page.locator("#id_notice-method").select_option("intermediary")
    page.locator("#id_notice-recipient").fill("The 40 prisoners, through their governors")
    page.locator("#id_notice-summary").fill("What happened, what was done, who to ask.")
    page.locator("#id_notice-people_count").fill("40")
    page.get_by_role("button", name="Record", exact=True).first.click()
    expect(page.get_by_text("Recorded who was told.")).to_be_visible()

    # 4. Evaluation and response: root cause, lesson learned, improvement action.
    _open(page, "Record a root cause")
    page.locator("#id_cause-cause").select_option("addressing_error")
    page.locator("#id_cause-detail").fill("Autocomplete picked the wrong address.")
    page.locator("form[action$='/root-causes/'] button").click()
    _open(page, "Record a lesson learned")
    page.locator("#id_lesson-text").fill("Turn off address autocomplete for case lists.")
    page.locator("form[action$='/lessons/'] button").click()
    _open(page, "Add an improvement action")
    page.locator("#id_improvement-description").fill("Disable autocomplete on the prison's mail system")
    page.locator("#id_improvement-topic").select_option("technical")
    page.locator("#id_improvement-owner").select_option(label="Isla Reid (isr)")
    page.locator("#id_improvement-due_on").fill((timezone.localdate() + timedelta(days=14)).strftime("%d/%m/%Y"))
    page.locator("form[action$='/actions/improvement/new/'] button").click()
    expect(page.get_by_role("table", name="Improvement actions")).to_contain_text("Disable autocomplete")
    # The escalation chain is part of the notification element: its receipts and the
    # Chief Officer's decision on the national list (they have their own pages and tests).
    status = page.locator("#status-panel")
    expect(status).to_contain_text("Mo Anand (Line manager) is still to be told")
    expect(status).to_contain_text("The clock “Line manager informed (within 1 hour)” is still running")
    shot(page, "plan-02a-chain-still-waiting")
    confirm_the_chain(incident)
    isim.goto(url)
    expect(page.locator("#status-panel")).to_contain_text("Everything the closing checks ask for is recorded")
    page.get_by_role("button", name="Mark as contained").click()
    expect(page.get_by_text("The incident is now contained.")).to_be_visible()
    shot(page, "plan-02-ready-to-close")
    isim.assert_page_healthy()
    # the ISIM cannot close it (PC02-11: the Chief Officer owns it)
    expect(page.get_by_role("button", name="Close the incident")).to_have_count(0)
    isim.close()

    chief = Session(chromium, str(live_server), "chief")
    chief.goto(url)
    chief.page.get_by_role("button", name="Close the incident").click()
    expect(chief.page.get_by_text("The incident is now closed.")).to_be_visible()
    expect(chief.page.get_by_role("heading", name="Status: closed")).to_be_visible()
    shot(chief.page, "plan-03-closed")
    chief.assert_page_healthy()
    chief.close()
    assert Incident.objects.get(pk=incident.pk).status == "closed"

    # The improvement action outlives the incident, on its owner's task list.
    isr = Session(chromium, str(live_server), "isr")
    isr.goto("/tasks/")
    expect(isr.page.get_by_role("heading", name="Actions you own")).to_be_visible()
    expect(
        isr.page.get_by_role("cell", name=re.compile("^Disable autocomplete on the prison's mail system"))
    ).to_be_visible()
    isr.close()
