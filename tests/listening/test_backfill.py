"""Backfill stores exactly what live matching stores, and only once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.listening.actions import backfill
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.listening.ingesting import ingest, matches, post, rollups, topics
from tests.support.factories import BASE_TIME

RULES = {"skates": '"rocket skates" OR skates*', "globex": "globex NOT lang:de"}


def _events() -> list:  # type: ignore[type-arg]
    texts = [
        ("Rocket skates are great", "amira", ["en"]),
        ("globex sucks, their support never answers", "bruno", ["en"]),
        ("Globex ist toll", "chen", ["de"]),
        ("skateboard shop opening today!", "chen", ["en"]),
        ("nothing here", "amira", ["en"]),
        ("I hate my rocket skates", "bruno", []),
    ]
    return [
        post(
            n,
            text,
            author=author,
            langs=langs,
            likes=n,
            hashtags=[],
            created_at=(BASE_TIME + timedelta(minutes=37 * n)).isoformat(),
        )
        for n, (text, author, langs) in enumerate(texts * 2)
    ]


def test_backfill_equals_live_and_is_idempotent(engine: Engine, settings: Settings) -> None:
    with transaction(engine) as session:
        live = ensure_workspace(session, "live").id
        later = ensure_workspace(session, "later").id
    topics(engine, live, **RULES)
    ingest(engine, settings, live, _events())
    ingest(engine, settings, later, _events())  # no topics yet: everything is kept
    assert matches(engine, later) == set()
    topics(engine, later, **RULES)

    progress: list[tuple[int, int]] = []
    with Session(engine) as session:
        result = backfill(
            session, later, page=5, progress=lambda done, total: progress.append((done, total))
        )
    assert matches(engine, later) == matches(engine, live)
    assert rollups(engine, later) == rollups(engine, live)
    assert len(matches(engine, live)) == result.record.matches == 6
    assert progress[0] == (0, 12) and progress[-1] == (12, 12) and len(progress) == 4

    with Session(engine) as session:
        again = backfill(session, later)
    assert again.record.matches == 0 and again.matched_posts == 6
    assert rollups(engine, later) == rollups(engine, live)


def test_backfill_since(engine: Engine, settings: Settings, workspace_id: int) -> None:
    ingest(engine, settings, workspace_id, _events())
    topics(engine, workspace_id, **RULES)
    since = BASE_TIME + timedelta(minutes=37 * 6)  # the second half
    with Session(engine) as session:
        result = backfill(session, workspace_id, since=since)
    assert result.posts == 6
    assert {native for _, native in matches(engine, workspace_id)} == {
        f"bluesky:{a}:{n}" for n, a in [(6, "amira"), (7, "bruno"), (11, "bruno")]
    }
