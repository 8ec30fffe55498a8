"""The people affected, in a real browser: a manager uploads two lost data sets, says what
each column holds, watches them processed, reads the exact figures and the overlap diagram,
and answers a verified enquirer from them. Each page is scanned by axe, at full width and
on a phone; screenshots in tests/artifacts/.

The job a worker would run is run by the test (``dataset_process``), as the journey test
fires timers itself.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, expect

from incidents.models import Enquiry
from riskassess.datasets import dataset_process
from riskassess.models import LostDataSet

from .factories import IncidentFactory
from .test_accessibility import axe_violations, describe
from .test_browser import ARTIFACTS, Session, async_unsafe_allowed, chromium  # noqa: F401 - the fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RELEASES = [
    ["Name", "DOB", "PNC", "Prison No", "Offence code"],
    ["Lena Marchetti", "03/04/1980", "2001/0012345A", "A1234XY", "OFF101"],
    ["Sam Okafor", "12/05/1975", "99/77B", "", "OFF202"],
    ["Jo Bloggs", "01/01/1990", "", "B2345QR", "OFF303"],
]
PROBATION = [
    ["Forename", "Surname", "Date of birth", "PNC ID", "Address"],
    ["Lena", "Marchetti", "3 April 1980", "01/12345A", "1 Quay Road"],
    ["Ali", "Khan", "05/06/1985", "", "2 High Street"],
]


def write_csv(folder: Path, name: str, rows: list[list[str]]) -> Path:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    path = folder / name
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def check(session: Session, name: str, failures: list[str]) -> None:
    page = session.page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"people-{name}.png"), full_page=True)
    if violations := axe_violations(session):
        failures.append(f"{name}:\n{describe(violations)}")
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=str(ARTIFACTS / f"people-{name}-mobile.png"), full_page=True)
    if (width := page.evaluate("document.documentElement.scrollWidth")) > 375:
        failures.append(f"{name}: the page is {width}px wide at 375px")
    if violations := axe_violations(session):
        failures.append(f"{name} at 375px:\n{describe(violations)}")
    page.set_viewport_size({"width": 1280, "height": 800})


def upload(session: Session, reference: str, name: str, path: Path, kinds: list[str]) -> None:
    page = session.page
    session.goto(f"/incidents/{reference}/people/")
    page.get_by_label("Name of the data set").fill(name)
    page.get_by_label("The extract of the data set").set_input_files(str(path))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="What each column holds")).to_be_visible()
    for i, kind in enumerate(kinds):
        page.locator(f"#id_column_{i}").select_option(kind)


def test_a_manager_uploads_maps_watches_and_answers_an_enquirer(
    chromium: Browser,  # noqa: F811 - the fixture
    live_server: Any,
    org: dict[str, User],
    settings: Any,
    tmp_path: Path,
) -> None:
    (tmp_path / "uploads").mkdir()
    settings.DATASET_UPLOAD_DIR = tmp_path / "uploads"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    incident = IncidentFactory.create(reporter=org["reporter"])
    ref = incident.reference
    failures: list[str] = []
    session = Session(chromium, str(live_server), "manager", axe=True)
    page = session.page
    try:
        session.goto(f"/incidents/{ref}/")
        page.get_by_role("link", name="People affected: the lost data sets").click()
        expect(page.get_by_role("heading", name="People affected", exact=True)).to_be_visible()
        expect(page.get_by_text("No data set has been uploaded yet.")).to_be_visible()
        check(session, "empty", failures)

        # A file with no name for the data set: the error is named and nothing is kept.
        page.get_by_label("The extract of the data set").set_input_files(
            str(write_csv(tmp_path, "releases.csv", RELEASES))
        )
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
        expect(page.locator(".govuk-error-summary").get_by_text("Give the data set a name")).to_be_visible()
        assert list((tmp_path / "uploads").iterdir()) == []

        upload(session, ref, "Prison releases", tmp_path / "releases.csv", [])
        # The columns are guessed from their names; the person confirms them.
        expect(page.locator("#id_column_2")).to_have_value("pnc_id")
        expect(page.locator("#id_column_3")).to_have_value("prison_number")
        check(session, "map", failures)
        page.get_by_role("button", name="Process the data set").click()
        expect(page.get_by_text("is being processed")).to_be_visible()
        expect(page.get_by_text("Waiting to be processed")).to_be_visible()
        check(session, "queued", failures)
        dataset_process(dataset_id=LostDataSet.objects.get(name="Prison releases").pk)
        # The page polls while anything is waiting: the figures appear without a reload.
        expect(page.get_by_text("3 people", exact=True)).to_be_visible(timeout=10_000)

        upload(
            session,
            ref,
            "Probation caseload",
            write_csv(tmp_path, "probation.csv", PROBATION),
            ["full_name", "full_name", "date_of_birth", "pnc_id", "address"],
        )
        page.get_by_role("button", name="Process the data set").click()
        dataset_process(dataset_id=LostDataSet.objects.get(name="Probation caseload").pk)
        expect(page.get_by_text("4 people", exact=True)).to_be_visible(timeout=10_000)
        expect(page.get_by_text("between 3 and 5 people")).to_be_visible()
        diagram = page.get_by_role("table", name="The overlap diagram")
        expect(diagram.get_by_role("row")).to_have_count(4)  # header + three regions
        check(session, "figures", failures)

        now = timezone.now()
        enquiry = Enquiry.objects.create(
            incident=incident,
            kind="enquiry",
            person_name="Lena Marchetti",
            received_at=now,
            identity_verified=True,
            identity_method="Passport seen at the office",
            recorded_by=org["manager"],
            recorded_at=now,
            updated_at=now,
        )
        session.goto(f"/incidents/{ref}/enquiries/{enquiry.pk}/")
        expect(page.get_by_role("heading", name="Look them up in the lost data sets")).to_be_visible()
        page.get_by_label("Date of birth").fill("03/04/1980")
        page.get_by_role("button", name="Look up").click()
        expect(page.get_by_text("Found in 2 of the lost data sets.")).to_be_visible()
        check(session, "enquiry", failures)
        enquiry.refresh_from_db()
        assert enquiry.data_held is True
        assert "Address" in enquiry.fields_held
        session.assert_page_healthy()
    finally:
        session.close()
    assert not failures, "\n\n".join(failures)
