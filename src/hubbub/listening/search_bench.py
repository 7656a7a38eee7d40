"""Search figures on an existing store: index build rate and query times.

``python -m hubbub.listening.search_bench [--workspace default] [--json]`` against the store
the settings name (``HUBBUB_HOME`` / ``HUBBUB_DATABASE_URL``), filled beforehand with e.g.
``hubbub import events.jsonl --format jetstream`` (docs/performance.md, "Search"). It drops
and rebuilds the workspace's search index, then times the first page of each rule below.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.listening.search import Sort, search_posts
from hubbub.listening.search_index import clear_search_index, refresh_search_index
from hubbub.posts.models import Post
from hubbub.settings import get_settings
from hubbub.store.engine import engine_for
from hubbub.workspaces.actions import DEFAULT_SLUG, get_workspace

RULES: list[tuple[str, Sort]] = [
    ("coffee", "time"),
    ('"coffee morning"', "time"),
    ("refund NEAR/2 late", "time"),
    ("ship*", "time"),
    ("#python lang:en", "time"),
    ("問題 OR 修正", "time"),
    ("domain:github.com is:reply", "time"),
    ("café NOT (music OR rain)", "time"),
    ("NOT coffee", "time"),
    ('"worst ever" OR "terrible issue"', "engagement"),
    ("zzzunknown", "time"),
]


def run(engine: Engine, workspace_id: int, repeats: int = 5) -> dict[str, Any]:
    """Rebuild the index from nothing, then time each rule's first page of 20."""
    with Session(engine) as session, session.begin():
        clear_search_index(session, workspace_id)
    with Session(engine) as session, session.begin():
        posts = session.scalar(
            select(func.count()).select_from(Post).where(Post.workspace_id == workspace_id)
        )
        started = time.perf_counter()
        cpu = time.process_time()
        built = refresh_search_index(session, workspace_id)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    with Session(engine) as session, session.begin():
        started = time.perf_counter()
        refresh_search_index(session, workspace_id)
        noop_ms = (time.perf_counter() - started) * 1000
    queries = []
    for rule, sort in RULES:
        times = []
        for _ in range(repeats):
            with Session(engine) as session, session.begin():
                started = time.perf_counter()
                page = search_posts(session, workspace_id, rule, sort=sort, refresh=False)
                times.append((time.perf_counter() - started) * 1000)
        queries.append(
            {
                "rule": rule,
                "sort": sort,
                "hits": len(page.hits),
                "scanned": page.scanned,
                "median_ms": round(statistics.median(times), 1),
            }
        )
    return {
        "backend": engine.dialect.name,
        "posts": posts,
        "indexed": built.indexed,
        "build_s": round(elapsed, 2),
        "build_cpu_s": round(cpu, 2),
        "posts_per_s": round(built.indexed / elapsed),
        "refresh_noop_ms": round(noop_ms, 1),
        "queries": queries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", default=DEFAULT_SLUG)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    engine = engine_for(get_settings())
    with Session(engine) as session:
        workspace_id = get_workspace(session, args.workspace).id
    result = run(engine, workspace_id, args.repeats)
    if args.json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    lines = [
        f"{result['backend']}: indexed {result['indexed']:,} of {result['posts']:,} posts in "
        f"{result['build_s']} s ({result['posts_per_s']:,} posts/s, {result['build_cpu_s']} s "
        f"CPU in this process); up-to-date refresh {result['refresh_noop_ms']} ms"
    ]
    lines += [
        f"  {q['median_ms']:>7} ms  {q['hits']:>3} hits  {q['sort']:<10} {q['rule']}"
        for q in result["queries"]
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
