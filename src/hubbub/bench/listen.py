"""``hubbub bench listen``: decode, normalise, match, enrich and store, stage by stage and end
to end, on Jetstream-shaped posts of which about 5% concern one of the workspace's topics.

Each part runs in a fresh child process on the same event file:

* ``stages``: per-stage CPU-time rates in one process, chunk by chunk (decode; decode and
  normalise; match with the compiled matcher; enrichment of the matched posts), with, side by
  side, a naive matcher (one Python regex per rule, on a sample) and the plain vaderSentiment
  loop on the same matched texts;
* ``end_to_end``: ``Ingestor.ingest_stream`` over every event into a fresh SQLite store whose
  workspace has the topics, keep policy ``concerned``, as ``hubbub import`` runs it.
"""

from __future__ import annotations

import multiprocessing
import random
import re
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from hubbub.bench import machine
from hubbub.bench.ingest import BATCH, peak_rss_mb, worker_peak_rss_mb

CHUNK = 10_000
MATCH_SHARE = 0.05
NAIVE_SAMPLE = 1_000
# Words of the generated posts' English vocabulary that rules combine brand names with.
_CONTEXT = ("launch", "price", "support", "update", "order", "delivery", "coffee", "battery")


def _brand(i: int) -> str:
    return f"brand{i:04d}"


def rules(count: int, seed: int) -> dict[str, tuple[str, str]]:
    """Topic name → (rule, a text snippet that satisfies it) in the query language's shapes."""
    rng = random.Random(seed)
    out: dict[str, tuple[str, str]] = {}
    for i in range(count):
        brand, word = _brand(i), rng.choice(_CONTEXT)
        shape = i % 6
        if shape == 0:
            out[f"t{i}"] = (brand, brand)
        elif shape == 1:
            out[f"t{i}"] = (f'"{brand} {word}"', f"{brand} {word}")
        elif shape == 2:
            out[f"t{i}"] = (f"{brand}* OR {brand}x", f"{brand}s")
        elif shape == 3:
            out[f"t{i}"] = (f"({brand} OR #{brand}) AND NOT zzzspam", f"#{brand}")
        elif shape == 4:
            out[f"t{i}"] = (f"{brand} NEAR/3 {word}", f"{word} new {brand}")
        else:
            out[f"t{i}"] = (f"#{brand} OR @{brand}.bsky.social", f"#{brand}")
    return out


def write_events(path: Path, posts: int, topic_rules: dict[str, tuple[str, str]], seed: int) -> int:
    """Jetstream post events, MATCH_SHARE of them carrying one rule's snippet; returns those."""
    from hubbub.connectors.bluesky.workload import jetstream_events

    rng = random.Random(seed)
    snippets = [snippet for _rule, snippet in topic_rules.values()]
    carrying = 0
    with path.open("wb") as out:
        for start in range(0, posts, CHUNK):
            for line in jetstream_events(min(CHUNK, posts - start), seed=seed + start):
                if rng.random() < MATCH_SHARE:
                    event = orjson.loads(line)
                    record = event["commit"]["record"]
                    # Appended, so the facets' byte offsets stay right.
                    record["text"] = f"{record.get('text', '')} {rng.choice(snippets)}"
                    out.write(orjson.dumps(event) + b"\n")
                    carrying += 1
                else:
                    out.write(line + b"\n")
    return carrying


def _lines(path: str) -> Iterator[list[bytes]]:
    with open(path, "rb") as handle:
        chunk: list[bytes] = []
        for line in handle:
            chunk.append(line.rstrip(b"\n"))
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _naive_regex_rate(topic_rules: dict[str, str], texts: list[str]) -> tuple[float, list[int]]:
    from hubbub.listening.bench import naive_regex
    from hubbub.listening.query import parse

    compiled = [
        re.compile(naive_regex(parse(rule)), re.IGNORECASE | re.DOTALL)
        for rule in topic_rules.values()
        if "#" not in rule and "@" not in rule  # the regex baseline has no field syntax
    ]
    started = time.process_time()
    hits = [sum(1 for rx in compiled if rx.match(text)) for text in texts]
    return len(texts) / max(time.process_time() - started, 1e-9), hits


