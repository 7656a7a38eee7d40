"""Errors with a machine-readable reason, so rejects can be counted and explained."""

from __future__ import annotations

from typing import Any


class HubbubError(Exception):
    """Base of every error Hubbub raises on purpose."""


class Rejected(HubbubError):
    """Input refused with a reason; the ingest service keeps it as a dead letter.

    `code` is a short stable identifier (``invalid_json``, ``too_large`` …) used for
    counting and filtering; `detail` is the human explanation.
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class PartlyRejected(Rejected):
    """A document some parts of which were refused: ``items`` holds what the rest gave, and
    ``parts`` each refused part as a payload of its own, so the ingest service keeps it as a
    dead letter instead of losing it. A caller that does not know it refuses the whole."""

    def __init__(self, items: list[Any], parts: list[tuple[Rejected, bytes]]) -> None:
        first = parts[0][0]
        super().__init__(first.code, f"{len(parts)} part(s) refused; first: {first.detail}")
        self.items = items
        self.parts = parts


class ConfigError(HubbubError):
    """A source or setting is configured in a way that cannot work."""


class UnsafeURL(HubbubError):
    """A URL that points at a private, loopback or link-local address, refused by default (SSRF)."""


class RateLimited(HubbubError):
    """The network asked us to slow down; `retry_after` is seconds to wait."""

    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(f"rate limited for {retry_after:.1f}s {detail}".strip())
        self.retry_after = retry_after


class TransientError(HubbubError):
    """A failure worth retrying later (5xx, timeout, dropped connection)."""
