"""Browser forms of the organisation pages. They parse and present; the rules live in the
services (``control_check_record``), whose messages the views put back on the fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import AnonymousUser, User

from .choices import REQUIRED_CONTROLS, ControlKind, ControlSubject
from .models import OrgUnit
from .selectors import control_can_record, control_units_recordable_for_user

DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"]
DATE_HELP = "For example, 27/11/2026"


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.code})"


class ControlCheckForm(forms.Form):
    subject = forms.ChoiceField(
        choices=ControlSubject.choices,
        widget=forms.RadioSelect,
        initial=ControlSubject.UNIT,
        label="What is the check for?",
        error_messages={"required": "Select what the check is for"},
    )
    unit = UnitChoiceField(
        required=False,
        queryset=OrgUnit.objects.none(),
        to_field_name="code",
        empty_label="Choose a unit",
        label="Unit (for a unit)",
        help_text="A check recorded for an area or region covers the units below it that have none of their own.",
        error_messages={"invalid_choice": "Choose a unit you can record checks for"},
    )
    partner = forms.CharField(
        required=False,
        max_length=200,
        label="Name of the project or processor (for a project or processor)",
        help_text="As it is named on incidents, for example Acme Shredding Ltd.",
        error_messages={"max_length": "The name must be 200 characters or fewer"},
    )
    kind = forms.ChoiceField(
        choices=ControlKind.choices,
        widget=forms.RadioSelect,
        label="Which control was checked?",
        help_text="A unit needs its premises risk-assessed, devices and media encrypted and staff trained; a project "
        "also a SIRO appointed and a data sharing agreement; a processor a data sharing agreement, encryption and "
        "training.",
        error_messages={"required": "Select the control that was checked"},
    )
    in_place = forms.TypedChoiceField(
        choices=[("true", "Yes"), ("false", "No")],
        coerce=lambda v: v == "true",
        widget=forms.RadioSelect,
        label="Is the control in place?",
        error_messages={"required": "Select whether the control is in place"},
    )
    checked_on = forms.DateField(
        input_formats=DATE_FORMATS,
        label="When was it checked?",
        help_text=DATE_HELP,
        error_messages={
            "required": "Enter the date of the check",
            "invalid": "Enter the date of the check as day/month/year, like 27/11/2026",
        },
    )
    valid_until = forms.DateField(
        required=False,
        input_formats=DATE_FORMATS,
        label="Valid until (optional)",
        help_text="When it must be checked again. Leave it empty for training: it counts for two years. " + DATE_HELP,
        error_messages={"invalid": "Enter the date it is valid until as day/month/year, like 27/11/2026"},
    )
    evidence = forms.CharField(
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Evidence",
        help_text="Where is the proof? For example: the risk assessment's reference and where it is filed, the "
        "training records, the signed agreement. Required when the control is in place.",
        error_messages={"max_length": "The evidence must be 10,000 characters or fewer"},
    )

    def __init__(self, *args: Any, user: User | AnonymousUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = control_units_recordable_for_user(user)  # type: ignore[attr-defined]
        if not control_can_record(user, subject=ControlSubject.PROCESSOR):
            # A Chief Officer records for units only: offer only what they may choose.
            self.fields["subject"].choices = [(ControlSubject.UNIT.value, ControlSubject.UNIT.label)]  # type: ignore[attr-defined]
            self.fields["kind"].choices = [(k.value, k.label) for k in REQUIRED_CONTROLS[ControlSubject.UNIT]]  # type: ignore[attr-defined]
            self.fields[
                "kind"
            ].help_text = "A unit needs its premises risk-assessed, devices and media encrypted and staff trained."
            del self.fields["partner"]
