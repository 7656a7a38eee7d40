"""Time the influence functions and pages on an existing workspace (for docs/performance.md).

    HUBBUB_DATABASE_URL=sqlite:////tmp/big.db python -m tests.graph.time_influence \
        --workspace demo --topic lumen [--refresh]

Prints one JSON object: seconds per function call and per page (first view, then a repeat
view), with the load average at the start. Not a test: it needs a workspace filled beforehand
(``hubbub demo --days 366`` and ``hubbub demo --days 140 --seed 8`` give about 100k posts).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import AccountError, add_member, create_user, start_session
from hubbub.accounts.permissions import Role
from hubbub.accounts.queries import user_by_email
from hubbub.graph import queries
from hubbub.listening.actions import get_topic
from hubbub.posts.models import Post
from hubbub.runtime import runtime
from hubbub.store.engine import transaction
from hubbub.web.app import create_app
from hubbub.web.auth import SESSION_COOKIE

EMAIL = "timer@example.invalid"


def _clock(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return round(time.perf_counter() - started, 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", default="demo")
    parser.add_argument("--topic", default="lumen")
    parser.add_argument("--refresh", action="store_true", help="bring the graph up to date first")
    parser.add_argument("--skip-functions", action="store_true")
    args = parser.parse_args()
    rt = runtime()
    engine = rt.engine
    workspace_id = rt.workspace_id(args.workspace)
    out: dict[str, Any] = {"load_average": os.getloadavg()}
    if args.refresh:
        from hubbub.graph.actions import DEFAULT_BATCH, update_interaction_edges

        def refresh() -> None:
            while True:
                with transaction(engine) as session:
                    step = update_interaction_edges(session, workspace_id)
                if step.scanned < DEFAULT_BATCH:
                    return

        out["graph_refresh"] = _clock(refresh)
    from hubbub.graph.campaign import plan_campaign
    from hubbub.graph.cascades import largest_cascades, largest_post_cascades
    from hubbub.graph.communities import find_communities
    from hubbub.graph.influencers import rank_from_posts, rank_influencers

    with Session(engine) as session:
        out["posts"] = session.scalar(
            select(func.count()).select_from(Post).where(Post.workspace_id == workspace_id)
        )
        topic_id = get_topic(session, workspace_id, args.topic).id
        if not args.skip_functions:
            functions: dict[str, Callable[[], Any]] = {
                "rank_influencers": lambda: rank_influencers(session, workspace_id, limit=100_000),
                "rank_influencers_topic": lambda: rank_influencers(
                    session, workspace_id, topic_id=topic_id, limit=100_000
                ),
                "find_communities": lambda: find_communities(session, workspace_id),
                "largest_cascades": lambda: largest_cascades(session, workspace_id, None, 20),
                "plan_campaign_k10": lambda: plan_campaign(
                    session, workspace_id, k=10, mc_runs=2_000
                ),
                # The paths that read every post (what the pages ran before issue #5).
                "posts_path_rank": lambda: rank_from_posts(session, workspace_id, limit=100_000),
                "posts_path_rank_topic": lambda: rank_from_posts(
                    session, workspace_id, topic_id=topic_id, limit=100_000
                ),
                "posts_path_cascades": lambda: largest_post_cascades(
                    queries.workspace_posts(session, workspace_id), {}, 20
                ),
            }
            out["functions"] = {name: _clock(fn) for name, fn in functions.items()}
            print(json.dumps(out["functions"]), file=sys.stderr)
    with transaction(engine) as session:
        user = user_by_email(session, EMAIL) or create_user(session, EMAIL, "x" * 20)
        with contextlib.suppress(AccountError):  # a member from an earlier run
            add_member(session, workspace_id, user, Role.OWNER)
        cookie, _ = start_session(session, user, rt.settings)
    app = create_app(rt.settings, engine)
    pages = {
        "influencers": ("influencers", {}),
        "influencers_topic": ("influencers", {"topic": args.topic}),
        "communities": ("communities", {}),
        "cascades": ("cascades", {}),
        "seeding_k10": ("seeding", {"k": "10"}),
    }
    timings: dict[str, dict[str, float]] = {}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.cookies.set(SESSION_COOKIE, cookie)
        for name, (path, params) in pages.items():
            url = f"/w/{args.workspace}/{path}"
            first = _clock(lambda u=url, p=params: client.get(u, params=p).raise_for_status())  # type: ignore[misc]
            again = _clock(lambda u=url, p=params: client.get(u, params=p).raise_for_status())  # type: ignore[misc]
            timings[name] = {"first": first, "repeat": again}
    out["pages"] = timings
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