def _warm_up(path: str, settings: Any, enrichment: Any) -> None:
    """Models load outside the timed part (one post through every enricher)."""
    from hubbub.core.clock import utcnow
    from hubbub.core.items import PostItem, RawEvent
    from hubbub.listening.document import Document
    from hubbub.listening.enrichment import Candidate
    from hubbub.sources.ingest import normalise_event

    line = next(_lines(path))[0]
    for item in normalise_event(RawEvent(payload=line, format="jetstream"), settings, utcnow()):
        if isinstance(item, PostItem):
            enrichment([Candidate(item, Document.from_post(item, network="bluesky"))])


def run_stages(path: str, topic_rules: dict[str, str]) -> dict[str, Any]:
    """Per-stage CPU-time rates in this process, chunk by chunk."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from hubbub.core.clock import utcnow
    from hubbub.core.items import PostItem, RawEvent
    from hubbub.listening.document import Document
    from hubbub.listening.enrichment import Candidate, Enrichment, post_text
    from hubbub.listening.matcher import Matcher
    from hubbub.runtime import load_connectors
    from hubbub.settings import Settings
    from hubbub.sources.ingest import normalise_event

    load_connectors()
    settings = Settings()
    started = time.process_time()
    matcher: Matcher[str] = Matcher(topic_rules)
    compile_s = time.process_time() - started
    enrichment, vader = Enrichment(), SentimentIntensityAnalyzer()
    _warm_up(path, settings, enrichment)
    seconds = dict.fromkeys(("decode", "normalise", "document", "match", "enrich", "vader"), 0.0)
    posts = matched = 0
    naive_texts: list[str] = []
    now = utcnow()
    for chunk in _lines(path):
        clock = time.process_time()
        for line in chunk:
            orjson.loads(line)
        seconds["decode"] += time.process_time() - clock
        clock = time.process_time()
        items = [
            item
            for line in chunk
            for item in normalise_event(RawEvent(payload=line, format="jetstream"), settings, now)
            if isinstance(item, PostItem)
        ]
        seconds["normalise"] += time.process_time() - clock
        clock = time.process_time()
        docs = [Document.from_post(item, network="bluesky") for item in items]
        seconds["document"] += time.process_time() - clock
        clock = time.process_time()
        candidates = [
            Candidate(item, doc)
            for item, doc in zip(items, docs, strict=True)
            if matcher.match(doc)
        ]
        seconds["match"] += time.process_time() - clock
        posts += len(items)
        matched += len(candidates)
        if len(naive_texts) < NAIVE_SAMPLE:
            naive_texts += [item.text for item in items[: NAIVE_SAMPLE - len(naive_texts)]]
        clock = time.process_time()
        enrichment(candidates)
        seconds["enrich"] += time.process_time() - clock
        texts = [post_text(c.item) for c in candidates]
        clock = time.process_time()
        for text in texts:
            vader.polarity_scores(text)
        seconds["vader"] += time.process_time() - clock
    naive_rate, _ = _naive_regex_rate(topic_rules, naive_texts)
    rate = {
        name: (matched if name in ("enrich", "vader") else posts) / max(s, 1e-9)
        for name, s in seconds.items()
    }
    return {
        "posts": posts,
        "matched": matched,
        "matched_share": matched / max(posts, 1),
        "compile_s": compile_s,
        "cpu_seconds": seconds,
        "posts_per_cpu_second": {
            "decode": rate["decode"],
            "decode_and_normalise": rate["normalise"],
            "document": rate["document"],  # the fields rules can name, from a post
            "match": rate["match"],
            "enrich_matched": rate["enrich"],
            "vader_on_matched": rate["vader"],
        },
        "naive_matcher_posts_per_cpu_second": naive_rate,
        "naive_sample": len(naive_texts),
        "peak_rss_mb": peak_rss_mb(),
    }


def _store_with_topics(
    folder: Path, topic_rules: dict[str, str], keep: str
) -> tuple[Any, Any, int]:
    from hubbub.bench.ingest import fresh_store
    from hubbub.connectors import load_ingest_plugins
    from hubbub.listening.actions import add_topic
    from hubbub.runtime import load_connectors
    from hubbub.settings import Settings
    from hubbub.sources.ingest import Ingestor
    from hubbub.store.engine import make_engine, transaction

    load_connectors()
    url, workspace_id = fresh_store(folder)
    engine = make_engine(url)
    with transaction(engine) as session:
        for name, rule in topic_rules.items():
            add_topic(session, workspace_id, name, rule)
    settings = Settings(home=folder, database_url=url, ingest_batch_size=BATCH, keep=keep)
    return Ingestor(engine, settings, worker_setup=load_ingest_plugins), engine, workspace_id


def _raw_batches(path: str) -> Iterator[list[Any]]:
    from hubbub.core.items import RawEvent

    number = 0
    with open(path, "rb") as handle:
        batch: list[RawEvent] = []
        for line in handle:
            batch.append(
                RawEvent(payload=line.rstrip(b"\n"), format="jetstream", cursor=str(number))
            )
            number += 1
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def run_end_to_end(path: str, folder: str, topic_rules: dict[str, str]) -> dict[str, Any]:
    """The ingest service with the listening stage over every event, keep ``concerned``."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from hubbub.listening.models import TopicMatch
    from hubbub.sources.ingest import Target

    ingestor, engine, workspace_id = _store_with_topics(Path(folder), topic_rules, "concerned")
    events = stored = dropped = 0
    started = time.perf_counter()
    for result in ingestor.ingest_stream(Target(workspace_id), _raw_batches(path)):
        events += result.events
        stored += result.store.stored
        dropped += result.dropped
    elapsed = time.perf_counter() - started
    with Session(engine) as session:
        matches = session.scalar(select(func.count()).select_from(TopicMatch)) or 0
    return {
        "events": events,
        "stored": stored,
        "not_kept": dropped,
        "topic_matches": matches,
        "seconds": elapsed,
        "posts_per_second": events / elapsed,
        "batches_prepared_by_worker": ingestor.batches_prepared_by_worker,
        "peak_rss_mb": peak_rss_mb() + worker_peak_rss_mb(),
    }


