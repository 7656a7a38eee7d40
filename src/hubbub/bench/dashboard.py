"""``hubbub bench dashboard``: the topic dashboard's questions on a SQLite store of N posts, timed
through the functions the page calls, beside DuckDB answering the same questions by scanning the
same posts (DuckDB is the baseline only; it is not a dependency of Hubbub).

The fixture: authors, posts (with empty raw payloads, to keep the file small) and their
enrichments are inserted in bulk — building the fixture is not what is measured. Matches and
every rollup (hourly cells, author sets, daily terms and their compaction) are then built by the
real ``listening.actions.backfill``, so they are the rows production would hold. ``--reuse DIR``
keeps the store (and the time it was anchored at) between runs.

DuckDB gets the same posts, matches and enrichments copied from the SQLite file through Python
(its sqlite extension cannot be downloaded here) and answers from those tables: no rollups, top
terms tokenised in SQL at query time. Every question's answers are compared, ours vs DuckDB's.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, insert, text
from sqlalchemy.orm import Session

from hubbub.bench import machine
from hubbub.enrich.terms import STOPWORDS
from hubbub.listening import dashboard
from hubbub.listening.actions import add_topic, backfill
from hubbub.listening.enrichment import Enrichment
from hubbub.listening.models import PostEnrichment
from hubbub.posts.models import Author, Post
from hubbub.store.engine import make_engine, transaction

TOPICS = (("acme", "brand", 0.5), ("globex", "competitor", 0.3), ("initech", "competitor", 0.2))
NETWORKS = (("bluesky", 0.5), ("mastodon", 0.25), ("hackernews", 0.15), ("rss", 0.1))
LANGS = (("en", 0.6), ("de", 0.1), ("fr", 0.1), ("es", 0.1), ("und", 0.1))
SENTIMENTS = (("neutral", 0.55), ("positive", 0.25), ("negative", 0.2))
FILLERS = ("the", "and", "is", "with", "for", "this")  # stopwords, so the filter has work to do
DAYS = 30
VOCABULARY = 5_000
AUTHOR_SHARE = 20  # one author per this many posts
CHUNK = 20_000
TOP_AUTHORS = 10
TOP_TERMS = 20
TARGET_P95_MS = 100.0
TARGET_RATIO = 0.5  # ours at most half DuckDB's time

DB_NAME = "dashboard.db"
META_NAME = "dashboard.json"


def _pick(options: tuple[tuple[str, float], ...]) -> Callable[[random.Random], str]:
    names = [name for name, _ in options]
    weights = [weight for _, weight in options]
    return lambda rng: rng.choices(names, weights)[0]


def _vocabulary(rng: random.Random) -> list[str]:
    taken = set(STOPWORDS) | {name for name, _, _ in TOPICS}
    words: dict[str, None] = {}
    while len(words) < VOCABULARY:
        word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9)))
        if word not in taken:
            words[word] = None
    return list(words)


@dataclass(frozen=True)
class Store:
    path: Path
    workspace_id: int
    topic_ids: list[int]
    anchor: datetime
    posts: int
    build_seconds: dict[str, float]  # and the term rollup rows compaction dropped


def _posts(count: int, seed: int, anchor: datetime, authors: int) -> Iterator[dict[str, Any]]:
    """The generated posts: one topic keyword each, Zipf-like words, a hashtag in one of five."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    cumulative: list[float] = []
    total = 0.0
    for rank in range(len(vocab)):
        total += 1.0 / (rank + 1) ** 1.1
        cumulative.append(total)
    network, lang = _pick(NETWORKS), _pick(LANGS)
    keywords = [name for name, _, _ in TOPICS]
    shares = [share for _, _, share in TOPICS]
    start = anchor - timedelta(days=DAYS)
    span = int((anchor - start).total_seconds())
    for n in range(count):
        words = rng.choices(vocab, cum_weights=cumulative, k=rng.randint(5, 10))
        words.insert(rng.randrange(len(words) + 1), rng.choices(keywords, shares)[0])
        words.insert(rng.randrange(len(words) + 1), rng.choice(FILLERS))
        tags: list[str] = []
        if rng.random() < 0.2:
            tags = [rng.choices(vocab[:200], k=1)[0]]
            words.append("#" + tags[0])
        created = start + timedelta(seconds=rng.randrange(span))
        yield {
            "native_id": f"p{n}",
            "author_id": 1 + min(int(rng.paretovariate(1.2)) - 1, authors - 1)
            if rng.random() < 0.3
            else rng.randint(1, authors),
            "network": network(rng),
            "lang": lang(rng),
            "text": " ".join(words).capitalize(),
            "hashtags": tags,
            "created_at": created,
            "likes": rng.randint(0, 20),
        }


