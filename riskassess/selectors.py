from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from incidents.models import Incident

from .choices import DecisionKind
from .models import Decision, RiskAssessment


def assessments_for_incident(incident: Incident) -> QuerySet[RiskAssessment]:
    return RiskAssessment.objects.filter(incident=incident).select_related("created_by").order_by("-version")


def assessment_get(incident: Incident, version: int) -> RiskAssessment:
    assessment = (
        RiskAssessment.objects.filter(incident=incident)
        .select_related("created_by")
        .prefetch_related("datasets", "groups")
        .filter(version=version)
        .first()
    )
    if assessment is None:
        raise Http404("No such version.")
    return assessment


def current_decisions(incident: Incident) -> dict[str, Decision]:
    """The standing decision per kind: the latest one."""
    out: dict[str, Decision] = {}
    for d in Decision.objects.filter(incident=incident).select_related("decided_by").order_by("decided_at", "id"):
        out[d.kind] = d
    return out


def decision_history(incident: Incident) -> QuerySet[Decision]:
    return Decision.objects.filter(incident=incident).select_related("decided_by", "assessment").order_by("-decided_at")


KIND_LABELS = dict(DecisionKind.choices)
