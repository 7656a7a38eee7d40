"""The topic page's three splits from one query equal the three single splits."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.listening.actions import add_topic
from hubbub.listening.dashboard import Slice, rollup_split, rollup_splits
from hubbub.listening.models import HourlyRollup
from hubbub.store.engine import transaction

START = datetime(2026, 11, 1, tzinfo=UTC)


def test_rollup_splits_equal_each_rollup_split(engine: Engine, workspace_id: int) -> None:
    rng = random.Random(5)
    with transaction(engine) as session:
        topic_id = add_topic(session, workspace_id, "acme", "acme", "brand").id
        for hour in range(72):
            for network in ("bluesky", "mastodon", "rss"):
                for mood in ("negative", "neutral", "positive"):
                    for lang in ("en", "de", "fr"):
                        if rng.random() < 0.6:
                            session.add(
                                HourlyRollup(
                                    topic_id=topic_id,
                                    workspace_id=workspace_id,
                                    hour=START + timedelta(hours=hour),
                                    network=network,
                                    sentiment_label=mood,
                                    lang=lang,
                                    posts=rng.randrange(1, 40),
                                    unique_authors=1,
                                    potential_reach=0,
                                    engagement=0,
                                )
                            )
    slices = [Slice(), Slice(network="rss"), Slice(lang="de"), Slice(sentiment="negative")]
    with Session(engine) as session:
        for where in slices:
            for start, end in [
                (START, START + timedelta(days=3)),
                (START + timedelta(hours=5), START + timedelta(hours=29)),
            ]:
                together = rollup_splits(session, topic_id, start, end, where)
                for by in ("sentiment", "network", "lang"):
                    assert together[by] == rollup_split(session, topic_id, start, end, by, where)
                assert sum(n for _, n in together["sentiment"]) > 0