def build_store(folder: Path, posts: int, seed: int) -> Store:
    """Create (or reuse, when built with the same size and seed) the benchmark store."""
    from hubbub.migrations import upgrade
    from hubbub.workspaces.actions import ensure_workspace

    folder.mkdir(parents=True, exist_ok=True)
    path, meta_path = folder / DB_NAME, folder / META_NAME
    if meta_path.exists() and path.exists():
        meta = json.loads(meta_path.read_text())
        if meta["posts"] == posts and meta["seed"] == seed:
            engine = make_engine(f"sqlite:///{path}")
            upgrade(engine)  # a store built before a later migration gets it now
            engine.dispose()
            return Store(
                path,
                meta["workspace_id"],
                meta["topic_ids"],
                datetime.fromisoformat(meta["anchor"]),
                posts,
                meta["build_seconds"],
            )
    for stale in folder.glob(DB_NAME + "*"):
        stale.unlink()
    meta_path.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    anchor = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
    clock = time.perf_counter()
    with transaction(engine) as session:
        workspace_id = ensure_workspace(session, "bench").id
        topic_ids = [
            add_topic(session, workspace_id, name, name, kind).id for name, kind, _ in TOPICS
        ]
    authors = max(100, posts // AUTHOR_SHARE)
    _seed_rows(engine, workspace_id, posts, authors, seed, anchor)
    seeded = time.perf_counter() - clock
    clock = time.perf_counter()
    with Session(engine) as session:
        # Every post has its enrichment already, so none is computed: an empty enricher list
        # would leave defaults, and is only a guard.
        result = backfill(session, workspace_id, page=5000, enrichment=Enrichment(()))
    rolled = time.perf_counter() - clock
    assert result.posts == posts, (result.posts, posts)
    engine.dispose()
    build = {
        "seed_rows": round(seeded, 1),
        "backfill_rollups": round(rolled, 1),
        "term_rows_compacted": result.compacted,
    }
    meta_path.write_text(
        json.dumps(
            {
                "posts": posts,
                "seed": seed,
                "workspace_id": workspace_id,
                "topic_ids": topic_ids,
                "anchor": anchor.isoformat(),
                "build_seconds": build,
            }
        )
    )
    return Store(path, workspace_id, topic_ids, anchor, posts, build)


def _seed_rows(
    engine: Engine, workspace_id: int, posts: int, authors: int, seed: int, anchor: datetime
) -> None:
    """Bulk insert of authors, posts and enrichments (fixture building, not measured)."""
    rng = random.Random(seed + 1)
    first_seen = anchor - timedelta(days=DAYS + 1)
    author_table = cast(Table, Author.__table__)
    post_table = cast(Table, Post.__table__)
    enrich_table = cast(Table, PostEnrichment.__table__)
    with transaction(engine) as session:
        for start in range(0, authors, CHUNK):
            session.execute(
                insert(author_table),
                [
                    {
                        "id": i + 1,
                        "workspace_id": workspace_id,
                        "network": "bluesky",
                        "native_id": f"did:plc:a{i}",
                        "handle": f"author{i}.example",
                        "followers": rng.randint(0, 5_000),
                        "active": True,
                        "first_seen_at": first_seen,
                        "last_seen_at": first_seen,
                    }
                    for i in range(start, min(start + CHUNK, authors))
                ],
            )
    sentiment = _pick(SENTIMENTS)
    scores = {"negative": -0.6, "neutral": 0.0, "positive": 0.6}
    post_rows: list[dict[str, Any]] = []
    enrichment_rows: list[dict[str, Any]] = []

    def flush() -> None:
        with transaction(engine) as session:
            session.execute(insert(post_table), post_rows)
            session.execute(insert(enrich_table), enrichment_rows)
        post_rows.clear()
        enrichment_rows.clear()

    for post_id, item in enumerate(_posts(posts, seed, anchor, authors), start=1):
        label = sentiment(rng)
        post_rows.append(
            {
                "id": post_id,
                "workspace_id": workspace_id,
                "network": item["network"],
                "native_id": item["native_id"],
                "author_id": item["author_id"],
                "kind": "post",
                "text": item["text"],
                "langs": [item["lang"]] if item["lang"] != "und" else [],
                "created_at": item["created_at"],
                "received_at": item["created_at"],
                "mentions": [],
                "hashtags": item["hashtags"],
                "links": [],
                "media": [],
                "likes": item["likes"],
                "deleted": False,
                "raw": "",
            }
        )
        enrichment_rows.append(
            {
                "post_id": post_id,
                "workspace_id": workspace_id,
                "lang": item["lang"],
                "lang_detected": False,
                "sentiment_score": scores[label],
                "sentiment_label": label,
                "intents": [],
                "entities": {},
            }
        )
        if len(post_rows) >= CHUNK:
            flush()
    if post_rows:
        flush()


# ---- the questions ---------------------------------------------------------------------------

Answer = Any
Question = Callable[[], Answer]


def our_questions(engine: Engine, store: Store) -> dict[str, Callable[[Session], Answer]]:
    """Each dashboard question through the function the page calls, as comparable values."""
    brand, *rivals = store.topic_ids
    start, end = dashboard.period(store.anchor, DAYS)
    return {
        "volume_per_hour": lambda s: [
            (_naive(h), n) for h, n in dashboard.hourly_volume(s, brand, start, end)
        ],
        "sentiment_split": lambda s: dashboard.rollup_split(s, brand, start, end, "sentiment"),
        "share_of_voice": lambda s: sorted(
            dashboard.topic_volumes(s, [brand, *rivals], start, end).items()
        ),
        "top_authors": lambda s: [
            (row.author.id, row.posts)
            for row in dashboard.top_authors(s, brand, start, end, limit=TOP_AUTHORS)
        ],
        "top_terms": lambda s: dashboard.top_terms(s, brand, start, end, limit=TOP_TERMS),
    }


def _naive(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def load_duckdb(store: Store) -> tuple[Any, float]:
    """A DuckDB database holding the store's posts, matches and enrichments; load seconds."""
    import duckdb
    import numpy as np

    clock = time.perf_counter()
    con = duckdb.connect()
    source = sqlite3.connect(store.path)
    tables = {
        "posts": (
            "SELECT id, author_id, created_at, network, text, deleted FROM posts"
            " WHERE workspace_id = ?",
            ("id", "author_id", "created_at", "network", "text", "deleted"),
        ),
        "matches": (
            "SELECT topic_id, post_id, created_at, network FROM topic_matches"
            " WHERE workspace_id = ?",
            ("topic_id", "post_id", "created_at", "network"),
        ),
        "enrichments": (
            "SELECT post_id, lang, sentiment_label FROM post_enrichments WHERE workspace_id = ?",
            ("post_id", "lang", "sentiment_label"),
        ),
    }
    for name, (query, columns) in tables.items():
        cursor = source.execute(query, (store.workspace_id,))
        created = False
        while rows := cursor.fetchmany(500_000):
            chunk = {c: np.array([r[i] for r in rows], dtype=object) for i, c in enumerate(columns)}
            con.register("chunk", chunk)
            if not created:
                con.execute(f"CREATE TABLE raw_{name} AS SELECT * FROM chunk")  # noqa: S608
                created = True
            else:
                con.execute(f"INSERT INTO raw_{name} SELECT * FROM chunk")  # noqa: S608
            con.unregister("chunk")
    source.close()
    con.execute(
        "CREATE TABLE posts AS SELECT CAST(id AS BIGINT) id, CAST(author_id AS BIGINT) author_id,"
        " CAST(created_at AS TIMESTAMP) created_at, CAST(network AS VARCHAR) network,"
        " CAST(text AS VARCHAR) text, CAST(deleted AS INTEGER) <> 0 deleted FROM raw_posts"
    )
    con.execute(
        "CREATE TABLE matches AS SELECT CAST(topic_id AS BIGINT) topic_id,"
        " CAST(post_id AS BIGINT) post_id, CAST(created_at AS TIMESTAMP) created_at,"
        " CAST(network AS VARCHAR) network FROM raw_matches"
    )
    con.execute(
        "CREATE TABLE enrichments AS SELECT CAST(post_id AS BIGINT) post_id,"
        " CAST(lang AS VARCHAR) lang, CAST(sentiment_label AS VARCHAR) sentiment_label"
        " FROM raw_enrichments"
    )
    for name in tables:
        con.execute(f"DROP TABLE raw_{name}")
    con.execute("CREATE TABLE stopwords AS SELECT unnest(?::VARCHAR[]) word", [sorted(STOPWORDS)])
    return con, time.perf_counter() - clock


def duckdb_questions(con: Any, store: Store) -> dict[str, Question]:
    """The same questions answered by DuckDB from the posts, matches and enrichments."""
    brand, *rivals = store.topic_ids
    start, end = (_naive_dt(t) for t in dashboard.period(store.anchor, DAYS))
    args = {"start": start, "end": end, "topic": brand}

    def run(sql: str, **extra: Any) -> list[tuple[Any, ...]]:
        used = {k: v for k, v in (args | extra).items() if re.search(rf"\${k}\b", sql)}
        return [tuple(row) for row in con.execute(sql, used).fetchall()]

    return {
        "volume_per_hour": lambda: [
            (h.isoformat(timespec="seconds"), int(n))
            for h, n in run(
                "SELECT date_trunc('hour', m.created_at) h, count(*) FROM matches m"
                " WHERE m.topic_id = $topic AND m.created_at >= $start AND m.created_at < $end"
                " GROUP BY h ORDER BY h"
            )
        ],
        "sentiment_split": lambda: [
            (label, int(n))
            for label, n in run(
                "SELECT e.sentiment_label, count(*) n FROM matches m"
                " JOIN enrichments e ON e.post_id = m.post_id"
                " WHERE m.topic_id = $topic AND m.created_at >= $start AND m.created_at < $end"
                " GROUP BY 1 ORDER BY n DESC, 1"
            )
        ],
        "share_of_voice": lambda: sorted(
            (
                dict.fromkeys([brand, *rivals], 0)
                | {
                    int(t): int(n)
                    for t, n in run(
                        "SELECT m.topic_id, count(*) FROM matches m"
                        " WHERE list_contains($topics, m.topic_id)"
                        " AND m.created_at >= $start AND m.created_at < $end GROUP BY 1",
                        topics=[brand, *rivals],
                    )
                }
            ).items()
        ),
        "top_authors": lambda: [
            (int(a), int(n))
            for a, n in run(
                "SELECT p.author_id, count(*) n FROM matches m JOIN posts p ON p.id = m.post_id"
                " WHERE m.topic_id = $topic AND m.created_at >= $start AND m.created_at < $end"
                " AND NOT p.deleted GROUP BY 1 ORDER BY n DESC, 1 LIMIT $limit",
                limit=TOP_AUTHORS,
            )
        ],
        "top_terms": lambda: [
            (term, int(n))
            for term, n in run(
                "WITH t AS (SELECT unnest(list_distinct(regexp_extract_all(lower(p.text),"
                " '#\\w+|[a-z][a-z'']*[a-z]|[a-z]'))) term"
                " FROM matches m JOIN posts p ON p.id = m.post_id"
                " WHERE m.topic_id = $topic AND m.created_at >= $start AND m.created_at < $end)"
                " SELECT term, count(*) n FROM t"
                " WHERE (length(term) >= 3 OR term LIKE '#%')"
                " AND term NOT IN (SELECT word FROM stopwords)"
                " GROUP BY term ORDER BY n DESC, term LIMIT $limit",
                limit=TOP_TERMS,
            )
        ],
    }


def _naive_dt(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _in_session(engine: Engine, question: Callable[[Session], Answer]) -> Question:
    """The question asked in a session of its own, as each page request has."""

    def call() -> Answer:
        with Session(engine) as session:
            return question(session)

    return call


def _timed(call: Question, repeat: int) -> tuple[Answer, dict[str, float]]:
    times: list[float] = []
    answer: Answer = None
    for _ in range(repeat):
        clock = time.perf_counter()
        answer = call()
        times.append((time.perf_counter() - clock) * 1000)
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return answer, {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(p95, 3),
        "runs": repeat,
    }


def run(posts: int, seed: int, repeat: int, reuse: Path | None) -> dict[str, Any]:
    """Build (or reuse) the store, time both sides, compare their answers."""
    import tempfile

    try:
        import duckdb
    except ImportError as exc:  # the baseline only: pip install duckdb
        raise RuntimeError("the DuckDB baseline needs duckdb: pip install duckdb") from exc
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="hubbub-dashboard-") as scratch:
        folder = reuse if reuse is not None else Path(scratch)
        store = build_store(folder, posts, seed)
        engine = make_engine(f"sqlite:///{store.path}", writer=False)
        ours: dict[str, Any] = {}
        answers: dict[str, Answer] = {}
        for name, question in our_questions(engine, store).items():
            call = _in_session(engine, question)
            call()  # warm the page cache once, as a running server has it
            answers[name], ours[name] = _timed(call, repeat)
        with engine.connect() as conn:
            rollup_rows = {
                table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
                for table in (
                    "hourly_rollups",
                    "hourly_rollup_authors",
                    "term_rollups",
                    "author_rollups",
                )
            }
        engine.dispose()
        con, load_seconds = load_duckdb(store)
        duck: dict[str, Any] = {}
        same: dict[str, bool] = {}
        for name, baseline in duckdb_questions(con, store).items():
            baseline()
            duck_answer, duck[name] = _timed(baseline, repeat)
            same[name] = duck_answer == answers[name]
        threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
        con.close()
        size_mb = store.path.stat().st_size / 1e6
    questions = {
        name: {
            "hubbub": ours[name],
            "duckdb": duck[name],
            "ratio_p95": round(ours[name]["p95_ms"] / duck[name]["p95_ms"], 4),
            "same_answer": same[name],
            "met": {
                "p95_under_100ms": ours[name]["p95_ms"] < TARGET_P95_MS,
                "at_most_half_duckdb": ours[name]["p95_ms"] <= TARGET_RATIO * duck[name]["p95_ms"],
            },
        }
        for name in ours
    }
    return {
        "posts": posts,
        "seed": seed,
        "period_days": DAYS,
        "topics": [name for name, _, _ in TOPICS],
        "store": {
            "sqlite_mb": round(size_mb, 1),
            "build_seconds": store.build_seconds,
            "rollup_rows": rollup_rows,
            "reused": reuse is not None,
        },
        "duckdb": {"version": duckdb.__version__, "threads": threads, "load_seconds": load_seconds},
        "questions": questions,
        "targets": {"p95_ms": TARGET_P95_MS, "ratio_to_duckdb": TARGET_RATIO},
        "met": all(all(q["met"].values()) for q in questions.values()),
        "same_answers": all(same.values()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": machine() | {"load_before": load_before, "load_after": os.getloadavg()},
    }
