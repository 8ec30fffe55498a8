"""The incident's field rules, in one place for the form, the API and the service.

Pure: no ORM. Each rule returns messages keyed by field, in the GOV.UK error style.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db.models import TextChoices

from .choices import Category, DataCategory, Encryption, SubjectCategory
from .models import DESCRIPTION_MAX, TEXT_MAX, TITLE_MAX

REQUIRED_MESSAGES = {
    "title": "Enter a short title for the incident",
    "description": "Describe what happened",
    "category": "Select what kind of loss this is",
    "discovered_at": "Enter when the loss was discovered",
    "org_unit": "Select the unit the data belongs to",
}
LENGTH_LIMITS = {
    "title": TITLE_MAX,
    "description": DESCRIPTION_MAX,
    "location": TEXT_MAX,
    "circumstances": TEXT_MAX,
    "third_party": TEXT_MAX,
}
FIELD_LABELS = {
    "title": "Title",
    "description": "What happened",
    "location": "Where it happened",
    "circumstances": "Circumstances",
    "third_party": "Contractor or partner involved",
}
ENUM_FIELDS: dict[str, type[TextChoices]] = {"category": Category, "encryption": Encryption}
LIST_ENUM_FIELDS: dict[str, type[TextChoices]] = {
    "data_categories": DataCategory,
    "subject_categories": SubjectCategory,
}
COUNT_FIELDS = ("approx_subjects", "approx_records")
MAX_COUNT = 2_000_000_000


def incident_errors(data: Mapping[str, Any], *, now: datetime, partial: bool = False) -> dict[str, list[str]]:
    """Every broken rule in ``data``. ``partial`` (an edit) checks only the fields given,
    plus the date pair when either date is given (the caller merges the stored value in)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field, message in REQUIRED_MESSAGES.items():
        if partial and field not in data:
            continue
        value = data.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            add(field, message)
    for field, limit in LENGTH_LIMITS.items():
        value = data.get(field)
        if isinstance(value, str) and len(value) > limit:
            add(field, f"{FIELD_LABELS[field]} must be {limit:,} characters or fewer")
    for field, enum in ENUM_FIELDS.items():
        value = data.get(field)
        if value not in (None, "") and value not in enum.values:
            add(field, f"Select a valid option for {field.replace('_', ' ')}")
    for field, enum in LIST_ENUM_FIELDS.items():
        values = data.get(field)
        if values is None:
            continue
        if not isinstance(values, Iterable) or isinstance(values, str | bytes):
            add(field, f"{field.replace('_', ' ').capitalize()} must be a list")
            continue
        bad = [v for v in values if v not in enum.values]
        if bad:
            add(field, f"Unknown {field.replace('_', ' ')}: {', '.join(map(str, bad))}")
    for field in COUNT_FIELDS:
        value = data.get(field)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            add(field, "Enter a whole number")
        elif value < 0:
            add(field, "Enter a number that is 0 or more")
        elif value > MAX_COUNT:
            add(field, f"Enter a number no larger than {MAX_COUNT:,}")
    discovered, occurred = data.get("discovered_at"), data.get("occurred_at")
    if isinstance(discovered, datetime):
        if discovered.tzinfo is None:
            add("discovered_at", "Give the time zone of the date discovered")
        elif discovered > now:
            add("discovered_at", "The date discovered must be now or in the past")
    if isinstance(occurred, datetime):
        if occurred.tzinfo is None:
            add("occurred_at", "Give the time zone of the date it happened")
        elif isinstance(discovered, datetime) and discovered.tzinfo and occurred > discovered:
            add(
                "occurred_at",
                "The date it happened must be the same as or before the date discovered",
            )
    return errors
