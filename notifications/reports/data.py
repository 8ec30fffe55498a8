"""What each report says, gathered from the incident's own records. One function per report;
each returns the template's context and touches nothing. Times stay aware datetimes: the
templates show them in Europe/London."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from breachdesk.choices import ControlKind
from breachdesk.models import AuditEvent
from breachdesk.selectors import control_gaps_for_incident, control_status_for_unit
from incidents.choices import (
    ActionKind,
    ActionState,
    Category,
    DataCategory,
    EnquiryKind,
    Party,
    SubjectCategory,
)
from incidents.models import TRACKER_FIELDS, TRACKER_LABELS, Enquiry, Incident, TrackerFormVersion
from riskassess.choices import DecisionKind, RiskToIndividuals
from riskassess.models import RiskAssessment, RiskGroup

from ..choices import DeadlineCode, DeadlineState, NotificationPurpose, NotificationState
from ..models import Deadline, IcoSubmission, Notification
from .people import Contact, contact_for, controller_name, dpo_contacts

CYBER = frozenset({Category.RANSOMWARE, Category.PHISHING, Category.OTHER_CYBER, Category.UNAUTHORISED_ACCESS})


def _labels(values: list[str], choices: type[Any]) -> list[str]:
    known = dict(choices.choices)
    return [str(known.get(v, v)) for v in values]


def _latest_assessment(incident: Incident) -> RiskAssessment | None:
    return (
        RiskAssessment.objects.filter(incident=incident)
        .prefetch_related("datasets", "groups")
        .order_by("-version")
        .first()
    )


def _decisions(incident: Incident) -> dict[str, Any]:
    """The current decision of each kind (the latest), keyed by kind."""
    out: dict[str, Any] = {}
    for row in incident.risk_decisions.select_related("decided_by").order_by("decided_at", "id"):
        out[row.kind] = row
    return out


def _deadlines(incident: Incident) -> dict[str, Deadline]:
    return {d.code: d for d in Deadline.objects.filter(incident=incident)}


@dataclass(frozen=True)
class Numbers:
    people: int | None
    records: int | None
    people_min: int | None
    people_max: int | None
    datasets: list[Any]

    @property
    def has_range(self) -> bool:
        return self.people_min is not None and self.people_max is not None and self.people_min != self.people_max


def _numbers(incident: Incident, assessment: RiskAssessment | None) -> Numbers:
    from riskassess.population import population_get

    snapshot = population_get(incident)
    if snapshot is not None:  # exact, from the linked data sets: no range to give
        datasets = list(assessment.datasets.all()) if assessment is not None else []
        return Numbers(snapshot.result["unique_people"], snapshot.result["rows"], None, None, datasets)
    if assessment is None:
        return Numbers(incident.approx_subjects, incident.approx_records, None, None, [])
    datasets = list(assessment.datasets.all())
    return Numbers(
        people=assessment.subjects_count if assessment.subjects_count is not None else incident.approx_subjects,
        records=assessment.records_count if assessment.records_count is not None else incident.approx_records,
        people_min=assessment.population_min if len(datasets) > 1 else None,
        people_max=assessment.population_max if len(datasets) > 1 else None,
        datasets=datasets,
    )


def _actions(incident: Incident) -> dict[str, list[Any]]:
    rows = list(incident.actions.select_related("owner", "completed_by").order_by("created_at", "id"))
    return {
        "taken": [a for a in rows if a.kind == ActionKind.CONTAINMENT and a.state == ActionState.DONE],
        "not_done": [a for a in rows if a.state == ActionState.NOT_DONE],
        "proposed": [a for a in rows if a.state == ActionState.OPEN],
        "improvement": [a for a in rows if a.kind == ActionKind.IMPROVEMENT],
        "containment": [a for a in rows if a.kind == ActionKind.CONTAINMENT],
    }


def _notices(incident: Incident) -> list[Any]:
    return list(incident.party_notices.select_related("recorded_by", "cleared_by").order_by("told_at", "id"))


def _training(incident: Incident) -> Any:
    for status in control_status_for_unit(incident.org_unit):
        if status.kind == ControlKind.STAFF_TRAINED:
            return status
    return None


@dataclass(frozen=True)
class Delay:
    due_at: datetime | None
    submitted_at: datetime | None
    late: bool
    reason: str


def _ico_delay(deadline: Deadline | None, submissions: list[IcoSubmission], *, now: datetime) -> Delay:
    """Art 33(1): a notification after 72 hours gives its reasons. Late means the first
    submission came after the clock ran out, or none has yet and the clock has run out."""
    due = deadline.due_at if deadline is not None else None
    first = submissions[0] if submissions else None
    submitted = first.submitted_at if first is not None else None
    late = due is not None and (submitted > due if submitted is not None else now > due)
    reason = next((s.late_reason for s in submissions if s.late_reason.strip()), "") if late else ""
    return Delay(due_at=due, submitted_at=submitted, late=late, reason=reason)


def base_context(incident: Incident | None, *, title: str, now: datetime | None = None) -> dict[str, Any]:
    return {
        "report_title": title,
        "incident": incident,
        "reference": incident.reference if incident is not None else "",
        "marking": settings.PROTECTIVE_MARKING,
        "controller": controller_name(),
        "controller_address": settings.CONTROLLER_ADDRESS,
        "generated_at": now or timezone.now(),
    }


def ico_notification(incident: Incident, *, now: datetime | None = None) -> dict[str, Any]:
    """The ICO's personal data breach report (UK GDPR Art 33(3))."""
    now = now or timezone.now()
    assessment = _latest_assessment(incident)
    submissions = list(IcoSubmission.objects.filter(incident=incident).order_by("submitted_at", "id"))
    decisions = _decisions(incident)
    deadlines = _deadlines(incident)
    notices = _notices(incident)
    data_categories = assessment.data_categories if assessment is not None else incident.data_categories
    subject_categories = assessment.subject_categories if assessment is not None else incident.subject_categories
    reporter = incident.reporter
    return {
        **base_context(incident, title="Personal data breach notification to the ICO", now=now),
        "follow_up": bool(submissions),
        "case_reference": next((s.case_reference for s in submissions if s.case_reference), ""),
        "submissions": submissions,
        "cyber": incident.category in CYBER,
        "category": Category(incident.category).label,
        "data_categories": _labels(data_categories, DataCategory),
        "subject_categories": _labels(subject_categories, SubjectCategory),
        "numbers": _numbers(incident, assessment),
        "assessment": assessment,
        "groups": list(assessment.groups.all()) if assessment is not None else [],
        "actions": _actions(incident),
        "subjects_decision": decisions.get(DecisionKind.NOTIFY_SUBJECTS),
        "police_decision": decisions.get(DecisionKind.INVOLVE_POLICE),
        "subjects_told": [n for n in notices if n.party == Party.DATA_SUBJECTS],
        "others_told": [n for n in notices if n.party not in (Party.DATA_SUBJECTS, Party.PRESS)],
        "training": _training(incident),
        "delay": _ico_delay(deadlines.get(DeadlineCode.ICO_NOTIFIED), submissions, now=now),
        "dpos": dpo_contacts(incident.org_unit),
        "reporter_contact": contact_for(reporter, "Reporter"),
    }


