"""Writes of corrections: record one, relabel what counts the post (``relabel``), and refit the
workspace's calibration after it.

The listening layer cannot import accounts, so the caller (web or CLI) writes the audit entry
in the same transaction; ``hubbub.web.accuracy.correct`` is that one caller for the web.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.enrich.sentiment import LABELS, default_model
from hubbub.enrich.sentiment.calibration import Report, calibrate
from hubbub.listening.corrections.models import EnrichmentCorrection, SentimentCalibration
from hubbub.listening.corrections.queries import INTENTS, label_corrections, model_verdicts
from hubbub.listening.corrections.relabel import relabel_post
from hubbub.listening.models import PostEnrichment
from hubbub.posts.models import Post


def scored_text(post: Post) -> str:
    """The text the scorers read, as ``listening.enrichment.post_text`` builds it."""
    return f"{post.title}\n{post.text}" if post.title else post.text


def check_label(label: str) -> str:
    if label not in LABELS:
        raise Rejected(
            "invalid_label", f"{label!r} is not a sentiment label; use {', '.join(LABELS)}"
        )
    return label


def check_intents(intents: Sequence[str]) -> list[str]:
    """Known intents, de-duplicated in the order given."""
    unknown = [i for i in intents if i not in INTENTS]
    if unknown:
        raise Rejected(
            "invalid_intent",
            f"{', '.join(repr(i) for i in unknown)} not an intent; use {', '.join(INTENTS)}",
        )
    return list(dict.fromkeys(intents))


def correct_post(
    session: Session,
    workspace_id: int,
    post_id: int,
    *,
    label: str | None = None,
    intents: Sequence[str] | None = None,
    user_id: int | None = None,
    token_id: int | None = None,
) -> EnrichmentCorrection:
    """Record a correction of an enriched post of this workspace; a label correction also
    becomes the post's stored sentiment and moves its rollup counts (``relabel.relabel_post``),
    then the calibration is refitted.

    The correction keeps what the model said: the stored enrichment's label and score, or,
    once a correction rewrote them, those the post's first correction recorded. Raises
    ``Rejected("no_post")`` for a post that is not this workspace's or has no enrichment,
    ``invalid_label`` / ``invalid_intent`` / ``nothing_to_correct`` otherwise.
    """
    if label is None and intents is None:
        raise Rejected("nothing_to_correct", "give a sentiment label, intents, or both")
    checked_label = check_label(label) if label is not None else None
    checked_intents = check_intents(intents) if intents is not None else None
    # The post's row is locked (PostgreSQL): a match being recorded for it meanwhile (its
    # foreign key takes a key-share lock) commits before this reads the matches, or waits and
    # then reads the relabelled enrichment.
    found = session.execute(
        select(Post, PostEnrichment)
        .join(PostEnrichment, PostEnrichment.post_id == Post.id)
        .where(Post.id == post_id, Post.workspace_id == workspace_id)
        .where(PostEnrichment.workspace_id == workspace_id)
        .with_for_update(of=Post)
    ).first()
    if found is None:
        raise Rejected("no_post", f"no enriched post {post_id} in this workspace")
    post, enrichment = found
    proba = default_model().proba([scored_text(post)])[0]
    model_label, model_score = model_verdicts(
        session, workspace_id, [post_id], corrected_label=False
    ).get(post_id, (enrichment.sentiment_label, enrichment.sentiment_score))
    correction = EnrichmentCorrection(
        workspace_id=workspace_id,
        post_id=post_id,
        user_id=user_id,
        token_id=token_id,
        created_at=utcnow(),
        label=checked_label,
        intents=checked_intents,
        model_label=model_label,
        model_score=model_score,
        model_intents=list(enrichment.intents or []),
        model_proba=[round(float(p), 6) for p in proba],
    )
    session.add(correction)
    session.flush()
    if checked_label is not None:
        relabel_post(
            session, workspace_id, post, enrichment, checked_label, model_label, model_score
        )
        refit_calibration(session, workspace_id)
    return correction


def refit_calibration(session: Session, workspace_id: int) -> Report:
    """Fit from the latest label correction of every post and store the result (applied or
    not, with the reason) as the workspace's calibration."""
    rows = label_corrections(session, workspace_id)
    post_ids = [r.post_id for r in rows]
    proba = np.array([r.proba for r in rows], dtype=np.float64).reshape(len(rows), 3)
    truth = np.array([LABELS.index(r.label) for r in rows], dtype=np.int64)
    report = calibrate(post_ids, proba, truth)
    stored = session.get(SentimentCalibration, workspace_id)
    if stored is None:
        stored = SentimentCalibration(workspace_id=workspace_id, version=0)
        session.add(stored)
    stored.version = (stored.version or 0) + 1
    stored.fitted_at = utcnow()
    stored.applied = report.applied
    stored.report = report.to_dict()
    session.flush()
    return report
