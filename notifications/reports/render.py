"""One template per report, two outputs: HTML for the browser preview, PDF by WeasyPrint. The
PDF is tagged (headings, tables, lists) for screen readers, carries its title, language and
author, embeds the fonts it uses, and prints the protective marking and the reference at the
top and bottom of every page with the page number."""

from __future__ import annotations

import gc
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.template.loader import render_to_string

from ..choices import ReportKind

TEMPLATES = {
    ReportKind.ICO_NOTIFICATION: "reports/ico_notification.html",
    ReportKind.TRACKER_FORM: "reports/tracker_form.html",
    ReportKind.OMBUDSMAN_PACK: "reports/ombudsman_pack.html",
    ReportKind.SUBJECT_LETTER: "reports/letter.html",
    ReportKind.ENQUIRY_LETTER: "reports/enquiry_letter.html",
    ReportKind.SIRO_SUMMARY: "reports/siro_summary.html",
}

# Shared between renders in one process: fonts and images are loaded once.
_CACHE: dict[str, Any] = {}


def css_string(value: str) -> str:
    """``value`` as a CSS string literal, for the page margin boxes."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{escaped}"'


def render_html(kind: ReportKind | str, context: dict[str, Any], *, preview: bool = False, request: Any = None) -> str:
    """The report as HTML; with the ``request`` of a browser preview, its inline style
    carries the Content-Security-Policy nonce."""
    ctx = {
        **context,
        "kind": ReportKind(kind),
        "preview": preview,
        "css_marking": css_string(str(context.get("marking", ""))),
        "css_reference": css_string(str(context.get("reference", ""))),
    }
    return render_to_string(TEMPLATES[ReportKind(kind)], ctx, request=request)


@dataclass(frozen=True)
class Pdf:
    content: bytes
    pages: int


BUNDLED = (Path(__file__).resolve().parent.parent.parent / "static").resolve()


def bundled_only_fetcher() -> Any:
    """A WeasyPrint fetcher that opens only files bundled under ``static/`` (and inline
    ``data:`` URLs): no network, no other file, no redirects. Anything else is refused, so
    a report can never be made to reach a server or read a file by what it contains."""
    from weasyprint.urls import URLFetcher

    class BundledOnly(URLFetcher):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False, timeout=1)

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.lower().startswith("file:"):
                path = Path(url2pathname(urlsplit(url).path)).resolve()
                if not path.is_relative_to(BUNDLED) or not path.is_file():
                    raise ValueError(f"reports may only use files bundled under static/, not {url[:120]}")
            elif not url.lower().startswith("data:"):
                raise ValueError(f"reports fetch nothing from the network: {url[:120]}")
            return super().fetch(url, headers)

    return BundledOnly()


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_resume = False


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector for the block.

    Laying out a document builds tens of thousands of small objects (boxes, styles, line
    fragments) that all stay alive until the PDF is written. The collector is triggered by
    the count of new objects, so it runs again and again during a render, each time walking
    everything built so far, none of which is garbage yet: about a third of the time of a
    22-page report (docs/benchmarks.md, section 3). Reference counting still frees what it
    can meanwhile; the cycles a render leaves behind are collected once it is over, in the
    collector's own time. Nested or concurrent pauses (threads) are counted, and the
    collector resumes only when the last one ends, and only if it was running before."""
    global _gc_pauses, _gc_resume
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_resume = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_resume:
                gc.enable()


def weasyprint_pdf(html: str, *, tagged: bool = True) -> Pdf:
    """WeasyPrint, on the HTML alone (no base URL), with a fetcher that reaches only the
    bundled static files."""
    from weasyprint import HTML  # imported here: it loads Pango, which pages do not need

    document = HTML(string=html, base_url=None, url_fetcher=bundled_only_fetcher()).render(
        cache=_CACHE, pdf_tags=tagged
    )
    out = io.BytesIO()
    document.write_pdf(out, pdf_tags=tagged)
    return Pdf(content=out.getvalue(), pages=len(document.pages))


def html_to_pdf(html: str, *, tagged: bool = True) -> Pdf:
    """The PDF of ``html``, rendered with the cyclic collector paused (see above)."""
    with cyclic_gc_paused():
        return weasyprint_pdf(html, tagged=tagged)


def render_pdf(kind: ReportKind | str, context: dict[str, Any]) -> Pdf:
    return html_to_pdf(render_html(kind, context))
