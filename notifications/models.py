from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.db import models
from django.db.models import Q

from incidents.models import Incident

from .choices import (
    AckMethod,
    ApprovalState,
    Channel,
    DeadlineCode,
    DeadlineState,
    EscalationState,
    IcoSubmissionKind,
    LetterBatchState,
    NotificationPurpose,
    NotificationState,
    OnTimeout,
    ReportKind,
    StepTarget,
    StepTrigger,
    TimerKind,
    TimerState,
)


class Deadline(models.Model):
    """A statutory or procedural clock. The row is the truth; the broker only wakes
    workers up (DESIGN.md "Timers that cannot be lost")."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="deadlines")
    code = models.CharField(max_length=32, choices=DeadlineCode.choices)
    starts_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    state = models.CharField(max_length=16, choices=DeadlineState.choices, default=DeadlineState.PENDING)
    met_at = models.DateTimeField(null=True, blank=True)
    # Why it is not required, why it was met late, why its due time was changed.
    reason = models.TextField(blank=True, default="", db_default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    missed_at = models.DateTimeField(null=True, blank=True)
    # Who was told that the clock was missed (usernames), shown with the clock.
    missed_told = models.JSONField(default=list, blank=True, db_default=[])

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
            # The dashboard's clocks: the few running or missed among hundreds of thousands.
            models.Index(fields=["due_at"], condition=models.Q(state="pending"), name="deadline_pending_due"),
            models.Index(fields=["due_at", "incident"], condition=models.Q(state="missed"), name="deadline_missed_due"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.code} {self.state}"

    @property
    def title(self) -> str:
        return DeadlineCode(self.code).label


class EscalationPolicy(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_policy"),
        ]

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    targets = models.JSONField(help_text='List of step targets, e.g. ["isr", "isim", "chief_officer"].')
    trigger = models.CharField(max_length=32, choices=StepTrigger.choices)
    due_offset = models.DurationField(help_text="How long after the trigger the step must be done.")
    ack_required = models.BooleanField(default=True)
    ack_timeout = models.DurationField(help_text="How long to wait for a receipt before acting on it.")
    on_timeout = models.CharField(max_length=16, choices=OnTimeout.choices, default=OnTimeout.ALTERNATE)
    reminder_interval = models.DurationField(null=True, blank=True)
    max_reminders = models.PositiveSmallIntegerField(default=0)
    approver_target = models.CharField(
        max_length=32,
        choices=StepTarget.choices,
        blank=True,
        help_text="If set, this role must release the step (or record why it is not needed).",
    )
    meets_deadline = models.CharField(
        max_length=32,
        choices=DeadlineCode.choices,
        blank=True,
        help_text="The clock met when every recipient of this step has confirmed receipt.",
    )
    starts_deadline = models.CharField(
        max_length=32,
        choices=DeadlineCode.choices,
        blank=True,
        help_text="The clock started when the Chief Officer (or deputy) of this step confirms receipt.",
    )

    class Meta:
        ordering = ["policy", "order"]
        constraints = [models.UniqueConstraint(fields=["policy", "order"], name="step_order_unique")]

    def __str__(self) -> str:
        return f"{self.policy}: {self.order}. {self.name}"


class Escalation(models.Model):
    """A running escalation. ``snapshot`` freezes the policy's steps at the start, so editing
    the policy never changes an escalation already under way (Grafana OnCall)."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="escalations")
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.PROTECT, related_name="+")
    snapshot = models.JSONField()
    state = models.CharField(max_length=16, choices=EscalationState.choices, default=EscalationState.RUNNING)
    current_step = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident"], condition=Q(state="running"), name="one_running_escalation_per_incident"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} escalation ({self.state})"


class Notification(models.Model):
    """One recipient of one escalation step, or an alert about a clock (no escalation)."""

    escalation = models.ForeignKey(
        Escalation, null=True, blank=True, on_delete=models.PROTECT, related_name="notifications"
    )
    purpose = models.CharField(
        max_length=32, choices=NotificationPurpose.choices, default=NotificationPurpose.ESCALATION
    )
    ack_required = models.BooleanField(default=True)
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="notifications")
    step = models.PositiveSmallIntegerField()
    role = models.CharField(max_length=64)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications")
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    state = models.CharField(max_length=16, choices=NotificationState.choices, default=NotificationState.SCHEDULED)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="Receipt expected by.")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ack_method = models.CharField(max_length=16, choices=AckMethod.choices, blank=True)
    ack_note = models.TextField(blank=True)
    ack_from = models.CharField(max_length=200, blank=True, help_text="Address and browser the receipt came from.")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    phone_prompted = models.BooleanField(default=False)
    # Single use: the signed link carries this nonce; acknowledging clears it.
    link_nonce = models.CharField(max_length=64, blank=True)
    escalated_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["incident", "step", "id"]
        indexes = [
            models.Index(fields=["recipient", "state"], name="notification_recipient_state"),
            # The "told about it" rule of incidents_for_user reads incident ids by recipient.
            models.Index(fields=["recipient", "incident"], name="notif_recipient_incident"),
            models.Index(fields=["incident", "id"], name="notification_incident"),
            # My tasks: a person's receipts still to confirm, due soonest first, and the
            # unconfirmed ones someone must phone about: a few among hundreds of thousands.
            models.Index(
                fields=["recipient", "due_at", "id"],
                condition=Q(ack_required=True, state__in=["scheduled", "sent"]),
                name="notification_waiting",
            ),
            models.Index(
                fields=["due_at"], condition=Q(phone_prompted=True, state="sent"), name="notification_phone_prompt"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state=NotificationState.ACKNOWLEDGED) | Q(acknowledged_at__isnull=False),
                name="notification_ack_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} step {self.step} -> {self.recipient_id} ({self.state})"


class MailReceipt(models.Model):
    """An email the mail server accepted, recorded the moment it said so and committed at
    once, apart from the transaction that sends it (services/delivery.py). A worker that dies
    between the mail server's answer and its own commit leaves this row behind; the send
    that runs again finds it and records the notification as sent without sending the
    message a second time. Never changed."""

    message_id = models.CharField(max_length=255, unique=True)
    # No foreign key constraint: the row is written on a second database connection while
    # the sending transaction holds the notification, and must not depend on that transaction.
    notification = models.ForeignKey(Notification, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    accepted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.message_id} accepted {self.accepted_at:%Y-%m-%d %H:%M:%S}"


class Approval(models.Model):
    """A step an approver must release (PC02-8: the Chief decides whether to escalate)."""

    escalation = models.ForeignKey(Escalation, on_delete=models.PROTECT, related_name="approvals")
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="approvals")
    step = models.PositiveSmallIntegerField()
    approver_role = models.CharField(max_length=64)
    approvers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="approvals_to_decide")
    proposed = models.JSONField(help_text="The prepared recipients: [{role, user_id, name}].")
    state = models.CharField(max_length=16, choices=ApprovalState.choices, default=ApprovalState.PENDING)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["escalation", "step"], name="one_approval_per_step"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} step {self.step} approval ({self.state})"


