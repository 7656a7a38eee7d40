"""Every write of the webhooks feature: endpoints, the outbox (:func:`enqueue`), attempts.

:func:`enqueue` runs in the caller's transaction, so an event exists exactly when the action
that caused it commits. :func:`claim` marks deliveries as being sent and commits before any
HTTP; :func:`finish` records how the attempt ended and when the next one is due.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected, UnsafeURL
from hubbub.settings import Settings
from hubbub.sources.net import refuse_private_literal
from hubbub.sources.secrets import decrypt_credentials, encrypt_credentials
from hubbub.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

#: Every event type a webhook may subscribe to.
EVENTS = (
    "conversation.created",
    "conversation.assigned",
    "conversation.replied",
    "conversation.resolved",
    "alert.fired",
)
SECRET_PREFIX = "whsec_"  # noqa: S105 (a marker, not a secret)
#: A delivery left in ``sending`` longer than this (a crashed worker) may be claimed again.
SENDING_LEASE = timedelta(minutes=5)
MAX_URL = 2048


class WebhookError(Rejected):
    """A refused webhook change, with a message fit to show the person who asked."""

    def __init__(self, detail: str, code: str = "webhook") -> None:
        super().__init__(code, detail)


def check_webhook_url(url: str) -> str:
    """http(s) with a host and no credentials; where it resolves is checked at each delivery."""
    value = url.strip()
    parts = urlsplit(value)
    if len(value) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(f"a webhook URL is http:// or https:// with a host: {value[:200]!r}")
    if parts.username or parts.password:
        raise WebhookError("a webhook URL carries no user name or password")
    return value


def _events(events: list[str] | None) -> list[str]:
    if not events:
        return list(EVENTS)
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise WebhookError(f"unknown events {', '.join(unknown)}; events are {', '.join(EVENTS)}")
    return [event for event in EVENTS if event in events]


def add_endpoint(
    session: Session,
    settings: Settings,
    workspace_id: int,
    url: str,
    *,
    events: list[str] | None = None,
    description: str = "",
) -> tuple[WebhookEndpoint, str]:
    """A new active endpoint (every event when ``events`` is empty); returns it with its
    signing secret, which is shown this once."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    checked = check_webhook_url(url)
    try:  # a name is resolved and checked at each delivery; a literal can be refused now
        refuse_private_literal(checked, settings)
    except UnsafeURL as exc:
        raise WebhookError(str(exc), code="unsafe_url") from None
    endpoint = WebhookEndpoint(
        workspace_id=workspace_id,
        url=checked,
        secret=encrypt_credentials(settings, {"secret": secret}),
        events=_events(events),
        description=description.strip()[:200],
        active=True,
        created_at=utcnow(),
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def _endpoint(session: Session, workspace_id: int, endpoint_id: int) -> WebhookEndpoint:
    found = session.get(WebhookEndpoint, endpoint_id)
    if found is None or found.workspace_id != workspace_id:
        raise WebhookError(f"no webhook {endpoint_id} in this workspace", "not_found")
    return found


def remove_endpoint(session: Session, workspace_id: int, endpoint_id: int) -> WebhookEndpoint:
    """Delete an endpoint with its deliveries (pending ones are never sent)."""
    found = _endpoint(session, workspace_id, endpoint_id)
    session.delete(found)
    session.flush()
    return found


def set_active(
    session: Session, workspace_id: int, endpoint_id: int, active: bool
) -> WebhookEndpoint:
    """Pause or resume an endpoint; a paused one gets no new deliveries."""
    found = _endpoint(session, workspace_id, endpoint_id)
    found.active = active
    session.flush()
    return found


def enqueue(
    session: Session,
    workspace_id: int,
    event_type: str,
    payload: Mapping[str, Any],
    now: datetime | None = None,
) -> list[WebhookDelivery]:
    """Write one delivery per active endpoint subscribed to ``event_type``, in the caller's
    transaction. ``payload`` must be JSON-ready; it becomes the body's ``data``."""
    if event_type not in EVENTS:
        raise WebhookError(f"unknown event {event_type!r}")
    endpoints = [
        endpoint
        for endpoint in session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.workspace_id == workspace_id, WebhookEndpoint.active.is_(True)
            )
        )
        if event_type in endpoint.events
    ]
    if not endpoints:
        return []
    now = now or utcnow()
    body = {
        "id": uuid.uuid4().hex,
        "type": event_type,
        "created_at": now.isoformat(),
        "workspace_id": workspace_id,
        "data": dict(payload),
    }
    rows = [
        WebhookDelivery(
            delivery_id=str(uuid.uuid4()),
            workspace_id=workspace_id,
            endpoint_id=endpoint.id,
            event_type=event_type,
            body=body,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint in endpoints
    ]
    session.add_all(rows)
    session.flush()
    return rows


@dataclass(frozen=True)
class DeliveryJob:
    """What one attempt needs, read while claiming (the secret decrypted)."""

    id: int
    delivery_id: str
    endpoint_id: int
    event_type: str
    url: str
    secret: str
    body: dict[str, Any]
    attempt: int


def claim(
    session: Session,
    settings: Settings,
    *,
    workspace_id: int | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> list[DeliveryJob]:
    """Claim due deliveries (each by a conditional update, so two workers never send the same
    attempt); the caller commits before sending.

    An endpoint with a delivery waiting out its backoff is cooling down: its other deliveries
    wait too, so a receiver that is down costs one attempt per backoff, not one per event.
    """
    now = now or utcnow()
    due = or_(
        (WebhookDelivery.state == "pending") & (WebhookDelivery.next_attempt_at <= now),
        (WebhookDelivery.state == "sending") & (WebhookDelivery.claimed_at < now - SENDING_LEASE),
    )
    cooling = select(WebhookDelivery.endpoint_id).where(
        WebhookDelivery.state == "pending",
        WebhookDelivery.attempts > 0,
        WebhookDelivery.next_attempt_at > now,
    )
    query = select(WebhookDelivery.id).where(due, WebhookDelivery.endpoint_id.not_in(cooling))
    if workspace_id is not None:
        query = query.where(WebhookDelivery.workspace_id == workspace_id)
    # Oldest event first: a retry due again goes before the events that waited behind it.
    candidates = list(session.scalars(query.order_by(WebhookDelivery.id).limit(limit)))
    jobs: list[DeliveryJob] = []
    for row_id in candidates:
        claimed = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == row_id, due)
            .values(state="sending", attempts=WebhookDelivery.attempts + 1, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        row = session.get(WebhookDelivery, row_id, populate_existing=True)
        assert row is not None
        endpoint = session.get(WebhookEndpoint, row.endpoint_id)
        assert endpoint is not None
        jobs.append(
            DeliveryJob(
                id=row.id,
                delivery_id=row.delivery_id,
                endpoint_id=row.endpoint_id,
                event_type=row.event_type,
                url=endpoint.url,
                secret=decrypt_credentials(settings, endpoint.secret).get("secret", ""),
                body=row.body,
                attempt=row.attempts,
            )
        )
    return jobs


def backoff_seconds(settings: Settings, attempt: int) -> float:
    """Wait after failed attempt ``attempt`` (1-based): doubling, capped, ±20 % jitter so that
    many deliveries failing together do not retry together."""
    base = settings.webhook_backoff_seconds * 2.0 ** min(attempt - 1, 30)
    delay = min(base, settings.webhook_backoff_max_seconds)
    return delay * random.uniform(0.8, 1.2)  # jitter, not a secret


def finish(
    session: Session,
    settings: Settings,
    job: DeliveryJob,
    *,
    status: int | None,
    error: str | None,
    duration_ms: int,
    permanent: bool = False,
    now: datetime | None = None,
) -> WebhookDelivery:
    """Log the attempt; a 2xx delivers, anything else retries after the backoff, and the last
    attempt (or a ``permanent`` refusal such as an unsafe address) makes the delivery dead."""
    now = now or utcnow()
    row = session.get(WebhookDelivery, job.id, populate_existing=True)
    if row is None:  # the endpoint was removed meanwhile
        raise WebhookError(f"no delivery {job.id}", "not_found")
    session.add(
        WebhookAttempt(
            delivery_id=row.id,
            attempt=job.attempt,
            status=status,
            error=(error or None) and error[:2000],
            duration_ms=duration_ms,
            at=now,
        )
    )
    if row.state == "delivered":  # a slower, stale attempt finishing after a good one
        session.flush()
        return row
    row.last_status = status
    row.last_error = (error or None) and error[:2000]
    if status is not None and 200 <= status < 300 and error is None:
        row.state = "delivered"
        row.delivered_at = now
    elif permanent or job.attempt >= settings.webhook_max_attempts:
        row.state = "dead"
    else:
        row.state = "pending"
        row.next_attempt_at = now + timedelta(seconds=backoff_seconds(settings, job.attempt))
    row.claimed_at = None
    session.flush()
    return row


def release(session: Session, job: DeliveryJob) -> None:
    """Give back a claimed delivery that was not attempted (its endpoint failed just before),
    as if it had never been claimed."""
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == job.id, WebhookDelivery.state == "sending")
        .values(state="pending", attempts=WebhookDelivery.attempts - 1, claimed_at=None)
        .execution_options(synchronize_session=False)
    )


def redeliver(session: Session, workspace_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a dead (or delivered) delivery again, with a fresh count of attempts."""
    row = session.get(WebhookDelivery, delivery_id)
    if row is None or row.workspace_id != workspace_id:
        raise WebhookError(f"no delivery {delivery_id} in this workspace", "not_found")
    if row.state in ("pending", "sending"):
        return row
    row.state = "pending"
    row.attempts = 0
    row.next_attempt_at = utcnow()
    session.flush()
    return row
