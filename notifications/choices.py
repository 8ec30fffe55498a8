from django.db import models


class DeadlineCode(models.TextChoices):
    MANAGER_INFORMED = "manager_informed", "Line manager informed (within 1 hour)"
    NATIONAL_INFORMED = "national_informed", "National list informed by the Chief Officer (within 1 hour)"
    INVESTIGATION_STARTED = "investigation_started", "Investigation started (within the first day)"
    ICO_NOTIFIED = "ico_notified", "ICO notified (within 72 hours)"
    SUBJECTS_INFORMED = "subjects_informed", "People affected told (without undue delay)"


class DeadlineState(models.TextChoices):
    PENDING = "pending", "Pending"
    MET = "met", "Met"
    MISSED = "missed", "Missed"
    NOT_REQUIRED = "not_required", "Not required"
    CANCELLED = "cancelled", "Cancelled"


SHORT_TITLES = {
    DeadlineCode.MANAGER_INFORMED: "manager told",
    DeadlineCode.NATIONAL_INFORMED: "national list told",
    DeadlineCode.INVESTIGATION_STARTED: "investigation",
    DeadlineCode.ICO_NOTIFIED: "ICO",
    DeadlineCode.SUBJECTS_INFORMED: "people told",
}


class StepTarget(models.TextChoices):
    """Who a step tells, resolved against the incident's unit when the step starts."""

    LINE_MANAGER = "line_manager", "Reporter's line manager"
    ISR = "isr", "Information Security Representative"
    ISIM = "isim", "Information Security Incident Manager"
    CHIEF_OFFICER = "chief_officer", "Chief Officer or deputy"
    SCS = "scs", "Senior Civil Service member"
    DPO = "dpo", "Data Protection Officer"
    SIRO = "siro", "SIRO"
    NATIONAL_LIST = "national_list", "National list (PC02-8)"
    PRESS_OFFICE = "press_office", "Press Office"


class StepTrigger(models.TextChoices):
    REPORTED = "reported", "When the incident is reported"
    PREVIOUS_ACKNOWLEDGED = "previous_acknowledged", "When the previous step is acknowledged"
    APPROVAL_GIVEN = "approval_given", "When an approver releases it"


class OnTimeout(models.TextChoices):
    ALTERNATE = "alternate", "Tell the recipient's alternate, then the SIRO"
    NEXT_STEP = "next_step", "Start the next step anyway"
    SIRO = "siro", "Tell the SIRO"
    PHONE = "phone", "Remind, then ask the sender to phone (PC02-9)"


class EscalationState(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class NotificationState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENT = "sent", "Sent, awaiting confirmation"
    ACKNOWLEDGED = "acknowledged", "Receipt confirmed"
    ESCALATED = "escalated", "No reply: escalated"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


OPEN_NOTIFICATION_STATES = frozenset({NotificationState.SCHEDULED, NotificationState.SENT})


class NotificationPurpose(models.TextChoices):
    ESCALATION = "escalation", "Escalation"
    DEADLINE_REMINDER = "deadline_reminder", "Clock reminder"
    DEADLINE_MISSED = "deadline_missed", "Clock missed"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    IN_APP = "in_app", "In BreachDesk"


class AckMethod(models.TextChoices):
    LINK = "link", "Signed email link"
    IN_APP = "in_app", "In BreachDesk"
    API = "api", "API"
    PHONE = "phone", "Phone call recorded by the sender"


class ApprovalState(models.TextChoices):
    PENDING = "pending", "Awaiting decision"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Not needed (reason recorded)"
    CANCELLED = "cancelled", "Cancelled"


class TimerKind(models.TextChoices):
    NOTIFICATION_SEND = "notification_send", "Send a notification"
    NOTIFICATION_TIMEOUT = "notification_timeout", "No acknowledgement by the timeout"
    NOTIFICATION_REMINDER = "notification_reminder", "Remind an unconfirmed recipient"
    DEADLINE_DUE = "deadline_due", "A clock runs out"
    DEADLINE_REMINDER = "deadline_reminder", "Remind about a running clock"


class TimerState(models.TextChoices):
    PENDING = "pending", "Pending"
    FIRED = "fired", "Fired"
    CANCELLED = "cancelled", "Cancelled"


class IcoSubmissionKind(models.TextChoices):
    INITIAL = "initial", "Initial report"
    FOLLOW_UP = "follow_up", "Follow-up (Art 33(4))"


class ReportKind(models.TextChoices):
    """The formal reports (WeasyPrint). The first four are the API's ``kind`` (API.md)."""

    ICO_NOTIFICATION = "ico-notification", "ICO personal data breach notification"
    TRACKER_FORM = "tracker-form", "Security Incident Tracker Form"
    OMBUDSMAN_PACK = "ombudsman-pack", "Ombudsman and complaint pack"
    SUBJECT_LETTER = "subject-letter", "Letter to the people affected"
    ENQUIRY_LETTER = "enquiry-letter", "Answer to an enquiry"
    SIRO_SUMMARY = "siro-summary", "SIRO summary"


INCIDENT_REPORT_KINDS = (
    ReportKind.ICO_NOTIFICATION,
    ReportKind.TRACKER_FORM,
    ReportKind.OMBUDSMAN_PACK,
    ReportKind.SUBJECT_LETTER,
)


class LetterBatchState(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    PROCESSING = "processing", "Being generated"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"
