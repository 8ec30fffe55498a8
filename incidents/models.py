from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q

from breachdesk.models import OrgUnit

from .choices import (
    ActionKind,
    ActionState,
    ActionTopic,
    Category,
    Encryption,
    EnquiryKind,
    EnquiryOutcome,
    NoticeMethod,
    Party,
    RootCauseKind,
    Status,
    TimelineKind,
)

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
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["org_unit", "-id"], name="incident_unit_id"),
            models.Index(fields=["reporter", "-id"], name="incident_reporter_id"),
            models.Index(fields=["category", "-id"], name="incident_category_id"),
            # Recurrence: the same unit and kind of loss within a window.
            models.Index(fields=["org_unit", "category", "discovered_at"], name="incident_recurrence"),
            # Open incidents, oldest report first (task lists): a few thousand of 100,000.
            models.Index(
                fields=["reported_at", "id"],
                condition=Q(status__in=["reported", "under_investigation", "contained"]),
                name="incident_open_reported",
            ),
            models.Index(fields=["reported_at"], name="incident_reported_at"),
            # Open incidents in some units (a Chief Officer's live clocks): a few thousand,
            # where the unit alone matches half the table.
            models.Index(
                fields=["org_unit"],
                condition=Q(status__in=["reported", "under_investigation", "contained"]),
                name="incident_open_unit",
            ),
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


