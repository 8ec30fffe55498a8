"""Reads about the organisation: who holds which role where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import F, Q, QuerySet, Value, Window
from django.db.models.functions import Lower, RowNumber, Trim
from django.http import Http404
from django.utils import timezone
from django.utils.text import slugify

from .choices import GLOBAL_ROLES, REQUIRED_CONTROLS, UNIT_SCOPED_ROLES, ControlKind, ControlSubject, Role
from .models import ControlCheck, OrgUnit, RoleAssignment

if TYPE_CHECKING:
    from incidents.models import Incident


@dataclass(frozen=True)
class Scope:
    """What part of the organisation a user may see."""

    sees_all: bool
    unit_paths: tuple[str, ...]

    def unit_filter(self, prefix: str = "") -> Q:
        q = Q(pk__in=[])
        for path in self.unit_paths:
            q |= Q(**{f"{prefix}path__startswith": path})
        return q


def roles_for_user(user: User | AnonymousUser) -> list[RoleAssignment]:
    if not user.is_authenticated:
        return []
    # Cached on the user object, which lives for one request: the header, the scope and
    # the permission checks of a page ask the same question.
    cached: list[RoleAssignment] | None = getattr(user, "_breachdesk_roles", None)
    if cached is None:
        cached = list(RoleAssignment.objects.filter(user=user).select_related("unit"))
        user._breachdesk_roles = cached  # type: ignore[union-attr,attr-defined]
    return cached


def viewer_key(user: User | AnonymousUser) -> list[Any]:
    """Who is looking, as far as what they may see goes: their id and each role they hold,
    and where. Part of the key of anything cached per person, so that a role given or taken
    away (in the admin, which records no audit event) takes effect on the next view."""
    roles = sorted((a.role, a.unit_id or 0) for a in roles_for_user(user))
    return [user.pk, bool(getattr(user, "is_superuser", False)), roles]


def scope_for_user(user: User | AnonymousUser) -> Scope:
    if not user.is_authenticated:
        return Scope(sees_all=False, unit_paths=())
    if getattr(user, "is_superuser", False):
        return Scope(sees_all=True, unit_paths=())
    assignments = roles_for_user(user)
    if any(a.role in GLOBAL_ROLES for a in assignments):
        return Scope(sees_all=True, unit_paths=())
    paths = sorted({a.unit.path for a in assignments if a.role in UNIT_SCOPED_ROLES})
    # A path under another path adds nothing: drop it to keep the filter short.
    kept = tuple(p for p in paths if not any(p != q and p.startswith(q) for q in paths))
    return Scope(sees_all=False, unit_paths=kept)


def user_has_role(user: User | AnonymousUser, roles: frozenset[Role] | set[Role]) -> bool:
    if not user.is_authenticated:
        return False
    return any(a.role in roles for a in roles_for_user(user))


def org_units_visible() -> QuerySet[OrgUnit]:
    """Every unit: the organisation chart is not sensitive and reporters need it to file."""
    return OrgUnit.objects.select_related("parent").order_by("path")


def reportable_units() -> QuerySet[OrgUnit]:
    return OrgUnit.objects.order_by("path")


# --- The controls register (DOMAIN.md s.7, the East Midlands enforcement conditions) --------

# Who reads the register (their units; the SIRO and DPO everything) and who records checks:
# units within their scope for the unit-level officers, projects and processors only for
# the SIRO, DPO and ISIM, who own the organisation's contracts and sharing agreements.
CONTROL_VIEWERS = UNIT_SCOPED_ROLES | GLOBAL_ROLES
CONTROL_UNIT_RECORDERS = frozenset({Role.SIRO, Role.DPO, Role.ISIM, Role.CHIEF_OFFICER, Role.DEPUTY_CHIEF_OFFICER})
CONTROL_PARTNER_RECORDERS = frozenset({Role.SIRO, Role.DPO, Role.ISIM})
# "Data protection training for all officers" is current for two years (DOMAIN.md s.7).
TRAINING_VALID_YEARS = 2


def control_training_valid_until(checked_on: date) -> date:
    """The last day a training record counts: two years on (29 February gives 28 February)."""
    try:
        return checked_on.replace(year=checked_on.year + TRAINING_VALID_YEARS)
    except ValueError:
        return checked_on.replace(year=checked_on.year + TRAINING_VALID_YEARS, day=28)


def _long_date(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def _ancestor_paths(path: str) -> list[str]:
    """``/NAT/NE/TYNE/`` -> ``["/NAT/", "/NAT/NE/", "/NAT/NE/TYNE/"]`` (nearest last)."""
    codes = path.strip("/").split("/")
    return [f"/{'/'.join(codes[: i + 1])}/" for i in range(len(codes))]


def _partner_key(name: str) -> str:
    return name.strip().lower()


@dataclass(frozen=True)
class ControlStatus:
    """Where one required control stands for one unit, project or processor."""

    kind: str
    label: str
    subject: str
    subject_label: str
    check: ControlCheck | None
    inherited_from: OrgUnit | None
    is_gap: bool
    reason: str

    @property
    def heading(self) -> str:
        """The subject as a heading: a unit by name, a partner with what it is."""
        if self.subject == ControlSubject.UNIT:
            return self.subject_label
        return f"{self.subject_label} ({ControlSubject(self.subject).label.lower()})"

    @property
    def expires_on(self) -> date | None:
        return _expires_on(self.check) if self.check is not None else None


def _expires_on(check: ControlCheck) -> date | None:
    # A training record without a date (made outside the service) still lapses after two years.
    if check.valid_until is None and check.kind == ControlKind.STAFF_TRAINED:
        return control_training_valid_until(check.checked_on)
    return check.valid_until


def _status(
    *,
    kind: str,
    subject: str,
    subject_label: str,
    check: ControlCheck | None,
    inherited_from: OrgUnit | None,
    today: date,
) -> ControlStatus:
    if check is None:
        is_gap, reason = True, "Never recorded"
    elif not check.in_place:
        is_gap, reason = True, f"Not in place, checked {_long_date(check.checked_on)}"
    elif (until := _expires_on(check)) is not None and until < today:
        is_gap, reason = True, f"Expired on {_long_date(until)}"
    else:
        is_gap, reason = False, f"In place, checked {_long_date(check.checked_on)}"
        if until is not None:
            reason += f", valid until {_long_date(until)}"
    return ControlStatus(
        kind=kind,
        label=ControlKind(kind).label,
        subject=subject,
        subject_label=subject_label,
        check=check,
        inherited_from=inherited_from,
        is_gap=is_gap,
        reason=reason,
    )


def _latest_checks(q: Q, partition_by: list[Any]) -> QuerySet[ControlCheck]:
    """The check that stands for each subject and kind: the latest by date, then by id. One
    query however long the history (the window is filtered in SQL)."""
    return (
        ControlCheck.objects.annotate(partner_key=Lower(Trim("partner")))
        .filter(q)
        .select_related("unit", "recorded_by")
        .annotate(
            rank=Window(RowNumber(), partition_by=partition_by, order_by=[F("checked_on").desc(), F("id").desc()])
        )
        .filter(rank=1)
    )


def _latest_unit_checks(q: Q) -> dict[tuple[str, str], ControlCheck]:
    rows = _latest_checks(Q(subject=ControlSubject.UNIT) & q, [F("unit_id"), F("kind")])
    return {(check.unit.path, check.kind): check for check in rows if check.unit is not None}


def _latest_partner_checks(q: Q) -> dict[tuple[str, str], dict[str, ControlCheck]]:
    """{(subject, partner key): {kind: check}}; names compared ignoring case and spaces."""
    rows = _latest_checks(~Q(subject=ControlSubject.UNIT) & q, [F("subject"), F("partner_key"), F("kind")])
    out: dict[tuple[str, str], dict[str, ControlCheck]] = {}
    for check in rows:
        _keep_latest(out.setdefault((check.subject, _partner_key(check.partner)), {}), check)
    return out


def _keep_latest(kinds: dict[str, ControlCheck], check: ControlCheck) -> None:
    current = kinds.get(check.kind)
    if current is None or (current.checked_on, current.pk) < (check.checked_on, check.pk):
        kinds[check.kind] = check


def _partner_name_q(name: str) -> Q:
    # Compared in SQL on both sides, so the database's own idea of case applies to both.
    return Q(partner_key=Lower(Trim(Value(name))))


def _partner_checks_named(name: str, subjects: tuple[str, ...]) -> dict[str, dict[str, ControlCheck]]:
    """{subject: {kind: latest check}} for the partner called ``name``."""
    out: dict[str, dict[str, ControlCheck]] = {}
    for (subject, _key), checks in _latest_partner_checks(_partner_name_q(name) & Q(subject__in=subjects)).items():
        for check in checks.values():
            _keep_latest(out.setdefault(subject, {}), check)
    return out


def _unit_statuses(unit: OrgUnit, latest: dict[tuple[str, str], ControlCheck], today: date) -> list[ControlStatus]:
    # A unit's own check stands; else the nearest unit above it with one (an area-wide
    # training record covers the area's offices).
    nearest_first = _ancestor_paths(unit.path)[::-1]
    statuses = []
    for kind in REQUIRED_CONTROLS[ControlSubject.UNIT]:
        check = next((latest[(p, kind)] for p in nearest_first if (p, kind) in latest), None)
        inherited = check.unit if check is not None and check.unit_id != unit.pk else None
        statuses.append(
            _status(
                kind=kind,
                subject=ControlSubject.UNIT,
                subject_label=unit.name,
                check=check,
                inherited_from=inherited,
                today=today,
            )
        )
    return statuses


def _partner_statuses(subject: str, label: str, checks: dict[str, ControlCheck], today: date) -> list[ControlStatus]:
    return [
        _status(
            kind=kind, subject=subject, subject_label=label, check=checks.get(kind), inherited_from=None, today=today
        )
        for kind in REQUIRED_CONTROLS[subject]
    ]


def _partner_label(checks: dict[str, ControlCheck], fallback: str) -> str:
    """The name as most recently recorded."""
    if not checks:
        return fallback.strip()
    return max(checks.values(), key=lambda c: (c.checked_on, c.pk)).partner.strip()


def control_status_for_unit(unit: OrgUnit, *, today: date | None = None) -> list[ControlStatus]:
    """Every control a unit needs, with its own or its nearest ancestor's latest check."""
    latest = _latest_unit_checks(Q(unit__path__in=_ancestor_paths(unit.path)))
    return _unit_statuses(unit, latest, today or timezone.localdate())


