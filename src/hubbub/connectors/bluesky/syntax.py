"""AT Protocol identifier checks (DID, handle, NSID, record key, AT-URI, datetime).

They follow the published syntax rules closely enough to refuse what the interop test lists
call invalid, so a hostile event cannot smuggle odd identifiers into stored references.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_DID = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]", re.ASCII)
_HANDLE = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
    r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?",
    re.ASCII,
)
_NSID = re.compile(
    r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"
    r"\.[a-zA-Z][a-zA-Z0-9]{0,62}",
    re.ASCII,
)
_RECORD_KEY = re.compile(r"[a-zA-Z0-9_~.:-]{1,512}", re.ASCII)
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})?",
    re.ASCII,
)

MAX_DID = 2048
MAX_HANDLE = 253
MAX_NSID = 317
MAX_AT_URI = 8192


def is_did(value: str) -> bool:
    """A syntactically valid DID of any method (``did:plc:…``, ``did:web:…``)."""
    return len(value) <= MAX_DID and _DID.fullmatch(value) is not None


def is_handle(value: str) -> bool:
    """A syntactically valid handle (a DNS name whose last label starts with a letter)."""
    return len(value) <= MAX_HANDLE and _HANDLE.fullmatch(value) is not None


def is_nsid(value: str) -> bool:
    """A syntactically valid namespaced identifier such as ``app.bsky.feed.post``."""
    return len(value) <= MAX_NSID and _NSID.fullmatch(value) is not None


def is_record_key(value: str) -> bool:
    """A valid record key: 1–512 of ``[A-Za-z0-9_~.:-]``, never ``.`` or ``..``."""
    return value not in (".", "..") and _RECORD_KEY.fullmatch(value) is not None


def is_at_uri(value: str) -> bool:
    """An ``at://authority[/collection[/rkey]]`` URI as used in record references.

    Fragments are refused: references in records never carry them.
    """
    if len(value) > MAX_AT_URI or not value.startswith("at://") or "#" in value:
        return False
    parts = value[5:].split("/")
    if len(parts) > 3:
        return False
    authority = parts[0]
    if authority.startswith("did:"):
        if not is_did(authority):
            return False
    elif not is_handle(authority):
        return False
    if len(parts) > 1 and not is_nsid(parts[1]):
        return False
    return len(parts) < 3 or is_record_key(parts[2])


def parse_datetime(value: str) -> datetime | None:
    """An aware UTC datetime for an AT Protocol datetime, or None when malformed.

    Stricter than ISO 8601 parsing (no lower-case ``t``/``z``, no spaces, no ``-00:00``,
    full seconds required), except that a missing zone is read as UTC: records written by
    older SDKs omit it and are otherwise fine.
    """
    if _DATETIME.fullmatch(value) is None or value.endswith("-00:00"):
        return None
    if value[-1] == "Z":
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None
