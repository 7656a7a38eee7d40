"""Timezone-aware UTC time, the only kind used inside Hubbub."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values are taken to be UTC already (databases return them)."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 / RFC 3339 timestamp into aware UTC; raises ValueError when malformed.

    A missing zone is taken as UTC, which is what networks that omit it mean.
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    try:
        return as_utc(parsed)
    except OverflowError:  # 0001-01-01T00:00+05:00 has no UTC time
        raise ValueError(f"{text!r} is out of range once in UTC") from None


def from_unix(seconds: float) -> datetime:
    """An aware UTC datetime from Unix seconds."""
    return datetime.fromtimestamp(seconds, UTC)
