"""Sending claimed deliveries: signed JSON POSTs through :class:`SafeHTTP`, then the attempt log.

Each attempt signs ``"<timestamp>.<body>"`` with HMAC-SHA256 under the endpoint's secret, so a
receiver can check both who sent it and that it is fresh. A crash after the POST and before
the attempt is recorded sends it again after the lease: receivers dedupe on
``X-Hubbub-Delivery``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine

from hubbub.core.errors import HubbubError, Rejected, UnsafeURL
from hubbub.settings import Settings
from hubbub.sources.net import SafeHTTP
from hubbub.store.engine import transaction
from hubbub.webhooks.actions import DeliveryJob, WebhookError, claim, finish, release

#: Endpoints sent to at once by one worker (each endpoint's deliveries go one after another).
CONCURRENCY = 8


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Hubbub-Signature`` value: ``sha256=`` and the hex HMAC of ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (also used by the tests), in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True)
class AttemptResult:
    status: int | None
    error: str | None
    duration_ms: int
    permanent: bool = False


async def send(http: SafeHTTP, settings: Settings, job: DeliveryJob) -> AttemptResult:
    """One POST; never raises for the receiver's failures, they are the attempt's result."""
    # httpx serialises ``json=`` with this same function, so the bytes signed are those sent.
    body = httpx.Request("POST", job.url, json=job.body).content
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Hubbub-Event": job.event_type,
        "X-Hubbub-Delivery": job.delivery_id,
        "X-Hubbub-Timestamp": timestamp,
        "X-Hubbub-Signature": sign(job.secret, timestamp, body),
    }
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    permanent = False
    try:
        async with http.open(
            job.url,
            method="POST",
            headers=headers,
            json=job.body,
            timeout=httpx.Timeout(settings.webhook_timeout_seconds),
        ) as response:
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
    except UnsafeURL as exc:
        error, permanent = str(exc), True
    except Rejected as exc:
        error = exc.detail
    except HubbubError as exc:  # timeouts, refused connections, too many redirects
        error = str(exc)
    return AttemptResult(status, error, int((time.monotonic() - started) * 1000), permanent)


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0


async def _send_all(settings: Settings, jobs: list[DeliveryJob]) -> dict[int, AttemptResult]:
    """The result of each job attempted. One endpoint's jobs go in the order given, so a
    receiver that is up sees its events as they happened; after a failure the endpoint's
    remaining jobs are not attempted (a receiver that hangs costs one timeout per round)."""
    gate = asyncio.Semaphore(CONCURRENCY)
    results: dict[int, AttemptResult] = {}
    by_endpoint: dict[int, list[DeliveryJob]] = {}
    for job in jobs:
        by_endpoint.setdefault(job.endpoint_id, []).append(job)

    async def endpoint(http: SafeHTTP, queue: list[DeliveryJob]) -> None:
        async with gate:
            for job in queue:
                result = results[job.id] = await send(http, settings, job)
                if result.error is not None:
                    return

    async with SafeHTTP(settings) as http:
        await asyncio.gather(*(endpoint(http, queue) for queue in by_endpoint.values()))
    return results


def deliver_due(
    engine: Engine, settings: Settings, *, workspace_id: int | None = None, limit: int = 50
) -> DeliveryReport:
    """Claim what is due (committed first), send it, record every attempt.

    Blocking: runs its own event loop, so call it from a worker thread, not from async code.
    """
    report = DeliveryReport()
    with transaction(engine) as session:
        jobs = claim(session, settings, workspace_id=workspace_id, limit=limit)
    if not jobs:
        return report
    results = asyncio.run(_send_all(settings, jobs))
    skipped = [job for job in jobs if job.id not in results]
    if skipped:
        with transaction(engine) as session:
            for job in skipped:
                release(session, job)
    for job in jobs:
        result = results.get(job.id)
        if result is None:
            continue
        try:
            with transaction(engine) as session:
                row = finish(
                    session,
                    settings,
                    job,
                    status=result.status,
                    error=result.error,
                    duration_ms=result.duration_ms,
                    permanent=result.permanent,
                )
                state = row.state
        except WebhookError:
            continue  # removed with its endpoint while being sent
        if state == "delivered":
            report.delivered += 1
        elif state == "dead":
            report.dead += 1
        else:
            report.retrying += 1
    return report
