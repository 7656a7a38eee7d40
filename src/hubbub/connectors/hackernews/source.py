"""Live Hacker News source: Algolia keyword backfill, then every new item from the Firebase API.

The official API has no stream of new items, only ``/maxitem.json``; we walk the ids after our
cursor in order, so a saved cursor means "every item up to here has been stored or
dead-lettered". An item that cannot be fetched after retries is still yielded, carrying the
reason, so the ingest service records it instead of it vanishing in a gap.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from hubbub.connectors.hackernews.normalise import (
    FORMAT,
    META_FETCHED_AT,
    META_THREAD_ROOT,
    unfetched,
)
from hubbub.core.clock import utcnow
from hubbub.core.errors import ConfigError, RateLimited, Rejected, TransientError, UnsafeURL
from hubbub.core.items import RawEvent
from hubbub.sources.backoff import Backoff
from hubbub.sources.base import Connector, SourceContext, connectors
from hubbub.sources.decode import load_json
from hubbub.sources.net import SafeHTTP, check_url

CURSOR_VERSION = 1
# Longest Retry-After we honour as given; longer asks are clipped so the source stays alive.
MAX_RATE_LIMIT_WAIT = 900.0
# Consecutive 429s one item may absorb before it counts as a failed attempt.
MAX_RATE_LIMIT_WAITS = 10
# Ids remembered per process so stories mode does not refetch comments it has already seen.
SEEN_LIMIT = 50_000
# Item → thread root remembered per process (about two weeks of HN at ~15k items a day).
ROOTS_LIMIT = 200_000
# Parent links followed at most when looking for a comment's story.
MAX_THREAD_DEPTH = 64
ROOT_TYPES = ("story", "job", "poll")


class HackerNewsConfig(BaseModel):
    """Settings of one Hacker News source."""

    model_config = ConfigDict(extra="forbid")

    api_url: str = Field(
        default="https://hacker-news.firebaseio.com/v0",
        description="Base URL of the official Firebase API (maxitem, item, updates, newstories).",
    )
    search_url: str = Field(
        default="https://hn.algolia.com/api/v1",
        description="Base URL of the Algolia HN Search API, used for the keyword backfill.",
    )
    mode: Literal["all", "stories"] = Field(
        default="all",
        description=(
            "'all': every new item by walking maxitem (exact, no gaps). 'stories': new stories "
            "from newstories.json plus comments found through changed items."
        ),
    )
    keywords: list[str] = Field(
        default_factory=list,
        description="Search terms backfilled through Algolia search_by_date (since backfill_days).",
    )
    backfill_days: float = Field(
        default=1.0, ge=0, le=3650, description="How far back the first keyword backfill reaches."
    )
    poll_seconds: float = Field(
        default=15.0, gt=0, description="Pause between polls of maxitem once caught up."
    )
    concurrency: int = Field(default=8, ge=1, le=64, description="Item requests in flight at once.")
    batch_items: int = Field(
        default=100, ge=1, le=1000, description="Item ids fetched and yielded per batch."
    )
    initial_items: int = Field(
        default=0,
        ge=0,
        description="Without a cursor, start this many ids below the current maxitem.",
    )
    follow_updates: bool = Field(
        default=True,
        description="Re-fetch items listed in updates.json so scores and deletions update.",
    )
    max_attempts: int = Field(
        default=4,
        ge=1,
        le=20,
        description="Tries per item (errors, or null while it propagates) before dead-lettering.",
    )
    retry_base_seconds: float = Field(
        default=0.5, gt=0, description="First retry delay; doubles per attempt, with jitter."
    )
    retry_cap_seconds: float = Field(
        default=60.0, gt=0, description="Longest delay between retries after errors."
    )
    resolve_threads: bool = Field(
        default=True,
        description="Look up unknown parents so every comment gets its story as thread root.",
    )
    search_hits_per_page: int = Field(
        default=100, ge=1, le=1000, description="Algolia hitsPerPage for the keyword backfill."
    )


@dataclass(slots=True)
class HackerNewsCursor:
    """Where the source stands: last item id walked, and per keyword the backfilled time."""

    last_id: int | None = None
    keywords: dict[str, int] = field(default_factory=dict)

    def dump(self, last_id: int | None = None) -> str:
        """This cursor as JSON text, optionally with a later ``last_id``."""
        body = {
            "v": CURSOR_VERSION,
            "last_id": self.last_id if last_id is None else last_id,
            "keywords": self.keywords,
        }
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()

    @classmethod
    def load(cls, text: str | None) -> HackerNewsCursor:
        """Parse a saved cursor; a corrupt one is a configuration error, never a silent restart."""
        if not text:
            return cls()
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"Hacker News cursor is not JSON: {exc}") from None
        last_id = data.get("last_id") if isinstance(data, dict) else None
        keywords = data.get("keywords", {}) if isinstance(data, dict) else None
        if (
            not isinstance(data, dict)
            or data.get("v") != CURSOR_VERSION
            or not (last_id is None or (type(last_id) is int and last_id >= 0))
            or not isinstance(keywords, dict)
            or not all(isinstance(k, str) and type(v) is int for k, v in keywords.items())
        ):
            raise ConfigError(f"not a Hacker News cursor: {text[:200]}")
        return cls(last_id=last_id, keywords=dict(keywords))


@dataclass(slots=True)
class FetchedItem:
    """One item's outcome: its payload, or the reason it could not be had."""

    item_id: int
    payload: bytes
    meta: dict[str, str]
    transient: bool = False
    data: dict[str, Any] | None = None


