"""Every write of ``link_resolutions``: short links recorded, claimed, and what following them
gave. The HTTP runs between a claim and its outcome with no transaction open."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Engine, Table, select, update
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.enrich.links.models import LinkResolution, LinkResolutionPost
from hubbub.enrich.links.resolve import HostPacer, Resolved, resolve_link
from hubbub.enrich.links.shorteners import link_domain
from hubbub.settings import Settings
from hubbub.sources.net import SafeHTTP
from hubbub.store.dialect import chunks, insert_ignoring_conflicts
from hubbub.store.engine import transaction

RESOLUTIONS = cast(Table, LinkResolution.__table__)
LINK_POSTS = cast(Table, LinkResolutionPost.__table__)
#: A claimed link not finished within this (a crashed resolver) is due again.
CLAIM_LEASE = timedelta(minutes=2)
#: Waits after the 1st, 2nd … transient failure; after the last one the link is ``failed``.
RETRY_AFTER = (timedelta(minutes=5), timedelta(hours=1), timedelta(hours=6))
MAX_ATTEMPTS = len(RETRY_AFTER) + 1
CONCURRENCY = 8  # links followed at once (the pacer still spaces each host)
#: Seconds per request (or the HTTP timeout setting when lower): a slow shortener must not hold
#: the worker's tick, and a timeout is only retried later.
REQUEST_TIMEOUT = 5.0


def record_short_links(
    session: Session, workspace_id: int, links: Iterable[tuple[int, str]]
) -> int:
    """Remember (post id, canonical short link) pairs of the workspace; new links start
    ``pending``. Idempotent: returns how many links were not known before."""
    pairs = list(dict.fromkeys(links))
    if not pairs:
        return 0
    now = utcnow()
    urls = sorted({url for _post, url in pairs})
    conn = session.connection()

    def known() -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in chunks(urls, 500):
            found.update(
                (url, resolution_id)
                for url, resolution_id in conn.execute(
                    select(LinkResolution.short_url, LinkResolution.id).where(
                        LinkResolution.short_url.in_(chunk)
                    )
                )
            )
        return found

    before = known()
    fresh = [
        {
            "short_url": url,
            "shortener": link_domain(url) or "",
            "status": "pending",
            "hops": 0,
            "attempts": 0,
            "created_at": now,
        }
        for url in urls
        if url not in before
    ]
    for part in chunks(fresh, 500):
        conn.execute(insert_ignoring_conflicts(session, RESOLUTIONS), part)
    ids = known() if fresh else before
    rows = [
        {"resolution_id": ids[url], "post_id": post_id, "workspace_id": workspace_id}
        for post_id, url in pairs
    ]
    for part in chunks(rows, 500):
        conn.execute(insert_ignoring_conflicts(session, LINK_POSTS), part)
    return len(fresh)


def claim_due(
    session: Session, limit: int, *, workspace_id: int | None = None, now: datetime | None = None
) -> list[tuple[int, str]]:
    """Pending links whose time has come (of one workspace's posts when given), oldest first,
    leased for ``CLAIM_LEASE`` so a second resolver does not take them too."""
    now = now or utcnow()
    query = (
        select(LinkResolution.id, LinkResolution.short_url)
        .where(
            LinkResolution.status == "pending",
            (LinkResolution.next_attempt_at.is_(None)) | (LinkResolution.next_attempt_at <= now),
        )
        .order_by(LinkResolution.id)
        .limit(limit)
    )
    if workspace_id is not None:
        query = query.where(
            select(LinkResolutionPost.post_id)
            .where(
                LinkResolutionPost.workspace_id == workspace_id,
                LinkResolutionPost.resolution_id == LinkResolution.id,
            )
            .exists()
        )
    due = [(int(i), str(u)) for i, u in session.execute(query)]
    if due:
        session.execute(
            update(LinkResolution)
            .where(LinkResolution.id.in_([i for i, _ in due]))
            .values(next_attempt_at=now + CLAIM_LEASE)
            .execution_options(synchronize_session=False)
        )
    return due


def record_outcome(
    session: Session, resolution_id: int, outcome: Resolved, now: datetime | None = None
) -> str:
    """Store how following the link ended; a transient failure waits its retry (the last one
    ends ``failed``). Returns the link's new status."""
    now = now or utcnow()
    found = session.get(LinkResolution, resolution_id)
    if found is None or found.status != "pending":
        return found.status if found is not None else "gone"
    found.attempts += 1
    found.hops = outcome.hops
    found.error = outcome.error[:2000] if outcome.error else None
    if outcome.status == "retry":
        if found.attempts >= MAX_ATTEMPTS:
            found.status = "failed"
            found.next_attempt_at = None
        else:
            wait = RETRY_AFTER[found.attempts - 1]
            if outcome.retry_after is not None:
                wait = max(wait, timedelta(seconds=outcome.retry_after))
            found.next_attempt_at = now + wait
        return found.status
    found.status = outcome.status
    found.next_attempt_at = None
    found.resolved_at = now
    found.http_status = outcome.http_status
    if outcome.status == "resolved" and outcome.final_url is not None:
        found.final_url = outcome.final_url
        found.final_domain = link_domain(outcome.final_url)
    return found.status


@dataclass
class ResolveResult:
    """What one resolving run did; ``resolved`` lists the links now leading somewhere."""

    tried: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    resolved: list[int] = field(default_factory=list)


async def resolve_due(
    engine: Engine,
    settings: Settings,
    *,
    limit: int = 20,
    workspace_id: int | None = None,
    pacer: HostPacer | None = None,
    timeout: float | None = None,
) -> ResolveResult:
    """Claim up to ``limit`` due links, follow them (no transaction open meanwhile), record
    each outcome. The pacer spaces the requests to every host, across runs when it is kept."""
    pacer = pacer or HostPacer()
    if timeout is None:
        timeout = min(REQUEST_TIMEOUT, settings.http_timeout_seconds)
    with transaction(engine) as session:
        due = claim_due(session, limit, workspace_id=workspace_id)
    result = ResolveResult(tried=len(due))
    if not due:
        return result
    gate = asyncio.Semaphore(CONCURRENCY)
    async with SafeHTTP(settings) as http:

        async def follow(url: str) -> Resolved:
            async with gate:
                return await resolve_link(http, url, pacer=pacer, timeout=timeout)

        outcomes = await asyncio.gather(*(follow(url) for _id, url in due))
    with transaction(engine) as session:
        for (resolution_id, _url), outcome in zip(due, outcomes, strict=True):
            status = record_outcome(session, resolution_id, outcome)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status == "resolved":
                result.resolved.append(resolution_id)
    return result
