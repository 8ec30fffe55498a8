"""From pseudonymised records to people: who is the same person across the lost data sets,
and the exact counts the Home Office could not give (DOMAIN.md s.4).

Two records are the same person when they share a strong identifier (PNC ID, prison number,
NI number) or the same full name with the same date of birth; links are transitive (a
union-find). Everything here works on tokens, never on identifiers. Pure functions, no ORM.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from .identifiers import STRONG, IdentifierType

# The token stored for a record's name and date of birth together: the pair is what links,
# and neither alone is kept.
NAME_DOB = "name_dob"


@dataclass(frozen=True)
class Record:
    """One row of a data set: its data set, its identifier tokens by type, and the labels of
    the fields it exposed (identifiers included, e.g. "full_name", "release date")."""

    dataset: int
    tokens: dict[str, bytes]
    fields: frozenset[str] = frozenset()


def link_keys(record: Record) -> list[tuple[str, bytes] | tuple[str, bytes, bytes]]:
    """The keys on which this record links to others."""
    keys: list[tuple[str, bytes] | tuple[str, bytes, bytes]] = [
        (kind, record.tokens[kind]) for kind in STRONG if kind in record.tokens
    ]
    if NAME_DOB in record.tokens:
        keys.append((NAME_DOB, record.tokens[NAME_DOB]))
        return keys
    name = record.tokens.get(IdentifierType.FULL_NAME)
    born = record.tokens.get(IdentifierType.DATE_OF_BIRTH)
    if name is not None and born is not None:
        keys.append(("name+dob", name, born))
    return keys


class UnionFind:
    """Disjoint sets over 0..n-1 with path halving and union by size."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]


def people_of(records: Sequence[Record]) -> list[int]:
    """For each record, the index of the person (a representative record) it belongs to."""
    sets = UnionFind(len(records))
    first_with: dict[object, int] = {}
    for i, record in enumerate(records):
        for key in link_keys(record):
            j = first_with.setdefault(key, i)
            if j != i:
                sets.union(i, j)
    return [sets.find(i) for i in range(len(records))]


@dataclass
class Population:
    """The exact answer for a set of data sets."""

    unique_people: int
    rows: dict[int, int]  # data set -> rows
    people: dict[int, int]  # data set -> distinct people in it
    pairs: dict[tuple[int, int], int]  # (a, b), a < b -> people in both
    regions: dict[frozenset[int], int]  # exactly these data sets -> people (the Venn diagram)
    combinations: Counter[frozenset[str]] = field(default_factory=Counter)  # exposed fields -> people
    unlinkable_rows: int = 0  # rows with no identifier to link on: each counted as a person

    @property
    def range_if_unknown(self) -> tuple[int, int]:
        """What could have been said without linking: full overlap to none."""
        return (max(self.people.values(), default=0), sum(self.rows.values()))


def population(records: Iterable[Record]) -> Population:
    records = list(records)
    person = people_of(records)
    rows: Counter[int] = Counter()
    member: dict[int, set[int]] = {}
    exposed: dict[int, set[str]] = {}
    unlinkable = 0
    for record, p in zip(records, person, strict=True):
        rows[record.dataset] += 1
        member.setdefault(p, set()).add(record.dataset)
        exposed.setdefault(p, set()).update(record.fields)
        if not link_keys(record):
            unlinkable += 1
    people: Counter[int] = Counter()
    pairs: Counter[tuple[int, int]] = Counter()
    regions: Counter[frozenset[int]] = Counter()
    for datasets in member.values():
        regions[frozenset(datasets)] += 1
        for d in datasets:
            people[d] += 1
        for a, b in combinations(sorted(datasets), 2):
            pairs[(a, b)] += 1
    all_sets = sorted(rows)
    for a, b in combinations(all_sets, 2):
        pairs.setdefault((a, b), 0)
    return Population(
        unique_people=len(member),
        rows=dict(rows),
        people=dict(people),
        pairs=dict(pairs),
        regions=dict(regions),
        combinations=Counter(frozenset(fields) for fields in exposed.values()),
        unlinkable_rows=unlinkable,
    )
