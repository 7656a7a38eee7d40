"""Reads of ``link_resolutions``: where the short links of given posts lead, once known."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from hubbub.enrich.links.models import LinkResolution, LinkResolutionPost
from hubbub.store.dialect import chunks


def resolved_for_posts(db: Session | Connection, post_ids: Iterable[int]) -> dict[str, str]:
    """Canonical short link → the domain it leads to, for the resolved short links of these
    posts (read through the posts, so no shortener list is needed here)."""
    found: dict[str, str] = {}
    for chunk in chunks(sorted(set(post_ids)), 500):
        rows = db.execute(
            select(LinkResolution.short_url, LinkResolution.final_domain)
            .join(LinkResolutionPost, LinkResolutionPost.resolution_id == LinkResolution.id)
            .where(
                LinkResolutionPost.post_id.in_(chunk),
                LinkResolution.status == "resolved",
                LinkResolution.final_domain.is_not(None),
            )
        )
        found.update((url, domain) for url, domain in rows if domain)
    return found


def link_statuses(session: Session, workspace_id: int) -> dict[str, int]:
    """How many of the short links in the workspace's posts are in each status."""
    carried = select(LinkResolutionPost.resolution_id).where(
        LinkResolutionPost.workspace_id == workspace_id
    )
    return {
        status: int(count)
        for status, count in session.execute(
            select(LinkResolution.status, func.count())
            .where(LinkResolution.id.in_(carried))
            .group_by(LinkResolution.status)
        )
    }


def posts_with_resolved_links(db: Session | Connection, post_ids: Iterable[int]) -> set[int]:
    """Those of these posts carrying at least one resolved short link."""
    found: set[int] = set()
    for chunk in chunks(sorted(set(post_ids)), 500):
        found.update(
            db.scalars(
                select(LinkResolutionPost.post_id)
                .join(LinkResolution, LinkResolution.id == LinkResolutionPost.resolution_id)
                .where(LinkResolutionPost.post_id.in_(chunk), LinkResolution.status == "resolved")
            )
        )
    return found
