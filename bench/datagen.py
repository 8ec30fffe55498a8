"""Lost data sets with a known overlap, for the benchmark and the tests.

A population of people is drawn; four data sets each take a sample of them, written the way
real extracts differ (case, accents, spacing, date formats, short and long PNC IDs, forename
and surname in two columns), with some rows missing a value and some people twice in one data
set. Because every person is known, the true figures are known: unique people, the people in
each data set, in every overlap and every exact region, and who was where.
"""

from __future__ import annotations

import csv
import random
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import combinations
from pathlib import Path

FIRST = (
    "Aisha Amelia Anna Arthur Ava Ben Chloe Connor Daniel David Eilidh Ella Emily Emma Ethan Finley Freya George "
    "Grace Harry Isla Jack Jacob James Jessica Joshua Katie Leo Liam Lily Lucy Mason Mia Mohammed Noah Oliver "
    "Olivia Oscar Poppy Rhys Ruby Ryan Samuel Sophie Thomas Tomasz William Zara Zoë José Seán Siân Dafydd Ffion "
    "Gethin Aoife Niamh Ciarán Oisín Kwame Ama Kofi Priya Ravi Anil Sunita Wei Li Jun Yusuf Fatima Omar Hana"
).split()
LAST = (
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker White Roberts "
    "Green Hall Wood Jackson Clarke Patel Khan Lewis James Phillips Mason Mitchell Rose Davis Rodríguez Cox "
    "Alexander Garden Campbell Johnston Moore Smyth O'Neill Doherty Stewart Quinn Murphy Graham McLaughlin Hamilton "
    "Murray Hughes Robertson Thomson Scott Macdonald Reid Clark Ross Young Watson Paterson Morrison Anderson "
    "Nowak Kowalski Wiśniewski Müller Schmidt Okafor Mensah Begum Hussain Ali Ahmed Singh Kaur Chen Wang Nguyen"
).split()

DATASETS = (
    # name, share of rows, columns
    ("Prison releases", 0.25, ("Name", "DOB", "Prison No", "Release date", "Offence code")),
    ("PNC extract", 0.30, ("FULL NAME", "Date of birth", "PNC", "Offence code", "Address")),
    ("Probation caseload", 0.25, ("Forename", "Surname", "Born", "NINO", "Postcode", "Address", "Risk level")),
    ("Victim contact list", 0.20, ("Name", "DOB", "Address", "Postcode", "Email", "Phone")),
)
MAPPINGS = (
    {"Name": "full_name", "DOB": "date_of_birth", "Prison No": "prison_number"},
    {"FULL NAME": "full_name", "Date of birth": "date_of_birth", "PNC": "pnc_id", "Address": "address"},
    {
        "Forename": "full_name",
        "Surname": "full_name",
        "Born": "date_of_birth",
        "NINO": "ni_number",
        "Postcode": "postcode",
        "Address": "address",
    },
    {"Name": "full_name", "DOB": "date_of_birth", "Address": "address", "Postcode": "postcode", "Email": "email"},
)


@dataclass
class Person:
    first: str
    last: str
    born: date
    pnc_year: int
    pnc_serial: int
    pnc_check: str
    prison: str
    nino: str
    postcode: str
    address: str
    email: str
    phone: str


@dataclass
class Truth:
    unique_people: int
    rows: dict[str, int]
    people: dict[str, int]
    persons: list[Person]
    pairs: dict[tuple[str, str], int]
    regions: dict[frozenset[str], int]
    membership: list[frozenset[str]] = field(default_factory=list)  # by person index
    paths: dict[str, Path] = field(default_factory=dict)


def name_key(text: str) -> str:
    """Two names the linking rules treat as one have the same key (written here on its own,
    not borrowed from the code under test)."""
    plain = unicodedata.normalize("NFKD", text)
    return "".join(c for c in plain.casefold() if c.isascii() and c.isalpha())