@connectors.register("hackernews")
class HackerNewsConnector(Connector):
    """Follows Hacker News through its official API, with Algolia for keyword history."""

    name: ClassVar[str] = "hackernews"
    network: ClassVar[str] = "hackernews"
    Config: ClassVar[type[BaseModel]] = HackerNewsConfig

    def __init__(self, config: BaseModel, ctx: SourceContext) -> None:
        super().__init__(config, ctx)
        if not isinstance(config, HackerNewsConfig):
            raise ConfigError("HackerNewsConnector needs a HackerNewsConfig")
        self.cfg = config
        self.api = config.api_url.rstrip("/")
        self.search = config.search_url.rstrip("/")
        self._previous_updates: set[int] = set()
        self._seen: dict[int, None] = {}
        self._roots: dict[int, int] = {}
        self._lookups: dict[int, asyncio.Future[FetchedItem]] = {}

    # ----------------------------------------------------------------- plumbing

    def _backoff(self) -> Backoff:
        return Backoff(self.cfg.retry_base_seconds, self.cfg.retry_cap_seconds)

    async def _pause(self, exc: Exception, backoff: Backoff) -> None:
        """Wait as the error asks: Retry-After for rate limits, jittered backoff otherwise."""
        if isinstance(exc, RateLimited):
            delay = min(max(exc.retry_after, 0.0), MAX_RATE_LIMIT_WAIT)
        else:
            delay = backoff.next_delay()
        self.ctx.log.warning(
            "hackernews %s: %s; retrying in %.1fs", self.ctx.source_name, exc, delay
        )
        await asyncio.sleep(delay)

    async def _get_json(
        self, http: SafeHTTP, url: str, params: dict[str, Any] | None = None
    ) -> Any:
        """A control document (maxitem, updates, search page); anything unusable is transient."""
        try:
            fetched = await http.get(url, params=params)
        except Rejected as exc:
            raise TransientError(f"{url}: {exc}") from None
        if fetched.status != 200:
            raise TransientError(f"HTTP {fetched.status} from {url}")
        try:
            return orjson.loads(fetched.content)
        except orjson.JSONDecodeError as exc:
            raise TransientError(f"malformed JSON from {url}: {exc}") from None

    async def _max_item(self, http: SafeHTTP) -> int:
        value = await self._get_json(http, f"{self.api}/maxitem.json")
        if type(value) is not int or value < 0:
            raise TransientError(f"maxitem is {str(value)[:40]!r}, expected an id")
        return value

    async def _id_list(self, http: SafeHTTP, url: str, key: str | None = None) -> list[int]:
        data = await self._get_json(http, url)
        if key is not None:
            data = data.get(key) if isinstance(data, dict) else None
        if data is None:
            return []
        if not isinstance(data, list):
            raise TransientError(f"{url} is not a list of ids")
        return [value for value in data if type(value) is int and value > 0]

    async def _wait_until_safe(self, url: str) -> None:
        """Refuse non-public hosts up front (UnsafeURL is configuration, so it is raised)."""
        backoff = self._backoff()
        while True:
            try:
                await check_url(url, self.ctx.settings)
                return
            except TransientError as exc:
                await self._pause(exc, backoff)

    # ----------------------------------------------------------------- items

    async def fetch_item(self, http: SafeHTTP, item_id: int) -> FetchedItem:
        """One item with retries; never raises: failures come back as dead-letter envelopes.

        ``null`` is retried too, because a brand-new id can be announced by maxitem a moment
        before its item is readable. A body that is not JSON is not retried (it is what the
        server has) and is kept in the envelope for inspection.
        """
        url = f"{self.api}/item/{item_id}.json"
        backoff = self._backoff()
        meta = {"item_id": str(item_id), "source": "firebase"}

        def failed(code: str, detail: str, body: bytes | None = None) -> FetchedItem:
            return FetchedItem(item_id, unfetched(item_id, url, code, detail, body), meta)

        attempts = rate_waits = 0
        last_error = ""
        while attempts < self.cfg.max_attempts:
            try:
                fetched = await http.get(url)
            except RateLimited as exc:
                rate_waits += 1
                if rate_waits <= MAX_RATE_LIMIT_WAITS:
                    await self._pause(exc, backoff)
                    continue
                last_error, rate_waits = str(exc), 0
            except TransientError as exc:
                last_error = str(exc)
            except Rejected as exc:
                return failed(exc.code, exc.detail)
            except UnsafeURL as exc:
                return failed("unsafe_url", str(exc))
            else:
                if 400 <= fetched.status < 500:
                    return failed("fetch_failed", f"HTTP {fetched.status}", fetched.content)
                if fetched.status != 200:
                    last_error = f"HTTP {fetched.status}"
                elif fetched.content.strip() == b"null":
                    last_error = "null"
                else:
                    try:
                        data = load_json(fetched.content)
                    except Rejected as exc:
                        return failed(exc.code, exc.detail, fetched.content)
                    meta[META_FETCHED_AT] = utcnow().isoformat()
                    parsed = data if isinstance(data, dict) else None
                    return FetchedItem(item_id, fetched.content, meta, data=parsed)
            attempts += 1
            if attempts < self.cfg.max_attempts:
                await asyncio.sleep(backoff.next_delay())
        if last_error == "null":
            detail = f"null after {attempts} attempts (no such item, or not yet visible)"
            return failed("not_found", detail)
        item = failed("fetch_failed", f"gave up after {attempts} attempts: {last_error}")
        item.transient = True
        return item

    async def fetch_items(self, http: SafeHTTP, ids: Iterable[int]) -> list[FetchedItem]:
        """Many items with at most ``concurrency`` requests in flight, returned in id order."""
        gate = asyncio.Semaphore(self.cfg.concurrency)

        async def one(item_id: int) -> FetchedItem:
            async with gate:
                return await self.fetch_item(http, item_id)

        results = await asyncio.gather(*(one(item_id) for item_id in sorted(set(ids))))
        return list(results)

    async def _checked(self, http: SafeHTTP, fetched: list[FetchedItem]) -> list[FetchedItem]:
        """On transient failures probe the API: if it is down, retry later, not dead-letter."""
        if any(item.transient for item in fetched):
            try:
                await self._max_item(http)
            except (TransientError, RateLimited) as exc:
                raise TransientError(f"API unavailable while fetching items: {exc}") from None
        return fetched

    async def _root_of(self, http: SafeHTTP, item_id: int) -> int | None:
        """The story (or job, poll) at the top of ``item_id``'s thread, walking up via parents."""
        chain: list[int] = []
        current, root = item_id, None
        for _depth in range(MAX_THREAD_DEPTH):
            root = self._roots.get(current)
            if root is not None:
                break
            data = (await self._lookup(http, current)).data
            if data is None:
                return None
            chain.append(current)
            if data.get("type") in ROOT_TYPES:
                root = current
                break
            parent = data.get("parent")
            if type(parent) is not int:
                return None
            current = parent
        if root is not None:
            for link in chain:
                self._note_root(link, root)
        return root

    async def _lookup(self, http: SafeHTTP, item_id: int) -> FetchedItem:
        """Fetch an ancestor once per batch, however many comments' lookups reach it."""
        task = self._lookups.get(item_id)
        if task is None:
            task = asyncio.ensure_future(self.fetch_item(http, item_id))
            self._lookups[item_id] = task
        return await task

    def _note_root(self, item_id: int, root: int) -> None:
        self._roots[item_id] = root
        if len(self._roots) > ROOTS_LIMIT:
            del self._roots[next(iter(self._roots))]

    async def _thread_roots(self, http: SafeHTTP, fetched: Sequence[FetchedItem]) -> None:
        """Put each comment's story id in its meta, which the Firebase item itself lacks.

        Items arrive in id order and a parent's id is always lower, so most parents are known
        from earlier items; unknown ones are looked up once (concurrently) and remembered.
        """

        def assign(items: Sequence[FetchedItem]) -> list[FetchedItem]:
            unknown = []
            for item in items:
                data = item.data or {}
                kind, parent = data.get("type"), data.get("parent")
                if kind in ROOT_TYPES:
                    self._note_root(item.item_id, item.item_id)
                elif kind in ("comment", "pollopt") and type(parent) is int:
                    root = self._roots.get(parent)
                    if root is None:
                        unknown.append(item)
                        continue
                    self._note_root(item.item_id, root)
                    item.meta[META_THREAD_ROOT] = str(root)
            return unknown

        unknown = assign(fetched)
        if not unknown or not self.cfg.resolve_threads:
            return
        inside = {item.item_id for item in fetched}
        parents = {
            item.data["parent"]
            for item in unknown
            if item.data and item.data["parent"] not in inside
        }
        gate = asyncio.Semaphore(self.cfg.concurrency)

        async def resolve(item_id: int) -> None:
            async with gate:
                await self._root_of(http, item_id)

        try:
            await asyncio.gather(*(resolve(parent) for parent in sorted(parents)))
        finally:
            self._lookups.clear()
        assign(unknown)

    def _events(
        self, fetched: Sequence[FetchedItem], cursor: HackerNewsCursor, advance: bool
    ) -> list[RawEvent]:
        """RawEvents in id order; with ``advance`` each carries the cursor just past its item."""
        events = []
        for item in fetched:
            text = cursor.dump(item.item_id) if advance else cursor.dump()
            events.append(
                RawEvent(payload=item.payload, format=FORMAT, cursor=text, meta=item.meta)
            )
            self._remember(item.item_id)
        return events

    def _remember(self, item_id: int) -> None:
        self._seen[item_id] = None
        if len(self._seen) > SEEN_LIMIT:
            del self._seen[next(iter(self._seen))]

    # ----------------------------------------------------------------- backfill

    async def _search_window(
        self, http: SafeHTTP, keyword: str, since: int, until: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Every hit in (since, until], and whether the pagination cap cut the window short."""
        hits: list[dict[str, Any]] = []
        page = 0
        while True:
            data = await self._get_json(
                http,
                f"{self.search}/search_by_date",
                params={
                    "query": keyword,
                    "numericFilters": f"created_at_i>{since},created_at_i<={until}",
                    "hitsPerPage": self.cfg.search_hits_per_page,
                    "page": page,
                },
            )
            if not isinstance(data, dict) or not isinstance(data.get("hits"), list):
                raise TransientError("Algolia response has no hits list")
            hits.extend(hit for hit in data["hits"] if isinstance(hit, dict))
            pages, total = data.get("nbPages"), data.get("nbHits")
            if type(pages) is not int or type(total) is not int:
                raise TransientError("Algolia response has no nbPages/nbHits")
            page += 1
            if page >= pages or not data["hits"]:
                return hits, total > len(hits)

    async def backfill(
        self, http: SafeHTTP, cursor: HackerNewsCursor
    ) -> AsyncIterator[list[RawEvent]]:
        """Keyword history from Algolia, oldest window first, each window complete before the next.

        search_by_date is newest-first and paginates only so deep, so a window too large to read
        whole is halved until it fits (and the next one tried twice as wide); the keyword's
        cursor moves to a window's end only once every hit in it has been yielded.
        """
        if not self.cfg.keywords:
            return
        await self._wait_until_safe(self.search)
        now = int(utcnow().timestamp())
        for keyword in self.cfg.keywords:
            since = cursor.keywords.get(keyword, now - int(self.cfg.backfill_days * 86_400))
            backoff = self._backoff()
            failures = 0
            span = now - since
            while since < now:
                until = min(now, since + span)
                try:
                    hits, truncated = await self._search_window(http, keyword, since, until)
                    while truncated and until - since > 1:
                        until = since + (until - since) // 2
                        hits, truncated = await self._search_window(http, keyword, since, until)
                except (TransientError, RateLimited) as exc:
                    failures += 1
                    if failures >= self.cfg.max_attempts:
                        self.ctx.log.error(
                            "hackernews backfill of %r stopped at %d: %s", keyword, since, exc
                        )
                        break
                    await self._pause(exc, backoff)
                    continue
                failures = 0
                backoff.reset()
                span = max(1, (until - since) * 2)  # widen again after a window that fitted
                if truncated:
                    self.ctx.log.warning(
                        "hackernews backfill of %r: window at %d truncated", keyword, since
                    )
                # Hits indexed while we paged shift later pages: the same hit can come twice.
                hits = sorted({str(h.get("objectID")): h for h in hits}.values(), key=_hit_order)
                before = cursor.dump()
                cursor.keywords[keyword] = until
                events = [
                    RawEvent(
                        payload=orjson.dumps(hit),
                        format=FORMAT,
                        cursor=before,
                        meta={
                            "source": "algolia",
                            "keyword": keyword,
                            "item_id": str(hit.get("objectID")),
                        },
                    )
                    for hit in hits
                ]
                if events:
                    events[-1].cursor = cursor.dump()
                    yield events
                since = until

    # ----------------------------------------------------------------- live

    async def _refresh(
        self, http: SafeHTTP, cursor: HackerNewsCursor, floor: int
    ) -> list[RawEvent]:
        """Changed items re-fetched (scores, deletions); in stories mode also their new kids."""
        listed = await self._id_list(http, f"{self.api}/updates.json", key="items")
        fresh = [i for i in listed if i not in self._previous_updates]
        if self.cfg.mode == "all":
            # Ids past the cursor are the walk's job; fetching them here would break id order.
            fresh = [i for i in fresh if cursor.last_id is not None and i <= cursor.last_id]
        fetched = await self._checked(http, await self.fetch_items(http, fresh))
        if self.cfg.mode == "stories":
            kids: list[int] = []
            for item in fetched:
                values = item.data.get("kids") if item.data else None
                if isinstance(values, list):
                    kids.extend(
                        k for k in values if type(k) is int and k > floor and k not in self._seen
                    )
            fetched += await self._checked(http, await self.fetch_items(http, kids))
        self._previous_updates = set(listed)  # only once fetched, so an outage retries them
        await self._thread_roots(http, fetched)
        return self._events(fetched, cursor, advance=False)

    async def _walk(
        self, http: SafeHTTP, cursor: HackerNewsCursor
    ) -> AsyncIterator[list[RawEvent]]:
        """Items after the cursor up to the current maxitem (or newest story), in id order."""
        top = await self._max_item(http)
        if cursor.last_id is None:
            raise ConfigError("walk started before its starting id was fixed")
        if self.cfg.mode == "all":
            pending: Sequence[int] = range(cursor.last_id + 1, top + 1)
        else:
            stories = await self._id_list(http, f"{self.api}/newstories.json")
            pending = sorted(i for i in set(stories) if i > cursor.last_id)
        for start in range(0, len(pending), self.cfg.batch_items):
            chunk = pending[start : start + self.cfg.batch_items]
            fetched = await self._checked(http, await self.fetch_items(http, chunk))
            await self._thread_roots(http, fetched)
            events = self._events(fetched, cursor, advance=True)
            cursor.last_id = chunk[-1]
            yield events

    async def _start(self, http: SafeHTTP, cursor: HackerNewsCursor) -> None:
        """Fix the walk's starting id before any backfill, so no item falls between the two."""
        await self._wait_until_safe(self.api)
        backoff = self._backoff()
        while cursor.last_id is None:
            try:
                cursor.last_id = max(0, await self._max_item(http) - self.cfg.initial_items)
            except (TransientError, RateLimited) as exc:
                await self._pause(exc, backoff)

    async def follow(
        self, http: SafeHTTP, cursor: HackerNewsCursor
    ) -> AsyncIterator[list[RawEvent]]:
        """Poll forever; network trouble only pauses the loop, it never ends it."""
        await self._start(http, cursor)
        backoff = self._backoff()
        floor = cursor.last_id or 0
        while True:
            try:
                async for batch in self._walk(http, cursor):
                    backoff.reset()
                    yield batch
                if self.cfg.follow_updates:
                    batch = await self._refresh(http, cursor, floor)
                    if batch:
                        yield batch
            except (TransientError, RateLimited) as exc:
                await self._pause(exc, backoff)
                continue
            backoff.reset()
            await asyncio.sleep(self.cfg.poll_seconds)

    async def stream(self, cursor: str | None) -> AsyncIterator[list[RawEvent]]:
        """Backfill keywords, then follow new and changed items, from ``cursor`` on.

        Network errors never end the stream; an unsafe (non-public) API host raises UnsafeURL
        and a corrupt cursor ConfigError, since retrying cannot fix either.
        """
        state = HackerNewsCursor.load(cursor)
        async with SafeHTTP(self.ctx.settings) as http:
            await self._start(http, state)
            async for batch in self.backfill(http, state):
                yield batch
            async for batch in self.follow(http, state):
                yield batch


def _hit_order(hit: dict[str, Any]) -> tuple[int, int]:
    created = hit.get("created_at_i")
    object_id = hit.get("objectID")
    return (
        created if type(created) is int else 0,
        int(object_id) if isinstance(object_id, str) and object_id.isdigit() else 0,
    )
