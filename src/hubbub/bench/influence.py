"""``hubbub bench influence``: the influence functions and pages on a demo workspace of N posts.

The workspace is filled by the demo generator (``fill``, passed in by the command: the bench
layer may not import the demo or the web app), one more seed at a time until it holds at least
``posts`` posts; a ``--reuse`` folder keeps it for the next run. The persisted interaction
graph is brought up to date (timed), then each function is called once and each page is viewed
twice through the app (``make_app``) with an owner's session: the first view computes, the
repeat view is normally a cache hit.
"""

from __future__ import annotations

import contextlib
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from starlette.types import ASGIApp

from hubbub.accounts.actions import AccountError, add_member, create_user, start_session
from hubbub.accounts.permissions import Role
from hubbub.accounts.queries import user_by_email
from hubbub.bench import machine
from hubbub.bench.web import SESSION_COOKIE
from hubbub.listening.actions import get_topic
from hubbub.listening.models import TopicMatch
from hubbub.posts.models import Author, Post
from hubbub.settings import Settings
from hubbub.store.engine import make_engine, transaction
from hubbub.workspaces.models import Workspace

Fill = Callable[[Engine, Settings, str, int, int], None]
"""fill(engine, settings, workspace slug, generator seed, days): add one demo to the store."""
AppFactory = Callable[[Settings, Engine], ASGIApp]

WORKSPACE = "demo"
EMAIL = "bench-influence@example.invalid"
POSTS_PER_DAY = 250
"""About what the demo generator writes per day once it runs three weeks or more."""
MAX_FILLS = 50
PAGES: dict[str, tuple[str, dict[str, str]]] = {
    "influencers": ("influencers", {}),
    "influencers_topic": ("influencers", {"topic": "{topic}"}),
    "communities": ("communities", {}),
    "communities_topic": ("communities", {"topic": "{topic}"}),
    "cascades": ("cascades", {}),
    "seeding_k10": ("seeding", {"k": "10"}),
}


