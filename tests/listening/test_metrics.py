"""Funnel metrics from the rollups equal direct counts over the stored matches."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hubbub.cli.app import app
from hubbub.listening.actions import add_topic, get_topic
from hubbub.listening.metrics import compare
from hubbub.listening.models import PostEnrichment, TopicMatch
from hubbub.settings import Settings, get_settings
from hubbub.store.engine import transaction
from tests.listening.ingesting import ingest, post
from tests.support.factories import BASE_TIME
from tests.support.terminal import at_columns, fits

DAY = 24 * 60  # minutes: post n is dated BASE_TIME + n minutes


def _load(engine: Engine, settings: Settings, workspace_id: int) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", '"rocket skates"', "brand")
        add_topic(session, workspace_id, "voltaro", "voltaro", "competitor")
    ingest(
        engine,
        settings,
        workspace_id,
        [
            post(10, "My rocket skates arrived, I love them"),  # the day before
            post(DAY + 10, "Still love my rocket skates"),  # Amira returns
            post(DAY + 20, "These rocket skates broke after a week", author="bruno"),  # new
            post(DAY + 30, "Voltaro skates look better", author="chen"),  # a rival's mention
        ],
    )


def test_funnel_of_a_period_against_the_one_before(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    _load(engine, settings, workspace_id)
    with Session(engine) as session:
        topic = get_topic(session, workspace_id, "skates")
        current, previous = compare(session, topic, BASE_TIME + timedelta(days=2), days=1)
        positive = session.scalar(
            select(func.count())
            .select_from(TopicMatch)
            .join(PostEnrichment, PostEnrichment.post_id == TopicMatch.post_id)
            .where(
                TopicMatch.topic_id == topic.id,
                TopicMatch.created_at >= current.start,
                PostEnrichment.sentiment_label == "positive",
            )
        )
    assert (current.mentions, current.unique_authors) == (2, 2)
    assert (current.returning_authors, current.new_authors) == (1, 1)
    assert current.returning_share == 0.5
    assert current.share_of_voice == pytest.approx(2 / 3)
    assert current.positive_share == positive / 2
    assert (previous.mentions, previous.returning_authors, previous.new_authors) == (1, 0, 1)
    assert previous.share_of_voice == 1.0  # the rival was not mentioned that day


def test_topic_metrics_command_prints_both_periods(
    engine: Engine,
    settings: Settings,
    workspace_id: int,
    db_url: str,
    tmp_path,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _load(engine, settings, workspace_id)
    monkeypatch.setenv("HUBBUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HUBBUB_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        until = (BASE_TIME + timedelta(days=2)).isoformat()
        result = CliRunner().invoke(
            app,
            ["topic", "metrics", "skates", "-w", "acme", "--days", "1", "--until", until, "--json"],
        )
        bad = CliRunner().invoke(
            app, ["topic", "metrics", "skates", "-w", "acme", "--until", "soon"]
        )
        table = fits(at_columns(80, "topic", "metrics", "skates", "-w", "acme", "--days", "1",
                                "--until", until))  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["current"]["mentions"], report["previous"]["mentions"]) == (2, 1)
    assert bad.exit_code == 1 and "--until 'soon' is not an ISO date" in bad.stderr
    mentions = next(line for line in table.splitlines() if "mentions" in line)
    assert [cell.strip() for cell in mentions.split("│")[2:5]] == ["2", "1", "+100%"]
    assert "last 1 d" in table and "1 d before" in table
