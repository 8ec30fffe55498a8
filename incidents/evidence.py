"""What an evidence file really is, from its bytes, and whether BreachDesk accepts it.

A short allow-list of formats, each recognised by its own signature (and, for the zip-based
office formats, by the names of the members inside), rather than a libmagic dependency: the
list is small, the rules are readable and testable here without a database, and nothing
outside the list gets through because some external database of types happens to know it.

The name the uploader gave must agree with what the content is: a PDF named ``.png`` or a
program named ``.pdf`` is refused, so that whoever opens the file later gets what the name
promised. Programs, scripts, archives, web pages and SVG images are refused outright, and
office files carrying macros are refused because macros run code when opened.

What this does not do: look inside an email (``.eml``, ``.msg``) at its attachments, or inside
an office file at embedded objects. Files are only ever served as downloads with their
stored type and ``nosniff``, never displayed inline by BreachDesk.
"""

from __future__ import annotations

import codecs
import posixpath
import zipfile
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, TypeAlias, cast

from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    from django.core.files import File

HEAD_BYTES = 8192  # enough for every signature and an email's first headers
_SCAN_CHUNK = 1024 * 1024
MISMATCH = "The file's content is not what its name says"
# A seekable binary file: an open file, a BytesIO, or Django's File and UploadedFile.
Readable: TypeAlias = "IO[bytes] | File[Any]"


@dataclass(frozen=True)
class FileKind:
    content_type: str
    extensions: tuple[str, ...]
    label: str  # "a PDF", as in "it looks like a PDF"

    @property
    def name(self) -> str:
        """ "PDF", "Word document": the label without its article, for tables."""
        article, _, rest = self.label.partition(" ")
        return rest[:1].upper() + rest[1:] if article in ("a", "an") else self.label


PDF = FileKind("application/pdf", (".pdf",), "a PDF")
PNG = FileKind("image/png", (".png",), "a PNG image")
JPEG = FileKind("image/jpeg", (".jpg", ".jpeg"), "a JPEG image")
GIF = FileKind("image/gif", (".gif",), "a GIF image")
WEBP = FileKind("image/webp", (".webp",), "a WebP image")
DOCX = FileKind(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",), "a Word document"
)
XLSX = FileKind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",), "an Excel workbook")
PPTX = FileKind(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    (".pptx",),
    "a PowerPoint presentation",
)
ODT = FileKind("application/vnd.oasis.opendocument.text", (".odt",), "an OpenDocument text")
ODS = FileKind("application/vnd.oasis.opendocument.spreadsheet", (".ods",), "an OpenDocument spreadsheet")
ODP = FileKind("application/vnd.oasis.opendocument.presentation", (".odp",), "an OpenDocument presentation")
DOC = FileKind("application/msword", (".doc",), "a Word 97-2003 document")
XLS = FileKind("application/vnd.ms-excel", (".xls",), "an Excel 97-2003 workbook")
PPT = FileKind("application/vnd.ms-powerpoint", (".ppt",), "a PowerPoint 97-2003 presentation")
MSG = FileKind("application/vnd.ms-outlook", (".msg",), "an Outlook message")
EML = FileKind("message/rfc822", (".eml",), "an email")
TXT = FileKind("text/plain", (".txt",), "a text file")

KINDS = (PDF, PNG, JPEG, GIF, WEBP, DOCX, XLSX, PPTX, ODT, ODS, ODP, DOC, XLS, PPT, MSG, EML, TXT)
BY_EXTENSION = {ext: kind for kind in KINDS for ext in kind.extensions}
BY_CONTENT_TYPE = {kind.content_type: kind for kind in KINDS}
ACCEPTED_EXTENSIONS = tuple(BY_EXTENSION)
# For <input type="file" accept="...">: a hint to the browser's file picker, not a check.
ACCEPT_ATTRIBUTE = ",".join(ACCEPTED_EXTENSIONS)
ACCEPTED_DESCRIPTION = (
    "PDF, images (PNG, JPEG, GIF, WebP), Word, Excel and PowerPoint files (without macros), "
    "OpenDocument files, emails (.eml, .msg) or plain text (.txt)"
)

# Refused by name, with a message that says why, even before the content is read.
_PROGRAM_EXTENSIONS = frozenset({
    ".exe", ".dll", ".com", ".scr", ".pif", ".cpl", ".msi", ".msp", ".msix", ".appx", ".bat", ".cmd",
    ".ps1", ".psm1", ".vbs", ".vbe", ".wsf", ".wsh", ".hta", ".jar", ".sh", ".bash", ".zsh", ".py",
    ".pl", ".rb", ".php", ".apk", ".app", ".dmg", ".deb", ".rpm", ".bin", ".elf", ".run", ".lnk",
    ".reg", ".docm", ".xlsm", ".pptm", ".dotm", ".xltm", ".potm", ".xlam", ".ppam",
})  # fmt: skip
_ARCHIVE_EXTENSIONS = frozenset({
    ".zip", ".7z", ".rar", ".gz", ".tgz", ".bz2", ".xz", ".tar", ".cab", ".iso", ".img", ".zipx",
    ".lz", ".lzma",
})  # fmt: skip
_WEB_EXTENSIONS = frozenset({
    ".html", ".htm", ".xhtml", ".shtml", ".mht", ".mhtml", ".svg", ".svgz", ".js", ".mjs", ".xml", ".xsl",
})  # fmt: skip