class Action(models.Model):
    """Something someone must do: a containment and recovery step (recall the email, police
    visit to confirm deletion, remote wipe) or an improvement after evaluation. Improvement
    actions can outlive the incident and stay on their owner's task list."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField(max_length=16, choices=ActionKind.choices)
    topic = models.CharField(max_length=24, choices=ActionTopic.choices, blank=True)
    description = models.CharField(max_length=500)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="plan_actions")
    due_on = models.DateField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=ActionState.choices, default=ActionState.OPEN)
    outcome = models.TextField(blank=True, help_text="What was done, and the evidence for it.")
    explanation = models.TextField(blank=True, help_text="Why it was not done.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "id"]
        # An owner's open actions, soonest due first (My tasks).
        indexes = [models.Index(fields=["owner", "state", "due_on", "id"], name="action_owner_state_due")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state=ActionState.NOT_DONE) | ~Q(explanation=""), name="action_not_done_explained"
            ),
            models.CheckConstraint(
                condition=Q(state=ActionState.OPEN) | Q(completed_at__isnull=False), name="action_closed_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind}: {self.description[:40]}"


class PartyNotice(models.Model):
    """Someone other than the ICO told about the breach: the people affected, the police,
    partners and processors, a press line cleared by the Press Office (PC02-13), a briefing on
    new developments (Day 2+). The ICO's submissions are notifications.IcoSubmission."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="party_notices")
    party = models.CharField(max_length=16, choices=Party.choices)
    method = models.CharField(max_length=16, choices=NoticeMethod.choices)
    recipient = models.CharField(max_length=300, help_text="Who was told, e.g. Kent Police, the Governor of HMP X.")
    told_at = models.DateTimeField()
    summary = models.TextField(help_text="What they were told.")
    people_count = models.PositiveIntegerField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["incident", "told_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(party=Party.PRESS) | Q(cleared_by__isnull=False), name="notice_press_line_cleared"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} told {self.party}: {self.recipient}"


class RootCause(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="root_causes")
    cause = models.CharField(max_length=24, choices=RootCauseKind.choices)
    detail = models.TextField(blank=True)
    control = models.ForeignKey(
        "breachdesk.ControlCheck",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="root_causes",
        help_text="The control that failed, from the controls register.",
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["incident", "id"]
        indexes = [models.Index(fields=["cause"], name="rootcause_cause")]
        constraints = [
            models.UniqueConstraint(fields=["incident", "cause"], name="rootcause_once_per_incident"),
            models.CheckConstraint(
                condition=~Q(cause=RootCauseKind.OTHER) | ~Q(detail=""), name="rootcause_other_said"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.cause}"


class Lesson(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="lessons")
    text = models.TextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["incident", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.text[:40]}"


TRACKER_FIELDS = (
    "summary",
    "data_involved",
    "people_affected",
    "containment",
    "ongoing_risk",
    "notifications",
    "next_steps",
    "investigating_officer",
)
TRACKER_LABELS = {
    "summary": "What happened and where things stand",
    "data_involved": "Data involved",
    "people_affected": "People affected",
    "containment": "Containment and recovery so far",
    "ongoing_risk": "Ongoing risk",
    "notifications": "Who has been told",
    "next_steps": "Next steps",
    "investigating_officer": "Investigating officer",
}


class TrackerFormVersion(models.Model):
    """The Security Incident Tracker Form (PC02-14): started within the first day, then kept
    up to date (Day 2+). Each update is a new version; the highest is the current form."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="tracker_versions")
    version = models.PositiveIntegerField()
    summary = models.TextField(blank=True, help_text="What happened and where things stand now.")
    data_involved = models.TextField(blank=True)
    people_affected = models.TextField(blank=True)
    containment = models.TextField(blank=True, help_text="What has been done to contain and recover.")
    ongoing_risk = models.TextField(blank=True)
    notifications = models.TextField(blank=True, help_text="Who has been told, and who will be.")
    next_steps = models.TextField(blank=True)
    investigating_officer = models.CharField(max_length=200, blank=True)
    change_note = models.CharField(max_length=500, blank=True, help_text="What changed in this update.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["incident", "-version"]
        constraints = [models.UniqueConstraint(fields=["incident", "version"], name="tracker_version_unique")]

    def __str__(self) -> str:
        return f"{self.incident_id} tracker v{self.version}"

    @property
    def missing(self) -> list[str]:
        return [TRACKER_LABELS[f] for f in TRACKER_FIELDS if not getattr(self, f).strip()]

    @property
    def complete(self) -> bool:
        return not self.missing


class Enquiry(models.Model):
    """A person's "was my data in it?" enquiry (answered in writing, on proof of identity,
    with the fields held: Ombudsman para 16), a complaint or a compensation claim, with its
    outcome and any apology (Principle "Putting things right")."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="enquiries")
    kind = models.CharField(max_length=24, choices=EnquiryKind.choices)
    person_name = models.CharField(max_length=200)
    contact = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField()
    identity_verified = models.BooleanField(default=False)
    identity_method = models.CharField(max_length=300, blank=True)
    data_held = models.BooleanField(null=True, blank=True)
    fields_held = models.TextField(blank=True, help_text="The fields held about this person.")
    answered_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=EnquiryOutcome.choices, default=EnquiryOutcome.PENDING)
    compensation_paid = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    apology_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["incident", "received_at", "id"]
        verbose_name_plural = "enquiries"
        constraints = [
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True) | Q(identity_verified=True) | ~Q(kind=EnquiryKind.ENQUIRY),
                name="enquiry_answer_needs_identity",
            ),
            models.CheckConstraint(
                condition=Q(compensation_paid__isnull=True) | Q(compensation_paid__gte=0),
                name="enquiry_compensation_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind} {self.person_name}"


def evidence_storage() -> Storage:
    # Outside the web root and STATIC/MEDIA: files are served only through the access checks.
    return FileSystemStorage(
        location=settings.EVIDENCE_ROOT, base_url=None, file_permissions_mode=0o640, directory_permissions_mode=0o750
    )


def evidence_path(instance: Evidence, filename: str) -> str:
    # A random name: nothing the uploader chose reaches the file system.
    return f"{instance.incident_id}/{uuid.uuid4().hex}"


class Evidence(models.Model):
    """A file attached to a note or an action: type checked by its content, stored outside the
    web root, hashed, served only to people who may see the incident."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="evidence")
    action = models.ForeignKey(Action, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence")
    note = models.ForeignKey(TimelineEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence")
    file = models.FileField(storage=evidence_storage, upload_to=evidence_path, max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["incident", "id"]
        verbose_name_plural = "evidence"
        constraints = [
            models.CheckConstraint(condition=Q(action__isnull=True) | Q(note__isnull=True), name="evidence_one_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.original_name}"
