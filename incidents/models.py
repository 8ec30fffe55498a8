from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q

from breachdesk.models import OrgUnit

from .choices import Category, Encryption, Status, TimelineKind

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
TEXT_MAX = 2_000


class ReferenceSequence(models.Model):
    """Last reference number issued per year; locked while the next is taken, so references
    are unique, gap-free in practice and never reused."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Incident(models.Model):
    reference = models.CharField(max_length=32, unique=True, editable=False)
    title = models.CharField(max_length=TITLE_MAX)
    description = models.TextField(validators=[MaxLengthValidator(DESCRIPTION_MAX)])
    category = models.CharField(max_length=48, choices=Category.choices)
    discovered_at = models.DateTimeField(help_text="When the reporter became aware.")
    occurred_at = models.DateTimeField(null=True, blank=True)
    suspected = models.BooleanField(default=True, help_text="Suspected rather than confirmed (PC02-10).")
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="incidents")
    location = models.CharField(max_length=TEXT_MAX, blank=True)
    circumstances = models.TextField(blank=True, validators=[MaxLengthValidator(TEXT_MAX)])
    data_categories = models.JSONField(default=list, blank=True)
    subject_categories = models.JSONField(default=list, blank=True)
    approx_subjects = models.PositiveIntegerField(null=True, blank=True)
    approx_records = models.PositiveIntegerField(null=True, blank=True)
    encryption = models.CharField(max_length=16, choices=Encryption.choices, default=Encryption.UNKNOWN)
    third_party = models.CharField(max_length=TEXT_MAX, blank=True)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.REPORTED, db_index=True)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported_incidents")
    reported_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["org_unit", "-id"], name="incident_unit_id"),
            models.Index(fields=["reporter", "-id"], name="incident_reporter_id"),
            models.Index(fields=["category", "-id"], name="incident_category_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(occurred_at__isnull=True) | Q(occurred_at__lte=models.F("discovered_at")),
                name="incident_occurred_not_after_discovered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"


class TimelineEntry(models.Model):
    """What people see happen to an incident: one explicit row per event (Saleor's order
    events), written by the service that made the change."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="timeline")
    kind = models.CharField(max_length=32, choices=TimelineKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"