_PROGRAM_SIGNATURES = (
    (b"\x7fELF", "a Linux program"),
    (b"\xfe\xed\xfa\xce", "a macOS program"),
    (b"\xfe\xed\xfa\xcf", "a macOS program"),
    (b"\xce\xfa\xed\xfe", "a macOS program"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\xca\xfe\xba\xbe", "a macOS or Java program"),
    (b"#!", "a script"),
)
_ARCHIVE_SIGNATURES = (
    b"\x1f\x8b",  # gzip
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    *(b"BZh%d" % level for level in range(1, 10)),  # bzip2
    b"\xfd7zXZ\x00",
    b"MSCF\x00\x00\x00\x00",  # Windows cabinet
)
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WEB_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<?xml", b"<!--", b"<iframe")
_EMAIL_HEADERS = frozenset(
    b"from to cc subject date received return-path mime-version message-id delivered-to reply-to".split()
)
# OLE2 directory entries are UTF-16LE names; their presence says which program made the file.
_OLE2_STREAMS = {
    "WordDocument".encode("utf-16-le"): DOC,
    "Workbook".encode("utf-16-le"): XLS,
    "PowerPoint Document".encode("utf-16-le"): PPT,
    "__substg1.0_".encode("utf-16-le"): MSG,
}
_OLE2_MACROS = "_VBA_PROJECT".encode("utf-16-le")
_OLE2_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")


def type_name(content_type: str) -> str:
    """What people call a stored file's type: "PDF", "Excel workbook"."""
    kind = BY_CONTENT_TYPE.get(content_type)
    return kind.name if kind is not None else content_type


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def _extension(filename: str) -> str:
    # Browsers send a bare name; older ones a Windows path. Only the last part counts.
    base = posixpath.basename(filename.replace("\\", "/")).strip().rstrip(".")
    stem, dot, ext = base.rpartition(".")
    return f".{ext.lower()}" if dot and ext and stem else ""


def _type_list() -> str:
    return f"Attach {ACCEPTED_DESCRIPTION}"


def _check_name(ext: str) -> FileKind:
    if not ext:
        raise _refuse(f"The file name must end with its type, such as .pdf. {_type_list()}", "no_extension")
    if ext in _PROGRAM_EXTENSIONS:
        raise _refuse(f"Programs, scripts and files with macros ({ext}) cannot be attached", "program")
    if ext in _ARCHIVE_EXTENSIONS:
        raise _refuse(f"Archives ({ext}) cannot be attached: attach the files inside one by one", "archive")
    if ext in _WEB_EXTENSIONS:
        raise _refuse(f"Web pages, SVG images, XML and JavaScript files ({ext}) cannot be attached", "web")
    kind = BY_EXTENSION.get(ext)
    if kind is None:
        raise _refuse(f"Files ending {ext} cannot be attached. {_type_list()}", "type")
    return kind


def _mismatch(claimed: FileKind, detail: str) -> ValidationError:
    return _refuse(f"{MISMATCH}: it is named as {claimed.label} but {detail}", "mismatch")


def sniff_content_type(file: Readable, filename: str) -> str:
    """The content type of an acceptable evidence file, or ValidationError saying what is
    wrong. ``file`` must be seekable; it is left at position 0."""
    claimed = _check_name(_extension(filename))
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    if not head:
        raise _refuse("The selected file is empty", "empty")
    try:
        found = _detect(file, head, claimed)
    finally:
        file.seek(0)
    if found is not claimed:
        raise _mismatch(claimed, f"it looks like {found.label}")
    return found.content_type


def _detect(file: Readable, head: bytes, claimed: FileKind) -> FileKind:
    if head.startswith(b"MZ") and b"\x00" in head[:64]:
        raise _disguised_or_refused(claimed, "a Windows program", "program")
    for signature, what in _PROGRAM_SIGNATURES:
        if head.startswith(signature):
            raise _disguised_or_refused(claimed, what, "program")
    if any(head.startswith(s) for s in _ARCHIVE_SIGNATURES) or head[257:262] == b"ustar":
        raise _disguised_or_refused(claimed, "an archive", "archive")
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(_ZIP_SIGNATURES):
        return _zip_kind(file, claimed)
    if head.startswith(_OLE2_SIGNATURE):
        return _ole2_kind(file, claimed)
    return _text_kind(file, head, claimed)


def _disguised_or_refused(claimed: FileKind, what: str, code: str) -> ValidationError:
    # The name passed the allow-list, so the content is in disguise.
    return _refuse(f"{MISMATCH}: it is named as {claimed.label} but it is {what}", f"{code}_disguised")


def _zip_kind(file: Readable, claimed: FileKind) -> FileKind:
    try:
        with zipfile.ZipFile(cast(IO[bytes], file)) as archive:
            names = archive.namelist()
            lowered = [n.lower() for n in names]
            if "[content_types].xml" in lowered:
                if any(posixpath.basename(n) == "vbaproject.bin" for n in lowered):
                    raise _refuse("Office files with macros cannot be attached: save it without macros", "macros")
                for prefix, kind in (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX)):
                    if any(n.startswith(prefix) for n in lowered):
                        return kind
            elif "mimetype" in names:
                if any(n.startswith(("basic/", "scripts/")) for n in lowered):
                    raise _refuse("Office files with macros cannot be attached: save it without macros", "macros")
                with archive.open("mimetype") as member:
                    declared = member.read(100).decode("ascii", "replace").strip()
                for kind in (ODT, ODS, ODP):
                    if declared == kind.content_type:
                        return kind
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as error:
        raise _mismatch(claimed, "it is a damaged or unreadable zip archive") from error
    if claimed in (DOCX, XLSX, PPTX, ODT, ODS, ODP):
        raise _mismatch(claimed, "it is a zip archive, not an office document")
    raise _disguised_or_refused(claimed, "an archive", "archive")


