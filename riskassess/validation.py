"""The assessment's input rules, shared by the form, the API and the service. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from incidents.choices import DataCategory, SubjectCategory

from .choices import AssessmentEncryption, Availability, Confidentiality, EaseOfIdentification, Integrity, Likelihood

REQUIRED = {
    "ease_of_identification": ("Select how easily the people can be identified", EaseOfIdentification),
    "confidentiality": ("Select whether the data was disclosed", Confidentiality),
    "integrity": ("Select whether the data was altered", Integrity),
    "availability": ("Select whether the data was lost", Availability),
}
TEXT_MAX = 10_000
COUNT_MAX = 2_000_000_000


def _count_error(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return "Enter a whole number"
    if value < 0:
        return "Enter a number that is 0 or more"
    if value > COUNT_MAX:
        return "Enter a smaller number"
    return None


def assessment_errors(data: Mapping[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field, (message, enum) in REQUIRED.items():
        value = data.get(field)
        if value in (None, ""):
            add(field, message)
        elif value not in enum.values:
            add(field, f"{message}: '{value}' is not one of the options")
    if not isinstance(data.get("malicious"), bool):
        add("malicious", "Say whether the breach was malicious")
    encryption = data.get("encryption", AssessmentEncryption.NONE)
    if encryption not in AssessmentEncryption.values:
        add("encryption", f"Select whether the data was encrypted: '{encryption}' is not one of the options")
    for field, enum in (("data_categories", DataCategory), ("subject_categories", SubjectCategory)):
        values = data.get(field, [])
        if not isinstance(values, list | tuple):
            add(field, "Must be a list")
        else:
            bad = [str(v) for v in values if v not in enum.values]
            if bad:
                add(field, f"Unknown {field.replace('_', ' ')}: {', '.join(bad)}")
    for field in ("subjects_count", "records_count"):
        count_message = _count_error(data.get(field))
        if count_message:
            add(field, count_message)
    adjustment = data.get("dpc_adjustment", 0)
    if adjustment not in (-1, 0, 1) or isinstance(adjustment, bool):
        add("dpc_adjustment", "The adjustment must be -1, 0 or +1")
    elif adjustment and not str(data.get("dpc_adjustment_reason") or "").strip():
        add("dpc_adjustment_reason", "Give the reason for adjusting the score (ENISA: a contextual factor)")
    for field, value in data.items():
        if field.endswith(("_narrative", "_reason")) and isinstance(value, str) and len(value) > TEXT_MAX:
            add(field, f"Must be {TEXT_MAX:,} characters or fewer")
    for i, row in enumerate(data.get("datasets") or []):
        if not str(row.get("name") or "").strip():
            add("datasets", f"Data set {i + 1}: give it a name")
        for key in ("records", "people"):
            row_message = _count_error(row.get(key))
            if row_message:
                add("datasets", f"Data set {i + 1}, {key}: {row_message.lower()}")
    for i, row in enumerate(data.get("groups") or []):
        if not str(row.get("name") or "").strip():
            add("groups", f"Group {i + 1}: give it a name")
        if not str(row.get("harm") or "").strip():
            add("groups", f"Group {i + 1}: say what could happen to them")
        for key in ("likelihood", "severity"):
            if row.get(key) not in Likelihood.values:
                add("groups", f"Group {i + 1}: select a {key} (low, medium or high)")
        size_message = _count_error(row.get("size"))
        if size_message:
            add("groups", f"Group {i + 1}, size: {size_message.lower()}")
    return errors
