"""The demo's alerts: a sample playbook and a replay of the stored history through the detectors.

The live worker starts its detectors at the newest match (they learn baselines as posts
arrive), so a freshly loaded demo would show no alert. Replaying the history once, oldest
first, through the same `AlertEngine` and `handle_alert` as the worker makes the crisis day
raise its alerts and the sample playbook run, as they would have live. Detector settings are
scaled to the demo's volume (a few hundred posts a day, hourly buckets); both steps are
idempotent (alerts are stored once per key, a playbook runs once per alert).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.alerts.actions import add_playbook, handle_alert
from hubbub.alerts.engine import AlertEngine, TopicAlertConfig
from hubbub.alerts.playbooks import parse_playbook
from hubbub.alerts.queries import playbook
from hubbub.alerts.signals import Mention
from hubbub.listening.models import PostEnrichment, Topic, TopicMatch, match_sentiment
from hubbub.posts.models import Author, Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction

_HOURLY = {"bucket_seconds": 3600}
DEMO_ALERT_SETTINGS: dict[str, Any] = {
    "volume": {**_HOURLY, "window": 168, "min_volume": 10, "cooldown_seconds": 12 * 3600},
    "volume_by_sentiment": {
        **_HOURLY,
        "window": 168,
        "min_volume": 8,
        "cooldown_seconds": 12 * 3600,
    },
    "terms": {**_HOURLY, "window": 72, "min_history_posts": 100, "min_count": 6},
    "sentiment": {
        **_HOURLY,
        "window": 168,
        "min_history_posts": 100,
        "min_volume": 10,
        "cooldown_seconds": 12 * 3600,
    },
    "influence": {"min_followers": 50_000, "sentiments": ["negative"], "cooldown_seconds": 86_400},
}
"""The detectors' settings for the demo's scale (the defaults expect 50+ posts per 5 minutes)."""


@dataclass(frozen=True)
class DemoAlerts:
    mentions: int
    alerts: int
    playbook_runs: int


def sample_playbook() -> str:
    """The YAML of the demo's playbook, shipped with the package."""
    return files("hubbub.demo").joinpath("playbook.yaml").read_text(encoding="utf-8")


def add_sample_playbook(engine: Engine, workspace_id: int) -> None:
    """Add the sample playbook unless one of its name exists (a user's edits are kept)."""
    source = sample_playbook()
    with transaction(engine) as session:
        if playbook(session, workspace_id, parse_playbook(source).name) is None:
            add_playbook(session, workspace_id, source)


def history_mentions(session: Session, workspace_id: int) -> Iterator[Mention]:
    """Every stored topic match of the workspace as a `Mention`, oldest post first."""
    rows = session.execute(
        select(
            Topic.name,
            Post.created_at,
            Post.text,
            Post.url,
            Post.native_id,
            Post.network,
            Post.hashtags,
            Author.handle,
            Author.native_id.label("author_id"),
            Author.followers,
            match_sentiment().label("sentiment_label"),
        )
        .select_from(TopicMatch)
        .join(Topic, Topic.id == TopicMatch.topic_id)
        .join(Post, Post.id == TopicMatch.post_id)
        .join(Author, Author.id == Post.author_id)
        .outerjoin(PostEnrichment, PostEnrichment.post_id == Post.id)
        .where(TopicMatch.workspace_id == workspace_id)
        .order_by(Post.created_at, Post.id, Topic.name)
    )
    for row in rows:
        yield Mention(
            time=row.created_at.timestamp(),
            topic=row.name,
            text=row.text or "",
            post=row.url or row.native_id,
            author=row.handle or row.author_id,
            followers=row.followers or 0,
            network=row.network,
            sentiment=row.sentiment_label or "neutral",
            hashtags=tuple(row.hashtags or ()),
        )


def replay_alerts(engine: Engine, settings: Settings, workspace_id: int) -> DemoAlerts:
    """Run the stored history through the detectors; store each alert and run playbooks."""
    detectors = AlertEngine(TopicAlertConfig.from_mapping(DEMO_ALERT_SETTINGS))
    with Session(engine) as session:
        mentions = list(history_mentions(session, workspace_id))
    alerts = runs = 0
    with transaction(engine) as session:
        for mention in mentions:
            for alert in detectors.observe(mention):
                alerts += 1
                runs += len(handle_alert(session, workspace_id, alert.as_dict(), settings))
    return DemoAlerts(mentions=len(mentions), alerts=alerts, playbook_runs=runs)
