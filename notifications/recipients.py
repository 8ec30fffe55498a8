"""Who a step target means for a given incident: roles are resolved up the unit tree to the
nearest unit that has someone in the role (DOMAIN.md s.8: roles attach to units)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User

from breachdesk.choices import NATIONAL_LIST_ROLES, Role
from breachdesk.models import Alternate, RoleAssignment
from incidents.models import Incident

from .choices import StepTarget

TARGET_ROLES: dict[str, tuple[Role, ...]] = {
    StepTarget.ISR: (Role.ISR,),
    StepTarget.ISIM: (Role.ISIM,),
    StepTarget.CHIEF_OFFICER: (Role.CHIEF_OFFICER, Role.DEPUTY_CHIEF_OFFICER),
    StepTarget.SCS: (Role.SCS,),
    StepTarget.DPO: (Role.DPO,),
    StepTarget.SIRO: (Role.SIRO,),
    StepTarget.PRESS_OFFICE: (Role.PRESS_OFFICE,),
}


@dataclass(frozen=True)
class Resolved:
    role: str  # the role label used on the notification row
    user: User | None  # None: nobody holds this role anywhere above the incident


def ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(len(parts), 0, -1)]  # nearest first


def holders_nearest(*, roles: tuple[Role, ...], unit_path: str) -> list[User]:
    """Everyone holding any of ``roles`` at the nearest unit (self or ancestor) that has one."""
    paths = ancestor_paths(unit_path)
    rows = list(
        RoleAssignment.objects.filter(role__in=roles, unit__path__in=paths, user__is_active=True)
        .select_related("user", "unit")
        .order_by("user_id")
    )
    for path in paths:
        found = [r.user for r in rows if r.unit.path == path]
        if found:
            return found
    return []


def resolve_target(*, target: str, incident: Incident) -> list[Resolved]:
    unit_path = incident.org_unit.path
    if target == StepTarget.LINE_MANAGER:
        profile = getattr(incident.reporter, "profile", None)
        manager = profile.line_manager if profile is not None else None
        if manager is not None and manager.is_active and manager.pk != incident.reporter_id:
            return [Resolved(Role.LINE_MANAGER.value, manager)]
        managers = [
            u for u in holders_nearest(roles=(Role.LINE_MANAGER,), unit_path=unit_path) if u.pk != incident.reporter_id
        ]
        return [Resolved(Role.LINE_MANAGER.value, u) for u in managers] or [Resolved(Role.LINE_MANAGER.value, None)]
    if target == StepTarget.NATIONAL_LIST:
        out: list[Resolved] = []
        for role in NATIONAL_LIST_ROLES:
            users = holders_nearest(roles=(role,), unit_path=unit_path)
            out += [Resolved(role.value, u) for u in users] or [Resolved(role.value, None)]
        return out
    roles = TARGET_ROLES[target]
    users = holders_nearest(roles=roles, unit_path=unit_path)
    return [Resolved(_role_of(u, roles, unit_path), u) for u in users] or [Resolved(roles[0].value, None)]


def _role_of(user: User, roles: tuple[Role, ...], unit_path: str) -> str:
    held = set(
        RoleAssignment.objects.filter(user=user, role__in=roles, unit__path__in=ancestor_paths(unit_path)).values_list(
            "role", flat=True
        )
    )
    return next((r.value for r in roles if r.value in held), roles[0].value)


def resolve_step(*, targets: list[str], incident: Incident) -> tuple[dict[int, tuple[User, list[str]]], list[str]]:
    """Recipients of a step, one entry per person with every role they are told as, and the
    roles nobody holds."""
    people: dict[int, tuple[User, list[str]]] = {}
    unresolved: list[str] = []
    for target in targets:
        for r in resolve_target(target=target, incident=incident):
            if r.user is None:
                unresolved.append(r.role)
                continue
            if r.user.pk == incident.reporter_id and target != StepTarget.NATIONAL_LIST:
                continue  # nobody is asked to confirm receipt of their own report
            entry = people.setdefault(r.user.pk, (r.user, []))
            if r.role not in entry[1]:
                entry[1].append(r.role)
    return people, unresolved


def alternates_of(user: User) -> list[User]:
    return [
        a.alternate
        for a in Alternate.objects.filter(principal=user, alternate__is_active=True)
        .select_related("alternate")
        .order_by("rank", "id")
    ]
