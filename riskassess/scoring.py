"""Severity of a personal data breach by the ENISA methodology: pure functions, no ORM.

Source: ENISA, "Recommendations for a methodology of the assessment of severity of personal
data breaches", working document v1.0, December 2013 (prepared with the Greek and German data
protection authorities). The score is

    SE = DPC x EI + CB                                  (ENISA 2013, "Overview of the methodology")

DPC, the data processing context (1 to 4), is the core; EI, the ease of identification
(0.25 to 1), corrects it; CB, the circumstances of the breach, can only add. The result
falls in one of four levels: low (< 2), medium (2 to < 3), high (3 to < 4), very high (>= 4).
The number of people and whether the data was unintelligible are deliberately left out of
the score by ENISA and weighed afterwards (see ``riskassess.recommend``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

# ENISA 2013, Annex A1: the four categories of data and their basic DPC scores.
SIMPLE, BEHAVIOURAL, FINANCIAL, SENSITIVE = 1, 2, 3, 4

# The ICO breach form's data categories (API.md), placed in ENISA's categories.
DATA_CATEGORY_DPC: dict[str, int] = {
    # Special category data (UK GDPR Art 9) and criminal offence data (Art 10; for this
    # organisation the core of what it holds): ENISA's "sensitive" end.
    "racial_ethnic_origin": SENSITIVE,
    "political_opinions": SENSITIVE,
    "religious_beliefs": SENSITIVE,
    "trade_union": SENSITIVE,
    "sex_life": SENSITIVE,
    "sexual_orientation": SENSITIVE,
    "gender_reassignment": SENSITIVE,
    "health": SENSITIVE,
    "genetic_biometric": SENSITIVE,
    "criminal_offence": SENSITIVE,
    # Annex A1 "financial": income, transactions, and what enables fraud. Identity
    # documents enable identity fraud; credentials take the category of what they open
    # (Annex A1) and, unknown, are scored as financial.
    "economic_financial": FINANCIAL,
    "official_documents": FINANCIAL,
    "identification_data": FINANCIAL,
    # Annex A1 "behavioural": location, traffic data, habits.
    "location": BEHAVIOURAL,
    # Annex A1 "simple": name, contact details, biographical data.
    "basic_identifiers": SIMPLE,
    "other": SIMPLE,
    # Not yet known: scored as sensitive until the investigation says otherwise (PC02-10:
    # if in doubt, treat it as serious).
    "not_known": SENSITIVE,
}

# ENISA 2013, Annex A2 ("contextual factors"): special characteristics of the people raise
# the DPC; the brief puts data about victims, witnesses and children at the sensitive end.
VULNERABLE_SUBJECTS = frozenset({"victims", "witnesses", "children", "vulnerable_adults"})

# ENISA 2013, "Ease of identification".
EI_VALUES: dict[str, Fraction] = {
    "negligible": Fraction(1, 4),
    "limited": Fraction(1, 2),
    "significant": Fraction(3, 4),
    "maximum": Fraction(1),
}

# ENISA 2013, "Circumstances of the breach": each loss adds 0, 0.25 or 0.5.
CONFIDENTIALITY_CB = {"none": Fraction(0), "known_recipients": Fraction(1, 4), "unknown_recipients": Fraction(1, 2)}
INTEGRITY_CB = {"none": Fraction(0), "recoverable": Fraction(1, 4), "unrecoverable": Fraction(1, 2)}
AVAILABILITY_CB = {"none": Fraction(0), "temporary": Fraction(1, 4), "permanent": Fraction(1, 2)}
MALICIOUS_CB = Fraction(1, 2)

LEVELS = ("low", "medium", "high", "very_high")


@dataclass(frozen=True)
class Severity:
    dpc: int
    dpc_base: int
    ei: Fraction
    cb: Fraction
    score: Fraction
    level: str
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "dpc": self.dpc,
            "ei": float(self.ei),
            "cb": float(self.cb),
            "score": float(self.score),
            "level": self.level,
        }


class ScoringError(ValueError):
    """An input outside the methodology (an unknown value, an adjustment without reason)."""


def dpc_base(*, data_categories: Iterable[str], subject_categories: Iterable[str]) -> tuple[int, list[str]]:
    """The highest category present (ENISA 2013, Annex A1: "the most sensitive data")."""
    data = list(data_categories)
    unknown = [c for c in data if c not in DATA_CATEGORY_DPC]
    if unknown:
        raise ScoringError(f"unknown data categories: {', '.join(unknown)}")
    reasons = []
    base = max((DATA_CATEGORY_DPC[c] for c in data), default=SENSITIVE)
    if not data:
        reasons.append("No kinds of data recorded yet: scored as sensitive until known.")
    vulnerable = sorted(VULNERABLE_SUBJECTS & set(subject_categories))
    if vulnerable and base < SENSITIVE:
        base = SENSITIVE
        reasons.append(
            f"Data about {', '.join(vulnerable).replace('_', ' ')} is scored at the sensitive end "
            "(ENISA Annex A2: special characteristics of the individuals)."
        )
    return base, reasons


def level_for(score: Fraction) -> str:
    """ENISA 2013 severity levels; a score of exactly 2 is medium, 3 high, 4 very high."""
    if score < 2:
        return "low"
    if score < 3:
        return "medium"
    if score < 4:
        return "high"
    return "very_high"


def severity(
    *,
    data_categories: Iterable[str],
    subject_categories: Iterable[str],
    ease_of_identification: str,
    confidentiality: str,
    integrity: str,
    availability: str,
    malicious: bool,
    dpc_adjustment: int = 0,
    dpc_adjustment_reason: str = "",
) -> Severity:
    data, subjects = list(data_categories), list(subject_categories)
    base, reasons = dpc_base(data_categories=data, subject_categories=subjects)
    if dpc_adjustment not in (-1, 0, 1):
        raise ScoringError("the DPC adjustment must be -1, 0 or +1")
    if dpc_adjustment and not dpc_adjustment_reason.strip():
        raise ScoringError("an adjustment of the DPC needs a reason (ENISA Annex A2)")
    # ENISA Annex A2: contextual factors move the basic score; it stays within 1 to 4.
    dpc = min(SENSITIVE, max(SIMPLE, base + dpc_adjustment))
    if dpc_adjustment:
        reasons.append(f"DPC adjusted {dpc_adjustment:+d}: {dpc_adjustment_reason.strip()}")
    for name, table, value in (
        ("ease of identification", EI_VALUES, ease_of_identification),
        ("confidentiality", CONFIDENTIALITY_CB, confidentiality),
        ("integrity", INTEGRITY_CB, integrity),
        ("availability", AVAILABILITY_CB, availability),
    ):
        if value not in table:
            raise ScoringError(f"unknown {name}: {value}")
    ei = EI_VALUES[ease_of_identification]
    cb = CONFIDENTIALITY_CB[confidentiality] + INTEGRITY_CB[integrity] + AVAILABILITY_CB[availability]
    if malicious:
        cb += MALICIOUS_CB
    score = dpc * ei + cb
    return Severity(dpc=dpc, dpc_base=base, ei=ei, cb=cb, score=score, level=level_for(score), reasons=tuple(reasons))


def population_range(sizes: Iterable[int]) -> tuple[int, int]:
    """How many different people several lost data sets hold, before anyone de-duplicates
    them: from full overlap (the largest set) to none (the sum). DOMAIN.md s.4: JTrack's
    84,000 to 137,000."""
    values = [s for s in sizes if s]
    if any(s < 0 for s in values):
        raise ScoringError("a data set cannot hold a negative number of people")
    return (max(values, default=0), sum(values))
