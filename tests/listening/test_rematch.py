"""Re-matching a topic after its rule changed: its matches and every rollup derived from them
end up as a backfill into a new topic with that rule would record them, once, while live
ingest goes on beside it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Table, func, select
from sqlalchemy.orm import Session

from hubbub.core.items import AuthorRef, PostItem, RawEvent
from hubbub.inbox.actions import open_conversations_for
from hubbub.inbox.models import Conversation, ConversationPost
from hubbub.listening.actions import (
    Matched,
    add_topic,
    backfill,
    get_topic,
    record_matches,
    rematch_topic,
    update_topic,
)
from hubbub.listening.document import Document
from hubbub.listening.enrichment import Candidate, Enrichment
from hubbub.listening.models import (
    AuthorRollup,
    HourlyRollup,
    HourlyRollupAuthor,
    TermRollup,
    Topic,
    TopicMatch,
)
from hubbub.listening.queries import period_figures
from hubbub.posts.models import Author, Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.listening.ingesting import ingest, native, post
from tests.support.factories import BASE_TIME

pytestmark = pytest.mark.db

TABLES = (TopicMatch, HourlyRollup, HourlyRollupAuthor, TermRollup, AuthorRollup)
NARROW = "acme AND NOT stock"
TEXTS = [
    ("Love my acme rocket skates", "amira", ["en"]),
    ("acme stock is down again today", "bruno", ["en"]),
    ("acme is great, globex is awful", "chen", ["en"]),
    ("globex rocket launch went fine", "amira", ["en"]),
    ("Acme stock split announced #acme", "chen", ["en"]),
    ("nothing to see here", "bruno", ["en"]),
    ("How do I get a refund for my acme order?", "bruno", ["en"]),
    ("acme Aktie fällt, stock minus", "amira", ["de"]),
]


def _events(first: int = 0, texts: list[tuple[str, str, list[str]]] = TEXTS) -> list[RawEvent]:
    return [
        post(
            n,
            text,
            author=author,
            langs=langs,
            likes=n,
            hashtags=[],
            created_at=(BASE_TIME + timedelta(minutes=53 * n)).isoformat(),
        )
        for n, (text, author, langs) in enumerate(texts * 2, start=first)
    ]


def _topics(engine: Engine, workspace_id: int, acme: str) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "acme", acme, "brand")
        add_topic(session, workspace_id, "globex", "globex", "competitor")


def state(engine: Engine, workspace_id: int, name: str) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of the topic's matches and rollups, posts and authors by their native ids (so
    two workspaces compare), without the topic and workspace ids."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    with Session(engine) as session:
        topic_id = get_topic(session, workspace_id, name).id
        for model in TABLES:
            table: Table = model.__table__  # type: ignore[assignment]
            columns = [c for c in table.c if c.name not in ("topic_id", "workspace_id")]
            query = select(*columns).where(table.c.topic_id == topic_id)
            names = [c.name for c in columns]
            rows = set()
            for row in session.execute(query):
                values = dict(zip(names, row, strict=True))
                if "post_id" in values:
                    values["post_id"] = session.get(Post, values["post_id"]).native_id  # type: ignore[union-attr]
                if values.get("author_id") is not None:
                    values["author_id"] = session.get(Author, values["author_id"]).native_id  # type: ignore[union-attr]
                rows.add(tuple(sorted(values.items())))
            out[table.name] = rows
    return out


def texts_matched(engine: Engine, workspace_id: int, name: str) -> set[str]:
    with Session(engine) as session:
        topic_id = get_topic(session, workspace_id, name).id
        return set(
            session.scalars(
                select(Post.text)
                .join(TopicMatch, TopicMatch.post_id == Post.id)
                .where(TopicMatch.topic_id == topic_id)
            )
        )


def dashboard_count(engine: Engine, workspace_id: int, name: str) -> int:
    """The topic's posts over the whole test period, as the dashboards count them."""
    with Session(engine) as session:
        topic_id = get_topic(session, workspace_id, name).id
        start = BASE_TIME - timedelta(days=1)
        return period_figures(session, topic_id, start, start + timedelta(days=5)).posts