def _scan(file: Readable, patterns: tuple[bytes, ...]) -> set[bytes]:
    """Which of ``patterns`` occur anywhere in ``file``, reading it in bounded chunks."""
    found: set[bytes] = set()
    overlap = max(len(p) for p in patterns) - 1
    tail = b""
    file.seek(0)
    while chunk := file.read(_SCAN_CHUNK):
        window = tail + chunk
        found.update(p for p in patterns if p in window)
        tail = window[-overlap:]
    return found


def _ole2_kind(file: Readable, claimed: FileKind) -> FileKind:
    found = _scan(file, (*_OLE2_STREAMS, _OLE2_MACROS, _OLE2_ENCRYPTED))
    if _OLE2_ENCRYPTED in found:
        raise _refuse(
            "Password-protected office files cannot be checked: remove the password and attach it again",
            "encrypted",
        )
    if _OLE2_MACROS in found:
        raise _refuse("Office files with macros cannot be attached: save it without macros", "macros")
    kinds = [kind for stream, kind in _OLE2_STREAMS.items() if stream in found]
    if claimed in kinds:
        return claimed
    if kinds:
        return kinds[0]
    if claimed in (DOC, XLS, PPT, MSG):
        raise _mismatch(claimed, "it is some other kind of Windows compound file (such as an installer)")
    raise _mismatch(claimed, "it is a Windows compound file (such as an older Office file or an installer)")


def _text_kind(file: Readable, head: bytes, claimed: FileKind) -> FileKind:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if claimed in (TXT, EML):
            raise _refuse("The text is saved as UTF-16: save it as UTF-8 and attach it again", "encoding")
        raise _mismatch(claimed, "it is a UTF-16 text file")
    if b"\x00" in head:
        raise _mismatch(claimed, "it is not a format that can be attached")
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if text.lower().startswith(_WEB_STARTS):
        raise _disguised_or_refused(claimed, "a web page, SVG image or XML file", "web")
    if claimed is TXT:
        # Whatever it says (an email saved as text is still text), it must be UTF-8 text.
        _require_utf8(file)
        return TXT
    if _looks_like_email(text):
        return EML
    if claimed is EML:
        raise _mismatch(claimed, "it does not start with email headers (From:, To:, Subject:, Date:)")
    raise _mismatch(claimed, "it is text")


def _looks_like_email(text: bytes) -> bool:
    """RFC 822: the message starts with header lines, and at least one is a header every
    mail system writes."""
    lines = text.replace(b"\r\n", b"\n").split(b"\n")
    known = False
    for number, line in enumerate(lines[:-1]):  # the last line may be cut off at HEAD_BYTES
        if not line:
            return known and number > 0
        if number == 0 and line.startswith(b"From "):
            continue  # the mbox separator some mail programs write at the top of an .eml
        if line[:1] in (b" ", b"\t") and number > 0:
            continue  # a folded header
        name, colon, _ = line.partition(b":")
        if not colon or not name or any(c <= 32 or c >= 127 for c in name):
            return False
        known = known or name.lower() in _EMAIL_HEADERS
    return known


def _require_utf8(file: Readable) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    file.seek(0)
    try:
        while chunk := file.read(_SCAN_CHUNK):
            if b"\x00" in chunk:
                raise _mismatch(TXT, "it holds binary data")
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise _refuse(
            "The text file is not saved as UTF-8: save it as UTF-8 (or as a PDF) and attach it again", "encoding"
        ) from error
