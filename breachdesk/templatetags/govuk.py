"""Helpers for rendering Django forms with GOV.UK Frontend markup."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms, template
from django.utils import timezone

register = template.Library()


@register.filter
def error_anchor(field: forms.BoundField) -> str:
    """Where an error summary link should land: the first input of a group."""
    widget = field.field.widget
    if isinstance(widget, forms.MultiWidget | forms.RadioSelect | forms.CheckboxSelectMultiple):
        return f"{field.auto_id}_0"
    return str(field.auto_id)


@register.filter
def is_checked(field: forms.BoundField, value: Any) -> bool:
    current = field.value()
    if isinstance(current, list | tuple):
        return str(value) in {str(v) for v in current}
    if isinstance(current, bool):
        current = "true" if current else "false"
    return str(current) == str(value)


@register.filter
def london(value: datetime | None) -> str:
    """A time as people in the UK read it: '21 Nov 2026, 17:58 GMT'."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return local.strftime("%-d %b %Y, %H:%M ") + (local.tzname() or "")


@register.filter
def describedby(field: forms.BoundField) -> str:
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}-hint")
    if field.errors:
        ids.append(f"{field.auto_id}-error")
    return " ".join(ids)


@register.filter
def role_labels(value: str | list[str] | None) -> str:
    """'isr, chief_officer (alternate for mo)' -> 'Information Security Representative,
    Chief Officer (alternate for mo)'."""
    from breachdesk.choices import Role

    if not value:
        return ""
    parts = value if isinstance(value, list) else str(value).split(", ")
    out = []
    for part in parts:
        code, sep, rest = part.partition(" ")
        label = Role(code).label if code in Role.values else code
        out.append(f"{label}{sep}{rest}")
    return ", ".join(out)


@register.filter
def duration(value: timedelta | None) -> str:
    """'3 days 4 hours', '2 hours 5 minutes', '12 minutes': to the two largest units."""
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (mins, "minute")]
    shown = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n][:2]
    return " ".join(shown) or "under a minute"
