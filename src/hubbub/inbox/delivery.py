"""What one send attempt needs and what came of it, passed between the outbox (``actions``)
and the network channels (``outbound``) so that no database session is open during HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ReplyJob:
    """A claimed reply with everything a channel needs; ``attempt`` counts from 1."""

    reply_id: int
    key: str
    attempt: int
    network: str
    body: str
    created_at: datetime
    parent_native_id: str
    parent_author_native_id: str
    parent_author_handle: str | None
    parent_raw: str
    own_author_ids: frozenset[str]
    account_native_id: str | None
    account_handle: str | None
    service_url: str | None
    sent_last_hour: int
    credentials: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Outcome:
    """The result of one attempt: the reply's new ``state`` and the attempt log's ``outcome``.

    ``retry_after`` (seconds) is set for states worth trying again later.
    """

    state: str
    outcome: str
    remote_id: str | None = None
    remote_url: str | None = None
    http_status: int | None = None
    detail: str = ""
    retry_after: float | None = None
