"""Lost data sets end to end: upload (API and browser), pseudonymisation on the way in,
exact counts against a generated population whose overlap is known, enquiries, key rotation,
cancelling and failing with nothing kept, bad input, and scoping."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bench.datagen import MAPPINGS, generate
from breachdesk.models import AuditEvent
from incidents.models import Enquiry
from riskassess import datasets
from riskassess.choices import DataSetStatus
from riskassess.datasets import dataset_process, datasets_rekey
from riskassess.models import LostDataSet, PersonRecord
from riskassess.population import population_get
from tests.conftest import DEMO_PASSWORD
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

OLD_KEY = "1:first-pseudonym-key-0123456789abcdef"
NEW_KEYS = "1:first-pseudonym-key-0123456789abcdef,2:second-pseudonym-key-0123456789abcdef"

SAMPLE = [
    ["Name", "DOB", "PNC", "Prison No", "Offence code", "Address"],
    ["Lena Marchetti", "03/04/1980", "2001/0012345A", "A1234XY", "OFF101", "1 Quay Road, Newcastle"],
    ["  LENA  MARCHETTI ", "1980-04-03", "", "", "OFF101", "1 Quay Road, Newcastle"],  # same person
    ["Sam Okafor", "12 May 1975", "99/77B", "", "OFF202", "2 High Street"],
    ["Sam Okafor", "13/05/1975", "", "B2345QR", "OFF203", ""],  # near miss: another day
]
SAMPLE_MAPPING = {"Name": "full_name", "DOB": "date_of_birth", "PNC": "pnc_id", "Prison No": "prison_number"}
SECOND = [
    ["Forename", "Surname", "Date of birth", "PNC ID", "Release date"],
    ["Lena", "Marchetti", "3 April 1980", "01/12345A", "2027-01-15"],
    ["Jo", "Bloggs", "01/01/1990", "", "2027-02-01"],
]
SECOND_MAPPING = {"Forename": "full_name", "Surname": "full_name", "Date of birth": "date_of_birth", "PNC ID": "pnc_id"}


@pytest.fixture(autouse=True)
def upload_dir(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "uploads"
    folder.mkdir()
    settings.DATASET_UPLOAD_DIR = folder
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.PSEUDONYM_KEYS = OLD_KEY
    return folder


@pytest.fixture
def incident(org: dict[str, Any]) -> Any:
    return IncidentFactory.create(reporter=org["reporter"])


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def upload(client: Any, incident: Any, name: str, content: bytes, mapping: Any, filename: str = "extract.csv") -> Any:
    file = io.BytesIO(content)
    file.name = filename
    return client.post(
        reverse("api:datasets", args=[incident.reference]),
        {"file": file, "name": name, "mapping": json.dumps(mapping)},
        format="multipart",
    )


def upload_and_run(client: Any, incident: Any, name: str, rows: list[list[str]], mapping: dict[str, str]) -> int:
    response = upload(client, incident, name, csv_bytes(rows), mapping)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    assert dataset_process(dataset_id=response.json()["id"])
    dataset = LostDataSet.objects.get(pk=response.json()["id"])
    assert dataset.status == DataSetStatus.DONE, dataset.error
    return dataset.pk


def every_stored_text() -> str:
    """Every value of every row of every table, as text: what an attacker with the
    database would have."""
    parts = []
    for model in apps.get_models():
        for row in model._default_manager.all().values_list():
            parts.append(" ".join(str(v) for v in row))
    return "\n".join(parts).casefold()


def test_two_data_sets_link_into_exact_people_and_nothing_raw_is_kept(
    org, incident, api_client_for, upload_dir, caplog
):
    client = api_client_for("manager")
    with caplog.at_level(logging.DEBUG):
        first = upload_and_run(client, incident, "Prison releases", SAMPLE, SAMPLE_MAPPING)
        second = upload_and_run(client, incident, "Probation list", SECOND, SECOND_MAPPING)
    body = client.get(reverse("api:population", args=[incident.reference])).json()
    # Lena (three rows, two spellings of the PNC ID, three date formats), Sam (12 May),
    # the other Sam (13 May: a near miss that must not link), Jo.
    assert body["unique_people"] == 4
    assert {d["id"]: (d["rows"], d["people"]) for d in body["datasets"]} == {first: (4, 3), second: (2, 2)}
    assert body["overlaps"] == [{"datasets": [first, second], "people": 1}]
    assert {tuple(r["datasets"]): r["people"] for r in body["regions"]} == {
        (first,): 2,
        (first, second): 1,
        (second,): 1,
    }
    assert body["range_without_linking"] == [3, 6]
    lena = ["Address", "Date of birth", "Full name", "Offence code", "PNC ID", "Prison number", "Release date"]
    assert {"fields": lena, "people": 1} in body["combinations"]
    # Nothing raw: not in the database, not in the upload folder, not in the logs.
    stored = every_stored_text()
    # (values with letters that are not hex digits: a token's hex could hold "1980" by chance)
    raw = ("marchetti", "okafor", "bloggs", "03/04/1980", "1980-04-03", "2001/0012345a", "a1234xy", "b2345qr")
    for value in (*raw, "quay road", "off101", "12 may 1975"):
        assert value not in stored, value
        assert value not in caplog.text.casefold(), value
    assert list(upload_dir.iterdir()) == []
    assert PersonRecord.objects.filter(dataset_id=first).count() == 4


def test_exact_counts_on_a_generated_population_with_known_overlap(org, incident, api_client_for, tmp_path):
    truth = generate(4000, tmp_path / "generated", seed=7)
    client = api_client_for("dpo")
    ids = {}
    for k, (name, path) in enumerate(truth.paths.items()):
        response = upload(client, incident, name, path.read_bytes(), MAPPINGS[k], filename=path.name)
        assert response.status_code == 202, response.content
        ids[name] = response.json()["id"]
        assert dataset_process(dataset_id=ids[name])
    body = client.get(reverse("api:population", args=[incident.reference])).json()
    by_id = {v: k for k, v in ids.items()}
    assert body["unique_people"] == truth.unique_people
    assert {by_id[d["id"]]: d["people"] for d in body["datasets"]} == truth.people
    assert {by_id[d["id"]]: d["rows"] for d in body["datasets"]} == truth.rows
    pairs = {tuple(by_id[i] for i in o["datasets"]): o["people"] for o in body["overlaps"] if len(o["datasets"]) == 2}
    assert pairs == truth.pairs
    regions = {frozenset(by_id[i] for i in r["datasets"]): r["people"] for r in body["regions"]}
    assert regions == truth.regions
    assert body["unlinkable_rows"] == 0
    # Looking a generated person up finds exactly the data sets they were put in.
    person = next(i for i, m in enumerate(truth.membership) if len(m) >= 3)
    p = truth.persons[person]
    enquiry = verified_enquiry(incident, org["dpo"])
    found = client.post(
        reverse("api:population-lookup", args=[incident.reference]),
        {"enquiry": enquiry.pk, "full_name": f"{p.first} {p.last}", "date_of_birth": p.born.isoformat()},
    ).json()
    assert {by_id[d["id"]] for d in found["datasets"]} == truth.membership[person]


def verified_enquiry(incident: Any, user: Any, *, verified: bool = True) -> Enquiry:
    now = timezone.now()
    return Enquiry.objects.create(
        incident=incident,
        kind="enquiry",
        person_name="Lena Marchetti",
        received_at=now,
        identity_verified=verified,
        identity_method="Passport seen" if verified else "",
        recorded_by=user,
        recorded_at=now,
        updated_at=now,
    )


def test_an_enquiry_is_answered_with_the_data_sets_and_fields_and_recorded(org, incident, api_client_for):
    client = api_client_for("manager")
    first = upload_and_run(client, incident, "Prison releases", SAMPLE, SAMPLE_MAPPING)
    second = upload_and_run(client, incident, "Probation list", SECOND, SECOND_MAPPING)
    enquiry = verified_enquiry(incident, org["manager"])
    url = reverse("api:population-lookup", args=[incident.reference])
    # By PNC ID alone (short form): the record in the second data set carries the same PNC,
    # and the first data set's row without a PNC ID links through Lena's name and birth.
    found = client.post(url, {"enquiry": enquiry.pk, "pnc_id": "01/12345a"}).json()
    assert found["found"] is True
    assert [d["id"] for d in found["datasets"]] == [first, second]
    assert found["datasets"][1]["fields"] == ["Full name", "Date of birth", "PNC ID", "Release date"]
    enquiry.refresh_from_db()
    assert enquiry.data_held is True
    assert "Release date" in enquiry.fields_held
    event = AuditEvent.objects.filter(action="population.lookup").latest("id")
    assert event.after["found"] is True
    assert "marchetti" not in json.dumps(event.after).casefold()
    # Someone not in any data set gets a clear "not found", recorded as such.
    other = verified_enquiry(incident, org["manager"])
    missing = client.post(url, {"enquiry": other.pk, "full_name": "Lena Marchetti", "date_of_birth": "04/04/1980"})
    assert missing.json() == {"found": False, "datasets": [], "fields": []}
    other.refresh_from_db()
    assert other.data_held is False


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"full_name": "Lena Marchetti"}, "non_field_errors", "nothing less identifies one person"),
        ({"date_of_birth": "31/02/1980", "full_name": "Lena Marchetti"}, "date_of_birth", "not a date of birth"),
        ({"pnc_id": "not a pnc"}, "pnc_id", "not a pnc id"),
    ],
)
def test_a_lookup_with_too_little_or_unreadable_identifiers_is_refused(
    org, incident, api_client_for, payload, field, message
):
    client = api_client_for("manager")
    upload_and_run(client, incident, "Prison releases", SAMPLE, SAMPLE_MAPPING)
    enquiry = verified_enquiry(incident, org["manager"])
    response = client.post(
        reverse("api:population-lookup", args=[incident.reference]), {"enquiry": enquiry.pk, **payload}
    )
    assert response.status_code == 400
    assert message in " ".join(response.json()[field]).casefold()
    enquiry.refresh_from_db()
    assert enquiry.data_held is None


def test_an_unverified_enquirer_is_not_looked_up(org, incident, api_client_for):
    client = api_client_for("manager")
    upload_and_run(client, incident, "Prison releases", SAMPLE, SAMPLE_MAPPING)
    enquiry = verified_enquiry(incident, org["manager"], verified=False)
    response = client.post(
        reverse("api:population-lookup", args=[incident.reference]), {"enquiry": enquiry.pk, "pnc_id": "01/12345A"}
    )
    assert response.status_code == 400
    assert "identity" in response.json()["enquiry"][0]
    assert not AuditEvent.objects.filter(action="population.lookup").exists()


def test_key_rotation_rekeys_without_raw_values_and_answers_stay_the_same(org, incident, api_client_for, settings):
    client = api_client_for("manager")
    first = upload_and_run(client, incident, "Prison releases", SAMPLE, SAMPLE_MAPPING)
    before = population_get(incident).result
    tokens_before = set(PersonRecord.objects.values_list("name_dob", flat=True))
    settings.PSEUDONYM_KEYS = NEW_KEYS
    done = datasets_rekey()
    assert [(d.pk, rows) for d, rows in done] == [(first, 4)]
    assert LostDataSet.objects.get(pk=first).key_version == 2
    tokens_after = set(PersonRecord.objects.values_list("name_dob", flat=True))
    assert tokens_after.isdisjoint(tokens_before - {None})
    # A data set uploaded under the new key links to the re-keyed one exactly as before.
    second = upload_and_run(client, incident, "Probation list", SECOND, SECOND_MAPPING)
    result = population_get(incident).result
    assert result["unique_people"] == 4
    assert result["overlaps"] == [{"datasets": [first, second], "people": 1}]
    assert before["unique_people"] == 3
    enquiry = verified_enquiry(incident, org["manager"])
    found = client.post(
        reverse("api:population-lookup", args=[incident.reference]), {"enquiry": enquiry.pk, "prison_number": "a1234xy"}
    ).json()
    assert [d["id"] for d in found["datasets"]] == [first, second]
    assert datasets_rekey() == []  # nothing left to do


def test_a_failure_part_way_keeps_nothing_and_says_which_row(org, incident, api_client_for, upload_dir, monkeypatch):
    monkeypatch.setattr(datasets, "CHUNK_ROWS", 2)  # several chunks are written before the bad row
    rows = [*SAMPLE, *SAMPLE[1:], ["Late Row", "01/01/1990", "", "", "OFF1", "Addr", "an extra value"]]
    response = upload(api_client_for("manager"), incident, "Bad", csv_bytes(rows), SAMPLE_MAPPING)
    assert response.status_code == 202
    dataset_process(dataset_id=response.json()["id"])
    dataset = LostDataSet.objects.get(pk=response.json()["id"])
    assert dataset.status == DataSetStatus.FAILED
    assert dataset.error == "Row 10 has more values than the header has columns."
    assert not PersonRecord.objects.filter(dataset=dataset).exists()
    assert list(upload_dir.iterdir()) == []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [f"riskassess_personrecord_{dataset.pk}"])
            assert cursor.fetchone() == (None,)
    assert population_get(incident) is None


def test_cancelling_while_processing_stops_at_the_next_chunk_and_keeps_nothing(
    org, incident, api_client_for, upload_dir, monkeypatch
):
    monkeypatch.setattr(datasets, "CHUNK_ROWS", 1)
    response = upload(api_client_for("manager"), incident, "Prison releases", csv_bytes(SAMPLE), SAMPLE_MAPPING)
    pk = response.json()["id"]
    seen = []

    def cancel_after_first_chunk(done: int) -> None:
        seen.append(done)
        if done == 1:
            cancelled = api_client_for("dpo").post(reverse("api:dataset-cancel", args=[incident.reference, pk]))
            assert cancelled.status_code == 200, cancelled.content

    dataset_process(dataset_id=pk, on_chunk=cancel_after_first_chunk)
    dataset = LostDataSet.objects.get(pk=pk)
    assert seen == [1]
    assert dataset.status == DataSetStatus.FAILED
    assert dataset.error.startswith("Cancelled by ")
    assert "Nothing from the file was kept" in dataset.error
    assert not PersonRecord.objects.filter(dataset=dataset).exists()
    assert list(upload_dir.iterdir()) == []


def test_cancelling_before_it_starts_removes_the_file_at_once(org, incident, api_client_for, upload_dir):
    client = api_client_for("manager")
    response = upload(client, incident, "Prison releases", csv_bytes(SAMPLE), SAMPLE_MAPPING)
    assert len(list(upload_dir.iterdir())) == 1
    body = client.post(reverse("api:dataset-cancel", args=[incident.reference, response.json()["id"]])).json()
    assert body["status"] == "failed"
    assert list(upload_dir.iterdir()) == []
    assert dataset_process(dataset_id=response.json()["id"]) is False  # nothing left to run
    again = client.post(reverse("api:dataset-cancel", args=[incident.reference, response.json()["id"]]))
    assert again.status_code == 400


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_excel_workbook_is_read_by_content_with_real_dates(org, incident, api_client_for):
    from datetime import datetime

    rows = [
        ["Name", "Date of birth", "NI number", "Notes"],
        ["Lena Marchetti", datetime(1980, 4, 3), "QQ 12 34 56 C", "x"],  # noqa: DTZ001 - Excel has no zones
    ]
    client = api_client_for("manager")
    response = upload(
        client,
        incident,
        "Workbook",
        xlsx_bytes(rows),
        {"Name": "full_name", "Date of birth": "date_of_birth", "NI number": "ni_number"},
        filename="named-wrongly.csv",
    )
    assert response.status_code == 202, response.content
    dataset_process(dataset_id=response.json()["id"])
    upload_and_run(client, incident, "Prison releases", SAMPLE, SAMPLE_MAPPING)
    assert population_get(incident).result["unique_people"] == 3  # Lena is in both


@pytest.mark.parametrize(
    ("content", "mapping", "field", "message"),
    [
        (b"", SAMPLE_MAPPING, "file", "file is empty."),
        ("Name,DOB\nJosé,1980-01-01\n".encode("latin-1"), SAMPLE_MAPPING, "file", "not UTF-8"),
        (b"Name,DOB,PNC\n", {"Name": "full_name"}, "file", "no rows of data"),
        (b"Name,,PNC\nA,B,C\n", {"Name": "full_name"}, "file", "Column 2 has no name"),
        (b"Name,DOB,name\nA,B,C\n", {"Name": "full_name"}, "file", 'The column name "name" appears twice'),
        (
            b"Name,DOB\nA,1980-01-01\n",
            {"Name": "full_name", "Surname": "full_name"},
            "mapping",
            'no column called "Surname"',
        ),
        (b"Name,DOB\nA,1980-01-01\n", {"Name": "favourite_colour"}, "mapping", "is not one of"),
        (b"Name,DOB\nA,1980-01-01\n", {}, "mapping", "at least one identifier"),
        (b"Name,DOB\nA,1980-01-01\n", ["Name"], "mapping", "must be an object"),
        (b"PK\x03\x04 not really a workbook", {"Name": "full_name"}, "file", "not a workbook"),
        (b"\x00\x01binary\x00", {"Name": "full_name"}, "file", "not text"),
    ],
)
def test_bad_input_gets_a_clear_message_and_stores_nothing(
    org, incident, api_client_for, upload_dir, content, mapping, field, message
):
    response = upload(api_client_for("manager"), incident, "Bad", content, mapping)
    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()[field])
    assert not LostDataSet.objects.exists()
    assert list(upload_dir.iterdir()) == []


def test_a_file_over_the_limit_is_refused(org, incident, api_client_for, upload_dir, settings):
    settings.DATASET_MAX_BYTES = 1024 * 1024
    big = csv_bytes([SAMPLE[0], *([SAMPLE[1]] * 20_000)])
    response = upload(api_client_for("manager"), incident, "Too big", big, SAMPLE_MAPPING)
    assert response.status_code == 400
    assert response.json()["file"] == ["The file is larger than the limit of 1 MB."]
    assert list(upload_dir.iterdir()) == []


def test_the_same_file_twice_is_refused(org, incident, api_client_for):
    client = api_client_for("manager")
    upload_and_run(client, incident, "Prison releases", SAMPLE, SAMPLE_MAPPING)
    again = upload(client, incident, "Prison releases again", csv_bytes(SAMPLE), SAMPLE_MAPPING)
    assert again.status_code == 400
    assert 'already uploaded to this incident as "Prison releases"' in again.json()["file"][0]
    assert LostDataSet.objects.count() == 1


def test_the_number_of_data_sets_is_bounded(org, incident, api_client_for, upload_dir, monkeypatch):
    monkeypatch.setattr(datasets, "MAX_DATASETS", 1)
    client = api_client_for("manager")
    upload_and_run(client, incident, "Prison releases", SAMPLE, SAMPLE_MAPPING)
    refused = upload(client, incident, "Probation list", csv_bytes(SECOND), SECOND_MAPPING)
    assert refused.status_code == 400
    assert refused.json()["file"] == ["An incident can have at most 1 data sets."]
    assert LostDataSet.objects.count() == 1
    assert list(upload_dir.iterdir()) == []


def test_scoping_other_areas_get_404_and_reporters_cannot_upload(org, incident, api_client_for):
    upload_and_run(api_client_for("manager"), incident, "Prison releases", SAMPLE, SAMPLE_MAPPING)
    for path in ("api:datasets", "api:population"):
        assert api_client_for("reporter2").get(reverse(path, args=[incident.reference])).status_code == 404
    assert api_client_for("reporter").get(reverse("api:population", args=[incident.reference])).status_code == 200
    refused = upload(api_client_for("reporter"), incident, "Mine", csv_bytes(SECOND), SECOND_MAPPING)
    assert refused.status_code == 403
    enquiry = verified_enquiry(incident, org["manager"])
    lookup = api_client_for("reporter").post(
        reverse("api:population-lookup", args=[incident.reference]), {"enquiry": enquiry.pk, "pnc_id": "01/12345A"}
    )
    assert lookup.status_code == 404
    web = Client()
    web.login(username="reporter2", password=DEMO_PASSWORD)
    assert web.get(reverse("riskassess:people", args=[incident.reference])).status_code == 404


def test_the_figures_export_neutralises_spreadsheet_formulas(org, incident, api_client_for):
    rows = [["Name", "DOB", '=HYPERLINK("http://x")'], ["Lena Marchetti", "03/04/1980", "yes"]]
    upload_and_run(api_client_for("manager"), incident, "@SUM(A1)", rows, {"Name": "full_name", "DOB": "date_of_birth"})
    web = Client()
    web.login(username="manager", password=DEMO_PASSWORD)
    response = web.get(reverse("riskassess:people-csv", args=[incident.reference]))
    cells = [cell for row in csv.reader(io.StringIO(response.content.decode())) for cell in row]
    assert "'@SUM(A1)" in cells
    # the combination of fields sorts the formula-looking column name first
    assert any(cell.startswith("'=HYPERLINK") for cell in cells)
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_the_browser_upload_maps_columns_and_shows_the_figures(org, incident, upload_dir):
    web = Client()
    web.login(username="manager", password=DEMO_PASSWORD)
    people = reverse("riskassess:people", args=[incident.reference])
    file = io.BytesIO(csv_bytes(SAMPLE))
    file.name = "releases.csv"
    response = web.post(
        reverse("riskassess:people-upload", args=[incident.reference]), {"name": "Releases", "file": file}
    )
    assert response.status_code == 302
    mapping_page = web.get(response["Location"])
    text = mapping_page.content.decode()
    # Guessed from the column names, for the person to confirm.
    assert '<option value="pnc_id" selected>' in text
    assert '<option value="prison_number" selected>' in text
    assert LostDataSet.objects.count() == 0
    form = {
        f"column_{i}": v
        for i, v in enumerate(["full_name", "date_of_birth", "pnc_id", "prison_number", "field", "address"])
    }
    response = web.post(response["Location"], {**form, "action": "process"})
    assert response.status_code == 302
    dataset = LostDataSet.objects.get()
    page = web.get(people).content.decode()
    assert "Waiting to be processed" in page
    assert 'hx-trigger="every 2s"' in page
    dataset_process(dataset_id=dataset.pk)
    fragment = web.get(people, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 286  # done: htmx stops polling
    page = web.get(people).content.decode()
    assert "3 people" in page
    assert "4 rows" in page


def test_discarding_a_received_file_keeps_nothing(org, incident, upload_dir):
    web = Client()
    web.login(username="manager", password=DEMO_PASSWORD)
    file = io.BytesIO(csv_bytes(SAMPLE))
    file.name = "releases.csv"
    response = web.post(
        reverse("riskassess:people-upload", args=[incident.reference]), {"name": "Releases", "file": file}
    )
    assert len(list(upload_dir.iterdir())) == 1
    web.post(response["Location"], {"action": "cancel"})
    assert list(upload_dir.iterdir()) == []
    assert not LostDataSet.objects.exists()


def test_the_assessment_and_reports_use_the_exact_figure(org, incident, api_client_for):
    from notifications.reports.data import _numbers
    from riskassess.services import risk_assessment_create
    from tests.riskassess.test_services import JTRACK

    client = api_client_for("manager")
    upload_and_run(client, incident, "Prison releases", SAMPLE, SAMPLE_MAPPING)
    upload_and_run(client, incident, "Probation list", SECOND, SECOND_MAPPING)
    data = {**JTRACK, "subjects_count": None}
    assessment = risk_assessment_create(incident=incident, actor=org["dpo"], data=data)
    assert (assessment.subjects_count, assessment.population_min, assessment.population_max) == (4, 4, 4)
    numbers = _numbers(incident, assessment)
    assert (numbers.people, numbers.has_range) == (4, False)
    web = Client()
    web.login(username="dpo", password=DEMO_PASSWORD)
    form = web.get(reverse("riskassess:new", args=[incident.reference])).content.decode()
    assert 'value="Prison releases"' in form
    assert "were exposed" in form


def test_the_sweep_runs_a_lost_job_and_removes_unmapped_files(org, incident, api_client_for, upload_dir):
    response = upload(api_client_for("manager"), incident, "Prison releases", csv_bytes(SAMPLE), SAMPLE_MAPPING)
    LostDataSet.objects.filter(pk=response.json()["id"]).update(uploaded_at=timezone.now() - datasets.QUEUED_GRACE * 2)
    orphan = upload_dir / "abandoned.upload"
    orphan.write_bytes(b"x")
    import os
    import time as _time

    old = _time.time() - datasets.ORPHAN_AFTER.total_seconds() - 60
    os.utime(orphan, (old, old))
    assert datasets.datasets_sweep() == 1
    assert LostDataSet.objects.get().status == DataSetStatus.DONE
    assert list(upload_dir.iterdir()) == []


def test_a_file_exposing_more_fields_than_can_be_recorded_is_refused():
    header = ["Name", *(f"Field {i}" for i in range(datasets.MAX_LABELS))]
    _columns, labels, errors = datasets.mapping_errors(header, {"Name": "full_name"})
    assert len(labels) == datasets.MAX_LABELS + 1
    assert errors["mapping"] == [
        f"The file exposes {datasets.MAX_LABELS + 1} different fields; at most {datasets.MAX_LABELS} can be recorded."
    ]
    _columns, _labels, fine = datasets.mapping_errors(header[:-1], {"Name": "full_name"})
    assert fine == {}


def test_bad_input_in_the_browser_lookup_and_mapping_is_named_and_changes_nothing(org, incident, api_client_for):
    upload_and_run(api_client_for("manager"), incident, "Prison releases", SAMPLE, SAMPLE_MAPPING)
    enquiry = verified_enquiry(incident, org["manager"])
    web = Client()
    web.login(username="manager", password=DEMO_PASSWORD)
    lookup = reverse("riskassess:enquiry-lookup", args=[incident.reference, enquiry.pk])
    page = web.post(lookup, {"full_name": "Lena Marchetti"})
    assert page.status_code == 400
    assert "nothing less identifies one person" in page.content.decode()
    page = web.post(lookup, {"full_name": "Lena Marchetti", "date_of_birth": "31/02/1980"})
    assert page.status_code == 400
    assert "not a date of birth that can be read" in page.content.decode()
    enquiry.refresh_from_db()
    assert (enquiry.data_held, enquiry.fields_held) == (None, "")
    assert not AuditEvent.objects.filter(action="population.lookup").exists()

    file = io.BytesIO(csv_bytes(SECOND))
    file.name = "second.csv"
    response = web.post(
        reverse("riskassess:people-upload", args=[incident.reference]), {"name": "Second", "file": file}
    )
    mapping = web.post(response["Location"], {"column_0": "favourite_colour", "action": "process"})
    assert mapping.status_code == 400
    assert "Choose what this column holds from the list." in mapping.content.decode()
    none = web.post(response["Location"], {**{f"column_{i}": "field" for i in range(5)}, "action": "process"})
    assert none.status_code == 400
    assert "at least one identifier" in none.content.decode()
    assert LostDataSet.objects.count() == 1
