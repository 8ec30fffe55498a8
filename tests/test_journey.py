"""The whole product in one walk, in a real browser (Debian's Chromium) against the live
server, with email through a real SMTP server (aiosmtpd):

reporter files an incident -> the line manager confirms from the link in the email -> the
Chief Officer confirms and approves the national notifications -> the DPO assesses the risk
and decides on the recommendations -> the ICO notification is recorded and its PDF
downloaded -> containment, tracker form, root cause and lesson -> the Chief Officer closes
it -> the SIRO's dashboard shows it, with the compliance figures this walk made.

Timers fire by calling the sweep here, as in the unit tests (the sweep is what the beat
runs); tests/integration runs the same sweep in a real worker. The national recipients
confirm through the service: fifteen more browser sign-ins would test nothing new.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from incidents.models import Incident
from notifications.choices import AckMethod, DeadlineState, NotificationState
from notifications.models import Deadline, Notification
from notifications.services import notification_acknowledge, timers_sweep
from riskassess.models import Decision

from .test_browser import REFERENCE_RE, Session, async_unsafe_allowed, chromium, shot  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Probation case list emailed to a charity"
DESCRIPTION = (
    "A spreadsheet listing 30 people on probation, with addresses and offences, was emailed "
    "to a charity's general inbox instead of the approved premises."
)


def _states(incident: Incident) -> dict[str, str]:
    return dict(Deadline.objects.filter(incident=incident).values_list("code", "state"))


def _wide_and_narrow(page: Page, name: str) -> None:
    """A screenshot at desktop width, then at phone width with no sideways scrolling."""
    shot(page, f"journey-{name}")
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{name} scrolls sideways"
    shot(page, f"journey-{name}-mobile")
    page.set_viewport_size({"width": 1280, "height": 800})


def test_the_whole_journey(chromium: Browser, live_server: object, org: dict[str, User], mailbox: object) -> None:  # noqa: F811
    base = str(live_server)

    # 1. The reporter files it in the browser.
    reporter = Session(chromium, base, "reporter")
    page = reporter.page
    reporter.goto("/incidents/new/")
    page.get_by_label("Give the incident a short title").fill(TITLE)
    page.get_by_label("What happened?").fill(DESCRIPTION)
    page.get_by_label("Email sent to the wrong person", exact=True).check()
    page.get_by_role("button", name="Report now").click()
    expect(page.get_by_role("heading", level=1, name="Incident reported")).to_be_visible()
    reference = page.locator("#reference").inner_text().strip()
    assert REFERENCE_RE.fullmatch(reference)
    _wide_and_narrow(page, "01-reported")
    reporter.assert_page_healthy()
    reporter.close()
    incident = Incident.objects.get(reference=reference)

    # 2. The line manager is emailed and confirms from the link, without signing in.
    timers_sweep()
    [link] = mailbox.ack_links("manager@example.org")  # type: ignore[attr-defined]
    context = chromium.new_context(base_url=base)
    anonymous = context.new_page()
    anonymous.goto(link)
    expect(anonymous.get_by_role("heading", name="Confirm you have received this")).to_be_visible()
    anonymous.get_by_role("button", name="I have received this").click()
    expect(anonymous.get_by_role("heading", name="Receipt confirmed")).to_be_visible()
    shot(anonymous, "journey-02-manager-confirmed")
    context.close()
    assert _states(incident)["manager_informed"] == DeadlineState.MET

    # 3. The ISR, ISIM, Chief Officer and SCS member are told; the Chief confirms and
    # approves the list. (Every receipt is confirmed before the incident can close.)
    timers_sweep()
    for username in ("isr", "isim", "scs"):
        note = Notification.objects.get(incident=incident, recipient=org[username], step=2)
        notification_acknowledge(notification_id=note.pk, by=org[username], method=AckMethod.IN_APP)
    chief = Session(chromium, base, "chief")
    chief.goto("/tasks/")
    receipts = chief.page.get_by_role("table", name=re.compile("Notifications waiting for your confirmation"))
    receipts.get_by_role("button", name=re.compile("I have received this")).click()
    expect(chief.page.get_by_text(f"Receipt confirmed for {reference}.")).to_be_visible()
    expect(chief.page.get_by_role("heading", name=re.compile(f"{reference}: inform the national list"))).to_be_visible()
    _wide_and_narrow(chief.page, "03-chief-tasks")
    chief.page.get_by_label("Send to the national list now").check()
    chief.page.get_by_role("button", name="Record decision").click()
    chief.assert_page_healthy()
    chief.close()
    timers_sweep()
    national = list(Notification.objects.filter(incident=incident, step=3))
    assert len(national) >= 10
    assert all(n.state == NotificationState.SENT for n in national)
    assert mailbox.to("director-general@example.org")  # type: ignore[attr-defined]
    for note in national:
        notification_acknowledge(notification_id=note.pk, by=note.recipient, method=AckMethod.IN_APP)
    assert _states(incident)["national_informed"] == DeadlineState.MET

    # 4. The DPO assesses the risk and decides on each recommendation from the task list.
    dpo = Session(chromium, base, "dpo")
    page = dpo.page
    dpo.goto(f"/incidents/{reference}/risk/new/")
    page.get_by_label("Basic identifiers (name, address, contact details)").check()
    page.get_by_label("Criminal convictions or offences").check()
    page.get_by_label("Offenders", exact=True).check()
    page.get_by_label("How many people? (best estimate)").fill("30")
    page.get_by_label("Maximum: directly identifies people (e.g. name with address)").check()
    page.get_by_label("Disclosed to known recipients").check()
    page.get_by_label("No loss of integrity").check()
    page.get_by_label("No loss of availability").check()
    shot(page, "journey-04-assessment-form")
    page.get_by_role("button", name=re.compile("Assess|Save")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Severity: very high")
    _wide_and_narrow(page, "04b-assessment-result")
    dpo.goto("/tasks/")
    card = page.locator(f"#task-decision-{reference}")
    expect(card).to_be_visible()
    _wide_and_narrow(page, "05-dpo-tasks")
    for label in ("notify the ico", "tell the people affected", "involve the police"):
        form = page.locator(f"#task-decision-{reference} form").filter(has_text=re.compile(label, re.I)).first
        recommended_yes = "Recommended: yes" in form.inner_text()
        # agree with each recommendation, in one click
        # (Chromium names the button "Yes : notify ...": the hidden text is a separate box)
        form.get_by_role("button", name=re.compile(rf"^{'Yes' if recommended_yes else 'No'}\s*: {label}")).click()
        expect(page.get_by_text(f"Decision recorded for {reference}.")).to_be_visible()
    assert Decision.objects.filter(incident=incident).count() == 3
    expect(page.locator(f"#task-decision-{reference}")).to_have_count(0)

    # 5. The ICO notification is recorded, and its PDF downloaded.
    dpo.goto(f"/incidents/{reference}/")
    page.locator("summary", has_text="Record a notification to the ICO").click()
    page.get_by_label("Initial report").check()
    page.get_by_label("ICO case reference").fill("ICO/04711")
    page.get_by_label("What was sent").fill("The initial breach report.")
    page.get_by_role("button", name="Record ICO notification").click()
    expect(page.locator("#ico ~ ul").first).to_contain_text("ICO case ICO/04711")
    assert _states(incident)["ico_notified"] == DeadlineState.MET
    dpo.goto(f"/incidents/{reference}/reports/")
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF of the ICO personal data breach notification").click()
    pdf = download.value
    assert pdf.suggested_filename.endswith(".pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(Path(pdf.path()).read_bytes())).pages)
    assert reference in text
    assert "ICO/04711" in text
    dpo.assert_page_healthy()
    dpo.close()

    # 6. Containment, the tracker form (which starts the investigation), root cause and lesson.
    isim = Session(chromium, base, "isim")
    page = isim.page
    url = f"/incidents/{reference}/"
    isim.goto(url)
    page.locator("summary", has_text="Add a containment action").click()
    page.locator("#id_containment-description").fill("Ask the charity to delete the email and confirm")
    page.locator("#id_containment-owner").select_option(label="Mo Anand (manager)")
    page.get_by_role("button", name="Add action").first.click()
    row = page.locator("tr", has_text="Ask the charity to delete the email")
    row.locator("summary", has_text="Mark done or not done").click()
    row.get_by_label("Done", exact=True).check()
    row.get_by_label("What was done and the evidence").fill("Charity confirmed deletion in writing at 16:10.")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("tr", has_text="Ask the charity to delete the email")).to_contain_text("Done")
    page.get_by_role("link", name="Security Incident Tracker Form").first.click()
    page.get_by_label("Data involved").fill("Names, addresses and offences of 30 people on probation.")
    page.get_by_label("People affected").fill("30 people on probation.")
    page.get_by_label("Containment and recovery so far").fill("The charity deleted the email.")
    page.get_by_label("Ongoing risk").fill("Low after deletion.")
    page.get_by_label("Who has been told").fill("ICO; the 30 people by letter.")
    page.get_by_label("Next steps").fill("Turn off address autocomplete.")
    page.get_by_label("Investigating officer").fill("Ian Sim")
    page.get_by_role("button", name="Save version 1").click()
    expect(page.get_by_text("Tracker form saved as version 1.")).to_be_visible()
    assert _states(incident)["investigation_started"] == DeadlineState.MET
    isim.goto(url)
    page.locator("summary", has_text="Record who was told").click()
    page.locator("#id_notice-party").select_option("data_subjects")
    page.locator("#id_notice-method").select_option("direct_letter")
    page.locator("#id_notice-recipient").fill("The 30 people on probation")
    page.locator("#id_notice-summary").fill("What happened, what was done, who to ask.")
    page.locator("#id_notice-people_count").fill("30")
    page.get_by_role("button", name="Record", exact=True).first.click()
    expect(page.get_by_text("Recorded who was told.")).to_be_visible()
    page.locator("summary", has_text="Record a root cause").click()
    page.locator("#id_cause-cause").select_option("addressing_error")
    page.locator("#id_cause-detail").fill("Autocomplete picked the charity's address.")
    page.locator("form[action$='/root-causes/'] button").click()
    page.locator("summary", has_text="Record a lesson learned").click()
    page.locator("#id_lesson-text").fill("Turn off address autocomplete for case lists.")
    page.locator("form[action$='/lessons/'] button").click()
    page.locator("summary", has_text="Add an improvement action").click()
    page.locator("#id_improvement-description").fill("Disable autocomplete on the probation mail system")
    page.locator("#id_improvement-topic").select_option("technical")
    page.locator("#id_improvement-owner").select_option(label="Isla Reid (isr)")
    page.locator("#id_improvement-due_on").fill((timezone.localdate() + timedelta(days=14)).strftime("%d/%m/%Y"))
    page.locator("form[action$='/actions/improvement/new/'] button").click()
    expect(page.locator("#status-panel")).to_contain_text("Everything the closing checks ask for is recorded")
    page.get_by_role("button", name="Mark as contained").click()
    expect(page.get_by_text("The incident is now contained.")).to_be_visible()
    _wide_and_narrow(page, "06-ready-to-close")
    isim.assert_page_healthy()
    isim.close()

    # 7. The Chief Officer closes it.
    chief = Session(chromium, base, "chief")
    chief.goto(url)
    chief.page.get_by_role("button", name="Close the incident").click()
    expect(chief.page.get_by_text("The incident is now closed.")).to_be_visible()
    chief.close()
    incident.refresh_from_db()
    assert incident.status == "closed"

    # 8. The SIRO's dashboard shows it, with the compliance this walk made.
    siro = Session(chromium, base, "siro")
    page = siro.page
    siro.goto("/dashboard/")
    expect(page.get_by_role("heading", level=1, name="SIRO dashboard")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Open incidents: 0"))).to_be_visible()
    compliance = page.get_by_role("table", name="Clocks of incidents reported in the period")
    expected = {  # met, missed, running, not required, on time
        "Line manager informed (within 1 hour)": ["1", "0", "0", "0", "100%"],
        "National list informed by the Chief Officer (within 1 hour)": ["1", "0", "0", "0", "100%"],
        "Investigation started (within the first day)": ["1", "0", "0", "0", "100%"],
        "ICO notified (within 72 hours)": ["1", "0", "0", "0", "100%"],
    }
    for rule, cells in expected.items():
        row = compliance.get_by_role("row", name=re.compile(f"^{re.escape(rule)}"))
        # each figure's first word (a link's hidden text follows it)
        assert [c.split()[0] for c in row.get_by_role("cell").all_inner_texts()][:5] == cells, rule
    kinds = page.get_by_role("table", name="By kind of loss")
    expect(kinds.get_by_role("row", name=re.compile("^Email sent to the wrong person"))).to_contain_text("1")
    causes = page.get_by_role("table", name="By root cause")
    expect(causes.get_by_role("row", name=re.compile("^Human error in addressing"))).to_contain_text("1")
    _wide_and_narrow(page, "07-siro-dashboard")
    # the met figure drills down to this incident
    compliance.get_by_role("row", name=re.compile("^ICO notified")).get_by_role("link").first.click()
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    expect(page.locator("#narrowed")).to_contain_text("clock: ICO met")
    _wide_and_narrow(page, "08-drill-down")
    siro.assert_page_healthy()
    siro.close()
