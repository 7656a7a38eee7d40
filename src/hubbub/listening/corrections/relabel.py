"""An analyst's label correction reaches what the dashboards count.

In the correction's transaction (``actions.correct_post``): the post's stored sentiment
(``post_enrichments``) becomes the corrected label, the per-topic verdicts that said what the
model said of the whole post give way to it (``queries.follows_post``), and every rollup cell
the post is counted in moves from the label it counted under to the new one: hourly rollups
with their author sets, and daily term rollups. A delta, not a rebuild: the moved amounts are
one post, its author where no other post of theirs stays in the old cell, and its reach and
engagement (docs/sentiment.md, "Corrections and per-workspace calibration").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from hubbub.listening.actions import (
    CELL,
    COUNTERS,
    ROLLUP_AUTHORS,
    ROLLUPS,
    TERM_CELL,
    TERMS,
    Cell,
    TermCell,
    _add_terms,
    _add_to_counters,
    _day,
    stored_post_terms,
)
from hubbub.listening.corrections.queries import (
    follows_post,
    label_corrections,
    model_verdicts,
)
from hubbub.listening.models import PostEnrichment, TopicMatch, match_sentiment
from hubbub.posts.models import Author, Post
from hubbub.store.dialect import chunks, insert_ignoring_conflicts

#: The score a corrected label is stored with when it is not the model's label: the analyst's
#: verdict, certain (the model's own score stays when the analyst confirms its label).
LABEL_SCORES = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
HOUR = timedelta(hours=1)


def corrected_score(label: str, model_label: str, model_score: float) -> float:
    """A score consistent with ``label``: the model's where it said the same, else the label's."""
    return model_score if label == model_label else LABEL_SCORES[label]


@dataclass(frozen=True)
class Move:
    """One match of the post counted under ``before`` until now, under ``after`` from now."""

    topic_id: int
    created_at: datetime
    network: str
    before: str
    after: str


def relabel_post(
    session: Session,
    workspace_id: int,
    post: Post,
    enrichment: PostEnrichment,
    label: str,
    model_label: str,
    model_score: float,
) -> list[Move]:
    """Store ``label`` as the post's sentiment and move its counts; returns the moves made.

    ``model_label`` / ``model_score`` are what the model said of the post (the first
    correction's record of it): per-topic verdicts equal to that label follow the post's from
    now on (their own label is cleared), the others keep theirs. Nothing moves when every
    match already counts under the label it will count under (a confirmation)."""
    matches = session.execute(
        select(
            TopicMatch.topic_id,
            TopicMatch.created_at,
            TopicMatch.network,
            TopicMatch.sentiment_label,
        ).where(TopicMatch.workspace_id == workspace_id, TopicMatch.post_id == post.id)
    ).all()
    old_label = enrichment.sentiment_label
    moves = []
    for row in matches:
        own = None if follows_post(row.sentiment_label, model_label) else row.sentiment_label
        before, after = row.sentiment_label or old_label, own or label
        if before != after:
            moves.append(Move(row.topic_id, row.created_at, row.network, before, after))
    if any(follows_post(row.sentiment_label, model_label) for row in matches):
        session.execute(
            update(TopicMatch)
            .where(
                TopicMatch.workspace_id == workspace_id,
                TopicMatch.post_id == post.id,
                TopicMatch.sentiment_label == model_label,
            )
            .values(sentiment_label=None, sentiment_score=None)
            .execution_options(synchronize_session=False)
        )
    if label != old_label:
        enrichment.sentiment_label = label
        enrichment.sentiment_score = corrected_score(label, model_label, model_score)
    session.flush()
    if moves:
        _move_hourly(session, workspace_id, post, enrichment.lang, moves)
        _move_terms(session, workspace_id, post, enrichment.lang, moves)
    return moves


def _followers(session: Session, author_id: int) -> int:
    return int(session.scalar(select(Author.followers).where(Author.id == author_id)) or 0)


def _engagement(post: Post) -> int:
    """As ``listening.actions.engagement`` reads it from a stored post (a re-match's figure)."""
    return (post.likes or 0) + (post.reshares or 0) + (post.replies or 0) + (post.quotes or 0)


def _cell_is(key: Cell) -> list[Any]:
    return [ROLLUPS.c[c] == v for c, v in zip(CELL, key, strict=True)]


def _still_there(session: Session, post: Post, key: Cell, author_id: int) -> bool:
    """Whether another match of the author still counts in the cell ``key``."""
    topic_id, hour, network, label, lang = key
    found = session.scalar(
        select(func.count())
        .select_from(TopicMatch)
        .join(Post, Post.id == TopicMatch.post_id)
        .join(PostEnrichment, PostEnrichment.post_id == TopicMatch.post_id)
        .where(
            TopicMatch.topic_id == topic_id,
            TopicMatch.created_at >= hour,
            TopicMatch.created_at < hour + HOUR,
            TopicMatch.network == network,
            TopicMatch.post_id != post.id,
            Post.author_id == author_id,
            match_sentiment() == label,
            PostEnrichment.lang == lang,
        )
    )
    return bool(found)


def _move_hourly(
    session: Session, workspace_id: int, post: Post, lang: str, moves: list[Move]
) -> None:
    """Take the post off each old hourly cell and add it to the new one.

    Reach and engagement are not kept per match: the post's are taken as a re-match would
    count them (the author's follower count and the post's engagement as stored now), never
    more than the old cell holds, and a cell left without posts gives all it holds. So the
    topic's totals never change, and the figures equal a rebuild's unless the follower or
    engagement counts changed since the match was recorded."""
    followers = _followers(session, post.author_id)
    engagement = _engagement(post)
    for move in moves:
        hour = move.created_at.replace(minute=0, second=0, microsecond=0)
        old: Cell = (move.topic_id, hour, move.network, move.before, lang)
        new: Cell = (move.topic_id, hour, move.network, move.after, lang)
        reach, engaged, authors = followers, engagement, 0
        row = session.execute(select(ROLLUPS).where(*_cell_is(old)).with_for_update()).first()
        if row is not None:
            if row.posts <= 1:
                reach, engaged = row.potential_reach, row.engagement
            else:
                reach, engaged = min(reach, row.potential_reach), min(engaged, row.engagement)
            gone = not _still_there(session, post, old, post.author_id)
            author_is = [ROLLUP_AUTHORS.c[c] == v for c, v in zip(CELL, old, strict=True)]
            if row.posts <= 1:
                session.execute(delete(ROLLUPS).where(*_cell_is(old)))
                session.execute(delete(ROLLUP_AUTHORS).where(*author_is))
            else:
                if gone:
                    removed = session.execute(
                        delete(ROLLUP_AUTHORS).where(
                            *author_is, ROLLUP_AUTHORS.c.author_id == post.author_id
                        )
                    )
                    authors = int(removed.rowcount)  # type: ignore[attr-defined]
                session.execute(
                    update(ROLLUPS)
                    .where(*_cell_is(old))
                    .values(
                        posts=ROLLUPS.c.posts - 1,
                        unique_authors=ROLLUPS.c.unique_authors - authors,
                        potential_reach=ROLLUPS.c.potential_reach - reach,
                        engagement=ROLLUPS.c.engagement - engaged,
                    )
                )
        added = session.execute(
            insert_ignoring_conflicts(session, ROLLUP_AUTHORS).returning(ROLLUP_AUTHORS.c.hour),
            [dict(zip(CELL, new, strict=True)) | {"author_id": post.author_id}],
        ).all()
        _add_to_counters(
            session,
            [
                dict(zip(CELL, new, strict=True))
                | {"workspace_id": workspace_id}
                | dict(zip(COUNTERS, (1, len(added), reach, engaged), strict=True))
            ],
        )


def _move_terms(
    session: Session, workspace_id: int, post: Post, lang: str, moves: list[Move]
) -> None:
    """Take the post's terms (read from its stored text, as ``rebuild_term_rollups`` does)
    off the old daily cells and add them to the new ones. A term a compaction already dropped
    from the old cell has nothing to take off."""
    terms = stored_post_terms(post.created_at, post.text, post.title, post.hashtags, lang)
    if not terms:
        return
    taken: list[dict[str, Any]] = []
    added: dict[TermCell, int] = defaultdict(int)
    for move in moves:
        day = _day(move.created_at)
        for term in terms:
            key = (move.topic_id, day, move.network, move.before, lang, term)
            taken.append({f"k_{c}": v for c, v in zip(TERM_CELL, key, strict=True)})
            added[(move.topic_id, day, move.network, move.after, lang, term)] += 1
    is_key = [TERMS.c[c] == bindparam(f"k_{c}") for c in TERM_CELL]
    session.execute(
        update(TERMS).where(*is_key).values(posts=TERMS.c.posts - 1),
        taken,
        execution_options={"synchronize_session": False},
    )
    session.execute(
        delete(TERMS).where(*is_key, TERMS.c.posts <= 0),
        taken,
        execution_options={"synchronize_session": False},
    )
    _add_terms(session, workspace_id, added)


def apply_corrections(session: Session, workspace_id: int) -> int:
    """Bring every post whose label an analyst corrected to its latest corrected label where
    it does not count so yet (corrections recorded before they reached the dashboards);
    returns the posts relabelled. Idempotent, in the caller's transaction."""
    latest = {c.post_id: c.label for c in label_corrections(session, workspace_id)}
    said = model_verdicts(session, workspace_id, sorted(latest))
    done = 0
    for chunk in chunks(sorted(latest)):
        own = {
            (post_id, label)
            for post_id, label in session.execute(
                select(TopicMatch.post_id, TopicMatch.sentiment_label).where(
                    TopicMatch.workspace_id == workspace_id,
                    TopicMatch.post_id.in_(chunk),
                    TopicMatch.sentiment_label.is_not(None),
                )
            )
        }
        found = session.execute(
            select(Post, PostEnrichment)
            .join(PostEnrichment, PostEnrichment.post_id == Post.id)
            .where(Post.workspace_id == workspace_id, Post.id.in_(chunk))
            .with_for_update(of=Post)
        ).all()
        for post, enrichment in found:
            model_label, model_score = said[post.id]
            label = latest[post.id]
            if enrichment.sentiment_label == label and (post.id, model_label) not in own:
                continue
            relabel_post(session, workspace_id, post, enrichment, label, model_label, model_score)
            done += 1
    return done
