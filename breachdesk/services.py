"""Writes to the organisation: units, people, roles (used by ``seed_demo`` and imports), and
the controls register."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from .audit import audit_record
from .choices import REQUIRED_CONTROLS, ControlKind, ControlSubject, Role
from .models import Alternate, ControlCheck, OrgUnit, Profile, RoleAssignment
from .selectors import control_can_record, control_training_valid_until


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
        profile = Profile.objects.select_for_update(no_key=True).get(user=user)
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


EVIDENCE_MAX = 10_000
PARTNER_MAX = ControlCheck._meta.get_field("partner").max_length or 200


def _long_date(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def control_check_record(
    *,
    actor: User,
    subject: str,
    kind: str,
    in_place: bool,
    checked_on: date,
    unit: OrgUnit | None = None,
    partner: str = "",
    valid_until: date | None = None,
    evidence: str = "",
) -> ControlCheck:
    """Record one dated check of one control (DOMAIN.md s.7). Checks are never edited: a
    later check of the same control stands. Every rule is checked before anything is
    written, so a refused check leaves no trace."""
    partner = (partner or "").strip()
    evidence = (evidence or "").strip()
    errors: dict[str, list[str]] = {}
    if subject not in ControlSubject.values:
        raise ValidationError({"subject": ["Choose a unit, a collaborative project or a processor"]})
    # Who may not record learns nothing about the rest of their input.
    if subject == ControlSubject.UNIT:
        if not control_can_record(actor, subject=subject, unit=unit):
            raise PermissionDenied(
                "Only the SIRO, DPO, ISIM, Chief Officer or Deputy Chief Officer can record checks for a unit, "
                "and only for their units."
            )
        if unit is None:
            errors["unit"] = ["Choose the unit the check is for"]
        if partner:
            errors["partner"] = ["A check for a unit names no project or processor: leave the name empty"]
    else:
        if not control_can_record(actor, subject=subject):
            raise PermissionDenied("Only the SIRO, DPO or ISIM can record checks for a project or processor.")
        if unit is not None:
            errors["unit"] = ["A check for a project or processor names no unit: leave the unit empty"]
        if not partner:
            errors["partner"] = ["Enter the name of the project or processor, as it is named on incidents"]
        elif len(partner) > PARTNER_MAX:
            errors["partner"] = [f"The name must be {PARTNER_MAX} characters or fewer"]
    required = REQUIRED_CONTROLS[subject]
    if kind not in ControlKind.values:
        errors["kind"] = ["Choose the control that was checked"]
    elif kind not in required:
        names = "; ".join(ControlKind(k).label for k in required)
        errors["kind"] = [f"A {ControlSubject(subject).label.lower()} does not need this control. It needs: {names}"]
    if not isinstance(in_place, bool):
        errors["in_place"] = ["Select whether the control is in place"]
    today = timezone.localdate()
    if not isinstance(checked_on, date):
        errors["checked_on"] = ["Enter the date of the check"]
    elif checked_on > today:
        errors["checked_on"] = ["The date of the check must be today or in the past"]
    elif valid_until is not None and valid_until < checked_on:
        errors["valid_until"] = [
            f"The date it is valid until must be the same as or after the date of the check ({_long_date(checked_on)})"
        ]
    elif kind == ControlKind.STAFF_TRAINED:
        # DOMAIN.md s.7: training counts for two years; a later date would hide a lapse.
        latest = control_training_valid_until(checked_on)
        if valid_until is None:
            valid_until = latest
        elif valid_until > latest:
            errors["valid_until"] = [
                f"Training counts for two years at most: the date must be on or before {_long_date(latest)}"
            ]
    if in_place is True and not evidence:
        errors["evidence"] = [
            "Enter the evidence that the control is in place, for example the assessment's reference "
            "or where the training records are kept"
        ]
    elif len(evidence) > EVIDENCE_MAX:
        errors["evidence"] = [f"The evidence must be {EVIDENCE_MAX:,} characters or fewer"]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        check = ControlCheck.objects.create(
            subject=subject,
            unit=unit if subject == ControlSubject.UNIT else None,
            partner=partner if subject != ControlSubject.UNIT else "",
            kind=kind,
            in_place=in_place,
            checked_on=checked_on,
            valid_until=valid_until,
            evidence=evidence,
            recorded_by=actor,
            recorded_at=timezone.now(),
        )
        audit_record(
            actor=actor,
            action="control.checked",
            object_type="control_check",
            object_id=check.pk,
            after={
                "subject": subject,
                "unit": unit.code if unit is not None else None,
                "partner": partner,
                "kind": kind,
                "in_place": in_place,
                "checked_on": checked_on,
                "valid_until": valid_until,
                "evidence": evidence,
            },
        )
    return check
