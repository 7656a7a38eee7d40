"""Reads of corrections: history pages, each post's current verdict, the calibration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hubbub.enrich import intent as intent_model
from hubbub.enrich.sentiment import LABELS
from hubbub.enrich.sentiment.calibration import Report
from hubbub.listening.corrections.models import EnrichmentCorrection, SentimentCalibration
from hubbub.listening.models import PostEnrichment, Topic, TopicMatch
from hubbub.store.dialect import chunks

# What an enriched post may list: every intent but "none" (an empty list says none).
INTENTS: tuple[str, ...] = tuple(i for i in intent_model.LABELS if i != "none")


@dataclass(frozen=True)
class LabelCorrection:
    post_id: int
    label: str
    proba: list[float]


@dataclass(frozen=True)
class Verdict:
    """A post's enrichment as the model stored it and as analysts corrected it (if they did).

    ``model_*`` are what the model said: the stored enrichment of a post never corrected, else
    the values its first correction recorded (a label correction rewrites the enrichment)."""

    post_id: int
    model_label: str
    model_score: float
    model_intents: list[str]
    label: str | None  # latest corrected label
    intents: list[str] | None  # latest corrected intents
    corrections: int
    #: (topic name, label) where the post names several topics and each got its own verdict.
    per_topic: tuple[tuple[str, str], ...] = ()

    @property
    def shown_label(self) -> str:
        return self.label if self.label is not None else self.model_label

    @property
    def shown_intents(self) -> list[str]:
        return self.intents if self.intents is not None else self.model_intents


def follows_post(own_label: str | None, model_label: str) -> bool:
    """Whether a match's own per-topic verdict gives way to its post's corrected label: it does
    when it said what the model said of the whole post (the analyst judged that reading);
    a verdict that differed from it (a mixed post, another brand judged apart) stays."""
    return own_label is not None and own_label == model_label


def model_verdicts(
    session: Session, workspace_id: int, post_ids: Sequence[int], *, corrected_label: bool = True
) -> dict[int, tuple[str, float]]:
    """The model's (label, score) of these posts as their first correction recorded it, before
    any correction rewrote ``post_enrichments``; only posts whose label was corrected unless
    ``corrected_label`` is False (then every post with a correction)."""
    out: dict[int, tuple[str, float]] = {}
    for chunk in chunks(sorted(set(post_ids))):
        first: dict[int, tuple[str, float]] = {}
        labelled: set[int] = set()
        rows = session.execute(
            select(
                EnrichmentCorrection.post_id,
                EnrichmentCorrection.label,
                EnrichmentCorrection.model_label,
                EnrichmentCorrection.model_score,
            )
            .where(
                EnrichmentCorrection.workspace_id == workspace_id,
                EnrichmentCorrection.post_id.in_(chunk),
            )
            .order_by(EnrichmentCorrection.id)
        )
        for post_id, label, model_label, model_score in rows:
            first.setdefault(post_id, (str(model_label), float(model_score)))
            if label is not None:
                labelled.add(post_id)
        out.update({p: v for p, v in first.items() if not corrected_label or p in labelled})
    return out


def label_corrections(session: Session, workspace_id: int) -> list[LabelCorrection]:
    """The latest label correction of each corrected post, by post id."""
    latest: dict[int, LabelCorrection] = {}
    rows = session.execute(
        select(
            EnrichmentCorrection.post_id,
            EnrichmentCorrection.label,
            EnrichmentCorrection.model_proba,
        )
        .where(
            EnrichmentCorrection.workspace_id == workspace_id,
            EnrichmentCorrection.label.is_not(None),
        )
        .order_by(EnrichmentCorrection.id)
    )
    for post_id, label, proba in rows:
        latest[post_id] = LabelCorrection(post_id, str(label), [float(p) for p in proba])
    return [latest[p] for p in sorted(latest)]


def verdicts(session: Session, workspace_id: int, post_ids: Sequence[int]) -> dict[int, Verdict]:
    """Model and corrected verdicts of the given posts that have an enrichment."""
    out: dict[int, Verdict] = {}
    for chunk in chunks(sorted(set(post_ids))):
        enrichments = session.scalars(
            select(PostEnrichment).where(
                PostEnrichment.workspace_id == workspace_id, PostEnrichment.post_id.in_(chunk)
            )
        ).all()
        labels: dict[int, str] = {}
        intents: dict[int, list[str]] = {}
        counts: dict[int, int] = {}
        # A label correction rewrites the enrichment: what the model said is kept by the
        # corrections (their first one recorded it before anything was rewritten).
        said: dict[int, tuple[str, float]] = {}
        for c in session.scalars(
            select(EnrichmentCorrection)
            .where(
                EnrichmentCorrection.workspace_id == workspace_id,
                EnrichmentCorrection.post_id.in_(chunk),
            )
            .order_by(EnrichmentCorrection.id)
        ):
            counts[c.post_id] = counts.get(c.post_id, 0) + 1
            said.setdefault(c.post_id, (c.model_label, c.model_score))
            if c.label is not None:
                labels[c.post_id] = c.label
            if c.intents is not None:
                intents[c.post_id] = list(c.intents)
        per_topic: dict[int, list[tuple[str, str]]] = {}
        for post_id, name, label in session.execute(
            select(TopicMatch.post_id, Topic.name, TopicMatch.sentiment_label)
            .join(Topic, Topic.id == TopicMatch.topic_id)
            .where(
                TopicMatch.workspace_id == workspace_id,
                TopicMatch.post_id.in_(chunk),
                TopicMatch.sentiment_label.is_not(None),
            )
        ):
            per_topic.setdefault(post_id, []).append((name, str(label)))
        for e in enrichments:
            model_label, model_score = said.get(e.post_id, (e.sentiment_label, e.sentiment_score))
            out[e.post_id] = Verdict(
                post_id=e.post_id,
                model_label=model_label,
                model_score=model_score,
                model_intents=list(e.intents or []),
                label=labels.get(e.post_id),
                intents=intents.get(e.post_id),
                corrections=counts.get(e.post_id, 0),
                per_topic=tuple(
                    sorted(per_topic.get(e.post_id, ()), key=lambda p: p[0].casefold())
                ),
            )
    return out


def page_corrections(
    session: Session, workspace_id: int, limit: int, before_id: int | None = None
) -> list[EnrichmentCorrection]:
    """Newest first, ``limit`` of them, older than ``before_id`` when given."""
    query = select(EnrichmentCorrection).where(EnrichmentCorrection.workspace_id == workspace_id)
    if before_id is not None:
        query = query.where(EnrichmentCorrection.id < before_id)
    return list(session.scalars(query.order_by(EnrichmentCorrection.id.desc()).limit(limit)))


def calibration_report(session: Session, workspace_id: int) -> Report | None:
    """The workspace's latest fit, or None before its first label correction."""
    stored = session.get(SentimentCalibration, workspace_id)
    return Report.from_dict(stored.report) if stored is not None else None


def correction_form_context(
    session: Session, workspace_id: int, post_ids: Sequence[int]
) -> dict[str, Any]:
    """What a page listing posts needs to show their sentiment and the correction form."""
    return {
        "verdicts": verdicts(session, workspace_id, post_ids),
        "sentiment_labels": LABELS,
        "intent_labels": INTENTS,
    }
