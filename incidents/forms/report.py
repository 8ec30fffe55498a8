"""Browser forms. They parse and present; the rules live in ``validation.py`` and the
writes in ``services.py``."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from breachdesk.api import EARLIEST_YEAR
from breachdesk.models import OrgUnit

from ..choices import Category, DataCategory, Encryption, SubjectCategory
from ..models import DESCRIPTION_MAX, TEXT_MAX, TITLE_MAX
from ..validation import incident_errors

TIME_RE = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")


class DateTimeWidget(forms.MultiWidget):
    """GOV.UK date input (day, month, year) with a 24-hour time box."""

    template_name = "widgets/datetime.html"

    def __init__(self) -> None:
        super().__init__(widgets=[forms.TextInput(), forms.TextInput(), forms.TextInput(), forms.TextInput()])

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["invalid"] = (attrs or {}).get("aria-invalid") == "true"
        return context

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, datetime):
            local = timezone.localtime(value)
            return [local.day, local.month, local.year, local.strftime("%H:%M")]
        return [None, None, None, None]


class DateTimeField(forms.MultiValueField):
    """Day, month, year and time in Europe/London, to an aware datetime."""

    widget = DateTimeWidget

    def __init__(self, *, label_text: str, **kwargs: Any) -> None:
        self.label_text = label_text
        fields = [forms.CharField(required=False) for _ in range(4)]
        super().__init__(fields=fields, require_all_fields=False, **kwargs)

    def compress(self, data_list: list[Any]) -> datetime | None:
        if not data_list or not any(v not in (None, "") for v in data_list):
            if self.required:
                raise ValidationError(f"Enter the date {self.label_text}", code="required")
            return None
        day, month, year, time_text = (str(v or "").strip() for v in data_list)
        missing = [n for n, v in (("day", day), ("month", month), ("year", year)) if not v]
        if missing:
            raise ValidationError(f"The date {self.label_text} must include a {' and '.join(missing)}")
        if not time_text:
            raise ValidationError(f"Enter the time {self.label_text}, like 17:58")
        match = TIME_RE.match(time_text)
        if not match:
            raise ValidationError("Enter the time as hours and minutes on the 24-hour clock, like 17:58")
        try:
            naive = datetime(int(year), int(month), int(day), int(match[1]), int(match[2]))  # noqa: DTZ001
        except ValueError:
            raise ValidationError(f"The date {self.label_text} must be a real date and time") from None
        if naive.year < EARLIEST_YEAR:
            raise ValidationError(f"Enter a year after {EARLIEST_YEAR}, like 2026")
        return timezone.make_aware(naive, timezone.get_current_timezone())


class IncidentReportForm(forms.Form):
    """PC02-10: only the five things needed to start the clocks are required."""

    title = forms.CharField(
        max_length=TITLE_MAX,
        label="Give the incident a short title",
        help_text="For example, 'Memory stick lost on train' or 'Spreadsheet emailed to wrong family'.",
        error_messages={
            "required": "Enter a short title for the incident",
            "max_length": f"Title must be {TITLE_MAX} characters or fewer",
        },
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=DESCRIPTION_MAX,
        label="What happened?",
        help_text="Say what you know now. You do not need the full facts: report it now, add details later.",
        error_messages={
            "required": "Describe what happened",
            "max_length": f"What happened must be {DESCRIPTION_MAX:,} characters or fewer",
        },
    )
    category = forms.ChoiceField(
        choices=Category.choices,
        widget=forms.RadioSelect,
        label="What kind of loss is it?",
        help_text="Choose the closest. If you are not sure, choose 'Something else'.",
        error_messages={
            "required": "Select what kind of loss this is",
            "invalid_choice": "Select what kind of loss this is",
        },
    )
    discovered_at = DateTimeField(
        label_text="discovered",
        label="When did you find out?",
        help_text="For example, 21 11 2026 and 17:58. Use the 24-hour clock, UK time.",
        error_messages={"required": "Enter the date discovered"},
    )
    org_unit = forms.ModelChoiceField(
        queryset=OrgUnit.objects.none(),
        to_field_name="code",
        label="Which unit does the data belong to?",
        help_text="Usually your own unit.",
        empty_label="Select a unit",
        error_messages={
            "required": "Select the unit the data belongs to",
            "invalid_choice": "Select the unit the data belongs to",
        },
    )
    suspected = forms.TypedChoiceField(
        choices=[("true", "Suspected: it may have been lost"), ("false", "Confirmed: it has been lost or disclosed")],
        coerce=lambda v: v == "true",
        widget=forms.RadioSelect,
        initial="true",
        label="Is the loss confirmed?",
        help_text="If in doubt, report it as suspected.",
        error_messages={"required": "Select whether the loss is suspected or confirmed"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = OrgUnit.objects.order_by("path")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for field, messages in incident_errors(
            {k: v for k, v in cleaned.items() if k in {"discovered_at"}}, now=timezone.now(), partial=True
        ).items():
            for message in messages:
                self.add_error(field, message)
        return cleaned


class IncidentEditForm(forms.Form):
    """Every detail, editable after filing; what PC02-15(3) and the ICO form ask for."""

    title = IncidentReportForm.base_fields["title"]
    description = IncidentReportForm.base_fields["description"]
    category = IncidentReportForm.base_fields["category"]
    discovered_at = IncidentReportForm.base_fields["discovered_at"]
    occurred_at = DateTimeField(
        label_text="it happened",
        required=False,
        label="When did it happen? (optional)",
        help_text="If known. It cannot be after the date you found out.",
    )
    org_unit = IncidentReportForm.base_fields["org_unit"]
    suspected = IncidentReportForm.base_fields["suspected"]
    location = forms.CharField(
        required=False,
        max_length=TEXT_MAX,
        label="Where did it happen? (optional)",
        help_text="For example, 'train from York to Leeds' or 'reception desk'.",
        error_messages={"max_length": f"Where it happened must be {TEXT_MAX:,} characters or fewer"},
    )
    circumstances = forms.CharField(
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Circumstances (optional)",
        help_text="The physical setting and time of day (PC02-15).",
        error_messages={"max_length": f"Circumstances must be {TEXT_MAX:,} characters or fewer"},
    )
    data_categories = forms.MultipleChoiceField(
        required=False,
        choices=DataCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        label="What kinds of data were involved? (optional)",
        help_text="Select all that apply.",
        error_messages={"invalid_choice": "Select only the kinds of data listed"},
    )
    subject_categories = forms.MultipleChoiceField(
        required=False,
        choices=SubjectCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Whose data was it? (optional)",
        help_text="Select all that apply.",
        error_messages={"invalid_choice": "Select only the groups of people listed"},
    )
    approx_subjects = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=2_000_000_000,
        label="About how many people? (optional)",
        error_messages={
            "invalid": "Enter a whole number, like 120",
            "min_value": "Enter a number that is 0 or more",
            "max_value": "Enter a smaller number",
        },
    )
    approx_records = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=2_000_000_000,
        label="About how many records? (optional)",
        error_messages={
            "invalid": "Enter a whole number, like 1182",
            "min_value": "Enter a number that is 0 or more",
            "max_value": "Enter a smaller number",
        },
    )
    encryption = forms.ChoiceField(
        choices=Encryption.choices,
        widget=forms.RadioSelect,
        label="Was the data encrypted?",
        error_messages={
            "required": "Select whether the data was encrypted",
            "invalid_choice": "Select whether the data was encrypted",
        },
    )
    third_party = forms.CharField(
        required=False,
        max_length=TEXT_MAX,
        label="Contractor or partner involved (optional)",
        help_text="Name any data processor or partner organisation that lost or holds the data.",
        error_messages={"max_length": f"Contractor or partner must be {TEXT_MAX:,} characters or fewer"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = OrgUnit.objects.order_by("path")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        dates = {k: cleaned[k] for k in ("discovered_at", "occurred_at") if k in cleaned}
        for field, messages in incident_errors(dates, now=timezone.now(), partial=True).items():
            for message in messages:
                self.add_error(field, message)
        return cleaned


class NoteForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        label="Add a note",
        help_text="Who you told, what they said, what you did (PC02-12).",
        error_messages={"required": "Enter the note", "max_length": "The note must be 10,000 characters or fewer"},
    )
