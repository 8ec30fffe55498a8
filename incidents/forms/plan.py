"""Browser forms of the breach management plan. They parse and present; the rules live in
the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db.models import QuerySet

from breachdesk.choices import Role
from breachdesk.models import ControlCheck

from ..choices import ActionTopic, EnquiryKind, EnquiryOutcome, NoticeMethod, Party, RootCauseKind
from ..models import TRACKER_FIELDS, TRACKER_LABELS
from .report import DateTimeField

DATE_HELP = "For example, 27/11/2026"


def _people() -> QuerySet[User]:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_full_name() or obj.get_username()} ({obj.get_username()})"


class ActionForm(forms.Form):
    description = forms.CharField(
        max_length=500,
        label="What must be done",
        help_text="For example: recall the email; ask the police to visit the recipient to confirm deletion.",
        error_messages={"required": "Enter what must be done"},
    )
    owner = PersonChoiceField(
        queryset=User.objects.none(), label="Who owns it", error_messages={"required": "Choose who owns it"}
    )
    due_on = forms.DateField(
        required=False,
        input_formats=["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"],
        label="Due by (optional for containment)",
        help_text=DATE_HELP,
        error_messages={"invalid": "Enter the due date as day/month/year, like 27/11/2026"},
    )
    topic = forms.ChoiceField(
        required=False,
        choices=[("", "Choose (improvement actions only)"), *ActionTopic.choices],
        label="What the improvement changes",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _people()  # type: ignore[attr-defined]


class ActionFinishForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[("done", "Done"), ("not_done", "Not done")],
        widget=forms.RadioSelect,
        label="Is it done?",
        error_messages={"required": "Select done or not done"},
    )
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=10_000,
        label="What was done and the evidence, or why it was not done",
        error_messages={"required": "Say what was done, or why it was not done"},
    )


class PartyNoticeForm(forms.Form):
    prefix = "notice"
    party = forms.ChoiceField(
        choices=Party.choices, label="Who was told", error_messages={"required": "Choose who was told"}
    )
    method = forms.ChoiceField(
        choices=NoticeMethod.choices, label="How", error_messages={"required": "Choose how they were told"}
    )
    recipient = forms.CharField(
        max_length=300,
        label="Name them",
        help_text="For example: Kent Police, the Governor of HMP Leeds, 34 people by letter.",
        error_messages={"required": "Enter who was told"},
    )
    told_at = DateTimeField(
        label_text="they were told",
        label="When were they told?",
        help_text="Use the 24-hour clock, UK time.",
        error_messages={"required": "Enter when they were told"},
    )
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        label="What they were told",
        error_messages={"required": "Enter what they were told"},
    )
    people_count = forms.IntegerField(
        required=False, min_value=0, max_value=2_000_000_000, label="How many people (if the people affected)"
    )
    cleared_by = PersonChoiceField(
        required=False,
        queryset=User.objects.none(),
        label="Cleared by (press lines only)",
        help_text="PC02-13: press lines are cleared by the Press Office.",
        empty_label="Not a press line",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        press = _people().filter(role_assignments__role=Role.PRESS_OFFICE).distinct()
        self.fields["cleared_by"].queryset = press  # type: ignore[attr-defined]


class RootCauseForm(forms.Form):
    prefix = "cause"
    cause = forms.ChoiceField(
        choices=RootCauseKind.choices, label="Root cause", error_messages={"required": "Choose a root cause"}
    )
    detail = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=10_000,
        label="Details (required for Other)",
    )
    control = forms.ModelChoiceField(
        required=False,
        queryset=ControlCheck.objects.none(),
        label="The control that failed (optional)",
        empty_label="None cited",
    )

    def __init__(self, *args: Any, controls: QuerySet[ControlCheck] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if controls is not None:
            self.fields["control"].queryset = controls  # type: ignore[attr-defined]


class LessonForm(forms.Form):
    prefix = "lesson"
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        label="Lesson learned",
        error_messages={"required": "Enter the lesson learned"},
    )


class TransitionForm(forms.Form):
    prefix = "status"
    target = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        label="Reason (required to re-open or go back to investigation)",
    )


class TrackerForm(forms.Form):
    change_note = forms.CharField(
        required=False, max_length=500, label="What changed in this update", help_text="Optional for the first version."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in TRACKER_FIELDS:
            widget = forms.TextInput() if name == "investigating_officer" else forms.Textarea(attrs={"rows": 3})
            self.fields[name] = forms.CharField(
                required=False,
                max_length=200 if name == "investigating_officer" else 10_000,
                label=TRACKER_LABELS[name],
                widget=widget,
            )
        self.order_fields([*TRACKER_FIELDS, "change_note"])


class EnquiryForm(forms.Form):
    prefix = "enquiry"
    kind = forms.ChoiceField(choices=EnquiryKind.choices, label="What is it", error_messages={"required": "Choose one"})
    person_name = forms.CharField(
        max_length=200, label="Their name", error_messages={"required": "Enter the person's name"}
    )
    contact = forms.CharField(required=False, max_length=300, label="How to reach them (address, email or phone)")
    received_at = DateTimeField(
        label_text="it was received",
        label="When was it received?",
        help_text="Use the 24-hour clock, UK time.",
        error_messages={"required": "Enter when it was received"},
    )
    identity_verified = forms.BooleanField(required=False, label="Their identity has been verified")
    identity_method = forms.CharField(required=False, max_length=300, label="How the identity was verified")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=10_000, label="Notes")


class EnquiryUpdateForm(forms.Form):
    identity_verified = forms.BooleanField(required=False, label="Their identity has been verified")
    identity_method = forms.CharField(required=False, max_length=300, label="How the identity was verified")
    data_held = forms.TypedChoiceField(
        required=False,
        choices=[
            ("", "Not yet known"),
            ("true", "Yes, their data was in it"),
            ("false", "No, their data was not in it"),
        ],
        coerce=lambda v: v == "true",
        empty_value=None,
        label="Was their data in it?",
    )
    fields_held = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=10_000,
        label="The fields held about them",
        help_text="Listed in the written answer (Ombudsman report para 16).",
    )
    answered_at = DateTimeField(label_text="answered", label="When was it answered?", required=False)
    outcome = forms.ChoiceField(choices=EnquiryOutcome.choices, label="Outcome (complaints and claims)")
    compensation_paid = forms.DecimalField(
        required=False, min_value=0, max_digits=10, decimal_places=2, label="Compensation paid (£)"
    )
    apology_at = DateTimeField(label_text="the apology was given", label="When was an apology given?", required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=10_000, label="Notes")
