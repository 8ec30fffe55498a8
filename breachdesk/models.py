"""Organisation (units, people, roles, alternates, the controls register) and the audit trail."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from .choices import ControlKind, ControlSubject, Role, UnitLevel


class OrgUnit(models.Model):
    code = models.SlugField(max_length=32, unique=True, help_text="Short stable code, e.g. NE-TYNE.")
    name = models.CharField(max_length=200)
    level = models.CharField(max_length=16, choices=UnitLevel.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # Materialised path ("/NAT/NE/TYNE/") so "this unit and every unit below it" is one
    # indexed prefix match. Derived from parent; kept in step by OrgUnit.save().
    path = models.CharField(max_length=512, editable=False, db_index=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level=UnitLevel.NATIONAL) | Q(parent__isnull=False),
                name="orgunit_parent_required_below_national",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def save(self, *args: object, **kwargs: object) -> None:
        # A denormalised invariant rather than business logic: the path must always match
        # the parent chain, however the unit is saved (admin, seed, service).
        old_path = self.path
        self.path = f"{self.parent.path if self.parent else '/'}{self.code}/"
        super().save(*args, **kwargs)  # type: ignore[arg-type]
        if old_path and old_path != self.path:
            for child in OrgUnit.objects.filter(parent=self):
                child.save()

    def subtree(self) -> models.QuerySet[OrgUnit]:
        return OrgUnit.objects.filter(path__startswith=self.path)

    def ancestor_paths(self) -> list[str]:
        """This unit's path and every path above it, nearest last."""
        codes = self.path.strip("/").split("/")
        return [f"/{'/'.join(codes[: i + 1])}/" for i in range(len(codes))]

    def ancestors_and_self(self) -> models.QuerySet[OrgUnit]:
        return OrgUnit.objects.filter(path__in=self.ancestor_paths())


class Profile(models.Model):
    """What the organisation knows about a person beyond their Django user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="members")
    job_title = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    line_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
        help_text="Told within one hour of a loss the person reports (PC02-6).",
    )

    def __str__(self) -> str:
        return f"{self.user} in {self.unit.code}"


class Alternate(models.Model):
    """Who stands in for a person in their absence, in order (PC02-6 "another manager")."""

    principal = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alternates")
    alternate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stands_in_for")
    rank = models.PositiveSmallIntegerField(default=1, help_text="1 is asked first.")

    class Meta:
        ordering = ["principal", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["principal", "alternate"], name="alternate_unique_pair"),
            models.CheckConstraint(condition=~Q(principal=models.F("alternate")), name="alternate_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.alternate} for {self.principal} (#{self.rank})"


class RoleAssignment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(max_length=32, choices=Role.choices)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="role_assignments")

    class Meta:
        ordering = ["unit__path", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "unit"], name="roleassignment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_role_display()} at {self.unit.code}"


class AuditChainHead(models.Model):
    """The single row locked while an event is appended, so sequence numbers and hash
    links are assigned in one order under concurrent writers (DESIGN.md "Audit trail")."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="auditchainhead_singleton")]

    def __str__(self) -> str:
        return f"audit head #{self.seq}"


class AuditEvent(models.Model):
    """One append-only, hash-chained event. On PostgreSQL a trigger rejects UPDATE and DELETE."""

    seq = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    # PROTECT: deleting a user must never rewrite history; people are deactivated instead.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    incident_ref = models.CharField(max_length=32, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditCheckpoint(models.Model):
    """A signed record of the audit chain's head at a moment (``audit_checkpoint``, daily by
    beat). Each is also appended to ``AUDIT_CHECKPOINT_FILE`` for keeping elsewhere. The
    signature is keyed by a secret the database does not hold, so someone who can rewrite
    the events (and recompute every hash after them) cannot make the checkpoints agree."""

    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    made_at = models.DateTimeField()
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq", "made_at"]

    def __str__(self) -> str:
        return f"checkpoint at #{self.seq}"


class ControlCheck(models.Model):
    """One dated check of one control (DOMAIN.md s.7, the East Midlands conditions) for a
    unit, a collaborative project or a processor. Checks are never edited: a later check of
    the same control for the same subject stands, and the earlier ones stay as the record."""

    subject = models.CharField(max_length=16, choices=ControlSubject.choices)
    unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="control_checks")
    partner = models.CharField(
        max_length=200, blank=True, help_text="The project or processor, as named on incidents (third party)."
    )
    kind = models.CharField(max_length=32, choices=ControlKind.choices)
    in_place = models.BooleanField()
    checked_on = models.DateField()
    valid_until = models.DateField(null=True, blank=True, help_text="When the control must be checked again.")
    evidence = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-checked_on", "-id"]
        indexes = [
            models.Index(fields=["unit", "kind", "-checked_on"], name="control_unit_kind"),
            models.Index(fields=["partner", "kind", "-checked_on"], name="control_partner_kind"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(subject=ControlSubject.UNIT) & Q(unit__isnull=False) & Q(partner=""))
                | (~Q(subject=ControlSubject.UNIT) & Q(unit__isnull=True) & ~Q(partner="")),
                name="control_unit_xor_partner",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("checked_on")),
                name="control_valid_after_checked",
            ),
        ]

    def __str__(self) -> str:
        who = self.unit.code if self.unit is not None else self.partner
        return f"{who}: {self.kind} {'in place' if self.in_place else 'gap'} ({self.checked_on})"
