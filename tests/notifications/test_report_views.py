"""Reports in the browser and over the API: scoping (404 outside it), who may issue, issuing
from the page, bulk letters as a job with progress, and the SIRO summary."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from breachdesk.models import AuditEvent
from notifications.choices import LetterBatchState
from notifications.models import IssuedReport, LetterBatch
from notifications.services.letters import letter_batch_create, letter_batch_run, letter_batches_sweep
from riskassess.models import RiskGroup
from tests.conftest import DEMO_PASSWORD
from tests.factories import IncidentFactory
from tests.incidents.test_plan import make_ready_to_close
from tests.notifications.test_reports import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def reports_root(settings, tmp_path):
    settings.REPORTS_ROOT = tmp_path / "reports"
    return settings.REPORTS_ROOT


@pytest.fixture
def incident(org):
    return make_ready_to_close(org, IncidentFactory(reporter=org["reporter"]))


@pytest.fixture
def client_for(org):
    def make(username):
        client = Client()
        assert client.login(username=username, password=DEMO_PASSWORD)
        return client

    return make


def url(incident, tail=""):
    return f"/incidents/{incident.reference}/{tail}"


@pytest.mark.parametrize(
    "tail",
    [
        "reports/",
        "reports/ico-notification/",
        "reports/ombudsman-pack/pdf/",
        "reports/tracker-form/issue/",
    ],
)
def test_reports_are_404_outside_scope(incident, client_for, tail):
    assert client_for("reporter2").get(url(incident, tail)).status_code == 404
    assert client_for("manager2").get(url(incident, tail)).status_code == 404


def test_the_reporter_may_read_but_not_issue(incident, client_for):
    client = client_for("reporter")
    preview = client.get(url(incident, "reports/ico-notification/"))
    assert preview.status_code == 200
    assert b"Personal data breach report to the Information" in preview.content
    assert b"Issue this report" not in preview.content
    assert client.get(url(incident, "reports/tracker-form/issue/")).status_code == 403
    assert client.post(url(incident, "reports/tracker-form/issue/"), {"issued_to": "ICO"}).status_code == 403
    assert not IssuedReport.objects.exists()


def test_issuing_from_the_page(incident, client_for):
    client = client_for("dpo")
    form = client.get(url(incident, "reports/ombudsman-pack/issue/"))
    assert b"Issue version 1" in form.content
    empty = client.post(url(incident, "reports/ombudsman-pack/issue/"), {"issued_to": ""})
    assert empty.status_code == 400
    assert b"Enter who the report is issued to" in empty.content
    assert not IssuedReport.objects.exists()
    done = client.post(url(incident, "reports/ombudsman-pack/issue/"), {"issued_to": "Parliamentary Ombudsman"})
    assert done.status_code == 302
    issued = IssuedReport.objects.get()
    index = client.get(url(incident, "reports/")).content.decode()
    assert "Ombudsman and complaint pack, version 1" in index
    assert "Verified" in index
    download = client.get(url(incident, f"reports/issued/{issued.pk}/"))
    assert download["Content-Type"] == "application/pdf"
    assert "Issued as version 1 by Dee Patel to Parliamentary Ombudsman" in pdf_text(
        b"".join(download.streaming_content)
    )
    assert AuditEvent.objects.filter(action="report.downloaded", object_id=str(issued.pk)).exists()
    assert incident.timeline.filter(body__startswith="Ombudsman and complaint pack issued to").exists()


def test_api_gives_each_kind_as_a_pdf(incident, api_client_for):
    client = api_client_for("isim")
    for kind in ["ico-notification", "tracker-form", "ombudsman-pack", "subject-letter"]:
        response = client.get(f"/api/v1/incidents/{incident.reference}/reports/{kind}/")
        assert response.status_code == 200, kind
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-")
        assert incident.reference in pdf_text(response.content)
    unknown = client.get(
        f"/api/v1/incidents/{incident.reference}/reports/press-release/", HTTP_ACCEPT="application/json"
    )
    assert unknown.status_code == 404
    assert "ico-notification" in unknown.json()["detail"]
    outsider = api_client_for("reporter2").get(f"/api/v1/incidents/{incident.reference}/reports/ico-notification/")
    assert outsider.status_code == 404


def csv_upload(rows: list[str], header: str = "name,address,postcode,fields") -> SimpleUploadedFile:
    return SimpleUploadedFile("people.csv", ("\n".join([header, *rows]) + "\n").encode(), content_type="text/csv")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The selected file is empty"),
        (b"name,town\nJo,York\n", "it has no address column"),
        (b"name,address\n,1 High St\nAl,\n", "row 2 has no name; row 3 has no address"),
        (b"name,address\n", "only the header row"),
        ("name,address\nJö,1 Straße\n".encode("latin-1"), "saved as UTF-8"),
    ],
)
def test_a_bad_list_of_people_is_refused_and_nothing_is_saved(org, incident, reports_root, content, message):
    upload = SimpleUploadedFile("people.csv", content, content_type="text/csv")
    with pytest.raises(Exception, match=message):
        letter_batch_create(incident=incident, actor=org["isim"], group=None, upload=upload)
    assert not LetterBatch.objects.exists()
    assert not reports_root.exists() or not any(p.is_file() for p in reports_root.rglob("*"))


def test_bulk_letters_are_one_job_with_progress(org, incident, client_for, reports_root):
    group = RiskGroup.objects.get(assessment__incident=incident, name="All")
    rows = [f'Person {i},"{i} Long Lane, Leeds",ls{i % 9} 1ab,"Name, release date"' for i in range(1, 251)]
    client = client_for("isim")
    response = client.post(url(incident, "letters/"), {"group": group.pk, "recipients": csv_upload(rows)}, follow=False)
    assert response.status_code == 302
    batch = LetterBatch.objects.get()
    assert (batch.state, batch.total, batch.done) == (LetterBatchState.QUEUED, 250, 0)
    page = client.get(response["Location"]).content.decode()
    assert "0 of 250 letters" in page
    assert "<progress" in page
    assert 'hx-trigger="every 2s"' in page

    # a worker runs it (here: the service the task calls)
    assert letter_batch_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert (batch.state, batch.done) == (LetterBatchState.DONE, 250)
    assert not batch.source  # the names and addresses are not kept once the letters exist
    assert not any(reports_root.rglob("*.csv"))
    done_page = client.get(response["Location"]).content.decode()
    assert "250 of 250 letters" in done_page
    assert "hx-trigger" not in done_page
    pdf = b"".join(client.get(url(incident, f"letters/{batch.pk}/download/")).streaming_content)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == batch.pages >= 250
    text = pdf_text(pdf)
    assert "Dear Person 1," in text
    assert "Dear Person 250," in text
    assert "250 Long Lane Leeds LS7 1AB" in text
    assert "[Name]" not in text
    assert "Draft" not in text
    assert text.count("Fraud (no financial data). We think the chance of this happening is low.") == 250


def test_a_batch_nobody_took_up_is_run_by_the_sweep(org, incident, reports_root):
    batch = letter_batch_create(
        incident=incident, actor=org["isim"], group=None, upload=csv_upload(['Al,"1 High St, York",,'])
    )
    assert letter_batches_sweep() == 0  # too new: its own message may still arrive
    LetterBatch.objects.filter(pk=batch.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    assert letter_batches_sweep() == 1
    batch.refresh_from_db()
    assert batch.state == LetterBatchState.DONE
    assert letter_batch_run(batch_id=batch.pk) is False  # a stale wake-up is a no-op


def test_siro_summary_page(org, incident, client_for):
    client = client_for("siro")
    today = timezone.localdate()
    form = client.get("/reports/siro-summary/")
    assert form.status_code == 200
    assert b'name="start"' in form.content
    bad = client.get("/reports/siro-summary/", {"start": "2026-02-30", "end": today.isoformat()})
    assert bad.status_code == 400
    assert b"Enter the start date as a real date" in bad.content
    query = {"start": (today - timedelta(days=30)).isoformat(), "end": today.isoformat(), "unit": ""}
    preview = client.get("/reports/siro-summary/", query)
    assert preview.status_code == 200
    assert b"<svg" in preview.content
    assert incident.reference.encode() in preview.content
    pdf = client.get("/reports/siro-summary/", {**query, "format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf"
    issued = client.post(
        "/reports/siro-summary/issue/?" + "&".join(f"{k}={v}" for k, v in query.items()), {"issued_to": "The Board"}
    )
    assert issued.status_code == 302
    assert IssuedReport.objects.get().incident is None
    assert client_for("reporter").get("/reports/siro-summary/").status_code == 403


def test_a_missing_letters_file_is_a_clear_404_not_an_error(org, incident, client_for, reports_root):
    batch = letter_batch_create(
        incident=incident, actor=org["isim"], group=None, upload=csv_upload(['Al,"1 High St, York",,'])
    )
    assert letter_batch_run(batch_id=batch.pk)
    batch.refresh_from_db()
    (reports_root / batch.output.name).unlink()
    response = client_for("isim").get(url(incident, f"letters/{batch.pk}/download/"))
    assert response.status_code == 404