def _seconds(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return round(time.perf_counter() - started, 3)


def _count(engine: Engine, workspace_slug: str) -> tuple[int, int | None]:
    """(posts, workspace id) of the workspace; (0, None) when it does not exist yet."""
    with Session(engine) as session:
        workspace_id = session.scalar(select(Workspace.id).where(Workspace.slug == workspace_slug))
        if workspace_id is None:
            return 0, None
        posts = session.scalar(
            select(func.count()).select_from(Post).where(Post.workspace_id == workspace_id)
        )
        return int(posts or 0), workspace_id


def fill_to(engine: Engine, settings: Settings, posts: int, seed: int, fill: Fill) -> list[int]:
    """Add demos (seed, seed + 1, …) until the workspace holds ``posts`` posts; the seeds used."""
    used: list[int] = []
    have, _ = _count(engine, WORKSPACE)
    while have < posts:
        if len(used) == MAX_FILLS:
            raise RuntimeError(f"{MAX_FILLS} demos gave {have:,} posts, fewer than {posts:,}")
        days = max(3, min(366, -(-(posts - have) // POSTS_PER_DAY)))
        fill(engine, settings, WORKSPACE, seed + len(used), days)
        used.append(seed + len(used))
        have, _ = _count(engine, WORKSPACE)
    return used


def _refresh(engine: Engine, workspace_id: int) -> int:
    """Run the graph job until no post waits; the posts it processed."""
    from hubbub.graph.actions import DEFAULT_BATCH, update_interaction_edges

    done = 0
    while True:
        with transaction(engine) as session:
            step = update_interaction_edges(session, workspace_id)
        done += step.posts
        if step.scanned < DEFAULT_BATCH:
            return done


def _functions(engine: Engine, workspace_id: int, topic: str) -> dict[str, float]:
    """One call of each function the pages run (the first also loads numba's cache)."""
    from hubbub.graph.campaign import plan_campaign
    from hubbub.graph.cascades import largest_cascades
    from hubbub.graph.communities import find_communities
    from hubbub.graph.influencers import rank_influencers

    with Session(engine) as session:
        topic_id = get_topic(session, workspace_id, topic).id
        calls: dict[str, Callable[[], Any]] = {
            "rank_influencers": lambda: rank_influencers(session, workspace_id, limit=100_000),
            "rank_influencers_topic": lambda: rank_influencers(
                session, workspace_id, topic_id=topic_id, limit=100_000
            ),
            "find_communities": lambda: find_communities(session, workspace_id),
            "find_communities_topic": lambda: find_communities(
                session, workspace_id, topic_id=topic_id
            ),
            "largest_cascades": lambda: largest_cascades(session, workspace_id, None, 20),
            "plan_campaign_k10": lambda: plan_campaign(session, workspace_id, k=10, mc_runs=2_000),
        }
        return {name: _seconds(call) for name, call in calls.items()}


def _pages(
    engine: Engine, settings: Settings, workspace_id: int, topic: str, make_app: AppFactory
) -> dict[str, dict[str, float]]:
    """First and repeat view of each page, signed in as an owner of the workspace."""
    with transaction(engine) as session:
        user = user_by_email(session, EMAIL) or create_user(session, EMAIL, os.urandom(16).hex())
        with contextlib.suppress(AccountError):  # a member since an earlier run
            add_member(session, workspace_id, user, Role.OWNER)
        cookie, _ = start_session(session, user, settings)
    timings: dict[str, dict[str, float]] = {}
    with TestClient(make_app(settings, engine), base_url="http://127.0.0.1") as client:
        client.cookies.set(SESSION_COOKIE, cookie)
        for name, (path, template) in PAGES.items():
            url = f"/w/{WORKSPACE}/{path}"
            params = {key: value.format(topic=topic) for key, value in template.items()}

            def view(u: str = url, p: dict[str, str] = params) -> None:
                client.get(u, params=p).raise_for_status()

            timings[name] = {"first": _seconds(view), "repeat": _seconds(view)}
    return timings


def run(
    posts: int,
    fill: Fill,
    make_app: AppFactory,
    *,
    topic: str = "lumen",
    reuse: Path | None = None,
    seed: int = 7,
    functions: bool = True,
    refresh: bool = True,
) -> dict[str, Any]:
    """Build or reuse the workspace, refresh its graph (unless told not to: then the pages
    meet whatever backlog there is), time functions and pages."""
    with tempfile.TemporaryDirectory(prefix="hubbub-bench-influence-") as scratch:
        home = reuse if reuse is not None else Path(scratch)
        home.mkdir(parents=True, exist_ok=True)
        settings = Settings(home=home)
        engine = make_engine(settings.effective_database_url)
        try:
            from hubbub.migrations import upgrade

            upgrade(engine)
            load_before = os.getloadavg()
            started = time.perf_counter()
            seeds = fill_to(engine, settings, posts, seed, fill)
            build_seconds = round(time.perf_counter() - started, 3)
            have, workspace_id = _count(engine, WORKSPACE)
            assert workspace_id is not None
            started = time.perf_counter()
            refreshed = _refresh(engine, workspace_id) if refresh else 0
            refresh_seconds = round(time.perf_counter() - started, 3)
            with Session(engine) as session:
                authors = session.scalar(
                    select(func.count())
                    .select_from(Author)
                    .where(Author.workspace_id == workspace_id)
                )
                topic_id = get_topic(session, workspace_id, topic).id
                matched = session.scalar(
                    select(func.count())
                    .select_from(TopicMatch)
                    .where(TopicMatch.topic_id == topic_id)
                )
            timed = _functions(engine, workspace_id, topic) if functions else None
            pages = _pages(engine, settings, workspace_id, topic, make_app)
        finally:
            engine.dispose()
        return {
            "benchmark": "influence",
            "workspace": {
                "posts": have,
                "authors": authors,
                "topic": topic,
                "topic_matches": matched,
                "demo_seeds_added": seeds,
                "build_seconds": build_seconds if seeds else None,
                "reused": not seeds,
                "database": settings.effective_database_url.split("://", 1)[0],
            },
            "graph_refresh": (
                {"posts": refreshed, "seconds": refresh_seconds} if refresh else None
            ),
            "functions_seconds": timed,
            "pages_seconds": pages,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "machine": {
                **machine(),
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
            },
        }
