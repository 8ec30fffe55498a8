"""Twenty-odd realistic losses, and the property that a worse breach never gets a milder
answer."""

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskassess.recommend import RISK_ORDER, Factors, assess

CRIMINAL = ("criminal_offence", "basic_identifiers")
SCENARIOS = {
    # name: (factors, risk, notify_regulator, notify_subjects, involve_police)
    "HMP Cardiff: prisoner spreadsheet emailed to families three times": (
        Factors(
            data_categories=(*CRIMINAL, "racial_ethnic_origin", "location"),
            subject_categories=("offenders",),
            subjects_count=1182,
            ease_of_identification="maximum",
            confidentiality="known_recipients",
        ),
        "high",
        True,
        True,
        False,
    ),
    "JTrack: contractor's unencrypted stick lost, 84,000 prisoners": (
        Factors(
            data_categories=CRIMINAL,
            subject_categories=("offenders",),
            subjects_count=84_000,
            ease_of_identification="maximum",
            confidentiality="unknown_recipients",
        ),
        "high",
        True,
        True,
        False,
    ),
    "police laptops stolen, unencrypted, 4,500 offenders": (
        Factors(
            data_categories=CRIMINAL,
            subject_categories=("offenders",),
            subjects_count=4500,
            ease_of_identification="maximum",
            confidentiality="unknown_recipients",
            theft=True,
            malicious=True,
            law_enforcement_processing=True,
        ),
        "high",
        True,
        True,
        True,
    ),
    "encrypted laptop left on a train, key safe": (
        Factors(
            data_categories=CRIMINAL,
            subject_categories=("offenders",),
            subjects_count=300,
            ease_of_identification="maximum",
            confidentiality="unknown_recipients",
            encryption="encrypted_key_safe",
        ),
        "unlikely",
        False,
        False,
        False,
    ),
    "encrypted laptop stolen with its password on a sticky note": (
        Factors(
            data_categories=CRIMINAL,
            subject_categories=("offenders",),
            subjects_count=300,
            ease_of_identification="maximum",
            confidentiality="unknown_recipients",
            encryption="encrypted_key_compromised",
            theft=True,
            malicious=True,
        ),
        "high",
        True,
        True,
        True,
    ),
    "probation file posted to the wrong address, victim details": (
        Factors(
            data_categories=("basic_identifiers", "criminal_offence"),
            subject_categories=("victims",),
            subjects_count=1,
            ease_of_identification="maximum",
            confidentiality="known_recipients",
        ),
        "high",
        True,
        True,
        False,
    ),
    "staff rota emailed to a colleague in another team, deleted": (
        Factors(
            data_categories=("basic_identifiers",),
            subject_categories=("staff",),
            subjects_count=40,
            ease_of_identification="maximum",
            confidentiality="known_recipients",
            recipients_trusted_and_data_recovered=True,
        ),
        "unlikely",
        False,
        False,
        False,
    ),
    "newsletter sent without BCC to 60 members of the public": (
        Factors(
            data_categories=("basic_identifiers",),
            subject_categories=("public",),
            subjects_count=60,
            ease_of_identification="maximum",
            confidentiality="known_recipients",
        ),
        "unlikely",
        False,
        False,
        False,
    ),
    "BCC failure on a victims' support mailing list": (
        Factors(
            data_categories=("basic_identifiers",),
            subject_categories=("victims",),
            subjects_count=200,
            ease_of_identification="maximum",
            confidentiality="known_recipients",
        ),
        "high",
        True,
        True,
        False,
    ),
    "court papers stolen from a car, MAPPA case": (
        Factors(
            data_categories=(*CRIMINAL, "location"),
            subject_categories=("offenders", "victims"),
            subjects_count=3,
            ease_of_identification="maximum",
            confidentiality="unknown_recipients",
            theft=True,
            malicious=True,
            mappa_information=True,
            law_enforcement_processing=True,
        ),
        "high",
        True,
        True,
        True,
    ),
    "paper case files left in a locked office that was later opened": (
        Factors(
            data_categories=CRIMINAL,
            subject_categories=("offenders",),
            subjects_count=12,
            ease_of_identification="maximum",
            confidentiality="known_recipients",
            recipients_trusted_and_data_recovered=True,
        ),
        "risk",
        True,
        False,
        False,
    ),
    "ransomware on the case system, no backup, no sign of exfiltration": (
        Factors(
            data_categories=CRIMINAL,
            subject_categories=("offenders",),
            subjects_count=20_000,
            ease_of_identification="maximum",
            availability="permanent",
            malicious=True,
        ),
        "high",
        True,
        True,
        True,
    ),
    "ransomware on a file share, restored from backup the same day": (
        Factors(
            data_categories=("basic_identifiers",),
            subject_categories=("staff",),
            subjects_count=300,
            ease_of_identification="maximum",
            availability="temporary",
            malicious=True,
            backup_available=True,
        ),
        "unlikely",
        False,
        False,
        True,
    ),
    "ransomware with backup but data exfiltrated": (
        Factors(
            data_categories=CRIMINAL,
            subject_categories=("offenders",),
            subjects_count=5000,
            ease_of_identification="maximum",
            confidentiality="unknown_recipients",
            availability="temporary",
            malicious=True,
            backup_available=True,
        ),
        "high",
        True,
        True,
        True,
    ),
    "processor's engineer copied witness statements to a personal drive": (
        Factors(
            data_categories=("basic_identifiers", "criminal_offence"),
            subject_categories=("witnesses",),
            subjects_count=25,
            ease_of_identification="maximum",
            confidentiality="known_recipients",
            malicious=True,
        ),
        "high",
        True,
        True,
        True,
    ),
    "phishing: one officer's mailbox accessed": (
        Factors(
            data_categories=("basic_identifiers", "identification_data"),
            subject_categories=("staff",),
            subjects_count=1,
            ease_of_identification="maximum",
            confidentiality="unknown_recipients",
            malicious=True,
        ),
        "high",
        True,
        True,
        True,
    ),  # credentials score as financial (ENISA Annex A1): the officer is told
    "pseudonymised research extract sent to a partner university": (
        Factors(
            data_categories=("health",),
            subject_categories=("offenders",),
            subjects_count=800,
            ease_of_identification="negligible",
            confidentiality="known_recipients",
        ),
        "unlikely",
        False,
        False,
        False,
    ),
    "children's safeguarding referral faxed to the wrong school": (
        Factors(
            data_categories=("basic_identifiers", "health"),
            subject_categories=("children",),
            subjects_count=1,
            ease_of_identification="maximum",
            confidentiality="known_recipients",
        ),
        "high",
        True,
        True,
        False,
    ),
    "incorrect release date typed into a licence record, corrected": (
        Factors(
            data_categories=("criminal_offence",),
            subject_categories=("offenders",),
            subjects_count=1,
            ease_of_identification="maximum",
            integrity="recoverable",
        ),
        "high",
        True,
        True,
        False,
    ),
    "telephone list of staff extensions lost in a car park": (
        Factors(
            data_categories=("basic_identifiers",),
            subject_categories=("staff",),
            subjects_count=150,
            ease_of_identification="significant",
            confidentiality="unknown_recipients",
        ),
        "unlikely",
        False,
        False,
        False,
    ),
    "bank details of 1,500 staff emailed to an external supplier by mistake": (
        Factors(
            data_categories=("basic_identifiers", "economic_financial"),
            subject_categories=("staff",),
            subjects_count=1500,
            ease_of_identification="maximum",
            confidentiality="known_recipients",
        ),
        "high",
        True,
        True,
        False,
    ),
    "victim's address disclosed verbally to an offender": (
        Factors(
            data_categories=("location",),
            subject_categories=("victims",),
            subjects_count=1,
            ease_of_identification="maximum",
            confidentiality="known_recipients",
        ),
        "high",
        True,
        True,
        False,
    ),
    "disproportionate effort: old archive lost, addresses unknown": (
        Factors(
            data_categories=CRIMINAL,
            subject_categories=("offenders",),
            subjects_count=30_000,
            ease_of_identification="maximum",
            confidentiality="unknown_recipients",
            disproportionate_effort=True,
        ),
        "high",
        True,
        True,
        False,
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(name):
    factors, risk, regulator, subjects, police = SCENARIOS[name]
    outcome = assess(factors)
    assert outcome.risk_to_individuals == risk, outcome.rationale
    assert outcome.recommendations["internal_record"] is True
    assert outcome.recommendations["notify_regulator"] is regulator, outcome.rationale
    assert outcome.recommendations["notify_subjects"] is subjects, outcome.rationale
    assert outcome.recommendations["involve_police"] is police, outcome.rationale
    assert any("Art 33(5)" in line for line in outcome.rationale)


def test_disproportionate_effort_means_a_public_communication():
    outcome = assess(SCENARIOS["disproportionate effort: old archive lost, addresses unknown"][0])
    assert outcome.subjects_method == "public_communication"
    assert any("Art 34(3)(c)" in line for line in outcome.rationale)


def test_law_enforcement_processing_cites_the_dpa_2018_part_3():
    outcome = assess(SCENARIOS["police laptops stolen, unencrypted, 4,500 offenders"][0])
    assert outcome.regime == "dpa2018_part3"
    assert any("s.67" in line for line in outcome.rationale)
    assert any("s.68(7)" in line for line in outcome.rationale)


def test_measures_that_removed_the_high_risk_are_an_exception():
    factors = replace(
        SCENARIOS["JTrack: contractor's unencrypted stick lost, 84,000 prisoners"][0], measures_removed_high_risk=True
    )
    outcome = assess(factors)
    assert outcome.recommendations["notify_regulator"]
    assert not outcome.recommendations["notify_subjects"]
    assert any("Art 34(3)(b)" in line for line in outcome.rationale)


# Each factor's values from best to worst.
WORSE: dict[str, list[Any]] = {
    "ease_of_identification": ["negligible", "limited", "significant", "maximum"],
    "confidentiality": ["none", "known_recipients", "unknown_recipients"],
    "integrity": ["none", "recoverable", "unrecoverable"],
    "availability": ["none", "temporary", "permanent"],
    "encryption": ["encrypted_key_safe", "encrypted_key_compromised", "none"],
    "malicious": [False, True],
    "theft": [False, True],
    "mappa_information": [False, True],
    "backup_available": [True, False],
    "recipients_trusted_and_data_recovered": [True, False],
    "dpc_adjustment": [-1, 0, 1],
}
DATA = ["basic_identifiers", "location", "economic_financial", "health", "criminal_offence", "identification_data"]
SUBJECTS = ["staff", "offenders", "public", "victims", "witnesses", "children"]

factors_strategy = st.builds(
    Factors,
    data_categories=st.lists(st.sampled_from(DATA), min_size=1, max_size=3, unique=True).map(tuple),
    subject_categories=st.lists(st.sampled_from(SUBJECTS), max_size=3, unique=True).map(tuple),
    subjects_count=st.integers(min_value=0, max_value=200_000),
    **{name: st.sampled_from(values) for name, values in WORSE.items()},
    dpc_adjustment_reason=st.just("contextual factor"),
)


def _ranks(outcome):
    return (
        outcome.severity.score,
        RISK_ORDER.index(outcome.risk_to_individuals),
        {k for k, v in outcome.recommendations.items() if v},
    )


@settings(max_examples=400, deadline=None)
@given(base=factors_strategy, factor=st.sampled_from(sorted(WORSE)), data=st.data())
def test_making_a_factor_worse_never_gives_a_milder_answer(base, factor, data):
    values = WORSE[factor]
    index = values.index(getattr(base, factor))
    worse_value = data.draw(st.sampled_from(values[index:]))
    worse = replace(base, **{factor: worse_value})
    score, risk, recs = _ranks(assess(base))
    worse_score, worse_risk, worse_recs = _ranks(assess(worse))
    if factor not in {
        "encryption",
        "backup_available",
        "recipients_trusted_and_data_recovered",
        "theft",
        "mappa_information",
    }:
        assert worse_score >= score  # these five do not enter the ENISA score
    assert worse_risk >= risk
    assert recs <= worse_recs, (factor, worse_value)


@settings(max_examples=200, deadline=None)
@given(
    base=factors_strategy,
    extra_data=st.sampled_from(DATA),
    extra_subject=st.sampled_from(SUBJECTS),
    more=st.integers(min_value=0, max_value=100_000),
)
def test_more_data_more_kinds_of_people_or_more_people_never_give_a_milder_answer(
    base, extra_data, extra_subject, more
):
    worse = replace(
        base,
        data_categories=tuple(sorted(set(base.data_categories) | {extra_data})),
        subject_categories=tuple(sorted(set(base.subject_categories) | {extra_subject})),
        subjects_count=(base.subjects_count or 0) + more,
    )
    score, risk, recs = _ranks(assess(base))
    worse_score, worse_risk, worse_recs = _ranks(assess(worse))
    assert worse_score >= score
    assert worse_risk >= risk
    assert recs <= worse_recs
