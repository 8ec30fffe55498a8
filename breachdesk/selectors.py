"""Reads about the organisation: who holds which role where."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from .choices import GLOBAL_ROLES, UNIT_SCOPED_ROLES, Role
from .models import OrgUnit, RoleAssignment


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
