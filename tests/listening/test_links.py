"""Short links of stored posts, resolved by the worker against a local redirecting server:
entities, search and topic backfills then show where the links lead."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hubbub.cli.app import app
from hubbub.core.clock import utcnow
from hubbub.core.items import RawEvent
from hubbub.enrich.links.actions import MAX_ATTEMPTS, record_outcome
from hubbub.enrich.links.models import LinkResolution, LinkResolutionPost
from hubbub.enrich.links.resolve import Resolved
from hubbub.listening.actions import add_topic, backfill
from hubbub.listening.links import collect_short_links
from hubbub.listening.models import PostEnrichment, TopicMatch
from hubbub.listening.search import search_posts
from hubbub.posts.actions import store_items
from hubbub.posts.models import Post
from hubbub.settings import Settings, get_settings
from hubbub.sources.ingest import Ingestor, Target
from hubbub.store.engine import transaction
from hubbub.worker import Pipeline
from hubbub.workspaces.actions import ensure_workspace
from tests.enrich.links.server import Hop, Redirects, redirect_server
from tests.support.factories import example_post, jsonl_line

pytestmark = pytest.mark.db


def _event(n: int, text: str, links: list[str] | None = None) -> RawEvent:
    created = (utcnow() - timedelta(minutes=60 - n)).isoformat()
    line = orjson.loads(jsonl_line(n, text=text, created_at=created, links=links or []))
    return RawEvent(payload=orjson.dumps(line), format="jsonl")


@pytest.fixture
def server() -> Redirects:
    with redirect_server() as script:
        script.routes.update(
            {
                # a short link on "127.0.0.1" leading through a hop to a page on "localhost"
                "/s/abc": Hop(301, "/go/abc"),
                "/go/abc": Hop(302, f"http://localhost:{script.port}/landing"),
                "/landing": Hop(200),
                "/s/evil": Hop(302, "http://127.0.0.2/admin"),  # loopback, not allowed
                "/s/gone": Hop(503),
            }
        )
        yield script  # type: ignore[misc]


@pytest.fixture
def shortened(settings: Settings) -> Settings:
    """The test settings with this test's server host counted as a shortener."""
    return settings.model_copy(update={"extra_shorteners": ["127.0.0.1"]})


def _entities(engine: Engine, workspace_id: int) -> dict[str, list[str]]:
    with Session(engine) as session:
        rows = session.execute(
            select(Post.native_id, PostEnrichment.entities)
            .join(PostEnrichment, PostEnrichment.post_id == Post.id)
            .where(Post.workspace_id == workspace_id)
        ).all()
    return {native_id.rsplit(":", 1)[1]: e["domains"] for native_id, e in rows}


def _found(engine: Engine, workspace_id: int, query: str) -> list[str]:
    with transaction(engine) as session:
        page = search_posts(session, workspace_id, query, limit=50)
    with Session(engine) as session:
        ids = [h.post_id for h in page.hits]
        natives = session.scalars(select(Post.native_id).where(Post.id.in_(ids))).all()
    return sorted(n.rsplit(":", 1)[1] for n in natives)


def test_the_worker_resolves_short_links_and_posts_show_where_they_lead(
    engine: Engine, shortened: Settings, workspace_id: int, server: Redirects
) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", '"rocket skates"', "product")
    Ingestor(engine, shortened).ingest(
        Target(workspace_id),
        [
            _event(1, f"rocket skates deal: {server.url('/s/abc')}."),  # written in the text
            _event(2, "rocket skates, see the link", links=[server.url("/s/abc")]),
            _event(3, "rocket skates prize!", links=[server.url("/s/evil")]),
            _event(4, "rocket skates are down?", links=[server.url("/s/gone")]),
        ],
    )
    before = _entities(engine, workspace_id)
    assert before == {n: ["127.0.0.1"] for n in ("1", "2", "3", "4")}

    pipeline = Pipeline(engine, shortened)
    first = pipeline.tick()
    assert first.errors == {} and first.links_resolved == 1

    with Session(engine) as session:
        rows = {r.short_url: r for r in session.scalars(select(LinkResolution))}
        carriers = session.execute(
            select(LinkResolutionPost.resolution_id, LinkResolutionPost.post_id)
        ).all()
    abc, evil, gone = (rows[server.url(p)] for p in ("/s/abc", "/s/evil", "/s/gone"))
    assert len(rows) == 3 and len(carriers) == 4  # one row per short link, posts apart
    assert (abc.status, abc.final_domain, abc.hops) == ("resolved", "localhost", 2)
    assert abc.final_url == f"http://localhost:{server.port}/landing"
    assert abc.resolved_at is not None and abc.shortener == "127.0.0.1"
    assert evil.status == "refused" and evil.final_domain is None
    assert "127.0.0.2" in (evil.error or "") and "/admin" not in server.paths()
    assert gone.status == "pending" and gone.attempts == 1 and gone.next_attempt_at is not None

    after = _entities(engine, workspace_id)
    assert after == {"1": ["localhost"], "2": ["localhost"], "3": ["127.0.0.1"], "4": ["127.0.0.1"]}
    assert _found(engine, workspace_id, "domain:localhost") == ["1", "2"]
    assert _found(engine, workspace_id, "domain:127.0.0.1") == ["3", "4"]

    # A later tick asks nobody again: the 503 waits its retry, the others are done.
    asked = len(server.requests)
    assert pipeline.tick().links_resolved == 0 and len(server.requests) == asked


