"""Charts as SVG, drawn here rather than by a charting library: the same markup goes into a
WeasyPrint PDF (which draws SVG but runs no JavaScript) and into the dashboard's HTML. Every
chart carries a title and a text description for screen readers, and every report that shows
one also gives its numbers in a table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# GOV.UK colours with at least 3:1 contrast against white (WCAG 2.2 1.4.11).
BLUE = "#1d70b8"
GREEN = "#00703c"
RED = "#d4351c"
GREY = "#505a5f"
ORANGE = "#f47738"
TEXT = "#0b0c0c"
FONT = "Liberation Sans, Arial, Helvetica, sans-serif"
CHAR_WIDTH = 7.0  # roughly, at 13px


def _label_width(labels: Sequence[str], width: int) -> int:
    """Room for the longest label, up to half the chart; longer labels are shortened here
    (the description and the report's table give them in full)."""
    longest = max((len(label) for label in labels), default=0)
    return int(min(longest * CHAR_WIDTH + 12, width / 2))


def _fit(label: str, label_width: int) -> str:
    room = int((label_width - 12) / CHAR_WIDTH)
    return label if len(label) <= room else label[: max(room - 1, 1)].rstrip() + "…"


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    colour: str = BLUE


def _describe(title: str, bars: Sequence[Bar]) -> str:
    return f"{title}: " + "; ".join(f"{b.label} {b.value}" for b in bars) + "."


def bar_chart(title: str, bars: Sequence[Bar], *, width: int = 640, bar_height: int = 22) -> SafeString:
    """A horizontal bar chart: one row per bar, the label on the left, the value at the end."""
    gap = 8
    top = 4
    label_width = _label_width([b.label for b in bars], width)
    height = top + len(bars) * (bar_height + gap) + 4
    scale_width = width - label_width - 60
    biggest = max((b.value for b in bars), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bd-chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" aria-label="{escape(_describe(title, bars))}">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(_describe(title, bars))}</desc>",
    ]
    for i, bar in enumerate(bars):
        y = top + i * (bar_height + gap)
        w = round(scale_width * bar.value / biggest) if bar.value else 0
        mid = y + bar_height / 2 + 5
        parts.append(
            f'<text x="{label_width - 8}" y="{mid}" text-anchor="end" font-size="13" fill="{TEXT}">'
            f"{escape(_fit(bar.label, label_width))}</text>"
        )
        parts.append(f'<rect x="{label_width}" y="{y}" width="{w}" height="{bar_height}" fill="{bar.colour}"/>')
        parts.append(f'<text x="{label_width + w + 6}" y="{mid}" font-size="13" fill="{TEXT}">{bar.value}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


@dataclass(frozen=True)
class Segment:
    label: str
    value: int
    colour: str


def stacked_bars(title: str, rows: Sequence[tuple[str, Sequence[Segment]]], *, width: int = 640) -> SafeString:
    """One horizontal bar per row, split into coloured segments (e.g. met, missed, pending),
    with a key underneath. Rows are scaled to the same length: the split is what matters."""
    bar_height, gap = 22, 8
    label_width = _label_width([label for label, _ in rows], width)
    key_height = 26
    height = 4 + len(rows) * (bar_height + gap) + key_height
    scale_width = width - label_width - 10
    described = "; ".join(f"{label}: " + ", ".join(f"{s.label} {s.value}" for s in segs) for label, segs in rows)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bd-chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" aria-label="{escape(title + ": " + described)}">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(described)}</desc>",
    ]
    keys: dict[str, str] = {}
    for i, (label, segs) in enumerate(rows):
        y = 4 + i * (bar_height + gap)
        total = sum(s.value for s in segs)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar_height / 2 + 5}" text-anchor="end" font-size="13" fill="{TEXT}">'
            f"{escape(_fit(label, label_width))}</text>"
        )
        x = float(label_width)
        if not total:
            parts.append(
                f'<rect x="{label_width}" y="{y}" width="{scale_width}" height="{bar_height}" '
                f'fill="none" stroke="{GREY}"/>'
            )
        for seg in segs:
            keys.setdefault(seg.label, seg.colour)
            if not seg.value:
                continue
            w = scale_width * seg.value / total
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{seg.colour}"/>')
            if w >= 24:
                parts.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + bar_height / 2 + 5}" text-anchor="middle" font-size="12" '
                    f'fill="#ffffff">{seg.value}</text>'
                )
            x += w
    ky = height - key_height + 8
    kx = float(label_width)
    for label, colour in keys.items():
        parts.append(f'<rect x="{kx:.0f}" y="{ky}" width="14" height="14" fill="{colour}"/>')
        parts.append(f'<text x="{kx + 18:.0f}" y="{ky + 12}" font-size="12" fill="{TEXT}">{escape(label)}</text>')
        kx += 30 + 7 * len(label)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