def control_status_for_partner(subject: str, partner: str, *, today: date | None = None) -> list[ControlStatus]:
    """Every control a project or processor needs; ``partner`` is matched ignoring case and
    surrounding spaces."""
    if subject == ControlSubject.UNIT or subject not in REQUIRED_CONTROLS:
        raise ValueError(f"Not a project or processor: {subject}")
    checks = _partner_checks_named(partner, (subject,)).get(subject, {})
    return _partner_statuses(subject, _partner_label(checks, partner), checks, today or timezone.localdate())


def control_gaps_for_incident(incident: Incident, *, today: date | None = None) -> list[ControlStatus]:
    """The gaps that bear on an incident: its unit's (own or inherited), then those of any
    project or processor with checks recorded under the name the incident gives as its third
    party. A third party with no checks at all is not known to be a project or processor."""
    today = today or timezone.localdate()
    gaps = [s for s in control_status_for_unit(incident.org_unit, today=today) if s.is_gap]
    name = (incident.third_party or "").strip()
    if name:
        named = _partner_checks_named(name, (ControlSubject.PROJECT, ControlSubject.PROCESSOR))
        for subject in (ControlSubject.PROJECT, ControlSubject.PROCESSOR):
            if checks := named.get(subject):
                label = _partner_label(checks, name)
                gaps += [s for s in _partner_statuses(subject, label, checks, today) if s.is_gap]
    return gaps


