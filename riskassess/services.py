"""Writes for risk assessment: a new version, and the decisions taken on it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from breachdesk.audit import audit_record
from breachdesk.choices import GLOBAL_ROLES, UNIT_SCOPED_ROLES
from breachdesk.selectors import user_has_role
from incidents.choices import TimelineKind
from incidents.models import Incident, TimelineEntry
from notifications.choices import DeadlineCode
from notifications.services import deadline_not_required, subjects_deadline_start

from .choices import DECIDERS, DecisionKind
from .models import AssessedDataSet, Decision, RiskAssessment, RiskGroup
from .recommend import Factors, assess
from .scoring import population_range
from .validation import assessment_errors

ASSESSORS = UNIT_SCOPED_ROLES | GLOBAL_ROLES
FACTOR_FIELDS = tuple(Factors.__dataclass_fields__)
NARRATIVE_FIELDS = (
    "individuals_narrative",
    "data_narrative",
    "circumstances_narrative",
    "other_organisations_narrative",
    "possible_risks_narrative",
    "further_loss_narrative",
)


def risk_assessment_create(*, incident: Incident, actor: User, data: dict[str, Any]) -> RiskAssessment:
    """Record a new version of the assessment, with its computed result. A high risk to
    people starts the Art 34 clock."""
    if not user_has_role(actor, ASSESSORS):
        raise PermissionDenied("Only managers, the ISR, ISIM, Chief Officer, SCS, DPO or SIRO can assess risk.")
    errors = assessment_errors(data)
    if errors:
        raise ValidationError(errors)
    from .population import exact_people

    exact = exact_people(incident)  # from the linked data sets, where they have been uploaded
    if exact is not None and data.get("subjects_count") is None:
        data = {**data, "subjects_count": exact}
    values: dict[str, Any] = {
        k: (tuple(data[k]) if k in ("data_categories", "subject_categories") else data[k])
        for k in FACTOR_FIELDS
        if k in data and data[k] is not None
    }
    factors = Factors(**values)
    outcome = assess(factors)
    datasets = data.get("datasets") or []
    sizes = [row.get("people") or row.get("records") or 0 for row in datasets]
    pop_min, pop_max = population_range(sizes) if any(sizes) else (None, None)
    if exact is not None:
        pop_min = pop_max = exact  # an exact figure replaces the range
    now = timezone.now()
    with transaction.atomic():
        Incident.objects.select_for_update(no_key=True).filter(pk=incident.pk).first()  # one version number at a time
        version = (RiskAssessment.objects.filter(incident=incident).aggregate(v=Max("version"))["v"] or 0) + 1
        sev = outcome.severity
        assessment = RiskAssessment.objects.create(
            incident=incident,
            version=version,
            created_by=actor,
            created_at=now,
            data_categories=list(factors.data_categories),
            subject_categories=list(factors.subject_categories),
            **{k: getattr(factors, k) for k in FACTOR_FIELDS if k not in ("data_categories", "subject_categories")},
            **{k: (data.get(k) or "").strip() for k in NARRATIVE_FIELDS},
            dpc=sev.dpc,
            ei=Decimal(sev.ei.numerator) / sev.ei.denominator,
            cb=Decimal(sev.cb.numerator) / sev.cb.denominator,
            score=Decimal(sev.score.numerator) / sev.score.denominator,
            level=sev.level,
            risk_to_individuals=outcome.risk_to_individuals,
            recommendations=outcome.recommendations,
            rationale=outcome.rationale,
            subjects_method=outcome.subjects_method,
            regime=outcome.regime,
            population_min=pop_min,
            population_max=pop_max,
        )
        AssessedDataSet.objects.bulk_create(
            [
                AssessedDataSet(
                    assessment=assessment,
                    name=row["name"].strip(),
                    records=row.get("records"),
                    people=row.get("people"),
                    fields_held=(row.get("fields_held") or "").strip(),
                    whom=(row.get("whom") or "").strip(),
                )
                for row in datasets
            ]
        )
        RiskGroup.objects.bulk_create(
            [
                RiskGroup(
                    assessment=assessment,
                    name=row["name"].strip(),
                    size=row.get("size"),
                    harm=row["harm"].strip(),
                    likelihood=row["likelihood"],
                    severity=row["severity"],
                    mitigation=(row.get("mitigation") or "").strip(),
                    owner=(row.get("owner") or "").strip(),
                )
                for row in data.get("groups") or []
            ]
        )
        TimelineEntry.objects.create(
            incident=incident,
            kind=TimelineKind.UPDATED,
            actor=actor,
            created_at=now,
            body=f"Risk assessment version {version}: severity {sev.level.replace('_', ' ')}, "
            f"{outcome.risk_to_individuals.replace('_', ' ')} risk to people.",
        )
        audit_record(
            actor=actor,
            action="risk.assessed",
            object_type="risk_assessment",
            object_id=assessment.pk,
            incident_ref=incident.reference,
            after={
                "version": version,
                **sev.as_dict(),
                "risk": outcome.risk_to_individuals,
                "recommendations": outcome.recommendations,
            },
        )
        if outcome.risk_to_individuals == "high":
            subjects_deadline_start(incident=incident, assessed_at=now, actor=actor)
    return assessment


def decision_record(*, incident: Incident, actor: User, kind: str, decision: bool, reason: str = "") -> Decision:
    """The DPO, SIRO or Chief Officer decides. Going against the recommendation needs a
    reason; the decision drives the clocks."""
    if not user_has_role(actor, DECIDERS):
        raise PermissionDenied("Only the DPO, SIRO or Chief Officer can decide this.")
    if kind not in DecisionKind.values:
        raise ValidationError({"kind": [f"Unknown decision: {kind}"]})
    reason = (reason or "").strip()
    if len(reason) > 5000:
        raise ValidationError({"reason": ["The reason must be 5,000 characters or fewer"]})
    with transaction.atomic():
        latest = RiskAssessment.objects.filter(incident=incident).order_by("-version").first()
        if latest is None:
            raise ValidationError({"kind": ["Assess the risk first: there is no recommendation to decide on"]})
        recommended = bool(latest.recommendations.get(kind))
        if decision != recommended and not reason:
            raise ValidationError({"reason": ["You are going against the recommendation: give your reason"]})
        row = Decision.objects.create(
            incident=incident,
            assessment=latest,
            kind=kind,
            decision=decision,
            recommended=recommended,
            reason=reason,
            decided_by=actor,
            decided_at=timezone.now(),
        )
        label = DecisionKind(kind).label
        TimelineEntry.objects.create(
            incident=incident,
            kind=TimelineKind.UPDATED,
            actor=actor,
            created_at=row.decided_at,
            body=f"Decision: {label}: {'yes' if decision else 'no'}"
            f"{' (against the recommendation)' if decision != recommended else ''}. {reason}".strip(),
        )
        audit_record(
            actor=actor,
            action="risk.decided",
            object_type="decision",
            object_id=row.pk,
            incident_ref=incident.reference,
            after={
                "kind": kind,
                "decision": decision,
                "recommended": recommended,
                "reason": reason,
                "assessment_version": latest.version,
            },
        )
        try:
            if kind == DecisionKind.NOTIFY_REGULATOR and not decision:
                deadline_not_required(
                    incident=incident,
                    code=DeadlineCode.ICO_NOTIFIED,
                    actor=actor,
                    reason=reason or "Decided: unlikely to result in a risk to people.",
                    check_role=False,
                )
            elif kind == DecisionKind.NOTIFY_SUBJECTS and decision:
                subjects_deadline_start(incident=incident, assessed_at=row.decided_at, actor=actor)
            elif kind == DecisionKind.NOTIFY_SUBJECTS and not decision:
                subjects_deadline_start(incident=incident, assessed_at=row.decided_at, actor=actor)
                deadline_not_required(
                    incident=incident,
                    code=DeadlineCode.SUBJECTS_INFORMED,
                    actor=actor,
                    reason=reason or "Decided: the risk to people is not high.",
                    check_role=False,
                )
        except ValidationError as exc:
            raise ValidationError({"decision": [f"{m}" for m in exc.messages]}) from exc
    return row