def tracker_form(incident: Incident, *, now: datetime | None = None) -> dict[str, Any]:
    """The Security Incident Tracker Form (PC02-14): the current version and its history."""
    versions = list(
        TrackerFormVersion.objects.filter(incident=incident).select_related("created_by").order_by("-version")
    )
    current = versions[0] if versions else None
    rows = [(TRACKER_LABELS[f], getattr(current, f) if current else "") for f in TRACKER_FIELDS]
    return {
        **base_context(incident, title="Security Incident Tracker Form", now=now),
        "current": current,
        "rows": rows,
        "versions": versions,
    }


@dataclass
class Event:
    at: datetime
    what: str
    who: str = ""
    detail: str = ""
    due_at: datetime | None = None
    on_time: bool | None = None


def _user_name(user: Any) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def chronology(incident: Incident) -> list[Event]:
    """Everything that happened, dated: the timeline (reporting, notes, decisions with their
    reasons, the plan, status changes), every notification with its send and receipt times
    against its deadline, approvals, ICO contacts and each clock's outcome."""
    events: list[Event] = []
    for entry in incident.timeline.select_related("actor").order_by("created_at", "id"):
        events.append(
            Event(at=entry.created_at, what=entry.get_kind_display(), who=_user_name(entry.actor), detail=entry.body)
        )
    for n in Notification.objects.filter(incident=incident).select_related("recipient", "acknowledged_by"):
        who = f"{_user_name(n.recipient)} ({n.role.replace('_', ' ')})"
        purpose = NotificationPurpose(n.purpose).label
        if n.sent_at is not None:
            events.append(Event(at=n.sent_at, what=f"{purpose} sent ({n.get_channel_display()})", who=who))
        if n.acknowledged_at is not None:
            on_time = n.due_at is None or n.acknowledged_at <= n.due_at
            how = n.get_ack_method_display()
            events.append(
                Event(
                    at=n.acknowledged_at,
                    what=f"Receipt confirmed ({how})",
                    who=who,
                    detail=n.ack_note,
                    due_at=n.due_at,
                    on_time=on_time,
                )
            )
        elif n.state in (NotificationState.ESCALATED, NotificationState.FAILED) and n.due_at is not None:
            events.append(
                Event(
                    at=n.due_at,
                    what=f"No receipt: {n.get_state_display().lower()}",
                    who=who,
                    due_at=n.due_at,
                    on_time=False,
                )
            )
    for a in incident.approvals.select_related("decided_by").exclude(decided_at=None):
        if a.decided_at is None:
            continue
        events.append(
            Event(
                at=a.decided_at,
                what=f"Escalation {a.get_state_display().lower()}",
                who=_user_name(a.decided_by),
                detail=a.reason,
            )
        )
    for s in IcoSubmission.objects.filter(incident=incident).select_related("recorded_by"):
        ref = f" (case {s.case_reference})" if s.case_reference else ""
        events.append(
            Event(
                at=s.submitted_at,
                what=f"ICO: {s.get_kind_display().lower()}{ref}",
                who=_user_name(s.recorded_by),
                detail=s.summary,
            )
        )
    for d in Deadline.objects.filter(incident=incident).exclude(state=DeadlineState.PENDING):
        if d.state == DeadlineState.MET and d.met_at is not None:
            events.append(Event(at=d.met_at, what=f"Clock met: {d.title}", due_at=d.due_at, on_time=True))
        elif d.state == DeadlineState.MISSED and d.missed_at is not None:
            told = ", ".join(d.missed_told or [])
            events.append(
                Event(
                    at=d.missed_at,
                    what=f"Clock missed: {d.title}",
                    detail=f"Told: {told}" if told else "",
                    due_at=d.due_at,
                    on_time=False,
                )
            )
    events.sort(key=lambda e: e.at)
    return events