def _in_child(function: Any, *args: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return dict(pool.submit(function, *args).result())


def run(posts: int, rule_count: int, seed: int = 0) -> dict[str, Any]:
    """Every part on the same events; targets from issue #3."""
    with_snippets = rules(rule_count, seed)
    topic_rules = {name: rule for name, (rule, _snippet) in with_snippets.items()}
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        path = folder / "events.jsonl"
        carrying = write_events(path, posts, with_snippets, seed)
        (folder / "e2e").mkdir()
        stages = _in_child(run_stages, str(path), topic_rules)
        end_to_end = _in_child(run_end_to_end, str(path), str(folder / "e2e"), topic_rules)
    rates = stages["posts_per_cpu_second"]
    speedup = rates["match"] / stages["naive_matcher_posts_per_cpu_second"]
    peak = max(stages["peak_rss_mb"], end_to_end["peak_rss_mb"])
    targets = {
        "match_posts_per_second_min": 100_000,
        "match_speedup_over_naive_min": 50,
        "enrichment_at_least_vader": True,
        "end_to_end_posts_per_second_min": 20_000,
        "peak_rss_mb_max": 500,
    }
    met = {
        "match_rate": rates["match"] >= 100_000,
        "match_speedup": speedup >= 50,
        "enrichment_vs_vader": rates["enrich_matched"] >= rates["vader_on_matched"],
        "end_to_end_rate": end_to_end["posts_per_second"] >= 20_000,
        "peak_memory": peak < 500,
    }
    return {
        "benchmark": "listen",
        "posts": posts,
        "rules": rule_count,
        "posts_carrying_a_rule_snippet": carrying,
        "machine": machine(),
        "stages": stages,
        "match_speedup_over_naive": speedup,
        "end_to_end": end_to_end,
        "peak_rss_mb": peak,
        "targets": targets,
        "met": met,
        "all_met": all(met.values()),
    }
