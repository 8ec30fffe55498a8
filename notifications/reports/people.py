"""Who a report names: the controller, the DPO for an incident's unit, and contact lines."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User

from breachdesk.choices import Role, UnitLevel
from breachdesk.models import OrgUnit, RoleAssignment


@dataclass(frozen=True)
class Contact:
    name: str
    role: str
    email: str
    phone: str


def contact_for(user: User, role: str = "") -> Contact:
    profile = getattr(user, "profile", None)
    job = (profile.job_title if profile is not None else "") or role
    return Contact(
        name=user.get_full_name() or user.username,
        role=job,
        email=user.email,
        phone=profile.phone if profile is not None else "",
    )


def controller_name() -> str:
    if settings.CONTROLLER_NAME:
        return str(settings.CONTROLLER_NAME)
    root = OrgUnit.objects.filter(level=UnitLevel.NATIONAL).order_by("path").first()
    return root.name if root is not None else "The data controller"


def holders(unit: OrgUnit, role: Role) -> list[User]:
    """The people holding ``role`` at the nearest unit at or above ``unit`` that has one."""
    rows = (
        RoleAssignment.objects.filter(role=role, unit__path__in=unit.ancestor_paths())
        .select_related("user__profile", "unit")
        .order_by("-unit__path", "user__last_name", "user__id")
    )
    nearest: list[User] = []
    path = None
    for row in rows:
        if path is not None and row.unit.path != path:
            break
        path = row.unit.path
        nearest.append(row.user)
    return nearest


def dpo_contacts(unit: OrgUnit) -> list[Contact]:
    return [contact_for(u, Role.DPO.label) for u in holders(unit, Role.DPO)]
