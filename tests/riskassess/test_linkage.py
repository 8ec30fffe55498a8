"""Normalising identifiers, keyed hashing with rotation, and linking records into people:
crafted records for the rules, and a generated population whose true overlap is known."""

from __future__ import annotations

import hmac
import random
from collections import Counter
from datetime import date
from itertools import combinations

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import strategies as st

from riskassess.identifiers import IdentifierType, full_name, full_name_unicode, normalise
from riskassess.linkage import Record, people_of, population
from riskassess.pseudonym import Hasher, parse_keys, rekey, token

RING = parse_keys("1:first-key-0123456789abcdef")


@pytest.mark.parametrize(
    ("kind", "a", "b"),
    [
        ("full_name", "  José  O'Brien-Smith ", "JOSE OBRIENSMITH"),
        ("full_name", "Anne\u00a0Marie   Lee", "anne marie lee"),
        ("full_name", "Sean O\u2019Neil", "SEAN ONEIL"),
        ("date_of_birth", "1980-04-03", "03/04/1980"),
        ("date_of_birth", "3.4.1980", "3rd April 1980"),
        ("date_of_birth", "1980-04-03 00:00:00", date(1980, 4, 3)),
        ("postcode", "ne1 4st", "NE1  4ST"),
        ("pnc_id", "2001/0012345A", "01/12345a"),
        ("pnc_id", "010012345A", "2001/12345A"),
        ("prison_number", "a1234bc", "A 1234 BC"),
        ("ni_number", "ab 12 34 56 c", "AB123456C"),
        ("email", " Rita.Porter@Example.ORG ", "rita.porter@example.org"),
        ("phone", "+44 (0)191 123 4567", "0191 123 4567"),
        ("phone", "00441911234567", "01911234567"),
        ("address", "12, High St.", "12 high st"),
    ],
)
def test_the_same_identifier_written_two_ways_normalises_the_same(kind, a, b):
    assert normalise(kind, a) is not None
    assert normalise(kind, a) == normalise(kind, b)


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("full_name", "  ---  "),
        ("date_of_birth", "03/04/80"),  # two-digit year: refused, not guessed
        ("date_of_birth", "31/02/1980"),
        ("date_of_birth", "1870-01-01"),
        ("date_of_birth", "next Tuesday"),
        ("postcode", "NE1 4S"),
        ("pnc_id", "12345A"),
        ("prison_number", "A123BC"),
        ("ni_number", "BG123456C"),  # a prefix never issued
        ("ni_number", "AB123456E"),
        ("ni_number", "QQ123456C"),  # the specimen number, never issued
        ("email", "rita.porter"),
        ("phone", "12345"),
        ("full_name", ""),
    ],
)
def test_what_is_not_an_identifier_is_none(kind, raw):
    assert normalise(kind, raw) is None


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_the_fast_path_for_ascii_names_gives_what_the_general_one_does(text):
    assert full_name(text) == full_name_unicode(text)


def test_tokens_depend_on_type_value_and_key():
    a = token("pnc_id", "01/12345A", ring=RING)
    assert len(a) == 16
    assert a == token("pnc_id", "01/12345A", ring=RING)
    assert a != token("prison_number", "01/12345A", ring=RING)
    assert a != token("pnc_id", "01/12345B", ring=RING)
    assert a != token("pnc_id", "01/12345A", ring=parse_keys("1:another-key-0123456789abcdef"))


@pytest.mark.parametrize("key", [b"k" * 16, b"k" * 64, b"a much longer key than one block of SHA-256 holds " * 3])
def test_the_precomputed_hasher_is_hmac_sha256_truncated(key):
    message = b"name_dob" + b"\x1f" + b"rita porter\x1f1980-04-03"
    assert Hasher(key)(message) == hmac.digest(key, message, "sha256")[:16]


