"""Writes to the organisation: units, people, roles. Used by ``seed_demo`` and imports."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from .audit import audit_record
from .choices import Role
from .models import Alternate, OrgUnit, Profile, RoleAssignment


def org_unit_ensure(*, code: str, name: str, level: str, parent: OrgUnit | None) -> OrgUnit:
    with transaction.atomic():
        unit, created = OrgUnit.objects.get_or_create(
            code=code, defaults={"name": name, "level": level, "parent": parent}
        )
        if created:
            audit_record(
                actor=None,
                action="org_unit.created",
                object_type="org_unit",
                object_id=unit.pk,
                after={"code": code, "name": name, "level": level, "parent": parent.code if parent else None},
            )
    return unit


def person_ensure(
    *,
    username: str,
    email: str,
    first_name: str,
    last_name: str,
    unit: OrgUnit,
    password: str,
    job_title: str = "",
) -> User:
    User = get_user_model()
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": email, "first_name": first_name, "last_name": last_name}
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
            Profile.objects.create(user=user, unit=unit, job_title=job_title)
            audit_record(
                actor=None,
                action="person.created",
                object_type="user",
                object_id=user.pk,
                after={"username": username, "unit": unit.code},
            )
    return user  # type: ignore[return-value]


def role_assign(*, user: User, role: Role, unit: OrgUnit) -> RoleAssignment:
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(user=user, role=role, unit=unit)
        if created:
            audit_record(
                actor=None,
                action="role.assigned",
                object_type="role_assignment",
                object_id=assignment.pk,
                after={"user": user.username, "role": role.value, "unit": unit.code},
            )
    return assignment


def line_manager_set(*, user: User, manager: User | None) -> None:
    with transaction.atomic():
        profile = Profile.objects.select_for_update().get(user=user)
        if profile.line_manager_id == (manager.pk if manager else None):
            return
        before = profile.line_manager_id
        profile.line_manager = manager
        profile.save(update_fields=["line_manager"])
        audit_record(
            actor=None,
            action="person.line_manager_set",
            object_type="user",
            object_id=user.pk,
            before={"line_manager": before},
            after={"line_manager": manager.pk if manager else None},
        )


def alternate_ensure(*, principal: User, alternate: User, rank: int = 1) -> Alternate:
    with transaction.atomic():
        row, created = Alternate.objects.get_or_create(
            principal=principal, alternate=alternate, defaults={"rank": rank}
        )
        if created:
            audit_record(
                actor=None,
                action="person.alternate_added",
                object_type="user",
                object_id=principal.pk,
                after={"alternate": alternate.username, "rank": rank},
            )
    return row
