"""``hubbub bench web``: the conversations API and the topic dashboard under load, over HTTP.

Three processes, all on 127.0.0.1:

* **fixture** (this process): a SQLite store with ``posts`` posts and ``conversations``
  conversations. The few setup rows (workspace, users, API token, topics, the brand's account,
  a queue) go through the real actions. The bulk (authors, posts, topic matches, hourly rollups
  and their author sets, conversations and their posts) is inserted directly, in batches,
  through the models' tables: it builds the data to measure against and is not what is
  measured. The rows are what the pipeline would have stored (rollups are the sums of the
  inserted matches; priorities come from :func:`hubbub.inbox.priority.score`).
* **server**: ``hubbub serve --no-access-log`` in its own process(es) (``--server-workers``).
* **load**: a separate process runs ``clients`` concurrent ``httpx`` clients with an agent's
  API token for ``seconds``, each sending the next request of a fixed mix of inbox list and
  filter requests (a quarter of them follow the previous answer's ``next`` page); then
  :data:`DASHBOARD_CLIENTS` clients with a browser session load the topic dashboard.

Latencies are measured by the load process from sending to the whole body read. The run is
bounded in time (``seconds``) and count (:data:`MAX_REQUESTS_PER_SECOND` per second).
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, Table, insert

from hubbub.bench import machine

NETWORKS = ("bluesky", "mastodon", "rss", "hackernews")
TOPICS = (
    ("acme", "acme", "brand"),
    ("globex", "globex", "competitor"),
    ("refunds", "refund", "other"),
)
WORDS = (
    "skates", "order", "delivery", "refund", "battery", "app", "price", "support", "colour",
    "wheels", "update", "broken", "love", "thanks", "question", "shipping",
)  # fmt: skip
STATUS_WEIGHTS = (("new", 30), ("open", 35), ("waiting", 15), ("resolved", 15), ("spam", 5))
INTENTS = ("question", "complaint", "support_request", "purchase_intent", "praise", "none")
DAYS = 60  # posts spread over this many days back from now; the dashboard shows the last 30
BATCH = 10_000
DASHBOARD_CLIENTS = 4
MAX_REQUESTS_PER_SECOND = 5_000
SESSION_COOKIE = "hubbub_session"  # hubbub.web.auth.SESSION_COOKIE (bench may not import web)
BRAND_DID = "did:plc:benchbrand000000000000000"
BRAND_HANDLE = "acme.bsky.social"
TARGETS = {"api_p99_ms": 50.0, "api_rps": 500.0, "dashboard_p95_ms": 200.0}
FIXTURE_FILE = "bench-web.json"
ACTIVITY_SKEW = 2.2  # see build_fixture: author activity shaped like the Higgs cascade


# ---- fixture -----------------------------------------------------------------------------------


def _tables() -> dict[str, Table]:
    from hubbub.inbox.models import Conversation, ConversationPost
    from hubbub.listening.models import (
        HourlyRollup,
        HourlyRollupAuthor,
        PostEnrichment,
        TopicMatch,
    )
    from hubbub.posts.models import Author, Post

    models: list[Any] = [
        Author,
        Post,
        TopicMatch,
        PostEnrichment,
        HourlyRollup,
        HourlyRollupAuthor,
        Conversation,
        ConversationPost,
    ]
    return {model.__tablename__: model.__table__ for model in models}


def _insert(engine: Engine, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        with engine.begin() as connection:
            connection.execute(insert(table), rows[start : start + BATCH])


def _stream(engine: Engine, table: Table, rows: Iterator[dict[str, Any]]) -> int:
    batch: list[dict[str, Any]] = []
    count = 0
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            _insert(engine, table, batch)
            count += len(batch)
            batch = []
    _insert(engine, table, batch)
    return count + len(batch)


def _setup(home: Path) -> dict[str, Any]:
    """Workspace, people, topics, the brand's account and a queue, through the real actions."""
    from hubbub.accounts.actions import add_member, create_user
    from hubbub.accounts.permissions import Role
    from hubbub.inbox.actions import add_account, create_queue
    from hubbub.listening.actions import add_topic
    from hubbub.migrations import upgrade
    from hubbub.settings import Settings
    from hubbub.store.engine import make_engine, transaction
    from hubbub.workspaces.actions import ensure_workspace

    settings = Settings(home=home)
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    with transaction(engine) as session:
        workspace_id = ensure_workspace(session, "bench", "Bench").id
        password = os.urandom(16).hex()
        owner = create_user(session, "owner@bench.example", password)
        add_member(session, workspace_id, owner, Role.OWNER)
        agents = []
        for n in range(5):
            agent = create_user(session, f"agent{n}@bench.example", password)
            add_member(session, workspace_id, agent, Role.AGENT)
            agents.append(agent.id)
        topics = {
            name: add_topic(session, workspace_id, name, rule, kind).id
            for name, rule, kind in TOPICS
        }
        add_account(session, settings, workspace_id, "bluesky", BRAND_DID, BRAND_HANDLE)
        queue_id = create_queue(session, workspace_id, "billing", agents[:3]).id
    engine.dispose()
    return {
        "workspace_id": workspace_id,
        "owner_id": owner.id,
        "agents": agents,
        "topics": topics,
        "queue_id": queue_id,
    }


