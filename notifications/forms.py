from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from incidents.forms import DateTimeField

from .choices import IcoSubmissionKind

REASON_HELP = "This is recorded in the audit trail and shown to the regulator if asked."


class PhoneConfirmationForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        label="Record the phone call",
        help_text="Who you spoke to, when, and that they confirmed they have the information (PC02-9).",
        error_messages={"required": "Say who you spoke to and what they confirmed"},
    )


class ApprovalDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Send to the national list now"), ("decline", "Escalation is not needed")],
        widget=forms.RadioSelect,
        label="Your decision",
        error_messages={"required": "Select whether to send to the national list"},
    )
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        label="Reason (required if escalation is not needed)",
        help_text=REASON_HELP,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("decision") == "decline" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "Give the reason the escalation is not needed")
        return cleaned


class IcoSubmissionForm(forms.Form):
    prefix = "ico"
    kind = forms.ChoiceField(
        choices=IcoSubmissionKind.choices,
        widget=forms.RadioSelect,
        label="What was sent?",
        error_messages={"required": "Select initial report or follow-up"},
    )
    submitted_at = DateTimeField(
        label_text="sent",
        label="When was it sent?",
        help_text="Use the 24-hour clock, UK time.",
        error_messages={"required": "Enter the date sent"},
    )
    case_reference = forms.CharField(required=False, max_length=64, label="ICO case reference (if given)")
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        label="What was sent",
        error_messages={"required": "Say what was sent to the ICO"},
    )
    late_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        label="Reasons for the delay (if later than 72 hours)",
        help_text="UK GDPR Art 33(1).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"submitted_at": timezone.now(), "kind": IcoSubmissionKind.INITIAL})
        super().__init__(*args, **kwargs)


class ReasonForm(forms.Form):
    prefix = "not_required"
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        label="Reason",
        help_text=REASON_HELP,
        error_messages={"required": "Give the reason"},
    )


class ChangeDueForm(ReasonForm):
    prefix = "change_due"
    due_at = DateTimeField(
        label_text="due",
        label="New due time",
        help_text="Use the 24-hour clock, UK time.",
        error_messages={"required": "Enter the new due time"},
    )
