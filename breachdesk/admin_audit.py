"""Changes made in the admin, audited like every other change (DESIGN.md "Audit trail").

What the admin edits decides who is told about a loss: the organisation's units, each
person's line manager, roles and alternates, and the escalation policies. A line manager
changed the day before an incident changes who gets the one-hour email, so each change is
recorded with what it was, what it became and who made it, in the admin's own transaction.
Passwords are never written to the trail: only that one changed."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.forms import BaseInlineFormSet, BaseModelForm
from django.http import HttpRequest

from .audit import audit_record

SECRET_FIELDS = frozenset({"password"})
# Not recorded: the time of the last sign-in changes without anyone editing anything, and
# the admin's form re-submits the joining date without its microseconds on every save.
NOISE_FIELDS = frozenset({"last_login", "date_joined"})


def audit_state(obj: models.Model) -> dict[str, Any]:
    """The stored columns of ``obj``, secrets replaced by a marker."""
    out: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in NOISE_FIELDS:
            continue
        value = field.value_from_object(obj)
        out[field.attname] = "(set)" if field.name in SECRET_FIELDS and value else value
    return out


def _stored(obj: models.Model) -> dict[str, Any] | None:
    if obj.pk is None:
        return None
    current = type(obj)._default_manager.filter(pk=obj.pk).first()
    return audit_state(current) if current is not None else None


def _record(
    request: HttpRequest, obj: models.Model, verb: str, before: dict[str, Any] | None, pk: str | int | None = None
) -> None:
    after = audit_state(obj) if verb != "deleted" else None
    if verb == "changed" and before is not None and after is not None:
        changed = sorted(k for k in after if before.get(k) != after[k])
        if not changed:
            return
        before = {k: before[k] for k in changed}
        after = {k: after[k] for k in changed}
    audit_record(
        actor=request.user,
        action=f"{obj._meta.model_name}.{verb}",
        object_type=str(obj._meta.model_name),
        object_id=obj.pk if pk is None else pk,
        before=before,
        after=None if after is None else {**after, "via": "admin"},
    )


class AuditedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Audits every add, change and delete of the object and of its inlines."""

    def save_model(self, request: HttpRequest, obj: Any, form: BaseModelForm, change: bool) -> None:  # type: ignore[type-arg]
        before = _stored(obj) if change else None
        super().save_model(request, obj, form, change)
        _record(request, obj, "changed" if change and before is not None else "added", before)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        pk, before = obj.pk, audit_state(obj)
        super().delete_model(request, obj)
        _record(request, obj, "deleted", before, pk)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            gone = [(obj, obj.pk, audit_state(obj)) for obj in queryset]
            super().delete_queryset(request, queryset)
            for obj, pk, before in gone:
                _record(request, obj, "deleted", before, pk)

    def save_formset(self, request: HttpRequest, form: Any, formset: BaseInlineFormSet, change: bool) -> None:  # type: ignore[type-arg]
        before = {id(f.instance): (f.instance.pk, _stored(f.instance)) for f in formset.initial_forms}
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            _record(request, obj, "added", None)
        for obj, _fields in formset.changed_objects:
            _record(request, obj, "changed", before[id(obj)][1])
        for obj in formset.deleted_objects:
            pk, state = before[id(obj)]
            _record(request, obj, "deleted", state, pk)
