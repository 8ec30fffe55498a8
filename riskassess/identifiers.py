"""Identifiers in lost data sets, normalised so the same person written two ways gives the
same value, and only ever kept as a keyed hash (``riskassess/pseudonym.py``).

Each normaliser returns the canonical text, or ``None`` when the value is blank or is not a
valid identifier of its type: a malformed PNC ID must never link two people. Pure functions,
no ORM.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from django.db import models


class IdentifierType(models.TextChoices):
    """What a column of an uploaded data set holds (API.md "Affected individuals")."""

    FULL_NAME = "full_name", "Full name"
    DATE_OF_BIRTH = "date_of_birth", "Date of birth"
    POSTCODE = "postcode", "Postcode"
    ADDRESS = "address", "Address"
    PNC_ID = "pnc_id", "PNC ID"
    PRISON_NUMBER = "prison_number", "Prison number"
    NI_NUMBER = "ni_number", "National Insurance number"
    EMAIL = "email", "Email address"
    PHONE = "phone", "Phone number"
    FIELD = "field", "Exposed field (not an identifier)"


# One of these alone says two records are the same person.
STRONG = (IdentifierType.PNC_ID, IdentifierType.PRISON_NUMBER, IdentifierType.NI_NUMBER)

_SPACES = re.compile(r"\s+")
# Apostrophes and hyphens of every kind join the parts of a name: O'Brien is OBrien.
_APOSTROPHES = str.maketrans("", "", "'`-\u2019\u2018\u2010\u2011\u2013")


def _plain(text: str) -> str:
    """Unicode-normalised, accents dropped, case folded."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


# For ASCII names in one pass: upper case to lower, apostrophes and hyphens dropped, every
# other character that is not a letter to a space.
_ASCII_NAME = bytes(c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 else 32 for c in range(256))


def full_name(raw: str) -> str | None:
    """ "  O'Brien-Smith,  JOSÉ " and "obriensmith jose" are the same name; word order is
    kept (a reversed name is a different record unless a strong identifier links it)."""
    if raw.isascii():  # the common case, a million times a data set: same result, faster
        return " ".join(raw.encode().translate(_ASCII_NAME, b"'`-").decode().split()) or None
    return full_name_unicode(raw)


def full_name_unicode(raw: str) -> str | None:
    """``full_name`` for any text (the tests hold the ASCII path to this)."""
    text = _plain(raw).translate(_APOSTROPHES)
    text = "".join(c if c.isalpha() else " " for c in text)
    text = _SPACES.sub(" ", text).strip()
    return text or None


def address(raw: str) -> str | None:
    text = _plain(raw)
    text = "".join(c if c.isalnum() else " " for c in text)
    text = _SPACES.sub(" ", text).strip()
    return text or None


_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?(?:\.0+)?)?$")
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_WORDS = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?\s+(\d{4})$")


def date_of_birth(raw: str | date | datetime) -> str | None:
    """ISO, day-first numeric (UK: 03/04/1980 is 3 April) or "3 April 1980". Two-digit years
    are refused: 03/04/80 could be 1880 or 1980 for nobody knows which record."""
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    return date_text(str(raw), latest_birth_day())


def latest_birth_day() -> date:
    """Tomorrow in UTC: no time zone on earth has reached the day after, so a later date is
    wrong wherever the record was made."""
    return datetime.now(UTC).date() + timedelta(days=1)


def date_text(raw: str, latest: date) -> str | None:
    """``date_of_birth`` for text, with the latest possible day worked out by the caller
    (once for a whole data set)."""
    text = _SPACES.sub(" ", raw.strip().casefold().replace(",", " "))
    text = _SPACES.sub(" ", text).strip()
    year = month = day = 0
    if m := _ISO.match(text):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _DAY_FIRST.match(text):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    elif (m := _WORDS.match(text)) and m[2] in _MONTHS:
        day, month, year = int(m[1]), _MONTHS[m[2]], int(m[3])
    else:
        return None
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    if value.year < 1880 or value > latest:
        return None
    return value.isoformat()


_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")


def postcode(raw: str) -> str | None:
    """ "ne1 4st", "NE14ST" and "NE1  4ST" are "NE1 4ST"."""
    text = "".join(str(raw).split()).upper()
    m = _POSTCODE.match(text)
    return f"{m[1]} {m[2]}" if m else None


# With the slash the serial may lose its leading zeros; without it, only the full form
# (two- or four-digit year and a seven-digit serial) is unambiguous.
_PNC = re.compile(r"^(?:(\d{2}|\d{4})/(\d{1,7})|(\d{2}|\d{4})(\d{7}))([A-Z])$")


def pnc_id(raw: str) -> str | None:
    """Police National Computer ID: year / serial / check letter. "2001/0012345A" and
    "01/12345A" are the same ID (two-digit year, serial without leading zeros)."""
    text = "".join(str(raw).split()).upper()
    m = _PNC.match(text)
    if not m:
        return None
    year, serial = (m[1], m[2]) if m[1] else (m[3], m[4])
    return f"{year[-2:]}/{int(serial)}{m[5]}"


_PRISON = re.compile(r"^[A-Z]\d{4}[A-Z]{2}$")


def prison_number(raw: str) -> str | None:
    text = "".join(str(raw).split()).upper()
    return text if _PRISON.match(text) else None


_NINO = re.compile(r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")


def ni_number(raw: str) -> str | None:
    text = "".join(str(raw).split()).upper()
    return text if _NINO.match(text) and text[:2] not in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"} else None


def email(raw: str) -> str | None:
    text = _SPACES.sub("", str(raw)).casefold()
    local, at, domain = text.partition("@")
    return text if at and local and "." in domain and "@" not in domain else None


def phone(raw: str) -> str | None:
    """UK numbers: "+44 (0)191 123 4567", "0191 123 4567" and "00441911234567" are one."""
    text = str(raw).strip()
    digits = re.sub(r"\D", "", text.replace("(0)", ""))
    if digits.startswith("0044"):
        digits = "0" + digits[4:]
    elif text.startswith("+44") or (digits.startswith("44") and len(digits) == 12):
        digits = "0" + digits[2:]
    return digits if digits.startswith("0") and len(digits) in (10, 11) else None


NORMALISERS: dict[str, Callable[[str], str | None]] = {
    IdentifierType.FULL_NAME: full_name,
    IdentifierType.DATE_OF_BIRTH: date_of_birth,
    IdentifierType.POSTCODE: postcode,
    IdentifierType.ADDRESS: address,
    IdentifierType.PNC_ID: pnc_id,
    IdentifierType.PRISON_NUMBER: prison_number,
    IdentifierType.NI_NUMBER: ni_number,
    IdentifierType.EMAIL: email,
    IdentifierType.PHONE: phone,
}


def normalise(kind: str, raw: object) -> str | None:
    """The canonical form of ``raw`` as an identifier of ``kind``, or None."""
    if raw is None:
        return None
    if isinstance(raw, date) and kind == IdentifierType.DATE_OF_BIRTH:
        return date_of_birth(raw)
    text = str(raw)
    if not text.strip():
        return None
    return NORMALISERS[kind](text)
