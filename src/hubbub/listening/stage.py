"""The listening ingest stage: every incoming post is matched against its workspace's topics as
it arrives; what the workspace keeps is decided before the store, and matches, enrichments and
rollups are written in the batch's own transaction after it.

A workspace keeps (``HUBBUB_KEEP=concerned``) what its topics match, what is addressed to its
own accounts (``WorkspaceAccount``), and what joins threads it holds. Per workspace the stage
caches one compiled matcher. Each batch costs one indexed query on
``topics`` (count and newest ``updated_at``) to notice edits; a change recompiles only the
topics that changed (``Matcher.update``), without stopping ingestion or the process.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from hubbub.core.items import Item, PostItem
from hubbub.listening.actions import Matched, engagement, post_terms, record_matches
from hubbub.listening.aspects import topic_targets
from hubbub.listening.corrections.apply import Calibrations
from hubbub.listening.document import Document
from hubbub.listening.enrichment import Candidate, Enrichment, post_text
from hubbub.listening.matcher import Matcher
from hubbub.listening.models import Topic
from hubbub.listening.query import Node, QueryError, parse
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.sources.stages import Selection, ingest_stages
from hubbub.store.dialect import chunks
from hubbub.workspaces.models import WorkspaceAccount

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (network, native id)


@dataclass
class _Topics:
    """A workspace's compiled topics and the signature they were compiled at."""

    signature: tuple[int, datetime | None] = (0, None)
    versions: dict[int, datetime] = field(default_factory=dict)
    matcher: Matcher[int] = field(default_factory=Matcher)
    targets: dict[int, tuple[str, ...]] = field(default_factory=dict)  # for aspect sentiment


@dataclass(frozen=True)
class _OwnAccounts:
    """The workspace's own accounts: posts mentioning them or answering their posts concern it."""

    ids: frozenset[str] = frozenset()  # native author ids (DIDs, account URLs)
    handles: frozenset[str] = frozenset()  # lower case, without the @
    prefixes: tuple[str, ...] = ()  # how their posts' ids start (at://DID/, account URL/)

    def concern(self, post: PostItem, doc_mentions: Sequence[str]) -> bool:
        if not self.ids:
            return False
        if any(m in self.ids for m in post.mentions):
            return True
        if any(m.lower() in self.handles for m in doc_mentions):
            return True
        return any(ref and ref.startswith(self.prefixes) for ref in _references(post))


def _references(post: PostItem) -> tuple[str | None, ...]:
    return (post.reply_to, post.thread_root, post.reshare_of, post.quote_of)


def _stateful(post: PostItem) -> bool:
    """An edit or a count update: it must reach a post we already store."""
    return post.edited or any(
        v is not None for v in (post.likes, post.reshares, post.replies, post.quotes)
    )