def test_rotation_rekeys_stored_tokens_without_the_raw_values():
    rotated = parse_keys("1:first-key-0123456789abcdef, 2:second-key-0123456789abcdef")
    old = token("ni_number", "QQ123456C", ring=RING)
    assert rotated.version == 2
    # a stored version-1 token brought up to version 2 is what a new upload makes
    assert rekey(old, ring=rotated, from_version=1) == token("ni_number", "QQ123456C", ring=rotated)
    assert token("ni_number", "QQ123456C", ring=rotated) != old
    # the old key alone no longer reproduces what is stored
    assert token("ni_number", "QQ123456C", ring=parse_keys("1:first-key-0123456789abcdef")) == old


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "Set PSEUDONYM_KEY"),
        ("1:short", "shorter than"),
        ("x:first-key-0123456789abcdef", "whole number"),
        ("1:first-key-0123456789abcdef,1:other-key-0123456789abcdef", "appears twice"),
    ],
)
def test_bad_key_settings_are_refused(spec, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_keys(spec)


def _record(dataset: int, fields: tuple[str, ...] = (), **identifiers: str) -> Record:
    tokens = {}
    for kind, raw in identifiers.items():
        value = normalise(kind, raw)
        if value is not None:
            tokens[kind] = token(kind, value, ring=RING)
    return Record(dataset, tokens, frozenset(fields or tuple(identifiers)))


def test_links_are_transitive_and_near_misses_do_not_link():
    records = [
        _record(1, pnc_id="01/12345A", full_name="Ann Lee"),  # 0
        _record(2, pnc_id="2001/0012345A", full_name="Ann Lee", date_of_birth="1980-04-03"),  # 1: 0 by PNC
        _record(3, full_name="ANN  LEE", date_of_birth="03/04/1980", prison_number="A1234BC"),  # 2: 1 by name+dob
        _record(4, prison_number="a1234bc"),  # 3: 2 by prison number
        _record(1, full_name="Ann Lee", date_of_birth="04/03/1980"),  # 4: same name, other birthday
        _record(2, full_name="Anne Lee", date_of_birth="03/04/1980"),  # 5: other name, same birthday
        _record(3, full_name="Ann Lee"),  # 6: a name alone links nobody
        _record(4, pnc_id="12345A", full_name="Ann Lee"),  # 7: malformed PNC: not a link
        _record(1, postcode="NE1 4ST", email="ann@example.org"),  # 8: weak identifiers only
        _record(2, postcode="NE1 4ST", email="ann@example.org"),  # 9: ... do not link
    ]
    person = people_of(records)
    assert person[0] == person[1] == person[2] == person[3]
    others = [person[i] for i in range(4, 10)]
    assert len(set(others)) == 6
    assert person[0] not in others
    found = population(records)
    assert found.unique_people == 7
    assert found.regions[frozenset({1, 2, 3, 4})] == 1
    assert found.unlinkable_rows == 4  # 6, 7, 8, 9


def test_exact_counts_on_a_generated_population_with_known_overlap():
    """800 people, each in a random non-empty subset of four data sets, each record written
    differently: the counts are the truth, not a range."""
    rng = random.Random(16)
    truth_regions: Counter[frozenset[int]] = Counter()
    records = []
    for n in range(800):
        name = f"Person {chr(65 + n % 26)}{chr(65 + n // 26 % 26)} Number{n}"
        born = date(1950 + n % 50, 1 + n % 12, 1 + n % 28)
        pnc = f"{(n % 90) + 10:02d}/{n + 100:07d}Z" if n % 3 else ""
        datasets = frozenset(d for d in (1, 2, 3, 4) if rng.random() < 0.45) or frozenset({rng.randint(1, 4)})
        truth_regions[datasets] += 1
        for d in sorted(datasets):
            style = rng.randint(0, 2)
            written = {
                "full_name": name.upper() if style == 0 else f"  {name.lower()} ",
                "date_of_birth": born.isoformat() if style == 1 else born.strftime("%d/%m/%Y"),
                "pnc_id": pnc.replace("/", "") if style == 2 else pnc,
            }
            fields = ("full_name", "date_of_birth", "release date") if d == 1 else ("full_name", "offence code")
            records.append(_record(d, fields, **written))
    found = population(records)
    assert found.unique_people == 800
    assert found.regions == dict(truth_regions)
    for a, b in combinations((1, 2, 3, 4), 2):
        assert found.pairs[(a, b)] == sum(n for sets, n in truth_regions.items() if {a, b} <= sets)
    for d in (1, 2, 3, 4):
        assert found.people[d] == found.rows[d] == sum(n for sets, n in truth_regions.items() if d in sets)
    in_first = sum(n for sets, n in truth_regions.items() if 1 in sets)
    with_release_and_offence = sum(n for sets, n in truth_regions.items() if 1 in sets and len(sets) > 1)
    assert found.combinations[frozenset({"full_name", "date_of_birth", "release date", "offence code"})] == (
        with_release_and_offence
    )
    assert found.combinations[frozenset({"full_name", "date_of_birth", "release date"})] == (
        in_first - with_release_and_offence
    )
    low, high = found.range_if_unknown
    assert low <= found.unique_people <= high
    assert IdentifierType.PNC_ID in {k for r in records for k in r.tokens}