def _people(n: int, rng: random.Random) -> list[Person]:
    seen: set[tuple[str, date]] = set()
    people = []
    letters = "ABCEHJKLMNPRSTWXYZ"
    for i in range(n):
        while True:
            first, last = rng.choice(FIRST), rng.choice(LAST) + (rng.choice(("", "", "", "-Smith", "-Jones")))
            born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 65 * 365))
            key = (name_key(first) + " " + name_key(last), born)
            if key not in seen:
                seen.add(key)
                break
        district = rng.choice(("NE", "M", "B", "LS", "CF", "SW", "EH", "BT"))
        inward = "ABDEFGHJLNPQRSTUWXYZ"
        postcode = f"{district}{rng.randint(1, 29)} {rng.randint(0, 9)}{rng.choice(inward)}{rng.choice(inward)}"
        people.append(
            Person(
                first=first,
                last=last,
                born=born,
                pnc_year=rng.randint(1975, 2024),
                pnc_serial=i + 1,
                pnc_check=string.ascii_uppercase[i % 26],
                prison=f"{letters[i % 18]}{i % 10000:04d}{letters[(i // 10000) % 18]}{letters[(i // 180000) % 18]}",
                nino=f"{letters[(i // 1_000_000) % 18]}{letters[(i // 1000) % 18]}{i % 1_000_000:06d}{'ABCD'[i % 4]}",
                postcode=postcode,
                address=f"{rng.randint(1, 300)} {rng.choice(LAST)} {rng.choice(('Road', 'Street', 'Lane', 'Close'))}",
                email=f"{first.lower()}.{i}@example.org",
                phone=f"07{rng.randint(100000000, 999999999)}",
            )
        )
    for attribute in ("prison", "nino", "email"):
        assert len({getattr(p, attribute) for p in people}) == n, attribute
    return people


def _name(p: Person, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.6:
        return f"{p.first} {p.last}"
    if style < 0.8:
        return f"  {p.first.upper()}   {p.last.upper()} "
    return f"{p.first.lower()} {p.last.lower()}"


def _dob(p: Person, style: int) -> str:
    if style == 0:
        return p.born.strftime("%d/%m/%Y")
    if style == 1:
        return p.born.isoformat()
    return f"{p.born.day} {p.born:%B %Y}"


def _row(k: int, p: Person, rng: random.Random) -> list[str]:
    offence = f"OFF{rng.randint(1, 400):03d}"
    if k == 0:
        return [_name(p, rng), _dob(p, 0), p.prison, "2027-01-15", offence]
    if k == 1:
        pnc = (
            f"{p.pnc_year}/{p.pnc_serial:07d}{p.pnc_check}"
            if rng.random() < 0.5
            else f"{p.pnc_year % 100:02d}/{p.pnc_serial}{p.pnc_check}"
        )
        return [_name(p, rng).upper(), _dob(p, 1), pnc, offence, p.address]
    if k == 2:
        nino = f"{p.nino[:2]} {p.nino[2:4]} {p.nino[4:6]} {p.nino[6:8]} {p.nino[8]}"
        return [p.first, p.last, _dob(p, 2), nino, p.postcode.replace(" ", ""), p.address, rng.choice("LMH")]
    return [_name(p, rng), _dob(p, 0), p.address, p.postcode.lower(), p.email, p.phone]


def generate(total_rows: int, folder: Path, *, seed: int = 2009, duplicate_share: float = 0.01) -> Truth:
    """Write the four data sets, ``total_rows`` rows between them, into ``folder``."""
    rng = random.Random(seed)
    population = max(4, int(total_rows * 0.55))
    people = _people(population, rng)
    membership: list[set[str]] = [set() for _ in people]
    rows: dict[str, int] = {}
    paths: dict[str, Path] = {}
    folder.mkdir(parents=True, exist_ok=True)
    for k, (name, share, columns) in enumerate(DATASETS):
        size = int(total_rows * share) if k < len(DATASETS) - 1 else total_rows - sum(rows.values())
        distinct = max(1, int(size * (1 - duplicate_share)))
        chosen = rng.sample(range(population), min(distinct, population))
        chosen += [rng.choice(chosen) for _ in range(size - len(chosen))]  # some people twice
        rng.shuffle(chosen)
        path = folder / f"dataset-{k + 1}.csv"
        written: set[int] = set()
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for i in chosen:
                row = _row(k, people[i], rng)
                if k == 1 and i in written:
                    # A second PNC record with no date of birth links to the first by the PNC
                    # ID alone, and through it to the person's other data sets.
                    row[1] = ""
                writer.writerow(row)
                written.add(i)
                membership[i].add(name)
        rows[name] = size
        paths[name] = path
    frozen = [frozenset(m) for m in membership]
    regions = Counter(m for m in frozen if m)
    people_in = Counter(name for m in frozen for name in m)
    pairs = {(a, b): sum(1 for m in frozen if a in m and b in m) for a, b in combinations([d[0] for d in DATASETS], 2)}
    return Truth(
        unique_people=sum(regions.values()),
        rows=rows,
        people=dict(people_in),
        persons=people,
        pairs=pairs,
        regions=dict(regions),
        membership=frozen,
        paths=paths,
    )