class Timer(models.Model):
    """Something that must happen at ``due_at``. The sweep claims due rows with
    SELECT ... FOR UPDATE SKIP LOCKED; the ETA task carries ``token`` and does nothing if
    the row has fired, been cancelled or been re-armed since (DESIGN.md)."""

    kind = models.CharField(max_length=32, choices=TimerKind.choices)
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="+")
    notification = models.ForeignKey(Notification, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    deadline = models.ForeignKey(Deadline, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=TimerState.choices, default=TimerState.PENDING)
    token = models.UUIDField(default=uuid.uuid4)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["due_at"], condition=Q(state="pending"), name="timer_pending_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.due_at:%Y-%m-%d %H:%M:%S} ({self.state})"


class IcoSubmission(models.Model):
    """A notification to the ICO, initial or follow-up (UK GDPR Art 33(4): in phases)."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="ico_submissions")
    kind = models.CharField(max_length=16, choices=IcoSubmissionKind.choices)
    submitted_at = models.DateTimeField()
    case_reference = models.CharField(max_length=64, blank=True)
    summary = models.TextField(help_text="What was sent.")
    late_reason = models.TextField(blank=True, help_text="Why it was later than 72 hours (Art 33(1)).")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["incident", "submitted_at", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id} ICO {self.kind} {self.submitted_at:%Y-%m-%d}"


def reports_storage() -> Storage:
    # Outside the web root: issued reports are served only through the incident's access checks.
    return FileSystemStorage(
        location=settings.REPORTS_ROOT, base_url=None, file_permissions_mode=0o640, directory_permissions_mode=0o750
    )


def report_path(instance: IssuedReport, filename: str) -> str:
    return f"issued/{instance.incident_id or 'summary'}/{uuid.uuid4().hex}.pdf"


class IssuedReport(models.Model):
    """A report as issued: the PDF frozen on disk, its SHA-256 (also in the audit trail), who
    issued it and to whom. Never changed; a later issue is a new version."""

    kind = models.CharField(max_length=24, choices=ReportKind.choices)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="issued_reports"
    )
    # What the report is about within its kind: "" for an incident's report, "enquiry:12",
    # "group:3", or the SIRO summary's period and unit. Versions count per subject.
    subject = models.CharField(max_length=120, blank=True)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    file = models.FileField(storage=reports_storage, upload_to=report_path, max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    pages = models.PositiveIntegerField()
    issued_to = models.CharField(max_length=300, help_text="Who it was issued to, e.g. the ICO or a named MP.")
    note = models.TextField(blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "kind", "subject", "version"], name="issuedreport_version"),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


def batch_path(instance: LetterBatch, filename: str) -> str:
    return f"letters/{instance.incident_id}/{uuid.uuid4().hex}{Path(filename).suffix}"


class LetterBatch(models.Model):
    """Letters to a group of the people affected (Art 34), generated by a worker, not in the
    request. The row is the truth; the broker only wakes a worker, and a sweep picks up a
    batch whose message was lost."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="letter_batches")
    group = models.ForeignKey(
        "riskassess.RiskGroup", null=True, blank=True, on_delete=models.PROTECT, related_name="letter_batches"
    )
    group_name = models.CharField(max_length=200)
    # The recipients as uploaded (name, address, fields held): deleted once the letters exist.
    source = models.FileField(storage=reports_storage, upload_to=batch_path, max_length=300, blank=True)
    source_name = models.CharField(max_length=255)
    total = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=16, choices=LetterBatchState.choices, default=LetterBatchState.QUEUED)
    error = models.TextField(blank=True)
    output = models.FileField(storage=reports_storage, upload_to=batch_path, max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(done__lte=models.F("total")), name="letterbatch_done_le_total"),
        ]

    def __str__(self) -> str:
        return f"Letters for {self.group_name} ({self.done}/{self.total})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)