@dataclass(frozen=True)
class ControlRegisterEntry:
    """One table of the register: a unit, project or processor and its required controls."""

    subject: str
    subject_label: str
    unit: OrgUnit | None
    partner: str
    statuses: tuple[ControlStatus, ...]
    can_record: bool

    @property
    def gap_count(self) -> int:
        return sum(1 for s in self.statuses if s.is_gap)

    @property
    def anchor(self) -> str:
        if self.unit is not None:
            return f"unit-{self.unit.code}"
        return f"{self.subject}-{slugify(self.partner) or 'unnamed'}"


@dataclass(frozen=True)
class ControlRegister:
    units: tuple[ControlRegisterEntry, ...]
    partners: tuple[ControlRegisterEntry, ...]
    can_record_units: bool
    can_record_partners: bool

    @property
    def gap_count(self) -> int:
        return sum(e.gap_count for e in (*self.units, *self.partners))


def control_register_visible_to(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and (getattr(user, "is_superuser", False) or user_has_role(user, CONTROL_VIEWERS))


def control_record_scope(user: User | AnonymousUser) -> Scope:
    """The units whose checks the user may record: the SIRO and DPO anywhere; the ISIM,
    Chief Officer and Deputy their units and the units below."""
    if not user.is_authenticated:
        return Scope(sees_all=False, unit_paths=())
    if getattr(user, "is_superuser", False):
        return Scope(sees_all=True, unit_paths=())
    assignments = roles_for_user(user)
    if any(a.role in GLOBAL_ROLES for a in assignments):
        return Scope(sees_all=True, unit_paths=())
    paths = sorted({a.unit.path for a in assignments if a.role in CONTROL_UNIT_RECORDERS})
    return Scope(
        sees_all=False, unit_paths=tuple(p for p in paths if not any(p != q and p.startswith(q) for q in paths))
    )


def _in_scope(scope: Scope, unit: OrgUnit) -> bool:
    return scope.sees_all or any(unit.path.startswith(path) for path in scope.unit_paths)


def control_can_record(user: User | AnonymousUser, *, subject: str, unit: OrgUnit | None = None) -> bool:
    """May ``user`` record a check for this subject (and unit)? With no unit: for any unit."""
    if not user.is_authenticated:
        return False
    superuser = getattr(user, "is_superuser", False)
    if subject != ControlSubject.UNIT:
        return superuser or user_has_role(user, CONTROL_PARTNER_RECORDERS)
    scope = control_record_scope(user)
    if unit is None:
        return scope.sees_all or bool(scope.unit_paths)
    return _in_scope(scope, unit)


def control_units_recordable_for_user(user: User | AnonymousUser) -> QuerySet[OrgUnit]:
    scope = control_record_scope(user)
    units = OrgUnit.objects.order_by("path")
    return units if scope.sees_all else units.filter(scope.unit_filter())


def control_unit_get_for_user(*, user: User | AnonymousUser, code: str) -> OrgUnit:
    """A unit of the register, or 404 when there is none or it lies outside the user's scope."""
    unit = OrgUnit.objects.filter(code=code).first()
    if unit is None or not control_register_visible_to(user) or not _in_scope(scope_for_user(user), unit):
        raise Http404("No such unit in your part of the organisation.")
    return unit


def control_checks_for_user(user: User | AnonymousUser) -> QuerySet[ControlCheck]:
    """Every check (the history, not only the latest) the user may read: units in scope, and
    every project and processor (organisation-wide agreements, not any one unit's)."""
    qs = ControlCheck.objects.select_related("unit", "recorded_by").order_by("-checked_on", "-id")
    if not control_register_visible_to(user):
        return qs.none()
    scope = scope_for_user(user)
    if scope.sees_all:
        return qs
    return qs.filter(~Q(subject=ControlSubject.UNIT) | scope.unit_filter("unit__"))


def control_register_for_user(user: User | AnonymousUser, *, today: date | None = None) -> ControlRegister:
    """The register page: each unit in the user's scope with its controls (own or inherited
    from above, even from units above the scope), then every project and processor. A fixed
    number of queries whatever the number of units and checks."""
    if not control_register_visible_to(user):
        return ControlRegister(units=(), partners=(), can_record_units=False, can_record_partners=False)
    today = today or timezone.localdate()
    record_scope = control_record_scope(user)
    can_record_partners = control_can_record(user, subject=ControlSubject.PROCESSOR)
    scope = scope_for_user(user)
    if scope.sees_all:
        units = list(OrgUnit.objects.order_by("path"))
        latest = _latest_unit_checks(Q())
    else:
        units = list(OrgUnit.objects.filter(scope.unit_filter()).order_by("path"))
        # Units below a scope root inherit from inside the scope or from the root's ancestors.
        above = {p for root in scope.unit_paths for p in _ancestor_paths(root)}
        latest = _latest_unit_checks(scope.unit_filter("unit__") | Q(unit__path__in=sorted(above)))
    unit_entries = tuple(
        ControlRegisterEntry(
            subject=ControlSubject.UNIT,
            subject_label=unit.name,
            unit=unit,
            partner="",
            statuses=tuple(_unit_statuses(unit, latest, today)),
            can_record=_in_scope(record_scope, unit),
        )
        for unit in units
    )
    partner_entries = []
    for (subject, _key), checks in _latest_partner_checks(Q()).items():
        label = _partner_label(checks, "")
        partner_entries.append(
            ControlRegisterEntry(
                subject=subject,
                subject_label=label,
                unit=None,
                partner=label,
                statuses=tuple(_partner_statuses(subject, label, checks, today)),
                can_record=can_record_partners,
            )
        )
    partner_entries.sort(key=lambda e: (e.subject, e.subject_label.lower()))
    return ControlRegister(
        units=unit_entries,
        partners=tuple(partner_entries),
        can_record_units=record_scope.sees_all or bool(record_scope.unit_paths),
        can_record_partners=can_record_partners,
    )