def build_fixture(home: Path, posts: int, conversations: int, seed: int = 0) -> dict[str, Any]:
    """The store in ``home`` with its setup rows and the bulk rows; returns what was made."""
    from hubbub.inbox.priority import score
    from hubbub.store.engine import make_engine

    started = time.perf_counter()
    setup = _setup(home)
    ws = setup["workspace_id"]
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    engine = make_engine(f"sqlite:///{(home / 'hubbub.db').resolve()}")
    tables = _tables()
    author_count = max(10, posts // 20)
    followers = [int(10 ** rng.uniform(0, 5)) for _ in range(author_count)]

    def authors() -> Iterator[dict[str, Any]]:
        for n in range(author_count):
            network = NETWORKS[n % len(NETWORKS)]
            yield {
                "id": n + 1,
                "workspace_id": ws,
                "network": network,
                "native_id": f"{network}:author:{n}",
                "handle": f"user{n}.example",
                "display_name": f"User {n}",
                "followers": followers[n],
                "active": True,
                "first_seen_at": now - timedelta(days=DAYS),
                "last_seen_at": now,
            }

    _stream(engine, tables["authors"], authors())

    # Conversation roots are spread evenly over the posts; each has 0-2 follow-ups: the posts
    # right after it, rewritten as replies in its thread, so threads hold real rows.
    conversations = min(conversations, posts // 3)
    span = DAYS * 86_400
    created = sorted(now - timedelta(seconds=rng.randrange(span)) for _ in range(posts))
    # Who writes how much follows the Higgs Twitter cascade (../shared/data/cascades/higgs):
    # there the most active 1% of accounts made 12% of the activity and the top 10% made 37%;
    # index = count × u^2.2 gives 13% and 35%. (Uniform activity would make every author
    # equally "top", which no network looks like.)
    author_of = [int(author_count * rng.random() ** ACTIVITY_SKEW) for _ in range(posts)]
    stride = posts // conversations if conversations else posts
    roots = [i * stride for i in range(conversations)]
    is_root = set(roots)
    thread_of: dict[int, int] = {}  # follow-up post index → root post index
    for root in roots:
        for step in range(1, 1 + rng.choice((0, 1, 1, 2))):
            thread_of[root + step] = root
    matches: list[tuple[int, int]] = []  # (topic id, post index)
    topic_ids = list(setup["topics"].values())

    def text_of(n: int) -> str:
        words = " ".join(rng.choice(WORDS) for _ in range(8))
        return f"{words} #{rng.choice(('acme', 'globex', 'news'))} {n}"

    def native(n: int) -> str:
        return f"at://bench/{n}"

    def post_rows() -> Iterator[dict[str, Any]]:
        for n in range(posts):
            author = author_of[n]
            network = NETWORKS[author % len(NETWORKS)]
            root = thread_of.get(n)
            if root is not None:  # a follow-up is written by someone on the root's network
                author = author_of[root]
                network = NETWORKS[author % len(NETWORKS)]
                author_of[n] = author
            text = text_of(n)
            mentions = [BRAND_HANDLE] if n in is_root and network == "bluesky" else []
            for topic_id, (_name, rule, _kind) in zip(topic_ids, TOPICS, strict=True):
                if rule in text:
                    matches.append((topic_id, n))
            yield {
                "id": n + 1,
                "workspace_id": ws,
                "network": network,
                "native_id": native(n),
                "author_id": author + 1,
                "kind": "reply" if root is not None else "post",
                "text": text,
                "lang": "en",
                "langs": ["en"],
                "created_at": created[n],
                "received_at": created[n],
                "reply_to": native(root) if root is not None else None,
                "thread_root": native(root) if root is not None else None,
                "mentions": mentions,
                "hashtags": [],
                "links": [],
                "media": [],
                "likes": rng.randrange(50),
                "reshares": rng.randrange(10),
                "replies": rng.randrange(5),
                "quotes": 0,
                "deleted": False,
                "raw": "",
            }

    _stream(engine, tables["posts"], post_rows())
    _stream(engine, tables["topic_matches"], _match_rows(ws, matches, created, author_of))
    _stream(engine, tables["post_enrichments"], _enrichment_rows(ws, matches))
    cells, cell_authors = _rollups(matches, created, author_of, followers)
    _stream(engine, tables["hourly_rollups"], _rollup_rows(ws, cells))
    _stream(engine, tables["hourly_rollup_authors"], _rollup_author_rows(cell_authors))
    # The daily term and author rollups are counted from the stored matches by the real
    # repair commands, as `hubbub topic backfill --terms --authors` would.
    from sqlalchemy.orm import Session

    from hubbub.listening.actions import rebuild_author_rollups, rebuild_term_rollups

    with Session(engine) as session:  # both commit page by page themselves
        rebuild_term_rollups(session, ws)
        rebuild_author_rollups(session, ws)
        session.commit()

    statuses = [name for name, weight in STATUS_WEIGHTS for _ in range(weight)]
    last_post: dict[int, int] = {}
    for follow_up, root in thread_of.items():
        last_post[root] = max(last_post.get(root, root), follow_up)

    def conversation_rows() -> Iterator[dict[str, Any]]:
        for i, root in enumerate(roots):
            author = author_of[root]
            waiting_since = created[last_post.get(root, root)]
            total, explanation = score(
                reason="mention",
                intent=rng.choice(INTENTS),
                intent_score=rng.uniform(0.4, 0.99),
                sentiment=rng.uniform(-1, 1),
                followers=followers[author],
                waiting_since=waiting_since,
                now=now,
            )
            status = rng.choice(statuses)
            answered = status in ("waiting", "resolved")
            yield {
                "id": i + 1,
                "workspace_id": ws,
                "network": NETWORKS[author % len(NETWORKS)],
                "thread_key": native(root),
                "root_post_id": root + 1,
                "status": status,
                "reason": "mention",
                "priority": total,
                "priority_explanation": explanation,
                "assignee_user_id": rng.choice([None, None, *setup["agents"]]),
                "queue_id": setup["queue_id"] if i % 7 == 0 else None,
                "first_response_due": created[root] + timedelta(hours=1),
                "first_responded_at": waiting_since + timedelta(minutes=30) if answered else None,
                "last_customer_post_at": waiting_since,
                "created_at": created[root],
                "updated_at": waiting_since,
            }

    def thread_rows() -> Iterator[dict[str, Any]]:
        conversation_of = {root: i + 1 for i, root in enumerate(roots)}
        for root, number in conversation_of.items():
            yield {"conversation_id": number, "post_id": root + 1, "ours": False, "added_at": now}
        for follow_up, root in thread_of.items():
            yield {
                "conversation_id": conversation_of[root],
                "post_id": follow_up + 1,
                "ours": False,
                "added_at": now,
            }

    _stream(engine, tables["inbox_conversations"], conversation_rows())
    _stream(engine, tables["inbox_conversation_posts"], thread_rows())
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    fixture = {
        **setup,
        "posts": posts,
        "conversations": conversations,
        "authors": author_count,
        "topic_matches": len(matches),
        "rollup_cells": len(cells),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (home / FIXTURE_FILE).write_text(json.dumps(fixture))
    return fixture


def _match_rows(
    ws: int, matches: list[tuple[int, int]], created: list[datetime], author_of: list[int]
) -> Iterator[dict[str, Any]]:
    for topic_id, n in matches:
        yield {
            "topic_id": topic_id,
            "post_id": n + 1,
            "workspace_id": ws,
            "created_at": created[n],
            "network": NETWORKS[author_of[n] % len(NETWORKS)],
            "author_id": author_of[n] + 1,
        }


MOODS = (("negative", -0.6), ("neutral", 0.0), ("positive", 0.6))  # post n: MOODS[n % 3]


def _enrichment_rows(ws: int, matches: list[tuple[int, int]]) -> Iterator[dict[str, Any]]:
    """What enrichment stores for each matched post, agreeing with the rollups' sentiment."""
    for n in sorted({n for _topic_id, n in matches}):
        label, score = MOODS[n % 3]
        yield {
            "post_id": n + 1,
            "workspace_id": ws,
            "lang": "en",
            "lang_detected": True,
            "sentiment_score": score,
            "sentiment_label": label,
            "intents": [],
            "entities": {},
        }


Cell = tuple[int, datetime, str, str, str]


def _rollups(
    matches: list[tuple[int, int]],
    created: list[datetime],
    author_of: list[int],
    followers: list[int],
) -> tuple[dict[Cell, list[int]], set[tuple[Cell, int]]]:
    """Per (topic, hour, network, sentiment, language) cell: posts, authors, reach; the sums of
    the matches, as the rollup stage makes them (sentiment: post n has MOODS[n % 3])."""
    cells: dict[Cell, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    cell_authors: set[tuple[Cell, int]] = set()
    for topic_id, n in matches:
        hour = created[n].replace(minute=0, second=0, microsecond=0)
        author = author_of[n]
        cell = (topic_id, hour, NETWORKS[author % len(NETWORKS)], MOODS[n % 3][0], "en")
        counters = cells[cell]
        counters[0] += 1
        if (cell, author + 1) not in cell_authors:
            cell_authors.add((cell, author + 1))
            counters[1] += 1
        counters[2] += followers[author]
    return cells, cell_authors


def _rollup_rows(ws: int, cells: dict[Cell, list[int]]) -> Iterator[dict[str, Any]]:
    for (topic_id, hour, network, mood, lang), (posts, authors, reach, engagement) in cells.items():
        yield {
            "topic_id": topic_id,
            "hour": hour,
            "network": network,
            "sentiment_label": mood,
            "lang": lang,
            "workspace_id": ws,
            "posts": posts,
            "unique_authors": authors,
            "potential_reach": reach,
            "engagement": engagement,
        }


def _rollup_author_rows(cell_authors: set[tuple[Cell, int]]) -> Iterator[dict[str, Any]]:
    for (topic_id, hour, network, mood, lang), author_id in cell_authors:
        yield {
            "topic_id": topic_id,
            "hour": hour,
            "network": network,
            "sentiment_label": mood,
            "lang": lang,
            "author_id": author_id,
        }


def _credentials(home: Path, fixture: dict[str, Any]) -> tuple[str, str]:
    """A fresh agent API token and an owner's browser session, through the real actions."""
    from hubbub.accounts.actions import create_token, start_session
    from hubbub.accounts.models import User
    from hubbub.accounts.permissions import Role
    from hubbub.core.clock import utcnow
    from hubbub.settings import Settings
    from hubbub.store.engine import make_engine, transaction

    settings = Settings(home=home)
    engine = make_engine(settings.effective_database_url)
    with transaction(engine) as session:
        # One token a run, named by its start: a reused fixture keeps the earlier runs' tokens.
        name = f"bench {utcnow().isoformat(timespec='microseconds')}"
        _token, plaintext = create_token(session, fixture["workspace_id"], Role.AGENT, name)
        owner = session.get(User, fixture["owner_id"])
        assert owner is not None
        cookie, _web = start_session(session, owner, settings)
    engine.dispose()
    return plaintext, cookie


# ---- server ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_server(home: Path, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    """``hubbub serve`` on 127.0.0.1 in its own process(es), without an access log; its log
    goes to HOME/server.log."""
    import httpx

    env = {**os.environ, "HUBBUB_HOME": str(home)}
    env.pop("HUBBUB_DATABASE_URL", None)
    log = home / "server.log"
    with log.open("wb") as output:  # the child keeps its own descriptor
        # Fixed arguments: this interpreter running our own CLI, no outside input.
        server = subprocess.Popen(  # noqa: S603
            [
                *(sys.executable, "-m", "hubbub", "serve", "--host", "127.0.0.1"),
                *("--port", str(port), "--workers", str(workers), "--no-access-log"),
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"hubbub serve exited with {server.returncode}; see {log}")
        # Every process must be listening before the load starts: connections opened while one
        # is still starting all go to the others, and stay there (kept alive).
        started = log.read_text(errors="replace").count("Application startup complete")
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
            if answer.status_code == 200 and started >= workers:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError("hubbub serve did not answer within 60 s")


# ---- load --------------------------------------------------------------------------------------


def api_mix(fixture: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, query string) of the inbox list and filter requests, sent in turn."""
    agent = fixture["agents"][0]
    return [
        ("list", ""),
        ("waiting", "sort=waiting"),
        ("status", "status=new"),
        ("status_waiting", "status=open&sort=waiting"),
        ("unassigned", "assignee=none"),
        ("assignee", f"assignee={agent}"),
        ("queue", "queue=billing"),
        ("priority_min", "priority_min=60"),
        ("intent", "intent=complaint"),
        ("network", "network=mastodon"),
        ("topic", "topic=refunds"),
        ("text", "q=refund"),
    ]


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)], 2)

    return {
        "p50": round(statistics.median(ordered), 2),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": round(ordered[-1], 2),
    }


class _Connection:
    """One kept-alive HTTP/1.1 connection sending GETs and reading ``Content-Length`` bodies
    (all the server under test sends). The load generator's own few lines instead of an HTTP
    client library: httpx spent about 2 ms of CPU a request, on the same two cores as the
    server it was measuring; this costs a few tens of µs."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.tail = f" HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}\r\n".encode("latin-1")
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, target: str) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        try:
            writer.write(b"GET " + target.encode("latin-1") + self.tail)
            head = (await reader.readuntil(b"\r\n\r\n")).lower()
            start = head.find(b"\r\ncontent-length:")
            if not head.startswith(b"http/1.1 ") or start < 0:
                raise ValueError("not an HTTP/1.1 answer with a Content-Length")
            length = int(head[start + 17 : head.index(b"\r\n", start + 2)])
            body = await reader.readexactly(length)
            if b"\r\nconnection: close" in head:
                self.close()
            return int(head[9:12]), body
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def _drive(
    base: str,
    headers: dict[str, str],
    plan: list[tuple[str, str]],
    clients: int,
    seconds: float,
    follow_share: float,
    rate: float | None = None,
) -> dict[str, Any]:
    """``clients`` connections sending the plan's requests in turn for ``seconds``.

    Without ``rate`` each client sends its next request as soon as the previous answer is read
    (closed loop: what the server sustains). With ``rate`` the clients together send that many
    requests a second on a fixed schedule (open loop), and a latency counts from the request's
    scheduled time, so a client held up by a slow answer is not excused the wait it caused."""
    host, _, port = base.removeprefix("http://").partition(":")
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    kinds: dict[str, int] = defaultdict(int)  # status or exception class → count
    budget = [int(MAX_REQUESTS_PER_SECOND * seconds)]
    started = time.perf_counter()
    end = started + seconds
    interval = clients / rate if rate else 0.0

    async def one(index: int) -> None:
        connection = _Connection(host, int(port), headers)
        rng = random.Random(index)
        turn = index
        follow: str | None = None
        due = started + interval * index / clients
        try:
            while budget[0] > 0:
                if rate:
                    if due >= end:
                        break
                    pause = due - time.perf_counter()
                    if pause > 0:
                        await asyncio.sleep(pause)
                elif time.perf_counter() >= end:
                    break
                budget[0] -= 1
                if follow is not None:
                    name, url = "next_page", follow
                else:
                    name, url = plan[turn % len(plan)]
                    turn += 1
                sent = due if rate else time.perf_counter()
                due += interval
                try:
                    status, body = await connection.get(url)
                    kind = "" if status == 200 else f"HTTP {status}"
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                    kind, body = type(exc).__name__, b""
                except ValueError:
                    kind, body = "bad answer", b""
                latencies[name].append((time.perf_counter() - sent) * 1000)
                follow = None
                if kind:
                    errors[name] += 1
                    kinds[kind] += 1
                elif rng.random() < follow_share and body.startswith(b"{"):
                    # Only an answer whose next page is followed is parsed (a page is ~30 KB).
                    follow = orjson.loads(body).get("next")
        finally:
            connection.close()

    await asyncio.gather(*(one(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    total = sum(len(v) for v in latencies.values())
    return {
        "clients": clients,
        "mode": f"open loop at {rate:g} requests/s" if rate else "closed loop",
        "seconds": round(elapsed, 2),
        "requests": total,
        "rps": round(total / elapsed, 1) if elapsed else 0.0,
        "errors": sum(errors.values()),
        "error_kinds": dict(kinds),
        "latency_ms": _percentiles([x for v in latencies.values() for x in v]),
        "endpoints": {
            name: {"requests": len(values), "errors": errors[name], **_percentiles(values)}
            for name, values in sorted(latencies.items())
        },
    }


def _load_process(
    base: str,
    token: str,
    cookie: str,
    api_plan: list[tuple[str, str]],
    dashboard: str,
    clients: int,
    seconds: float,
    rate: float,
) -> dict[str, Any]:
    """The load generator's process: the API closed loop, the API at ``rate``, the dashboard."""
    api_headers = {"Authorization": f"Bearer {token}"}

    async def all_phases() -> dict[str, Any]:
        # One unmeasured pass over the plan, so first-use costs (imports, caches) are not timed.
        await _drive(base, api_headers, api_plan, 1, 0.5, 0.0)
        saturation = await _drive(base, api_headers, api_plan, clients, seconds / 2, 0.25)
        api = await _drive(base, api_headers, api_plan, clients, seconds, 0.25, rate)
        page = await _drive(
            base,
            {"Cookie": f"{SESSION_COOKIE}={cookie}"},
            [("topic_dashboard", dashboard)],
            DASHBOARD_CLIENTS,
            max(1.0, seconds / 3),
            0.0,
        )
        return {"saturation": saturation, "api": api, "dashboard": page}

    try:  # the load generator's own CPU comes off the server's two cores: the faster loop
        import uvloop  # (uvicorn's, where the platform has it)
    except ImportError:
        return asyncio.run(all_phases())
    return uvloop.run(all_phases())


def run(
    posts: int = 1_000_000,
    conversations: int = 50_000,
    clients: int = 50,
    seconds: float = 30.0,
    reuse: Path | None = None,
    seed: int = 0,
    server_workers: int | None = None,
    rate: float = TARGETS["api_rps"],
) -> dict[str, Any]:
    """Build (or reuse) the fixture, serve it, load it; the report as one JSON-able dict.
    ``server_workers`` defaults to one process per core, as a deployment would run it."""
    server_workers = server_workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="hubbub-bench-web-") as scratch:
        home = reuse if reuse is not None else Path(scratch)
        home.mkdir(parents=True, exist_ok=True)
        marker = home / FIXTURE_FILE
        reused = marker.exists()
        if reused:
            fixture = json.loads(marker.read_text())
        elif (home / "hubbub.db").exists():
            raise RuntimeError(
                f"{home} holds a store without {FIXTURE_FILE} (an interrupted "
                "build?); remove it or pick an empty folder"
            )
        else:
            fixture = build_fixture(home, posts, conversations, seed)
        token, cookie = _credentials(home, fixture)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        load_before = os.getloadavg()
        server = _start_server(home, port, server_workers)
        try:
            api_plan = [
                (name, f"/api/v1/w/bench/conversations?{query}") for name, query in api_mix(fixture)
            ]
            context = multiprocessing.get_context("spawn")
            with context.Pool(1) as pool:
                result = pool.apply(
                    _load_process,
                    (
                        *(base, token, cookie, api_plan, "/w/bench/topics/acme"),
                        *(clients, seconds, rate),
                    ),
                )
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        saturation, api, page = result["saturation"], result["api"], result["dashboard"]
        api_p99 = api["latency_ms"]["p99"]
        page_p95 = page["latency_ms"]["p95"]
        met = {
            # p99 at the target rate or more, and the rate itself sustained.
            "api_p99": rate >= TARGETS["api_rps"]
            and api_p99 is not None
            and api_p99 < TARGETS["api_p99_ms"],
            "api_rps": saturation["rps"] >= TARGETS["api_rps"],
            "dashboard_p95": page_p95 is not None and page_p95 < TARGETS["dashboard_p95_ms"],
        }
        return {
            "fixture": {
                "posts": fixture["posts"],
                "conversations": fixture["conversations"],
                "authors": fixture["authors"],
                "topic_matches": fixture["topic_matches"],
                "build_seconds": None if reused else fixture["seconds"],
                "reused": reused,
                "database_mb": round((home / "hubbub.db").stat().st_size / 2**20, 1),
            },
            "saturation": saturation,
            "api": api,
            "dashboard": page,
            "requests": saturation["requests"] + api["requests"] + page["requests"],
            "errors": saturation["errors"] + api["errors"] + page["errors"],
            "targets": TARGETS,
            "met": {**met, "all": all(met.values())},
            "server": f"hubbub serve --workers {server_workers} --no-access-log on 127.0.0.1",
            "server_workers": server_workers,
            "load": f"{clients} kept-alive HTTP/1.1 connections in a separate process: closed "
            f"loop for {seconds / 2:g} s (saturation), then {rate:g} requests/s on a fixed "
            f"schedule for {seconds:g} s (api); dashboard: {DASHBOARD_CLIENTS} clients with a "
            "session, closed loop",
            "machine": {
                **machine(),
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
            },
        }