@dataclass
class Principle:
    name: str
    question: str
    evidence: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)


def _principles(ctx: dict[str, Any]) -> list[Principle]:
    """The Ombudsman's Principles of Good Administration (DOMAIN.md s.7), each with the
    evidence in this incident's record that answers it, and what the record lacks."""
    deadlines: list[Deadline] = ctx["deadlines"]
    met = [d for d in deadlines if d.state == DeadlineState.MET]
    missed = [d for d in deadlines if d.state == DeadlineState.MISSED]
    decisions = ctx["decisions"]
    enquiries: list[Enquiry] = ctx["enquiries"]
    actions = ctx["actions"]

    right = Principle("Getting it right", "Did the organisation act in line with the law, its policy and guidance?")
    right.evidence += [f"Clock met: {d.title}" for d in met]
    right.gaps += [f"Clock missed: {d.title}" for d in missed]
    if ctx["assessment"] is not None:
        right.evidence.append(
            f"Risk assessed (version {ctx['assessment'].version}): {ctx['assessment'].get_level_display()} severity"
        )
    else:
        right.gaps.append("No risk assessment recorded")

    customer = Principle("Being customer focused", "Were the people affected told, helped and answered promptly?")
    for n in ctx["subjects_told"]:
        customer.evidence.append(
            f"People affected told by {n.get_method_display().lower()} on {timezone.localtime(n.told_at):%d %B %Y}"
        )
    subjects = decisions.get(DecisionKind.NOTIFY_SUBJECTS)
    if subjects is not None and not subjects.decision:
        customer.evidence.append(f"Decided not to tell the people affected: {subjects.reason}")
    elif not ctx["subjects_told"]:
        customer.gaps.append("No record of telling the people affected")
    answered = [e for e in enquiries if e.answered_at is not None]
    if enquiries:
        customer.evidence.append(f"{len(answered)} of {len(enquiries)} enquiries and complaints answered")
        if len(answered) < len(enquiries):
            customer.gaps.append(f"{len(enquiries) - len(answered)} enquiries or complaints not yet answered")

    open_ = Principle("Being open and accountable", "Were decisions recorded with reasons, and is the record reliable?")
    for d in decisions.values():
        open_.evidence.append(
            f"{d.get_kind_display()}: {'yes' if d.decision else 'no'}, by {_user_name(d.decided_by)}: {d.reason}"
        )
    for s in ctx["submissions"]:
        open_.evidence.append(f"ICO {s.get_kind_display().lower()} on {timezone.localtime(s.submitted_at):%d %B %Y}")
    open_.evidence.append(f"{ctx['audit_events']} audit events in a tamper-evident chain")
    missing = {k.label for k in DecisionKind} - {d.get_kind_display() for d in decisions.values()}
    open_.gaps += [f"No decision recorded: {m}" for m in sorted(missing)]

    fair = Principle("Acting fairly and proportionately", "Was the response proportionate to the risk to each group?")
    for g in ctx["groups"]:
        fair.evidence.append(
            f"{g.name}: {g.get_likelihood_display().lower()} likelihood, "
            f"{g.get_severity_display().lower()} severity; {g.mitigation or 'no mitigation recorded'}"
        )
    for d in decisions.values():
        if d.decision != d.recommended:
            fair.evidence.append(f"{d.get_kind_display()} went against the recommendation, because: {d.reason}")
    if not ctx["groups"]:
        fair.gaps.append("No risk assessment by group")

    put_right = Principle("Putting things right", "Were mistakes acknowledged, apologised for and remedied?")
    put_right.evidence += [f"Contained: {a.description}: {a.outcome}" for a in actions["taken"]]
    for e in enquiries:
        if e.apology_at is not None:
            put_right.evidence.append(f"Apology to {e.person_name} on {timezone.localtime(e.apology_at):%d %B %Y}")
        if e.compensation_paid is not None:
            put_right.evidence.append(f"Compensation of £{e.compensation_paid:,.2f} paid to {e.person_name}")
    complaints = [e for e in enquiries if e.kind != EnquiryKind.ENQUIRY]
    if complaints and not any(e.apology_at for e in complaints):
        put_right.gaps.append("Complaints received but no apology recorded")

    improve = Principle("Seeking continuous improvement", "Were lessons learned and acted on?")
    improve.evidence += [
        f"Root cause: {r.get_cause_display()}{': ' + r.detail if r.detail else ''}" for r in ctx["root_causes"]
    ]
    improve.evidence += [f"Lesson: {lesson.text}" for lesson in ctx["lessons"]]
    improve.evidence += [
        f"Improvement action ({a.get_state_display().lower()}): {a.description}" for a in actions["improvement"]
    ]
    if not ctx["lessons"]:
        improve.gaps.append("No lessons learned recorded")
    improve.gaps += [f"Control gap: {g.label} ({g.heading})" for g in ctx["control_gaps"]]
    return [right, customer, open_, fair, put_right, improve]


