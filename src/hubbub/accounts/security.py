"""Password hashing (argon2id), random secrets and their digests, constant-time comparison."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "hbb_"  # noqa: S105 (a marker, not a secret)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 copes, but a megabyte "password" is a denial of service

_hasher = PasswordHasher()  # argon2-cffi's defaults follow RFC 9106's recommendation


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash new passwords with ``hasher`` from now on; returns the one it replaces.

    For test suites (argon2's ``CHEAPEST`` profile): every hash carries its own parameters, so
    verification works whichever hasher made it.
    """
    global _hasher
    previous, _hasher = _hasher, hasher
    _dummy_hash.cache_clear()
    return previous


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches; a malformed hash is a mismatch, never an exception."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def burn_verification(password: str) -> None:
    """Spend the time of one verification, so an unknown e-mail answers as slowly as a known one."""
    verify_password(_dummy_hash(), password)


def new_secret() -> str:
    """32 random bytes, URL-safe: session cookies, CSRF secrets."""
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    """A bearer token; the prefix makes leaked tokens easy to spot (secret scanners, logs)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(value: str) -> str:
    """SHA-256 hex of a high-entropy secret: what the database keeps instead of the secret."""
    return hashlib.sha256(value.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
