"""Forms for issuing a report, choosing the SIRO summary's period, and starting letters."""

from __future__ import annotations

from typing import Any

from django import forms

from breachdesk.models import OrgUnit
from riskassess.models import RiskGroup


def unit_field() -> forms.ModelChoiceField:
    """A unit to narrow a summary or the dashboard to; the view sets the units the user may see."""
    return forms.ModelChoiceField(
        label="Unit",
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label="All units you can see",
        to_field_name="code",
        error_messages={"invalid_choice": "Select a unit from the list"},
    )


class IssueForm(forms.Form):
    issued_to = forms.CharField(
        label="Who is it issued to?",
        help_text="For example, the ICO, the Parliamentary Ombudsman, or a named MP or solicitor.",
        max_length=300,
        error_messages={"required": "Enter who the report is issued to"},
    )
    note = forms.CharField(
        label="Note (optional)", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class SummaryForm(forms.Form):
    start = forms.DateField(
        label="From",
        help_text="For example, 2026-04-01",
        error_messages={
            "required": "Enter the start date",
            "invalid": "Enter the start date as a real date, for example 2026-04-01",
        },
    )
    end = forms.DateField(
        label="To",
        help_text="For example, 2026-06-30",
        error_messages={
            "required": "Enter the end date",
            "invalid": "Enter the end date as a real date, for example 2026-06-30",
        },
    )
    unit = unit_field()

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]


class LetterBatchForm(forms.Form):
    group = forms.ModelChoiceField(
        label="Which group are the letters for?",
        queryset=RiskGroup.objects.none(),
        required=False,
        empty_label="Everyone affected (no particular group)",
        error_messages={"invalid_choice": "Select a group from the latest risk assessment"},
    )
    recipients = forms.FileField(
        label="The people to write to (CSV file)",
        help_text="A CSV file with a header row: name, address (lines separated by commas or new lines), and "
        "optionally postcode and fields (what we hold about that person).",
        error_messages={"required": "Select a CSV file of the people to write to"},
    )

    def __init__(self, *args: Any, groups: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups  # type: ignore[attr-defined]


class DashboardForm(forms.Form):
    """The dashboard's filters: all optional, with the last 90 days as the default period."""

    start = forms.DateField(
        label="From",
        required=False,
        error_messages={"invalid": "Enter the start date as a real date, for example 2026-04-01"},
    )
    end = forms.DateField(
        label="To",
        required=False,
        error_messages={"invalid": "Enter the end date as a real date, for example 2026-06-30"},
    )
    unit = unit_field()
    category = forms.ChoiceField(label="Kind of loss", required=False)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        from incidents.choices import Category

        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["category"].choices = [("", "All kinds"), *Category.choices]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The end date must be the same as or after the start date")
        return data
