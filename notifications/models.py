from __future__ import annotations

from django.db import models

from incidents.models import Incident

from .choices import DeadlineCode, DeadlineState


class Deadline(models.Model):
    """A statutory or procedural clock. The row is the truth; the broker only wakes
    workers up (DESIGN.md "Timers that cannot be lost")."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="deadlines")
    code = models.CharField(max_length=32, choices=DeadlineCode.choices)
    starts_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    state = models.CharField(max_length=16, choices=DeadlineState.choices, default=DeadlineState.PENDING)
    met_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "code"], name="deadline_one_per_code"),
            models.CheckConstraint(
                condition=~models.Q(state=DeadlineState.MET) | models.Q(met_at__isnull=False),
                name="deadline_met_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="deadline_state_due"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.code} {self.state}"

    @property
    def title(self) -> str:
        return DeadlineCode(self.code).label
