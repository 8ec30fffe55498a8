"""Reports fetch nothing but bundled files: WeasyPrint is given a fetcher that refuses the
network, other files and redirects, whatever the HTML asks for."""

from __future__ import annotations

import gc
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from notifications.reports import render
from notifications.reports.render import BUNDLED, bundled_only_fetcher, html_to_pdf


class Counting(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        Counting.hits.append(self.path)
        self.send_response(302)
        self.send_header("Location", "file:///etc/passwd")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    httpd = HTTPServer(("127.0.0.1", 0), Counting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Counting.hits = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_a_report_reaches_no_server_and_reads_no_other_file(server):
    png = next(BUNDLED.rglob("*.png"))
    html = f"""<html><head><link rel="stylesheet" href="{server}/style.css">
      <style>@import url("{server}/import.css"); body {{ background: url("file:///etc/hostname"); }}</style></head>
      <body><p>Report</p><img src="{server}/tracker.png"><img src="file:///etc/passwd">
      <img src="{png.as_uri()}" alt="bundled"></body></html>"""
    pdf = html_to_pdf(html)
    assert pdf.pages == 1
    assert Counting.hits == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:9/x.png", "nothing from the network"),
        ("https://example.org/x.css", "nothing from the network"),
        ("ftp://example.org/x", "nothing from the network"),
        ("file:///etc/passwd", "only use files bundled"),
        (f"file://{BUNDLED}/../pyproject.toml", "only use files bundled"),
    ],
)
def test_the_fetcher_refuses_everything_outside_the_bundle(url, message):
    with pytest.raises(ValueError, match=message):
        bundled_only_fetcher()(url)


def test_the_fetcher_opens_a_bundled_file():
    css = next(Path(BUNDLED).rglob("*.css"))
    response = bundled_only_fetcher()(css.as_uri())
    try:
        assert response.read(10)
    finally:
        response.close()


def test_rendering_pauses_the_cyclic_collector_and_restores_it():
    seen: list[bool] = []
    real = render.weasyprint_pdf

    def spy(html: str, *, tagged: bool = True) -> render.Pdf:
        seen.append(gc.isenabled())
        return real(html, tagged=tagged)

    assert gc.isenabled()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "weasyprint_pdf", spy)
        pdf = html_to_pdf("<p>Hello</p>")
    assert pdf.pages == 1
    assert seen == [False]
    assert gc.isenabled()


def test_nested_and_failing_pauses_resume_the_collector_once_at_the_end():
    def render_failing() -> None:
        with render.cyclic_gc_paused():
            with render.cyclic_gc_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()  # the outer pause still holds
            raise RuntimeError("a render failed")

    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="a render failed"):
        render_failing()
    assert gc.isenabled()


def test_a_pause_leaves_a_collector_that_was_off_off():
    gc.disable()
    try:
        with render.cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
