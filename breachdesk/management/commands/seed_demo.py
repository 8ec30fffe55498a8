"""A demo organisation: national level, a region, two areas each with two units, one
user per role (API.md "Demo organisation") and a few checks in the controls register, both
in place and gaps. Idempotent."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from breachdesk.choices import ControlKind, ControlSubject, Role, UnitLevel
from breachdesk.models import ControlCheck, OrgUnit
from breachdesk.services import (
    alternate_ensure,
    control_check_record,
    line_manager_set,
    org_unit_ensure,
    person_ensure,
    role_assign,
)
from notifications.models import EscalationPolicy, EscalationStep
from notifications.policy import install_policy

UNITS = [
    # code, name, level, parent
    ("NAT", "National Offender Management", UnitLevel.NATIONAL, None),
    ("NE", "North East Region", UnitLevel.REGION, "NAT"),
    ("NE-TYNE", "Tyne and Wear Probation Area", UnitLevel.AREA, "NE"),
    ("NE-TYNE-NCL", "Newcastle Probation Office", UnitLevel.UNIT, "NE-TYNE"),
    ("NE-TYNE-SUN", "Sunderland Probation Office", UnitLevel.UNIT, "NE-TYNE"),
    ("NE-DUR", "Durham Probation Area", UnitLevel.AREA, "NE"),
    ("NE-DUR-DUR", "Durham City Probation Office", UnitLevel.UNIT, "NE-DUR"),
    ("NE-DUR-DAR", "Darlington Probation Office", UnitLevel.UNIT, "NE-DUR"),
]

# username, first, last, job title, home unit, [(role, unit)]
PEOPLE: list[tuple[str, str, str, str, str, list[tuple[Role, str]]]] = [
    ("reporter", "Rita", "Porter", "Probation Officer", "NE-TYNE-NCL", [(Role.REPORTER, "NE-TYNE-NCL")]),
    ("manager", "Mo", "Anand", "Senior Probation Officer", "NE-TYNE-NCL", [(Role.LINE_MANAGER, "NE-TYNE-NCL")]),
    ("isr", "Isla", "Reid", "Information Security Representative", "NE-TYNE", [(Role.ISR, "NE-TYNE")]),
    ("isim", "Ian", "Sim", "Information Security Incident Manager", "NE-TYNE", [(Role.ISIM, "NE-TYNE")]),
    ("chief", "Cath", "Oduya", "Chief Officer", "NE-TYNE", [(Role.CHIEF_OFFICER, "NE-TYNE")]),
    ("scs", "Sam", "Clarke", "Director, North East", "NE", [(Role.SCS, "NE")]),
    ("dpo", "Dee", "Patel", "Data Protection Officer", "NAT", [(Role.DPO, "NAT")]),
    ("siro", "Simon", "Roe", "Senior Information Risk Owner", "NAT", [(Role.SIRO, "NAT")]),
    ("press", "Priya", "Shah", "Press Officer", "NAT", [(Role.PRESS_OFFICE, "NAT")]),
    ("reporter2", "Rob", "Twomey", "Case Administrator", "NE-DUR-DUR", [(Role.REPORTER, "NE-DUR-DUR")]),
    ("manager2", "Meg", "Tait", "Senior Probation Officer", "NE-DUR-DUR", [(Role.LINE_MANAGER, "NE-DUR-DUR")]),
]
# One holder for each role of the PC02-8 national list not held above (the SIRO and the
# local ISR are already there), so an escalation in the demo reaches real inboxes.
NATIONAL: list[tuple[str, Role]] = [
    ("director-general", Role.DIRECTOR_GENERAL),
    ("coo", Role.CHIEF_OPERATING_OFFICER),
    ("sos-office", Role.SECRETARY_OF_STATE_OFFICE),
    ("permsec-office", Role.PERMANENT_SECRETARY_OFFICE),
    ("ministers-office", Role.MINISTERS_OFFICE),
    ("dom", Role.DIRECTOR_OFFENDER_MANAGEMENT),
    ("info-director", Role.INFORMATION_DIRECTOR),
    ("comms-director", Role.COMMUNICATIONS_DIRECTOR),
    ("head-of-news", Role.HEAD_OF_NEWS),
    ("cio", Role.CIO),
    ("director-probation", Role.DIRECTOR_OF_PROBATION),
    ("head-it-security", Role.HEAD_OF_IT_SECURITY),
    ("infosec-team", Role.INFORMATION_SECURITY_TEAM),
    ("news-desk", Role.PRESS_NEWS_DESK),
]
for _username, _role in NATIONAL:
    PEOPLE.append((_username, _role.label, "", _role.label, "NAT", [(_role, "NAT")]))

# The controls register (DOMAIN.md s.7), so it shows both controls in place and gaps:
# subject, unit code or partner, kind, in place, days ago checked, valid for days, evidence.
CONTROL_CHECKS: list[tuple[ControlSubject, str, ControlKind, bool, int, int | None, str]] = [
    (
        ControlSubject.UNIT,
        "NE-TYNE",
        ControlKind.STAFF_TRAINED,
        True,
        200,
        None,
        "Area training log: every officer completed data protection e-learning (Learning Hub report filed).",
    ),
    (
        ControlSubject.UNIT,
        "NE-TYNE-NCL",
        ControlKind.PREMISES_RISK_ASSESSED,
        True,
        90,
        365,
        "Premises risk assessment PRA-NCL-01, filed with the office manager.",
    ),
    (
        ControlSubject.UNIT,
        "NE-TYNE-NCL",
        ControlKind.MEDIA_ENCRYPTED,
        False,
        30,
        None,
        "Spot check: two unencrypted memory sticks in use in the duty room.",
    ),
    (
        ControlSubject.UNIT,
        "NE-DUR",
        ControlKind.STAFF_TRAINED,
        True,
        800,
        None,
        "Area training log, last full round.",
    ),
    (
        ControlSubject.PROCESSOR,
        "Acme Shredding Ltd",
        ControlKind.SHARING_AGREEMENT,
        True,
        60,
        730,
        "Contract schedule 4 (data processing terms), signed by both parties.",
    ),
]


class Command(BaseCommand):
    help = "Create (or complete) the demo organisation and one user per role."

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_PASSWORD", "")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        created_any = False
        with transaction.atomic():
            units: dict[str, OrgUnit] = {}
            for code, name, level, parent in UNITS:
                units[code] = org_unit_ensure(
                    code=code, name=name, level=level, parent=units[parent] if parent else None
                )
            users: dict[str, User] = {}
            from django.contrib.auth import get_user_model

            existing = set(
                get_user_model().objects.filter(username__in=[p[0] for p in PEOPLE]).values_list("username", flat=True)
            )
            for username, first, last, title, home, roles in PEOPLE:
                created_any |= username not in existing
                users[username] = person_ensure(
                    username=username,
                    email=f"{username}@example.org",
                    first_name=first,
                    last_name=last,
                    unit=units[home],
                    password=password,
                    job_title=title,
                )
                for role, unit_code in roles:
                    role_assign(user=users[username], role=role, unit=units[unit_code])
            line_manager_set(user=users["reporter"], manager=users["manager"])
            line_manager_set(user=users["reporter2"], manager=users["manager2"])
            # PC02-6: in the line manager's absence, another manager.
            alternate_ensure(principal=users["manager"], alternate=users["isr"], rank=1)
            alternate_ensure(principal=users["manager2"], alternate=users["manager"], rank=1)
            alternate_ensure(principal=users["chief"], alternate=users["scs"], rank=1)
            install_policy(EscalationPolicy, EscalationStep)
            _seed_controls(units, recorder=users["siro"])
        if generated and created_any:
            self.stdout.write(f"Demo users created. Password for every demo user (shown once): {password}")
        elif generated:
            self.stdout.write("Demo organisation already present; passwords unchanged.")
        else:
            self.stdout.write("Demo organisation ready; password from DEMO_PASSWORD.")


def _seed_controls(units: dict[str, OrgUnit], *, recorder: User) -> None:
    """The demo checks, each once: a check already there for its subject and kind stays."""
    today = timezone.localdate()
    for subject, who, kind, in_place, days_ago, valid_days, evidence in CONTROL_CHECKS:
        unit = units[who] if subject == ControlSubject.UNIT else None
        partner = "" if unit is not None else who
        if ControlCheck.objects.filter(subject=subject, unit=unit, partner=partner, kind=kind).exists():
            continue
        checked_on = today - timedelta(days=days_ago)
        control_check_record(
            actor=recorder,
            subject=subject,
            kind=kind,
            in_place=in_place,
            checked_on=checked_on,
            unit=unit,
            partner=partner,
            valid_until=checked_on + timedelta(days=valid_days) if valid_days else None,
            evidence=evidence,
        )
