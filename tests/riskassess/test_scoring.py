from fractions import Fraction

import pytest

from riskassess.scoring import ScoringError, dpc_base, level_for, population_range, severity


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (Fraction(0), "low"),
        (Fraction(7, 4), "low"),
        (Fraction(199, 100), "low"),
        (Fraction(2), "medium"),  # exactly 2.0 is medium
        (Fraction(11, 4), "medium"),
        (Fraction(3), "high"),
        (Fraction(15, 4), "high"),
        (Fraction(4), "very_high"),
        (Fraction(11, 2), "very_high"),
    ],
)
def test_band_edges(score, level):
    assert level_for(score) == level


def test_the_api_contract_example():
    # API.md: {"dpc": 4, "ei": 1.0, "cb": 0.75, "score": 4.75, "level": "very_high"}
    sev = severity(
        data_categories=["criminal_offence"],
        subject_categories=["offenders"],
        ease_of_identification="maximum",
        confidentiality="known_recipients",
        integrity="none",
        availability="none",
        malicious=True,
    )
    assert sev.as_dict() == {"dpc": 4, "ei": 1.0, "cb": 0.75, "score": 4.75, "level": "very_high"}


@pytest.mark.parametrize(
    ("data", "subjects", "expected"),
    [
        (["basic_identifiers"], [], 1),
        (["location", "basic_identifiers"], [], 2),
        (["economic_financial"], [], 3),
        (["health"], [], 4),
        (["criminal_offence"], ["offenders"], 4),
        (["basic_identifiers"], ["victims"], 4),
        (["basic_identifiers"], ["children"], 4),
        (["basic_identifiers"], ["witnesses", "staff"], 4),
        ([], [], 4),  # not yet known: sensitive until established
        (["not_known"], ["staff"], 4),
    ],
)
def test_dpc_is_the_most_sensitive_data_and_vulnerable_people_are_at_the_top(data, subjects, expected):
    assert dpc_base(data_categories=data, subject_categories=subjects)[0] == expected


@pytest.mark.parametrize(
    ("ei", "value"), [("negligible", 0.25), ("limited", 0.5), ("significant", 0.75), ("maximum", 1.0)]
)
def test_ease_of_identification_values(ei, value):
    sev = severity(
        data_categories=["basic_identifiers"],
        subject_categories=[],
        ease_of_identification=ei,
        confidentiality="none",
        integrity="none",
        availability="none",
        malicious=False,
    )
    assert float(sev.ei) == value
    assert sev.score == sev.ei  # DPC 1, no circumstances


def test_circumstances_add_up():
    sev = severity(
        data_categories=["basic_identifiers"],
        subject_categories=[],
        ease_of_identification="maximum",
        confidentiality="unknown_recipients",
        integrity="unrecoverable",
        availability="permanent",
        malicious=True,
    )
    assert sev.cb == 2
    assert sev.score == 3
    assert sev.level == "high"


def test_adjustment_needs_a_reason_and_stays_within_1_to_4():
    kwargs = {
        "data_categories": ["health"],
        "subject_categories": [],
        "ease_of_identification": "maximum",
        "confidentiality": "none",
        "integrity": "none",
        "availability": "none",
        "malicious": False,
    }
    with pytest.raises(ScoringError, match="reason"):
        severity(**kwargs, dpc_adjustment=1)
    with pytest.raises(ScoringError):
        severity(**kwargs, dpc_adjustment=2, dpc_adjustment_reason="x")
    assert severity(**kwargs, dpc_adjustment=1, dpc_adjustment_reason="Detailed records").dpc == 4
    assert severity(**kwargs, dpc_adjustment=-1, dpc_adjustment_reason="Only a test date").dpc == 3
    simple = dict(kwargs, data_categories=["basic_identifiers"])
    assert severity(**simple, dpc_adjustment=-1, dpc_adjustment_reason="Public directory").dpc == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"ease_of_identification": "total"},
        {"confidentiality": "everyone"},
        {"integrity": "mangled"},
        {"availability": "gone"},
        {"data_categories": ["gossip"]},
    ],
)
def test_unknown_values_are_refused(bad):
    kwargs = {
        "data_categories": ["health"],
        "subject_categories": [],
        "ease_of_identification": "maximum",
        "confidentiality": "none",
        "integrity": "none",
        "availability": "none",
        "malicious": False,
    }
    kwargs.update(bad)
    with pytest.raises(ScoringError):
        severity(**kwargs)


def test_population_range_from_full_overlap_to_none():
    # JTrack: four lost data sets; DOMAIN.md s.4
    assert population_range([84_000, 33_000, 10_000, 10_000]) == (84_000, 137_000)
    assert population_range([]) == (0, 0)
    with pytest.raises(ScoringError):
        population_range([5, -1])
