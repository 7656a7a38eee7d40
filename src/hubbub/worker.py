"""The pipeline after the store: what `hubbub up` and `hubbub worker` run on a timer.

Per workspace, each tick:

* search — posts stored since the last tick go into the full-text index;
* inbox — new posts that need an answer open (or join) conversations;
* inbox deletes — posts deleted on their network: replies still to send to them are
  discarded, conversations with nothing of the customer's left are resolved (docs/inbox.md);
* alerts — new topic matches go, oldest first, through the workspace's alert detectors; each
  alert is stored and the playbooks it triggers run;
* replies — replies queued in the inbox (web, API, playbooks) are sent to their network, and
  due retries tried again — exactly once each (see `inbox.outbound`);
* webhooks — due deliveries of the outbox are sent (retries wait their backoff);
* reports — scheduled reports whose period is complete are mailed, once per period;
* graph — new posts (and deletes, topic backfills) update the persisted interaction graph; its
  cursor is stored with the edges, in the same transaction;
* links — short links (bit.ly, t.co …) of new posts are recorded, a few due ones followed to
  where they lead (SSRF-checked hops, each host paced), and the posts carrying a resolved one
  get the real domain in their entities and search entry (docs/listening.md);
* terms — once a UTC day, the term rollups of the last two closed days are compacted
  (docs/listening.md);
* rematch — topics whose rule changed get their stored posts matched again under the new rule,
  up to 20 pages of 1,000 posts a tick, resuming where the last tick stopped (docs/listening.md).

Each job remembers the highest post id it has handled, in memory. At start-up the inbox looks
back `inbox_lookback` (its action is idempotent) and the alerts start from the newest match:
their detectors learn their baselines live rather than firing on old history.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.alerts.actions import handle_alert
from hubbub.alerts.engine import AlertEngine
from hubbub.alerts.signals import Mention
from hubbub.core.aio import run_sync
from hubbub.core.clock import utcnow
from hubbub.enrich.links.actions import resolve_due
from hubbub.enrich.links.resolve import HostPacer
from hubbub.enrich.links.shorteners import known_shorteners
from hubbub.graph.actions import update_interaction_edges
from hubbub.inbox.actions import handle_deleted_posts, open_conversations_for
from hubbub.inbox.mentions import send_due_mentions
from hubbub.inbox.outbound import send_due_replies
from hubbub.inbox.queries import conversations_with_deletes, last_tombstone_id
from hubbub.listening.actions import compact_recent_days, pending_rematches
from hubbub.listening.enrichment import Enrichment
from hubbub.listening.links import collect_short_links, refresh_resolved_posts
from hubbub.listening.models import PostEnrichment, Topic, TopicMatch, match_sentiment
from hubbub.listening.search_index import refresh_search_index
from hubbub.listening.tasks import run_pending_rematches
from hubbub.posts.models import Author, Post
from hubbub.reports.mail import send_due as send_due_reports
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.webhooks.delivery import deliver_due
from hubbub.workspaces.models import Workspace

log = logging.getLogger(__name__)

BATCH = 1_000  # posts or matches handled per job per transaction
GRAPH_BATCHES_PER_TICK = 10
LINKS_PER_TICK = 10  # short links followed per workspace and tick (paced: a few seconds at most)


@dataclass
class TickResult:
    indexed: int = 0
    conversations: int = 0
    conversations_withdrawn: int = 0
    mentions: int = 0
    alerts: int = 0
    playbook_runs: int = 0
    replies_sent: int = 0
    webhooks_delivered: int = 0
    reports_sent: int = 0
    mention_mails_sent: int = 0
    graph_posts: int = 0
    links_resolved: int = 0
    rematched_posts: int = 0
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class _Cursors:
    inbox: int
    alerts: int
    detectors: AlertEngine = field(default_factory=AlertEngine)
    links: int = 0  # highest post id whose short links are recorded
    deletes: int | None = None  # highest tombstone id the inbox has seen; None: not looked yet


class Pipeline:
    """One per process; ``tick`` runs every job once for every workspace."""

    def __init__(
        self, engine: Engine, settings: Settings, inbox_lookback: timedelta = timedelta(hours=24)
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.inbox_lookback = inbox_lookback
        self._workspaces: dict[int, _Cursors] = {}
        self._terms_compacted: dict[int, date] = {}
        self._pacer = HostPacer()  # kept across ticks: each shortener host stays paced
        self._enrichment: Enrichment | None = None  # for re-matches, built on first use

    def tick(self) -> TickResult:
        result = TickResult()
        with Session(self.engine) as session:
            workspace_ids = list(session.scalars(select(Workspace.id)))
        for workspace_id in workspace_ids:
            cursors = self._cursors(workspace_id)
            # One job failing (a bad playbook, a full disk) must not stop the others.
            for name, job in (
                ("search", self._search),
                ("inbox", self._inbox),
                ("inbox deletes", self._inbox_deletes),
                ("alerts", self._alerts),
                ("replies", self._replies),
                ("webhooks", self._webhooks),
                ("reports", self._reports),
                ("mention mails", self._mention_mails),
                ("graph", self._graph),
                ("links", self._links),
                ("terms", self._terms),
                ("rematch", self._rematch),
            ):
                try:
                    job(workspace_id, cursors, result)
                except Exception as exc:
                    log.exception("pipeline job %s failed for workspace %s", name, workspace_id)
                    result.errors[f"{workspace_id}/{name}"] = f"{type(exc).__name__}: {exc}"
        return result

    async def run(self, stop: asyncio.Event, interval: float = 5.0) -> None:
        """Tick every ``interval`` seconds (in a thread: jobs block on the database) until
        ``stop`` is set."""
        while not stop.is_set():
            await asyncio.to_thread(self.tick)
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                continue

    def _cursors(self, workspace_id: int) -> _Cursors:
        found = self._workspaces.get(workspace_id)
        if found is None:
            since = utcnow() - self.inbox_lookback
            with Session(self.engine) as session:
                before = session.scalar(
                    select(func.max(Post.id)).where(
                        Post.workspace_id == workspace_id, Post.received_at < since
                    )
                )
                newest = session.scalar(
                    select(func.max(TopicMatch.post_id)).where(
                        TopicMatch.workspace_id == workspace_id
                    )
                )
            found = _Cursors(inbox=before or 0, alerts=newest or 0, links=before or 0)
            self._workspaces[workspace_id] = found
        return found

    def _replies(self, workspace_id: int, _cursors: _Cursors, result: TickResult) -> None:
        """Send the replies that are due to their networks."""
        sent = run_sync(send_due_replies(self.engine, self.settings, workspace_id))
        result.replies_sent += sent.sent

    def _webhooks(self, workspace_id: int, _cursors: _Cursors, result: TickResult) -> None:
        """Send the due webhook deliveries, the events of the jobs above included."""
        result.webhooks_delivered += deliver_due(
            self.engine, self.settings, workspace_id=workspace_id
        ).delivered

    def _reports(self, workspace_id: int, _cursors: _Cursors, result: TickResult) -> None:
        """Mail the workspace's scheduled reports that are due (nothing without SMTP)."""
        result.reports_sent += send_due_reports(
            self.engine, self.settings, workspace_id=workspace_id
        ).sent

    def _mention_mails(self, workspace_id: int, _cursors: _Cursors, result: TickResult) -> None:
        """Mail teammates @-mentioned in notes (nothing without SMTP)."""
        result.mention_mails_sent += send_due_mentions(
            self.engine, self.settings, workspace_id=workspace_id
        ).sent

    def _terms(self, workspace_id: int, _cursors: _Cursors, _result: TickResult) -> None:
        """Once a UTC day (and at start-up), compact the term rollups of the closed days."""
        today = utcnow().date()
        if self._terms_compacted.get(workspace_id) != today:
            with transaction(self.engine) as session:
                compact_recent_days(session, workspace_id)
            self._terms_compacted[workspace_id] = today

    def _rematch(self, workspace_id: int, _cursors: _Cursors, result: TickResult) -> None:
        """Go on with the re-matches of topics whose rule changed."""
        if self._enrichment is None:  # loads a model with some tiers: only once it is needed
            with Session(self.engine) as session:
                if not pending_rematches(session, workspace_id):
                    return
            self._enrichment = Enrichment.for_tier(self.settings.sentiment_tier)
        for _name, step in run_pending_rematches(
            self.engine, workspace_id, enrichment=self._enrichment
        ):
            result.rematched_posts += step.posts

    def _search(self, workspace_id: int, _cursors: _Cursors, result: TickResult) -> None:
        with transaction(self.engine) as session:
            result.indexed += refresh_search_index(session, workspace_id).indexed

    def _inbox(self, workspace_id: int, cursors: _Cursors, result: TickResult) -> None:
        with transaction(self.engine) as session:
            ids = list(
                session.scalars(
                    select(Post.id)
                    .where(Post.workspace_id == workspace_id, Post.id > cursors.inbox)
                    .order_by(Post.id)
                    .limit(BATCH)
                )
            )
            if ids:
                result.conversations += len(open_conversations_for(session, workspace_id, ids))
        if ids:
            cursors.inbox = ids[-1]

    def _inbox_deletes(self, workspace_id: int, cursors: _Cursors, result: TickResult) -> None:
        """Posts deleted on their network since the last tick. At start every open conversation
        is looked at once (deletes stored while no worker ran: an import, a stopped worker);
        then only the conversations the new tombstones touch."""
        if cursors.deletes is None:
            with transaction(self.engine) as session:
                upto = last_tombstone_id(session)  # read first: a later delete is seen next tick
                done = handle_deleted_posts(session, workspace_id)
            cursors.deletes = upto
            result.conversations_withdrawn += len(done.closed)
            return
        for _ in range(GRAPH_BATCHES_PER_TICK):
            with transaction(self.engine) as session:
                ids, upto = conversations_with_deletes(
                    session, workspace_id, cursors.deletes, BATCH
                )
                step = handle_deleted_posts(session, workspace_id, ids) if ids else None
            if step is not None:
                result.conversations_withdrawn += len(step.closed)
            if upto == cursors.deletes:
                return
            cursors.deletes = upto

    def _alerts(self, workspace_id: int, cursors: _Cursors, result: TickResult) -> None:
        with transaction(self.engine) as session:
            rows = session.execute(
                select(
                    TopicMatch.post_id,
                    Topic.name,
                    Post.created_at,
                    Post.text,
                    Post.url,
                    Post.native_id,
                    Post.network,
                    Post.hashtags,
                    Author.handle,
                    Author.native_id.label("author_id"),
                    Author.followers,
                    match_sentiment().label("sentiment_label"),
                )
                .join(Topic, Topic.id == TopicMatch.topic_id)
                .join(Post, Post.id == TopicMatch.post_id)
                .join(Author, Author.id == Post.author_id)
                .outerjoin(PostEnrichment, PostEnrichment.post_id == Post.id)
                .where(TopicMatch.workspace_id == workspace_id, TopicMatch.post_id > cursors.alerts)
                .order_by(TopicMatch.post_id)
                .limit(BATCH)
            ).all()
            for row in rows:
                mention = Mention(
                    time=row.created_at.timestamp(),
                    topic=row.name,
                    text=row.text or "",
                    post=row.url or row.native_id,
                    author=row.handle or row.author_id,
                    followers=row.followers or 0,
                    network=row.network,
                    sentiment=row.sentiment_label or "neutral",
                    hashtags=tuple(row.hashtags or ()),
                )
                result.mentions += 1
                for alert in cursors.detectors.observe(mention):
                    result.alerts += 1
                    runs = handle_alert(session, workspace_id, alert.as_dict(), self.settings)
                    result.playbook_runs += len(runs)
        if rows:
            cursors.alerts = max(row.post_id for row in rows)

    def _graph(self, workspace_id: int, _cursors: _Cursors, result: TickResult) -> None:
        # Several batches a tick (one transaction each) so a backlog catches up in minutes.
        for _ in range(GRAPH_BATCHES_PER_TICK):
            with transaction(self.engine) as session:
                step = update_interaction_edges(session, workspace_id, batch=BATCH)
            result.graph_posts += step.posts
            if step.scanned < BATCH:
                return

    def _links(self, workspace_id: int, cursors: _Cursors, result: TickResult) -> None:
        """Record the short links of new posts, follow a few due ones, refresh the posts."""
        for _ in range(GRAPH_BATCHES_PER_TICK):
            with transaction(self.engine) as session:
                step = collect_short_links(
                    session,
                    workspace_id,
                    cursors.links,
                    batch=BATCH,
                    known=known_shorteners(self.settings.extra_shorteners),
                )
            cursors.links = step.last_id
            if step.scanned < BATCH:
                break
        done = run_sync(
            resolve_due(
                self.engine,
                self.settings,
                limit=LINKS_PER_TICK,
                workspace_id=workspace_id,
                pacer=self._pacer,
            )
        )
        if done.resolved:
            with transaction(self.engine) as session:
                refresh_resolved_posts(session, done.resolved)
        result.links_resolved += len(done.resolved)
