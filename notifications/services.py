"""Writes for clocks and notifications."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from breachdesk.audit import audit_record
from incidents.models import Incident

from .clocks import initial_deadlines
from .models import Deadline


def deadlines_start_for_incident(*, incident: Incident, actor: User) -> list[Deadline]:
    """Create the clocks that start when an incident is reported (API.md ``deadlines``)."""
    planned = initial_deadlines(discovered_at=incident.discovered_at)
    with transaction.atomic():
        rows = Deadline.objects.bulk_create(
            [Deadline(incident=incident, code=p.code, starts_at=p.starts_at, due_at=p.due_at) for p in planned]
        )
        audit_record(
            actor=actor,
            action="deadlines.started",
            object_type="incident",
            object_id=incident.pk,
            incident_ref=incident.reference,
            after={p.code.value: p.due_at for p in planned},
        )
    return rows