def _landing(engine: Engine, topic_id: int) -> list[str]:
    """The posts the topic matched (by their number)."""
    with Session(engine) as session:
        matched = session.scalars(
            select(Post.native_id)
            .join(TopicMatch, TopicMatch.post_id == Post.id)
            .where(TopicMatch.topic_id == topic_id)
        ).all()
    return sorted(n.rsplit(":", 1)[1] for n in matched)


def test_a_new_post_with_a_known_link_gets_its_domain_and_backfills_match_it(
    engine: Engine, shortened: Settings, workspace_id: int, server: Redirects
) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", '"rocket skates"', "product")
    ingest = Ingestor(engine, shortened)
    ingest.ingest(Target(workspace_id), [_event(1, "rocket skates", [server.url("/s/abc")])])
    pipeline = Pipeline(engine, shortened)
    assert pipeline.tick().links_resolved == 1
    asked = len(server.requests)

    # Live matching does not wait for (or look up) resolutions: a rule on the landing domain
    # does not match a post that only carries the short link as it arrives.
    with transaction(engine) as session:
        landing = add_topic(session, workspace_id, "landing", "domain:localhost").id
    ingest.ingest(Target(workspace_id), [_event(2, "rocket skates", [server.url("/s/abc")])])
    assert _landing(engine, landing) == []
    assert _entities(engine, workspace_id)["2"] == ["127.0.0.1"]

    # The next tick records the link for post 2 and, known already, shows it: no request.
    pipeline.tick()
    assert len(server.requests) == asked
    assert _entities(engine, workspace_id)["2"] == ["localhost"]
    assert _found(engine, workspace_id, "domain:localhost") == ["1", "2"]

    # A backfill matches stored posts with what is known now.
    with Session(engine) as session:
        backfill(session, workspace_id)
    assert _landing(engine, landing) == ["1", "2"]


def test_collecting_is_idempotent_and_only_takes_known_shorteners(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    Ingestor(engine, settings).ingest(
        Target(workspace_id),
        [
            _event(1, "see https://bit.ly/AbC and https://bit.ly/AbC", ["https://t.co/xyz"]),
            _event(2, "see https://example.com/page and https://bit.ly/"),
            _event(3, "again https://BIT.ly/AbC!", []),
        ],
    )
    with transaction(engine) as session:
        first = collect_short_links(session, workspace_id, 0)
    with transaction(engine) as session:
        again = collect_short_links(session, workspace_id, 0)
    assert (first.scanned, first.links, first.new) == (3, 3, 2)
    assert (again.links, again.new) == (3, 0)
    with Session(engine) as session:
        urls = sorted(session.scalars(select(LinkResolution.short_url)))
        carriers = session.execute(select(LinkResolutionPost.post_id)).all()
    assert urls == ["https://bit.ly/AbC", "https://t.co/xyz"]
    assert len(carriers) == 3


def test_transient_failures_retry_with_backoff_then_fail(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    Ingestor(engine, settings).ingest(Target(workspace_id), [_event(1, "https://bit.ly/x1")])
    with transaction(engine) as session:
        collect_short_links(session, workspace_id, 0)
        link_id = session.scalars(select(LinkResolution.id)).one()
    now = utcnow()
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with transaction(engine) as session:
            status = record_outcome(
                session, link_id, Resolved("retry", error="timeout", retry_after=30), now
            )
            row = session.get(LinkResolution, link_id)
            assert row is not None and row.attempts == attempt
            waits.append(row.next_attempt_at)
        assert status == ("failed" if attempt == MAX_ATTEMPTS else "pending")
    assert waits[-1] is None
    gaps = [w - now for w in waits[:-1] if w is not None]
    assert gaps == sorted(gaps) and gaps[0] >= timedelta(minutes=5)
    # A finished link is not changed by a late outcome.
    with transaction(engine) as session:
        session.execute(update(LinkResolution).values(status="resolved"))
        assert record_outcome(session, link_id, Resolved("refused")) == "resolved"


def test_the_command_collects_follows_and_reports(
    engine: Engine, settings: Settings, server: Redirects, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBBUB_HOME", str(settings.home))
    monkeypatch.setenv("HUBBUB_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("HUBBUB_ALLOWED_PRIVATE_HOSTS", '["127.0.0.1", "localhost"]')
    monkeypatch.setenv("HUBBUB_EXTRA_SHORTENERS", '["127.0.0.1"]')
    get_settings.cache_clear()
    with transaction(engine) as session:
        workspace = ensure_workspace(session, "default").id
        posts = [
            example_post(1, text=f"look {server.url('/s/abc')}"),
            example_post(2, text=f"and {server.url('/s/evil')}"),
            example_post(3, text="no link at all"),
        ]
        store_items(session, workspace, "bluesky", posts, received_at=utcnow())
    try:
        result = CliRunner().invoke(
            app, ["links", "resolve", "--limit", "5"], catch_exceptions=False
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "2 short links in recent posts (2 new); followed 2: 1 refused, 1 resolved" in (
        result.stdout
    )
    assert "In this workspace's posts: 1 refused, 1 resolved" in result.stdout
    assert [n[-1] for n in _found(engine, workspace, "domain:localhost")] == ["1"]