def _rematch(engine: Engine, workspace_id: int, name: str, **options: Any) -> Any:
    with Session(engine) as session:
        return rematch_topic(session, workspace_id, name, **options)


def _edit(engine: Engine, workspace_id: int, name: str, rule: str) -> None:
    with transaction(engine) as session:
        update_topic(session, workspace_id, name, rule=rule)


def _fresh(engine: Engine, settings: Settings, slug: str, events: list[RawEvent], rule: str) -> int:
    """A workspace that stores ``events`` before its topics, then backfills them."""
    with transaction(engine) as session:
        workspace_id = ensure_workspace(session, slug).id
    ingest(engine, settings, workspace_id, events)  # no topics yet: everything is kept
    _topics(engine, workspace_id, rule)
    with Session(engine) as session:
        backfill(session, workspace_id)
    return workspace_id


def _pending(engine: Engine, workspace_id: int, name: str) -> bool:
    with Session(engine) as session:
        return get_topic(session, workspace_id, name).rematch_requested_at is not None


def test_narrowing_drops_posts_from_matches_and_every_rollup(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    _topics(engine, workspace_id, "acme")
    ingest(engine, settings, workspace_id, _events(), keep="all")
    globex = state(engine, workspace_id, "globex")
    assert any("stock" in t for t in texts_matched(engine, workspace_id, "acme"))
    wide = dashboard_count(engine, workspace_id, "acme")

    _edit(engine, workspace_id, "acme", NARROW)
    assert _pending(engine, workspace_id, "acme")
    result = _rematch(engine, workspace_id, "acme", page=3)
    assert result.done and not _pending(engine, workspace_id, "acme")

    matched = texts_matched(engine, workspace_id, "acme")
    assert matched and not any("stock" in t for t in matched)
    narrowed = state(engine, workspace_id, "acme")
    terms = {dict(row)["term"] for row in narrowed["term_rollups"]}
    assert "stock" not in terms and "skates" in terms
    assert dashboard_count(engine, workspace_id, "acme") == len(narrowed["topic_matches"]) < wide
    authors = {dict(row)["author_id"] for row in narrowed["author_rollups"]}
    assert authors == {dict(row)["author_id"] for row in narrowed["topic_matches"]}
    assert state(engine, workspace_id, "globex") == globex  # other topics are left alone

    fresh = _fresh(engine, settings, "fresh", _events(), NARROW)
    assert narrowed == state(engine, fresh, "acme")

    again = _rematch(engine, workspace_id, "acme")  # not pending: marks it, then rebuilds
    assert again.done and state(engine, workspace_id, "acme") == narrowed


def test_widening_brings_older_posts_in(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    _topics(engine, workspace_id, NARROW)
    ingest(engine, settings, workspace_id, _events(), keep="all")
    assert not any("stock" in t for t in texts_matched(engine, workspace_id, "acme"))
    narrow = dashboard_count(engine, workspace_id, "acme")

    _edit(engine, workspace_id, "acme", "acme")
    _rematch(engine, workspace_id, "acme", page=4)
    assert any("stock" in t for t in texts_matched(engine, workspace_id, "acme"))
    assert dashboard_count(engine, workspace_id, "acme") > narrow
    fresh = _fresh(engine, settings, "fresh", _events(), "acme")
    assert state(engine, workspace_id, "acme") == state(engine, fresh, "acme")


def test_interrupted_rematch_resumes_and_live_posts_count_once(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """Live ingest between pages records nothing for the topic; the re-match records those
    posts itself, so nothing is lost or counted twice, and a stopped run resumes."""
    _topics(engine, workspace_id, "acme")
    ingest(engine, settings, workspace_id, _events(), keep="all")
    _edit(engine, workspace_id, "acme", NARROW)

    first = _rematch(engine, workspace_id, "acme", page=2, max_pages=4)  # inside the deletes
    assert not first.done and _pending(engine, workspace_id, "acme")
    later = _events(first=100)
    ingest(engine, settings, workspace_id, later[:6], keep="all")
    second = _rematch(engine, workspace_id, "acme", page=2, max_pages=8)  # inside the posts
    assert not second.done and second.posts
    ingest(engine, settings, workspace_id, later[6:], keep="all")
    assert "How do I get a refund for my acme order?" not in texts_matched(
        engine, workspace_id, "acme"
    )  # the newest posts wait for the re-match
    _stale_batch(engine, settings, workspace_id, 300, "acme stock, matched before the edit")
    assert _rematch(engine, workspace_id, "acme", page=2).done
    ingest(engine, settings, workspace_id, _events(first=200)[:3], keep="all")  # live again

    stale = post(300, "acme stock, matched before the edit", created_at=BASE_TIME.isoformat())
    fresh = _fresh(
        engine, settings, "fresh", [*_events(), *later, stale, *_events(first=200)[:3]], NARROW
    )
    assert state(engine, workspace_id, "acme") == state(engine, fresh, "acme")
    assert state(engine, workspace_id, "globex") == state(engine, fresh, "globex")


def _stale_batch(engine: Engine, settings: Settings, workspace_id: int, n: int, text: str) -> None:
    """A post stored now whose batch was matched under the old rule (a prepare step ahead of
    the writer): the writer gets the old verdict for a topic waiting for its re-match."""
    event = post(n, text, created_at=BASE_TIME.isoformat())
    ingest(engine, settings, workspace_id, [event], keep="all")
    item = PostItem(
        native_id=native(n), author=AuthorRef(native_id=""), created_at=BASE_TIME, text=text
    )
    with transaction(engine) as session:
        acme = get_topic(session, workspace_id, "acme").id
        stale = Matched(
            "bluesky", native(n), (acme,), 0, candidate=Candidate(item, Document(text=text))
        )
        assert record_matches(session, workspace_id, [stale], Enrichment()).matches == 0


def test_an_edit_during_a_rematch_starts_it_over(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    _topics(engine, workspace_id, "acme")
    ingest(engine, settings, workspace_id, _events(), keep="all")
    _edit(engine, workspace_id, "acme", "acme AND stock")
    _rematch(engine, workspace_id, "acme", page=2, max_pages=7)
    _edit(engine, workspace_id, "acme", NARROW)
    with Session(engine) as session:
        assert get_topic(session, workspace_id, "acme").rematch_cursor is None
    assert _rematch(engine, workspace_id, "acme", page=3).done
    fresh = _fresh(engine, settings, "fresh", _events(), NARROW)
    assert state(engine, workspace_id, "acme") == state(engine, fresh, "acme")


def test_kind_or_state_edits_do_not_rematch(engine: Engine, workspace_id: int) -> None:
    _topics(engine, workspace_id, "acme")
    with transaction(engine) as session:
        update_topic(session, workspace_id, "acme", rule="acme", kind="product", active=False)
    assert not _pending(engine, workspace_id, "acme")


def test_inbox_conversations_survive(engine: Engine, settings: Settings, workspace_id: int) -> None:
    _topics(engine, workspace_id, "acme")
    ingest(engine, settings, workspace_id, _events(), keep="all")
    with transaction(engine) as session:
        ids = list(session.scalars(select(Post.id).where(Post.workspace_id == workspace_id)))
        opened = open_conversations_for(session, workspace_id, ids)
    assert opened
    with Session(engine) as session:
        before = set(
            session.execute(select(ConversationPost.conversation_id, ConversationPost.post_id))
        )

    _edit(engine, workspace_id, "acme", "acme AND stock")  # the refund question drops out
    assert _rematch(engine, workspace_id, "acme").done
    assert "How do I get a refund for my acme order?" not in texts_matched(
        engine, workspace_id, "acme"
    )
    with Session(engine) as session:
        after = set(
            session.execute(select(ConversationPost.conversation_id, ConversationPost.post_id))
        )
        count = session.scalar(select(func.count()).select_from(Conversation))
    assert after == before and count == len({c for c, _ in before})


def test_a_removed_topic_cannot_be_rematched(engine: Engine, workspace_id: int) -> None:
    _topics(engine, workspace_id, "acme")
    with Session(engine) as session, pytest.raises(Exception, match="no topic"):
        rematch_topic(session, workspace_id, "nope")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Topic)) == 2