def ombudsman_pack(incident: Incident, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything an investigator needs to test the handling against the Principles of Good
    Administration: chronology, the four elements, risk by group, communications, remedies."""
    assessment = _latest_assessment(incident)
    notices = _notices(incident)
    ctx: dict[str, Any] = {
        **base_context(incident, title="Ombudsman and complaint pack", now=now),
        "chronology": chronology(incident),
        "assessment": assessment,
        "groups": list(assessment.groups.all()) if assessment is not None else [],
        "numbers": _numbers(incident, assessment),
        "actions": _actions(incident),
        "decisions": _decisions(incident),
        "decision_history": list(incident.risk_decisions.select_related("decided_by").order_by("decided_at", "id")),
        "notifications": list(
            Notification.objects.filter(incident=incident, purpose=NotificationPurpose.ESCALATION)
            .select_related("recipient")
            .order_by("created_at", "id")
        ),
        "submissions": list(IcoSubmission.objects.filter(incident=incident).order_by("submitted_at", "id")),
        "notices": notices,
        "subjects_told": [n for n in notices if n.party == Party.DATA_SUBJECTS],
        "deadlines": list(Deadline.objects.filter(incident=incident).order_by("id")),
        "root_causes": list(incident.root_causes.select_related("control").order_by("recorded_at", "id")),
        "lessons": list(incident.lessons.order_by("recorded_at", "id")),
        "enquiries": list(incident.enquiries.order_by("received_at", "id")),
        "control_gaps": control_gaps_for_incident(incident),
        "audit_events": AuditEvent.objects.filter(incident_ref=incident.reference).count(),
    }
    ctx["principles"] = _principles(ctx)
    return ctx


# What a person can do, by the kind of data lost: plain advice for the letters (Art 34(2)).
ADVICE = {
    DataCategory.BASIC_IDENTIFIERS: "Be wary of unexpected letters, calls or emails that use your name or address. "
    "We will never ask for your password or bank details.",
    DataCategory.IDENTIFICATION_DATA: "Change any password that may have been exposed, and do not reuse it elsewhere.",
    DataCategory.ECONOMIC_FINANCIAL: "Check your bank and credit card statements, and tell your bank about any "
    "payment you do not recognise.",
    DataCategory.OFFICIAL_DOCUMENTS: "If a passport or driving licence number was involved, you can report it to "
    "the office that issued it.",
    DataCategory.LOCATION: "If you are worried about your safety, tell your probation officer or the police at once; "
    "in an emergency, call 999.",
    DataCategory.CRIMINAL_OFFENCE: "If anyone contacts you about your case who should not know about it, tell us "
    "and your probation officer.",
    DataCategory.HEALTH: "If anyone contacts you about your health who should not know about it, tell us.",
}
GENERAL_ADVICE = "If you notice anything that worries you, contact us using the details below."


def letter_common(incident: Incident, group: RiskGroup | None, *, now: datetime | None = None) -> dict[str, Any]:
    """What every letter to the people affected (or one group of them) says."""
    assessment = group.assessment if group is not None else _latest_assessment(incident)
    categories = assessment.data_categories if assessment is not None else incident.data_categories
    actions = _actions(incident)
    advice = [ADVICE[DataCategory(c)] for c in categories if c in ADVICE]
    return {
        **base_context(incident, title="Letter about your personal information", now=now),
        "group": group,
        "data_held": _labels(
            [c for c in categories if c not in (DataCategory.NOT_KNOWN, DataCategory.OTHER)], DataCategory
        ),
        "consequences": _sentence(group.harm) if group is not None else _overall_risk(assessment),
        "likelihood": group.get_likelihood_display().lower() if group is not None else "",
        # What was done, in words for the public: the internal action texts stay internal.
        "contained": bool(actions["taken"]),
        "done": [group.mitigation] if group is not None and group.mitigation else [],
        "advice": advice or [GENERAL_ADVICE],
        "dpos": dpo_contacts(incident.org_unit),
        "happened_on": incident.occurred_at or incident.discovered_at,
    }


# What a letter to everyone says the breach could mean, from the latest assessment's finding.
OVERALL_RISK = {
    RiskToIndividuals.HIGH: "The information could be used to cause you harm or distress. We think the risk to you "
    "is high, and we want you to know what you can do to protect yourself.",
    RiskToIndividuals.RISK: "There is some risk that the information could be misused. We want you to know what "
    "you can do to protect yourself.",
    RiskToIndividuals.UNLIKELY: "We do not think this is likely to cause you harm, but we want you to know what "
    "happened.",
}


def _overall_risk(assessment: RiskAssessment | None) -> str:
    if assessment is None:
        return "We are still assessing what this could mean for you, and will write to you again."
    return OVERALL_RISK[RiskToIndividuals(assessment.risk_to_individuals)]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


@dataclass(frozen=True)
class Addressee:
    name: str
    address: list[str]
    fields: list[str]


def subject_letter(
    incident: Incident, *, group: RiskGroup | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The specimen letter (API.md ``subject-letter``): the text every person in the group
    receives, addressed to no one in particular."""
    return {**letter_common(incident, group, now=now), "addressees": [Addressee("", [], [])]}


def split_fields(text: str) -> list[str]:
    parts = [p.strip() for line in text.splitlines() for p in line.split(",")]
    return [p[:1].upper() + p[1:] for p in parts if p]


def enquiry_letter(enquiry: Enquiry, *, now: datetime | None = None) -> dict[str, Any]:
    """The answer to someone who asked whether their data was in it (Ombudsman report para
    16): whether we hold data about them in what was lost, and which fields."""
    incident = enquiry.incident
    ctx = letter_common(incident, None, now=now)
    return {
        **ctx,
        "report_title": "Answer to your enquiry",
        "enquiry": enquiry,
        "fields": split_fields(enquiry.fields_held),
        "address": [line.strip() for line in enquiry.contact.splitlines() if line.strip()],
    }


def contact_lines(contacts: list[Contact]) -> list[str]:
    return [", ".join(p for p in (c.name, c.role, c.email, c.phone) if p) for c in contacts]
