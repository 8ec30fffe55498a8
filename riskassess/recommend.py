"""From an assessment to reasoned recommendations: pure functions, no ORM.

How the engine decides is written out, case by case, in docs/risk-engine.md. Every
recommendation comes with the lines of rationale behind it, each citing its rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .scoring import VULNERABLE_SUBJECTS, Severity, severity

RISK_ORDER = ("unlikely", "risk", "high")
LARGE_NUMBER = 1000  # people: ENISA leaves numbers out of the score; weighed here instead


@dataclass(frozen=True)
class Factors:
    data_categories: tuple[str, ...] = ()
    subject_categories: tuple[str, ...] = ()
    subjects_count: int | None = None
    records_count: int | None = None
    ease_of_identification: str = "maximum"
    confidentiality: str = "none"
    integrity: str = "none"
    availability: str = "none"
    malicious: bool = False
    encryption: str = "none"
    recipients_trusted_and_data_recovered: bool = False
    backup_available: bool = False
    dpc_adjustment: int = 0
    dpc_adjustment_reason: str = ""
    theft: bool = False
    mappa_information: bool = False
    law_enforcement_processing: bool = False
    measures_removed_high_risk: bool = False
    disproportionate_effort: bool = False


@dataclass(frozen=True)
class Outcome:
    severity: Severity
    risk_to_individuals: str
    recommendations: dict[str, bool]
    rationale: list[str] = field(default_factory=list)
    subjects_method: str = ""  # "direct", "public_communication", or "" when not told
    regime: str = "uk_gdpr"


def _raise(risk: str, to: str) -> str:
    return max(risk, to, key=RISK_ORDER.index)


def assess(f: Factors) -> Outcome:
    sev = severity(
        data_categories=f.data_categories,
        subject_categories=f.subject_categories,
        ease_of_identification=f.ease_of_identification,
        confidentiality=f.confidentiality,
        integrity=f.integrity,
        availability=f.availability,
        malicious=f.malicious,
        dpc_adjustment=f.dpc_adjustment,
        dpc_adjustment_reason=f.dpc_adjustment_reason,
    )
    law_enforcement = f.law_enforcement_processing
    art33 = "DPA 2018 s.67" if law_enforcement else "UK GDPR Art 33(1)"
    art34 = "DPA 2018 s.68" if law_enforcement else "UK GDPR Art 34(1)"
    exc = "DPA 2018 s.68(3)" if law_enforcement else "UK GDPR Art 34(3)"
    why: list[str] = [
        f"Severity {float(sev.score):g} ({sev.level.replace('_', ' ')}): DPC {sev.dpc} x EI {float(sev.ei):g} "
        f"+ CB {float(sev.cb):g} (ENISA 2013, SE = DPC x EI + CB).",
        *sev.reasons,
    ]

    # 1. The starting point is the ENISA level of the breach as it now stands: availability
    # a backup restores is not counted, and data recovered from trusted recipients lowers
    # the risk one step. Built so that a worse factor never gives a milder answer
    # (docs/risk-engine.md; tests/riskassess/test_recommend.py).
    vulnerable = sorted(VULNERABLE_SUBJECTS & set(f.subject_categories))
    disclosed = f.confidentiality != "none"
    unintelligible = f.encryption == "encrypted_key_safe"
    count = f.subjects_count or 0
    # Recovered from trusted recipients (never from unknown ones, never after malice).
    recovered = (
        f.recipients_trusted_and_data_recovered and f.confidentiality != "unknown_recipients" and not f.malicious
    )
    basis = sev
    if f.backup_available and f.availability != "none":
        basis = severity(
            data_categories=f.data_categories,
            subject_categories=f.subject_categories,
            ease_of_identification=f.ease_of_identification,
            confidentiality=f.confidentiality,
            integrity=f.integrity,
            availability="none",
            malicious=f.malicious,
            dpc_adjustment=f.dpc_adjustment,
            dpc_adjustment_reason=f.dpc_adjustment_reason,
        )
        why.append(
            "A backup restores what was unavailable, so the lost availability is not counted against "
            "people (EDPB/WP250 Annex B, ransomware with a backup)."
        )
    risk = {"low": "unlikely", "medium": "risk", "high": "high", "very_high": "high"}[basis.level]
    if recovered and risk != "unlikely":
        risk = RISK_ORDER[RISK_ORDER.index(risk) - 1]
        why.append(
            "The data went only to known, trusted recipients and has been recovered or deleted: the risk "
            "is one step lower (ICO guidance on personal data breaches; WP250 Annex B)."
        )

    # 2. What ENISA leaves out of the score is weighed here (its "other criteria").
    if vulnerable and disclosed and not recovered and not unintelligible:
        risk = _raise(risk, "high")
        why.append(
            f"Data about {', '.join(vulnerable).replace('_', ' ')} was disclosed: their safety may be at risk, "
            "so the risk is high (DOMAIN.md s.4: assess risk per group; victims and witnesses first)."
        )
    if count >= LARGE_NUMBER and risk != "unlikely":
        risk = _raise(risk, "high")
        why.append(
            f"About {count:,} people are affected: at this scale the risk is treated as high (ENISA 2013, "
            "number of individuals; WP250 Annex B)."
        )
    elif count >= LARGE_NUMBER:
        why.append(f"About {count:,} people are affected; the data itself makes harm unlikely.")
    if unintelligible and f.integrity == "none" and (f.availability == "none" or f.backup_available):
        risk = "unlikely"
        why.append(
            "The data was encrypted and the key is safe: unintelligible to anyone who has it, so a risk "
            f"to people is unlikely ({exc}(a); WP250 Annex B, lost encrypted device)."
        )
    elif f.encryption == "encrypted_key_compromised":
        why.append("The data was encrypted but the key may be known: treated as unencrypted.")

    # 3. Recommendations, each with its reason.
    recs = {
        "internal_record": True,
        "notify_regulator": False,
        "notify_subjects": False,
        "involve_police": False,
        "involve_press_office": False,
    }
    why.append("Record the breach, its effects and the remedial action, notified or not (UK GDPR Art 33(5)).")
    if risk == "unlikely":
        why.append(
            f"Do not notify the ICO: the breach is unlikely to result in a risk to people ({art33}). "
            "Record the reasons for that decision."
        )
    else:
        recs["notify_regulator"] = True
        why.append(f"Notify the ICO without undue delay and within 72 hours of becoming aware ({art33}).")
    subjects_method = ""
    if risk == "high":
        if unintelligible:
            why.append(f"Do not tell people individually: the data is unintelligible ({exc}(a)).")
        elif f.measures_removed_high_risk:
            why.append(
                f"Do not tell people individually: later measures mean the high risk is no longer likely "
                f"({exc}(b)). Record what those measures were."
            )
        elif f.disproportionate_effort:
            recs["notify_subjects"] = True
            subjects_method = "public_communication"
            why.append(
                f"Tell the people affected by a public communication: telling each would take "
                f"disproportionate effort ({exc}(c))."
            )
        else:
            recs["notify_subjects"] = True
            subjects_method = "direct"
            why.append(f"Tell the people affected without undue delay, in clear language ({art34}).")
        if recs["notify_subjects"] and law_enforcement:
            why.append(
                "DPA 2018 s.68(7) allows delaying, restricting or omitting what people are told where "
                "needed to avoid obstructing an investigation or to protect public security or the rights "
                "of others; record the reason if it is used."
            )
    else:
        why.append(f"Telling the people affected is not required: the risk to them is not high ({art34}).")
    police = []
    if f.theft:
        police.append("the data was stolen")
    if f.malicious:
        police.append("the breach was malicious")
    if f.mappa_information:
        police.append("MAPPA case information is involved")
    if police:
        recs["involve_police"] = True
        why.append(f"Involve the police: {', '.join(police)} (PC02-17).")
    else:
        why.append("The police need not be involved: no theft, malice or MAPPA information (PC02-17).")
    if recs["notify_subjects"] or sev.level == "very_high" or count >= LARGE_NUMBER:
        recs["involve_press_office"] = True
        why.append("Prepare lines to take with the Press Office before anything is said in public (PC02-13).")
    regime = "dpa2018_part3" if law_enforcement else "uk_gdpr"
    why.append("Regime: DPA 2018 Part 3 (law enforcement processing)." if law_enforcement else "Regime: UK GDPR.")
    return Outcome(
        severity=sev,
        risk_to_individuals=risk,
        recommendations=recs,
        rationale=why,
        subjects_method=subjects_method,
        regime=regime,
    )
