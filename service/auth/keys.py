"""API key format and hashing. Keys are shown once; only an HMAC-SHA256 with a server secret is kept.

A key reads ``cg_<8 characters>_<43 characters>``: the first part is its visible, stored prefix (to find
the key and to name it in logs), the rest is the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

_ALPHABET = string.ascii_lowercase + string.digits
_KEY = re.compile(r"^(cg_[a-z0-9]{8})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class NewKey:
    prefix: str
    plaintext: str


def generate() -> NewKey:
    prefix = "cg_" + "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return NewKey(prefix=prefix, plaintext=f"{prefix}_{secrets.token_urlsafe(32)}")


def split(plaintext: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    match = _KEY.match(plaintext.strip())
    return (match.group(1), match.group(2)) if match else None


def digest(plaintext: str, server_secret: str) -> bytes:
    return hmac.new(server_secret.encode(), plaintext.strip().encode(), hashlib.sha256).digest()


def matches(plaintext: str, stored: bytes, server_secret: str) -> bool:
    return hmac.compare_digest(digest(plaintext, server_secret), stored)
