"""The evidence upload form: a file, and what it is evidence of (the incident itself, one of
its actions or one of its notes). Type, size and ownership rules live in the service."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings

from breachdesk.templatetags.govuk import london

from ..evidence import ACCEPT_ATTRIBUTE, ACCEPTED_DESCRIPTION
from ..models import Action, TimelineEntry

INCIDENT = ""


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def size_limit_text() -> str:
    return f"{settings.EVIDENCE_MAX_BYTES / (1024 * 1024):g} MB"


class EvidenceForm(forms.Form):
    file = forms.FileField(
        label="Attach a file",
        allow_empty_file=True,  # the service says "empty" in its own words
        max_length=1000,
        error_messages={
            "required": "Choose a file to attach",
            "missing": "Choose a file to attach",
            "invalid": "Choose a file to attach",
            "max_length": "The file name is too long: rename the file and attach it again",
        },
    )
    attach_to = forms.ChoiceField(
        required=False,
        label="What it is evidence of",
        error_messages={"invalid_choice": "Choose the incident, one of its actions or one of its notes"},
    )

    def __init__(
        self,
        *args: Any,
        actions: Iterable[Action] = (),
        notes: Iterable[TimelineEntry] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._actions = {f"action-{a.pk}": a for a in actions}
        self._notes = {f"note-{n.pk}": n for n in notes}
        choices: list[tuple[str, str]] = [(INCIDENT, "The incident as a whole")]
        choices += [(key, f"Action: {_short(a.description)}") for key, a in self._actions.items()]
        choices += [(key, f"Note of {london(n.created_at)}: {_short(n.body, 40)}") for key, n in self._notes.items()]
        self.fields["attach_to"].choices = choices  # type: ignore[attr-defined]
        self.fields["file"].help_text = f"{ACCEPTED_DESCRIPTION}. Up to {size_limit_text()}."
        self.fields["file"].widget.attrs["accept"] = ACCEPT_ATTRIBUTE

    def clean_attach_to(self) -> dict[str, Any]:
        key = self.cleaned_data.get("attach_to") or INCIDENT
        return {"action": self._actions.get(key), "note": self._notes.get(key)}
