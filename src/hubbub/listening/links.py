"""Short links of stored posts: collected for resolving, and once resolved, shown as the domain
they lead to in the posts' entities and search entries (``hubbub.enrich.links`` resolves).

Live matching never waits for a resolution: a topic rule sees a post as it arrives. Search,
topic backfills and the stored entities read ``link_resolutions`` and so see the resolved
domain from the moment it is known.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hubbub.enrich.links.actions import record_short_links
from hubbub.enrich.links.models import LinkResolutionPost
from hubbub.enrich.links.queries import posts_with_resolved_links, resolved_for_posts
from hubbub.enrich.links.shorteners import SHORTENERS, short_key
from hubbub.listening.document import urls_in
from hubbub.listening.models import PostEnrichment
from hubbub.listening.search_index import (
    AUTHOR_COLUMNS,
    POST_COLUMNS,
    author_of,
    document_for,
    index_posts,
)
from hubbub.posts.models import Author, Post
from hubbub.store.dialect import chunks, unindexed


@dataclass
class Collected:
    """One collecting step: posts read, short links found, links not known before, and the
    highest post id read (the caller's cursor)."""

    scanned: int = 0
    links: int = 0
    new: int = 0
    last_id: int = 0
    refreshed: int = 0  # posts whose links were resolved already (seen on earlier posts)


def collect_short_links(
    session: Session,
    workspace_id: int,
    after_id: int,
    *,
    batch: int = 1_000,
    known: frozenset[str] = SHORTENERS,
) -> Collected:
    """Record the short links (of the ``known`` shorteners) of the workspace's next ``batch``
    posts after ``after_id``; idempotent, so a cursor looked back costs only reading."""
    rows = session.execute(
        select(Post.id, Post.links, Post.title, Post.text)
        .where(
            unindexed(Post.workspace_id) == workspace_id,
            Post.id > after_id,
            Post.deleted.is_(False),
        )
        .order_by(Post.id)
        .limit(batch)
    ).all()
    found = Collected(scanned=len(rows), last_id=rows[-1].id if rows else after_id)
    pairs: list[tuple[int, str]] = []
    for row in rows:
        for url in urls_in(row.links or (), row.title, row.text):
            key = short_key(url, known)
            if key is not None:
                pairs.append((row.id, key))
    found.links = len(dict.fromkeys(pairs))
    found.new = record_short_links(session, workspace_id, pairs)
    carrying = sorted({post_id for post_id, _url in pairs})
    if carrying and found.new < found.links:
        known_ids = posts_with_resolved_links(session, carrying)
        found.refreshed = refresh_posts(session, workspace_id, sorted(known_ids)).posts
    return found


@dataclass
class Refreshed:
    """Posts whose entities and search entries now show where their short links lead."""

    posts: int = 0
    enrichments: int = 0


def refresh_resolved_posts(session: Session, resolution_ids: Sequence[int]) -> Refreshed:
    """After links were resolved: rewrite the link domains of the posts carrying them (their
    ``entities`` and their search entry), in every workspace that has such a post."""
    result = Refreshed()
    by_workspace: dict[int, list[int]] = defaultdict(list)
    for chunk in chunks(sorted(set(resolution_ids)), 500):
        for workspace_id, post_id in session.execute(
            select(LinkResolutionPost.workspace_id, LinkResolutionPost.post_id).where(
                LinkResolutionPost.resolution_id.in_(chunk)
            )
        ):
            by_workspace[workspace_id].append(post_id)
    for workspace_id, post_ids in sorted(by_workspace.items()):
        done = refresh_posts(session, workspace_id, post_ids)
        result.posts += done.posts
        result.enrichments += done.enrichments
    return result


def refresh_posts(session: Session, workspace_id: int, post_ids: Sequence[int]) -> Refreshed:
    """Rewrite the link domains of these posts of the workspace from their links as resolved
    now: ``entities.domains`` of their enrichments, and their search entries."""
    result = Refreshed()
    for chunk in chunks(sorted(set(post_ids)), 500):
        result.posts += len(chunk)
        result.enrichments += _refresh_entities(session, workspace_id, chunk)
        index_posts(session, workspace_id, chunk)
    return result


def _refresh_entities(session: Session, workspace_id: int, post_ids: list[int]) -> int:
    """Set ``entities.domains`` of these posts' enrichments from their links as resolved."""
    enrichments = {
        e.post_id: e
        for e in session.scalars(
            select(PostEnrichment).where(
                PostEnrichment.workspace_id == workspace_id, PostEnrichment.post_id.in_(post_ids)
            )
        )
    }
    if not enrichments:
        return 0
    rows = session.execute(
        select(*POST_COLUMNS, *AUTHOR_COLUMNS)
        .join(Author, Author.id == Post.author_id)
        .where(Post.workspace_id == workspace_id, Post.id.in_(list(enrichments)))
    ).all()
    resolved = resolved_for_posts(session, [row.id for row in rows])
    changed = 0
    for row in rows:
        enrichment = enrichments[row.id]
        domains = list(document_for(row, author_of(row), resolved).link_domains)
        if (enrichment.entities or {}).get("domains") != domains:
            enrichment.entities = {**(enrichment.entities or {}), "domains": domains}
            changed += 1
    session.flush()
    return changed
