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