class ListeningStage:
    """Matches posts, applies the keep policy, and records matches after the store."""

    # Kept posts remembered per workspace: a prepare worker selects batches ahead of the writer,
    # so a reply may be selected before the batch holding its parent has been stored.
    RECENT_KEPT = 100_000

    def __init__(self, keep_all: bool = False, enrichment: Enrichment | None = None) -> None:
        self.keep_all = keep_all
        self.enrichment = enrichment or Enrichment()
        self.slow_to_start = self.enrichment.loads_a_model
        self.calibrations = Calibrations()  # from analysts' corrections, per workspace
        self._workspaces: dict[int, _Topics] = {}
        self._recent: dict[int, dict[Key, None]] = {}
        self._own: dict[int, tuple[tuple[int, int | None], _OwnAccounts]] = {}

    def own_accounts(self, conn: Connection, workspace_id: int) -> _OwnAccounts:
        """The workspace's own accounts, reloaded when they change (one indexed query)."""
        signature = conn.execute(
            select(func.count(), func.max(WorkspaceAccount.id)).where(
                WorkspaceAccount.workspace_id == workspace_id
            )
        ).one()
        key = (int(signature[0]), signature[1])
        cached = self._own.get(workspace_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        rows = conn.execute(
            select(WorkspaceAccount.native_author_id, WorkspaceAccount.handle).where(
                WorkspaceAccount.workspace_id == workspace_id
            )
        ).all()
        ids = frozenset(row.native_author_id for row in rows)
        own = _OwnAccounts(
            ids=ids,
            handles=frozenset(row.handle.lstrip("@").lower() for row in rows),
            prefixes=tuple(p for i in ids for p in (f"at://{i}/", f"{i.rstrip('/')}/")),
        )
        self._own[workspace_id] = (key, own)
        return own

    # topics ----------------------------------------------------------------------------------

    def topics(self, conn: Connection, workspace_id: int) -> _Topics:
        """The workspace's compiled topics, brought up to date when they changed."""
        cached = self._workspaces.get(workspace_id)
        count, newest = conn.execute(
            select(func.count(), func.max(Topic.updated_at)).where(
                Topic.workspace_id == workspace_id
            )
        ).one()
        signature = (int(count), newest)
        if cached is not None and cached.signature == signature:
            return cached
        cached = cached or _Topics()
        rows = conn.execute(
            select(Topic.id, Topic.name, Topic.kind, Topic.rule, Topic.updated_at).where(
                Topic.workspace_id == workspace_id, Topic.active
            )
        ).all()
        current = {row.id: row.updated_at for row in rows}
        nodes: dict[int, Node] = {}
        for row in rows:
            if cached.versions.get(row.id) == row.updated_at:
                continue
            try:
                nodes[row.id] = parse(row.rule)
            except QueryError as error:  # stored before a grammar change; never stop ingest
                log.warning("topic %s no longer parses: %s", row.id, error.detail)
                del current[row.id]
                continue
            cached.targets[row.id] = topic_targets(row.name, row.kind, nodes[row.id])
        gone = [topic_id for topic_id in cached.versions if topic_id not in current]
        for topic_id in gone:
            cached.targets.pop(topic_id, None)
        if nodes or gone:
            cached.matcher.update(add=nodes, remove=gone)
        cached.versions = current
        cached.signature = signature
        self._workspaces[workspace_id] = cached
        return cached

    # the stage protocol ---------------------------------------------------------------------

    def select(
        self, engine: Engine, workspace_id: int, network: str, items: Sequence[Item]
    ) -> Selection:
        posts = [item for item in items if isinstance(item, PostItem)]
        if not posts:
            return Selection(list(items))
        with engine.connect() as conn:
            topics = self.topics(conn, workspace_id)
            if not topics.signature[0]:  # no topics at all: keep everything, match nothing
                return Selection(list(items))
            matched: dict[Key, Matched] = {}
            candidates: dict[Key, Candidate] = {}
            matcher = topics.matcher
            own = self.own_accounts(conn, workspace_id)
            addressed: set[Key] = set()  # mention or answer one of the workspace's accounts
            if len(matcher) or own.ids:
                for post in posts:
                    net = post.network or network
                    doc = Document.from_post(post, network=net)
                    if own.concern(post, doc.mentions):
                        addressed.add((net, post.native_id))
                    found = matcher.match(doc) if len(matcher) else []
                    if found:
                        candidates[(net, post.native_id)] = Candidate(post, doc)
                        matched[(net, post.native_id)] = Matched(
                            net,
                            post.native_id,
                            tuple(sorted(found)),
                            engagement(post),
                            terms=post_terms(post),
                        )
            # Enriched here, while preparing (a worker process on long imports), not in the
            # writer's transaction; a re-delivered post is enriched again and then ignored.
            batch = list(candidates.values())
            enriched = self.enrichment(batch)
            self.calibrations.apply(conn, workspace_id, batch, enriched)
            aspects = self.enrichment.topic_sentiments(
                [
                    (post_text(c.item), m.topic_ids, e.lang)
                    for c, m, e in zip(batch, matched.values(), enriched, strict=True)
                ],
                topics.targets,
            )
            state = [
                replace(m, enriched=e, aspects=a)
                for m, e, a in zip(matched.values(), enriched, aspects, strict=True)
            ]
            if self.keep_all:
                return Selection(list(items), state=state, counts={"matched": len(state)})
            recent = self._recent.setdefault(workspace_id, {})
            kept = self._concerned(
                conn, workspace_id, network, posts, set(matched) | addressed, recent
            )
            recent.update(dict.fromkeys(kept))
            if len(recent) > self.RECENT_KEPT:  # keep the newer half (dicts keep insert order)
                self._recent[workspace_id] = dict.fromkeys(list(recent)[-self.RECENT_KEPT // 2 :])
        out: list[Item] = []
        dropped = 0
        for item in items:
            if isinstance(item, PostItem) and (item.network or network, item.native_id) not in kept:
                dropped += 1
            else:
                out.append(item)
        return Selection(out, dropped=dropped, state=state, counts={"matched": len(state)})

    def _concerned(
        self,
        conn: Connection,
        workspace_id: int,
        network: str,
        posts: list[PostItem],
        kept: set[Key],
        recent: dict[Key, None],
    ) -> set[Key]:
        """Matched posts, plus replies, reshares and quotes of posts stored or kept (in this
        batch or a recent one), plus edits and count updates of posts already stored."""
        undecided = [p for p in posts if (p.network or network, p.native_id) not in kept]
        wanted: dict[str, set[str]] = defaultdict(set)
        for post in undecided:
            net = post.network or network
            refs = {r for r in _references(post) if r}
            if _stateful(post):
                refs.add(post.native_id)
            wanted[net].update(refs)
        known: set[Key] = {(net, r) for net, refs in wanted.items() for r in refs} & recent.keys()
        for net, native_ids in wanted.items():
            for chunk in chunks(sorted(native_ids)):
                known.update(
                    (net, native_id)
                    for native_id in conn.scalars(
                        select(Post.native_id).where(
                            Post.workspace_id == workspace_id,
                            Post.network == net,
                            Post.native_id.in_(chunk),
                        )
                    )
                )
        # A reply to a reply kept in this batch is kept too, whatever the order in the batch.
        changed = True
        while changed and undecided:
            changed = False
            rest = []
            for post in undecided:
                net = post.network or network
                key = (net, post.native_id)
                if (_stateful(post) and key in known) or any(
                    r and ((net, r) in known or (net, r) in kept) for r in _references(post)
                ):
                    kept.add(key)
                    changed = True
                else:
                    rest.append(post)
            undecided = rest
        return kept

    def after_store(
        self, session: Session, workspace_id: int, network: str, selection: Selection
    ) -> None:
        state = selection.state
        if isinstance(state, list) and state:
            record_matches(session, workspace_id, state, self.enrichment)


@ingest_stages.register("listening")
def listening_stage(settings: Settings) -> ListeningStage:
    """The stage every Ingestor runs; ``HUBBUB_KEEP`` chooses the keep policy."""
    return ListeningStage(
        keep_all=settings.keep == "all", enrichment=Enrichment.for_tier(settings.sentiment_tier)
    )
