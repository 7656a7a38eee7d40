"""Helpers for listening tests that drive the real Ingestor: events, topics, stored rows."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.core.items import RawEvent
from hubbub.listening.actions import add_topic
from hubbub.listening.models import HourlyRollup, Topic, TopicMatch
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.sources.ingest import Ingestor, IngestResult, Target
from hubbub.store.engine import transaction
from tests.support.factories import BASE_TIME, PERSONAS, jsonl_event

CID = "bafyreiapzyf65cmq55jklpnrihiygze2jmmdqvvkwqeiomd72pbp2iazuu"
TIME_US_BASE = int(BASE_TIME.timestamp()) * 1_000_000


def post(n: int, text: str, author: str = "amira", **changes: Any) -> RawEvent:
    """A jsonl post numbered ``n`` (native id ``bluesky:AUTHOR:n``) saying ``text``."""
    return jsonl_event(n, author=author, text=text, **changes)


def native(n: int, author: str = "amira", network: str = "bluesky") -> str:
    return f"{network}:{author}:{n}"


def like(n: int, target: str, author: str = "bruno") -> RawEvent:
    """A Jetstream like of the post at ``target`` (an at:// URI)."""
    event = {
        "did": PERSONAS[author]["native_id"],
        "time_us": TIME_US_BASE + n,
        "kind": "commit",
        "commit": {
            "rev": "3mptbypcq372f",
            "operation": "create",
            "collection": "app.bsky.feed.like",
            "rkey": f"3like{n:08d}",
            "record": {
                "$type": "app.bsky.feed.like",
                "subject": {"uri": target, "cid": CID},
                "createdAt": "2026-07-04T12:00:00.000Z",
            },
        },
    }
    return RawEvent(payload=orjson.dumps(event), format="jetstream")


def topics(engine: Engine, workspace_id: int, **rules: str) -> dict[str, int]:
    """Add topics name=rule; returns their ids by name."""
    with transaction(engine) as session:
        return {
            name: add_topic(session, workspace_id, name, rule).id for name, rule in rules.items()
        }


def ingest(
    engine: Engine, settings: Settings, workspace_id: int, events: list[RawEvent], **changes: Any
) -> IngestResult:
    """One batch through a fresh Ingestor built from ``settings`` (changed by ``changes``)."""
    ingestor = Ingestor(engine, settings.model_copy(update=changes))
    return ingestor.ingest(Target(workspace_id), events)


def stored(engine: Engine, workspace_id: int) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(Post.native_id).where(Post.workspace_id == workspace_id)))


def matches(engine: Engine, workspace_id: int) -> set[tuple[str, str]]:
    """(topic name, post native id) of every stored match."""
    with Session(engine) as session:
        rows = session.execute(
            select(Topic.name, Post.native_id)
            .join(TopicMatch, TopicMatch.topic_id == Topic.id)
            .join(Post, Post.id == TopicMatch.post_id)
            .where(TopicMatch.workspace_id == workspace_id)
        )
        return {(name, native_id) for name, native_id in rows}


def rollups(engine: Engine, workspace_id: int) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """Every rollup cell (topic name, hour, network, sentiment, lang) → its counters."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                Topic.name,
                HourlyRollup.hour,
                HourlyRollup.network,
                HourlyRollup.sentiment_label,
                HourlyRollup.lang,
                HourlyRollup.posts,
                HourlyRollup.unique_authors,
                HourlyRollup.potential_reach,
                HourlyRollup.engagement,
            )
            .join(Topic, Topic.id == HourlyRollup.topic_id)
            .where(HourlyRollup.workspace_id == workspace_id)
        )
        return {tuple(row[:5]): tuple(row[5:]) for row in rows}


def count_matches(engine: Engine, topic_id: int) -> int:
    with Session(engine) as session:
        return int(
            session.scalar(
                select(func.count()).select_from(TopicMatch).where(TopicMatch.topic_id == topic_id)
            )
            or 0
        )
