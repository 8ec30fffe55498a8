"""Keyed hashes of identifiers: what BreachDesk keeps instead of the identifiers themselves.

A token is HMAC-SHA256 over the identifier's type and normalised value, under the first key;
each later key (after a rotation) is applied to the token before it. Rotating therefore
needs no raw data: stored tokens are re-keyed by one more HMAC, and from then on a copy of
any single key, the old one included, is useless for testing guesses against them.

Keys come from the environment: ``PSEUDONYM_KEYS`` ("1:<key>,2:<key>", oldest first) or,
for one key, ``PSEUDONYM_KEY`` (version 1). Never logged, never stored.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SEPARATOR = b"\x1f"
MIN_KEY_LENGTH = 16


@dataclass(frozen=True)
class Keyring:
    """The keys, oldest first, each with its version."""

    keys: tuple[tuple[int, bytes], ...]

    @property
    def version(self) -> int:
        """The version tokens made now carry: the newest key's."""
        return self.keys[-1][0]

    def up_to(self, version: int) -> tuple[bytes, ...]:
        return tuple(key for v, key in self.keys if v <= version)

    def after(self, version: int) -> tuple[bytes, ...]:
        return tuple(key for v, key in self.keys if v > version)


def parse_keys(spec: str) -> Keyring:
    """ "1:abc...,2:def..." -> Keyring. Versions must be distinct positive integers; each
    key at least ``MIN_KEY_LENGTH`` characters."""
    keys: list[tuple[int, bytes]] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        version_text, sep, key = part.partition(":")
        if not sep or not version_text.isdigit() or int(version_text) < 1:
            raise ImproperlyConfigured("PSEUDONYM_KEYS: each entry is <version>:<key>, the version a whole number")
        if len(key) < MIN_KEY_LENGTH:
            raise ImproperlyConfigured(f"PSEUDONYM_KEYS: key {version_text} is shorter than {MIN_KEY_LENGTH}")
        keys.append((int(version_text), key.encode()))
    versions = [v for v, _ in keys]
    if not keys:
        raise ImproperlyConfigured("Set PSEUDONYM_KEY (or PSEUDONYM_KEYS) to hash identifiers")
    if len(set(versions)) != len(versions):
        raise ImproperlyConfigured("PSEUDONYM_KEYS: a version appears twice")
    return Keyring(tuple(sorted(keys)))


def keyring() -> Keyring:
    spec = getattr(settings, "PSEUDONYM_KEYS", "") or ""
    if spec:
        return parse_keys(spec)
    key = getattr(settings, "PSEUDONYM_KEY", "") or ""
    return parse_keys(f"1:{key}") if key else parse_keys("")


def token(kind: str, value: str, *, ring: Keyring, version: int | None = None) -> bytes:
    """The token of a normalised ``value`` of type ``kind`` under keys 1..``version``
    (the newest by default). 32 bytes."""
    keys = ring.up_to(ring.version if version is None else version)
    if not keys:
        raise ImproperlyConfigured(f"No pseudonym key up to version {version}")
    digest = hmac.new(keys[0], kind.encode() + SEPARATOR + value.encode(), hashlib.sha256).digest()
    for key in keys[1:]:
        digest = hmac.new(key, digest, hashlib.sha256).digest()
    return digest


def rekey(digest: bytes, *, ring: Keyring, from_version: int) -> bytes:
    """A token made under keys up to ``from_version``, brought up to the newest key."""
    for key in ring.after(from_version):
        digest = hmac.new(key, digest, hashlib.sha256).digest()
    return digest
