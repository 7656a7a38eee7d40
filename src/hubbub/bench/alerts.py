"""``hubbub bench alerts``: from the post that tips an alert to the notification arriving.

Generated posts flow at `rate` per second in real time through the full `AlertEngine` (volume
per topic and topic × sentiment, emerging terms, sentiment shift, influential authors). At
`spikes` moments, extra posts for the topic are injected. When a post tips an alert, the alert
goes to a worker thread that does what production does — `handle_alert`: store the alert, run
the matching playbook in a SQLite transaction, notify through apprise to a ``json://`` URL — and
a local HTTP receiver notes when the request arrives. Latency = receipt − arrival of the tipping
post (both on this process's monotonic clock). The volume series uses 1-second buckets so a
baseline exists within seconds; the detectors' code is the production code.
"""

from __future__ import annotations

import json
import platform
import queue
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from hubbub.alerts.actions import add_playbook, handle_alert
from hubbub.alerts.detectors import SpikeConfig
from hubbub.alerts.engine import AlertEngine, TopicAlertConfig
from hubbub.alerts.signals import Mention
from hubbub.migrations import upgrade
from hubbub.settings import Settings
from hubbub.store.engine import make_engine, transaction
from hubbub.workspaces.actions import ensure_workspace

TARGET_SECONDS = 2.0
_WORD_TEXT = """
    acme skates rocket love fast order delivery price wheels speed ride park city weekend friend
    gift review support store color size comfort brake helmet trick
"""
WORDS = tuple(_WORD_TEXT.split())
SPIKE_POSTS = 600
SPIKE_SECONDS = 0.3
WARMUP_SECONDS = 4.0


class Receiver:
    """A local HTTP endpoint that records when each notification arrived."""

    def __init__(self) -> None:
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.lock = threading.Lock()

    @contextmanager
    def serve(self) -> Iterator[str]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.perf_counter()
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.received.append((arrived, json.loads(body or b"{}")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


def _playbook(host: str) -> str:
    return f"""
name: bench
trigger:
  kind: volume_spike
  topics: [brand]
actions:
  - notify:
      urls: ["json://{host}/hook"]
      title: "{{{{ alert.kind }}}} {{{{ alert.series }}}}"
      body: "{{{{ alert.series }}}} {{{{ alert.time }}}}"
"""


def _post(rng: random.Random, at: float, topic: str = "brand") -> Mention:
    text = " ".join(rng.choice(WORDS) for _ in range(8))
    return Mention(
        time=at,
        topic=topic,
        text=text,
        post=f"bench:{at:.6f}",
        author=f"user{rng.randrange(5000)}",
        followers=rng.randrange(5000),
        network=rng.choice(("bluesky", "mastodon", "rss")),
        sentiment=rng.choices(("negative", "neutral", "positive"), (1, 6, 3))[0],
    )


def _schedule(seconds: float, rate: int, spikes: int, seed: int) -> list[tuple[float, Mention]]:
    """(offset from start, post) in time order: the steady stream plus the injected spikes."""
    rng = random.Random(seed)
    step = 1.0 / rate
    base = 1_800_000_000.0  # event times are offsets from a fixed epoch: buckets align
    plan = [(i * step, _post(rng, base + i * step)) for i in range(int(seconds * rate))]
    usable = seconds - WARMUP_SECONDS - 1.0
    for k in range(spikes):
        start = int(WARMUP_SECONDS + usable * (k + 0.5) / spikes) + 0.2  # inside one bucket
        for j in range(SPIKE_POSTS):
            offset = start + j * SPIKE_SECONDS / SPIKE_POSTS
            plan.append((offset, _post(rng, base + offset)))
    plan.sort(key=lambda pair: pair[0])
    return plan


def run(seconds: float = 20.0, rate: int = 1_000, spikes: int = 5, seed: int = 0) -> dict[str, Any]:
    """Feed the load in real time and measure each alert's path to the receiver."""
    spacing = (seconds - WARMUP_SECONDS - 1.0) / spikes
    volume = SpikeConfig(
        bucket_seconds=1,
        window=60,
        min_history=3,
        threshold=5.0,
        min_ratio=1.2,
        min_volume=50,
        cooldown_seconds=max(1, int(spacing / 2)),
        lateness_seconds=0,
        early=True,
    )
    engine = AlertEngine(TopicAlertConfig(volume=volume, volume_by_sentiment=None))
    plan = _schedule(seconds, rate, spikes, seed)
    receiver = Receiver()
    arrivals: dict[str, float] = {}
    outbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as folder, receiver.serve() as host:
        db = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(db)
        settings = Settings(home=Path(folder), allowed_private_hosts=["127.0.0.1"])
        with transaction(db) as session:
            workspace_id = ensure_workspace(session, "bench", "Bench").id
            add_playbook(session, workspace_id, _playbook(host))

        def worker() -> None:
            while (alert := outbox.get()) is not None:
                with transaction(db) as session:
                    for done in handle_alert(session, workspace_id, alert, settings):
                        failures.extend(e["detail"] for e in done.actions if e["outcome"] != "ok")

        thread = threading.Thread(target=worker, daemon=True)
        thread.start()
        started = time.perf_counter()
        behind = 0.0
        alerts_raised = 0
        for offset, mention in plan:
            wait = started + offset - time.perf_counter()
            if wait > 0.0005:
                time.sleep(wait)
            arrived = time.perf_counter()
            behind = max(behind, arrived - started - offset)
            for alert in engine.observe(mention):
                payload = alert.as_dict()
                alerts_raised += 1
                if payload["kind"] == "volume_spike" and payload["series"] == "brand":
                    arrivals[f"{payload['series']} {payload['time']}"] = arrived
                outbox.put(payload)
        fed_seconds = time.perf_counter() - started
        outbox.put(None)
        thread.join(timeout=30)
        deadline = time.perf_counter() + 5
        while len(receiver.received) < len(arrivals) and time.perf_counter() < deadline:
            time.sleep(0.01)
        db.dispose()
    latencies = sorted(
        received - arrivals[body.get("message", "")]
        for received, body in receiver.received
        if body.get("message", "") in arrivals
    )
    return {
        "bench": "alerts",
        "posts": len(plan),
        "rate_posts_per_second": rate,
        "achieved_posts_per_second": round(len(plan) / fed_seconds, 1),
        "max_seconds_behind_schedule": round(behind, 4),
        "seconds": round(fed_seconds, 2),
        "spikes": spikes,
        "alerts_raised": alerts_raised,
        "alerts_received": len(latencies),
        "latency_seconds": _percentiles(latencies),
        "target_seconds": TARGET_SECONDS,
        "target_met": bool(latencies)
        and len(latencies) == spikes
        and max(latencies) < TARGET_SECONDS,
        "failures": failures,
        "path": "post → AlertEngine → worker: store alert + playbook run (SQLite) → apprise "
        "json:// → local HTTP receiver",
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return {
        "p50": round(statistics.median(values), 4),
        "p95": round(p95, 4),
        "max": round(values[-1], 4),
    }
