"""Replies out to the networks, exactly once.

:class:`ReplyChannel` holds every guard once: an idempotency key on every reply, no reply to
the brand's own posts (loop prevention), length and hourly limits checked before sending, and
before any retry a look at the network for the post an earlier attempt may have made. Each
network fills in two methods, ``find_existing`` and ``create``:

* Mastodon: ``POST /api/v1/statuses`` with ``in_reply_to_id`` and an ``Idempotency-Key``
  header (the server drops a repeat within an hour). Mastodon keeps no client metadata on a
  status, so the marker a retry looks for among the account's recent statuses is the pair
  (parent status, text without @-mentions).
* Bluesky: ``com.atproto.repo.createRecord`` with a record key derived from the idempotency
  key and the reply's creation time (a valid TID), so a retried create names the same record
  and conflicts instead of posting twice; ``getRecord`` on that key is the check.

Rate limits (429 and its headers) and refused credentials (401) end as the reply states
``rate_limited`` (with the time to retry) and ``needs_credentials``, never as silence.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import orjson
import regex
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.domains import is_top_level_domain
from hubbub.core.errors import HubbubError, RateLimited, TransientError, UnsafeURL
from hubbub.inbox import actions, queries
from hubbub.inbox.delivery import Outcome, ReplyJob
from hubbub.inbox.limits import (
    DEFAULT_MAX_CHARS,
    DEFAULT_URL_CHARS,
    Limits,
    limits_for_account,
    server_limits_async,
)
from hubbub.inbox.models import OutboundReply
from hubbub.settings import Settings
from hubbub.sources.net import SafeHTTP, retry_after_seconds
from hubbub.store.engine import transaction

#: Waits after a failed attempt that may be retried: 1 min, 5 min, 30 min, then 2 h.
BACKOFF_SECONDS = (60.0, 300.0, 1800.0, 7200.0)
LIMIT_WAIT_SECONDS = 600.0


class NeedsCredentials(HubbubError):
    """The network refused our credentials (or there are none): a person must fix them."""


class Refused(HubbubError):
    """The network (or a guard) refused this reply for good; retrying changes nothing."""

    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.status = status


@dataclass(frozen=True)
class Remote:
    """The post made on the network: its id there, its web address, and how we know it."""

    id: str
    url: str | None
    how: str = "created"


def _wait(headers: Any) -> float:
    """Seconds until the limit resets: ``Retry-After``, Mastodon's ``X-RateLimit-Reset``
    (a timestamp) or Bluesky's ``RateLimit-Reset`` (Unix seconds)."""
    if "retry-after" in headers or "x-ratelimit-reset" in headers:
        return retry_after_seconds(headers)
    reset = headers.get("ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - utcnow().timestamp())
        except ValueError:
            pass
    return 60.0


class ReplyChannel(ABC):
    """One network's way of replying; the guards live here, once."""

    network: ClassVar[str]
    max_chars: ClassVar[int]
    max_per_hour: ClassVar[int] = 60
    #: How the network counts against ``max_chars``, said when a reply is refused for length
    #: (``{url_chars}``: what a link counts as).
    counting: ClassVar[str] = ""
    #: Whether each server sets its own limits (:meth:`limits`), as Mastodon's do.
    server_sets_limits: ClassVar[bool] = False

    def __init__(self, http: SafeHTTP) -> None:
        self.http = http

    @classmethod
    def posted_text(cls, body: str, parent_author_handle: str | None) -> str:
        """The text as posted (a network may add the @-mention its replies need)."""
        return body

    @classmethod
    def countable(cls, text: str, url_chars: int | None = None) -> str:
        """The text as the network counts it (a network may count a link, as ``url_chars``
        characters, or a mention as something shorter)."""
        return text

    @classmethod
    def length(cls, text: str, url_chars: int | None = None) -> int:
        """The text's length as the network counts it against ``max_chars``."""
        return len(cls.countable(text, url_chars))

    async def limits(self, job: ReplyJob) -> Limits | None:
        """The limits of the server sending ``job``, where the server sets them (``None``:
        the network's fixed ``max_chars``)."""
        return None

    def text_for(self, job: ReplyJob) -> str:
        return self.posted_text(job.body, job.parent_author_handle)

    def _guard(self, job: ReplyJob, text: str) -> Outcome | None:
        """The guards that need no network; :meth:`_limit_guard` follows."""
        if not job.key:
            return Outcome("failed", "refused", detail="a reply needs an idempotency key")
        if job.parent_author_native_id in job.own_author_ids:
            return Outcome("failed", "refused", detail="that post is our own: no reply to it")
        if job.account_native_id is None or not job.service_url:
            return Outcome(
                "needs_credentials",
                "no_account",
                detail=f"no {job.network} account of this workspace to reply from",
            )
        return None

    async def _limit_guard(self, job: ReplyJob, text: str) -> Outcome | None:
        limits = await self.limits(job)
        if limits is None:
            most, length, source = self.max_chars, self.length(text), ""
        else:
            most, length = limits.max_chars, self.length(text, limits.url_chars)
            source = f" ({limits.source})"
            if not limits.answered and length > most:
                # Mastodon's default is no reason to refuse for good what the server may take.
                if limits.unsafe:
                    raise UnsafeURL(limits.source)
                raise TransientError(f"cannot read the server's length limit: {limits.source}")
        if length > most:
            return Outcome(
                "failed",
                "refused",
                detail=f"{length} characters; {job.network} takes {most}{source}",
            )
        if job.sent_last_hour >= self.max_per_hour:
            return Outcome(
                "rate_limited",
                "hourly_limit",
                detail=f"{job.sent_last_hour} replies sent in the last hour",
                retry_after=LIMIT_WAIT_SECONDS,
            )
        return None

    async def deliver(self, job: ReplyJob) -> Outcome:
        """Make the reply once: guards, then (on a retry) the network check, then create."""
        text = self.text_for(job)
        refused = self._guard(job, text)
        if refused is not None:
            return refused
        try:
            refused = await self._limit_guard(job, text)
            if refused is not None:
                return refused
            if job.attempt > 1:
                found = await self.find_existing(job, text)
                if found is not None:
                    return Outcome("sent", "found_existing", found.id, found.url)
            made = await self.create(job, text)
            return Outcome("sent", made.how, made.id, made.url)
        except RateLimited as exc:
            return Outcome(
                "rate_limited",
                "rate_limited",
                http_status=429,
                detail=str(exc),
                retry_after=exc.retry_after,
            )
        except NeedsCredentials as exc:
            return Outcome("needs_credentials", "unauthorized", http_status=401, detail=str(exc))
        except Refused as exc:
            return Outcome("failed", "refused", http_status=exc.status, detail=str(exc))
        except UnsafeURL as exc:
            return Outcome("failed", "refused", detail=str(exc))
        except TransientError as exc:
            wait = BACKOFF_SECONDS[min(job.attempt, len(BACKOFF_SECONDS)) - 1]
            return Outcome("failed", "transient", detail=str(exc), retry_after=wait)

    async def call(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> tuple[int, Any]:
        """One request through the SSRF-guarded client: (status, decoded JSON or None).

        429 (and 503 with ``Retry-After``), 401 and 5xx raise; other statuses are returned.
        """
        async with self.http.open(
            url, method=method, headers=headers, params=params, json=json
        ) as response:
            status = response.status_code
            if status == 429 or (status == 503 and "retry-after" in response.headers):
                raise RateLimited(_wait(response.headers), f"from {self.network}")
            body = await self.http.read_body(response)
        if status == 401:
            raise NeedsCredentials(f"{self.network} refused the credentials (HTTP 401)")
        if status >= 500:
            raise TransientError(f"HTTP {status} from {self.network}")
        try:
            data = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            data = None
        return status, data

    @abstractmethod
    async def find_existing(self, job: ReplyJob, text: str) -> Remote | None:
        """The reply an earlier attempt made, if the network has it."""

    @abstractmethod
    async def create(self, job: ReplyJob, text: str) -> Remote:
        """Post the reply."""


# ---- Mastodon -------------------------------------------------------------------------------

_TAGS = re.compile(r"<[^>]+>")
_BREAKS = re.compile(r"<(?:br|p|/p)\b[^>]*>", re.IGNORECASE)
_MENTIONS = re.compile(r"(?<!\w)@[\w.-]+(?:@[\w.-]+)?")
_SPACES = re.compile(r"\s+")


def comparable(text: str, *, markup: bool = False) -> str:
    """Text without @-mentions or spacing differences; with ``markup`` (a status's HTML
    content) paragraphs and line breaks become spaces, other tags go (a mention comes back as
    ``@<span>chen</span>``) and entities are decoded first. Our own text is never read as HTML:
    a reply that says ``<b>`` comes back as ``&lt;b&gt;``, and must still match."""
    plain = html.unescape(_TAGS.sub("", _BREAKS.sub(" ", text))) if markup else text
    return _SPACES.sub(" ", _MENTIONS.sub(" ", plain)).strip()


#: Mastodon's StatusLengthValidator: a link counts as this many characters, whatever its
#: length, unless it is longer than twitter-text's MAX_URL_LENGTH (then it counts whole).
#: The server's own ``characters_reserved_per_url`` replaces it (``hubbub.inbox.limits``).
URL_CHARS = DEFAULT_URL_CHARS
_MAX_URL_LENGTH = 4096
# Links as twitter-text finds them with Mastodon's patterns (config/initializers/
# twitter_regex.rb): a scheme is required, no letter, digit, @, $ or # just before it, a
# domain ending in a top-level name (letters, or punycode), an optional port; then path and
# query, whose last character may not be punctuation that usually ends a sentence.
_URL_HEAD = regex.compile(
    r"(?<![A-Za-z0-9@\uFF20$#\uFF03])"
    r"(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://"
    r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?P<tld>xn--[0-9a-z]+|[^\W\d_]{2,})(?![^\W_]|@)"
    r"(?::[0-9]+)?",
    regex.IGNORECASE,
)
_PATH_CHAR = r"[^\s<>()?]"
_PATH = regex.compile(
    rf"/(?:{_PATH_CHAR}|\((?:{_PATH_CHAR}+|{_PATH_CHAR}*\({_PATH_CHAR}+\){_PATH_CHAR}*)\))*+"
)
_PATH_NO_END = frozenset("!*\"'「」;:=,.$%[]~&|@")
_UCHARS = (
    r"\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
    r"\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
    r"\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
    r"\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
    r"\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
)
_QUERY = regex.compile(rf"\?[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@^{_UCHARS}]*", regex.IGNORECASE)
_QUERY_END = regex.compile(rf"[a-z0-9_&=#/\-{_UCHARS}]", regex.IGNORECASE)
# Mentions as Mastodon finds them (Account::MENTION_RE, app/lib/extractor.rb): one followed
# by another @, a Latin accented letter or ``://`` (twitter-text's end_mention_match), or
# naming a domain longer than MAX_DOMAIN_LENGTH, is no mention and counts whole.
_MASTODON_MENTION = regex.compile(
    r"(?<![=/\w])@(?P<user>[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@(?P<domain>\w+(?:[.-]+\w+)*))?",
    regex.IGNORECASE,
)
_MAX_DOMAIN_LENGTH = 253
_MENTION_END = regex.compile(
    r"[@\uFF20\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256"
    r"\u0257\u0259\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f"
    r"\u1e00-\u1eff]|://"
)


def _url_end(text: str, head: regex.Match[str]) -> int | None:
    """Where the link starting at ``head`` ends, or None when Mastodon sees no link there."""
    if not is_top_level_domain(head["tld"]):  # twitter-text knows only real endings
        return None
    end = head.end()
    path = _PATH.match(text, end)
    if path is not None:
        end = path.end()
        while end > path.start() + 1 and text[end - 1] in _PATH_NO_END:
            end -= 1
    query = _QUERY.match(text, end)
    if query is not None:
        last = query.end()
        while last > end + 1 and not _QUERY_END.match(text[last - 1]):
            last -= 1
        if last > end + 1:
            end = last
    return end if end - head.start() <= _MAX_URL_LENGTH else None


def _graphemes(text: str) -> int:
    """User-perceived characters: an emoji built of several code points (a family, a flag, a
    skin tone) is one."""
    return len(regex.findall(r"\X", text))


class MastodonChannel(ReplyChannel):
    network = "mastodon"
    max_chars = DEFAULT_MAX_CHARS  # Mastodon's default; the server's own is read (limits)
    counting = "a link counts as {url_chars}, a mention of a remote account as its @name part"
    server_sets_limits = True

    @classmethod
    def countable(cls, text: str, url_chars: int | None = None) -> str:
        """The text as Mastodon's StatusLengthValidator counts it: each link replaced by
        ``url_chars`` (default ``URL_CHARS``) characters, each ``@name@server`` by ``@name``;
        overlapping finds keep the one that starts first (twitter-text's
        ``remove_overlapping_entities``)."""
        per_url = URL_CHARS if url_chars is None else url_chars
        found: list[tuple[int, int, str]] = []
        for head in _URL_HEAD.finditer(text):
            end = _url_end(text, head)
            if end is not None:
                found.append((head.start(), end, "x" * per_url))
        for mention in _MASTODON_MENTION.finditer(text):
            domain = mention["domain"] or ""
            if len(domain) <= _MAX_DOMAIN_LENGTH and not _MENTION_END.match(text, mention.end()):
                found.append((mention.start(), mention.end(), f"@{mention['user']}"))
        parts: list[str] = []
        at = 0
        for start, end, counted in sorted(found):
            if start < at:
                continue
            parts += [text[at:start], counted]
            at = end
        parts.append(text[at:])
        return "".join(parts)

    @classmethod
    def length(cls, text: str, url_chars: int | None = None) -> int:
        """Graphemes of :meth:`countable`, as Mastodon counts (``each_grapheme_cluster``)."""
        return _graphemes(cls.countable(text, url_chars))

    def __init__(self, http: SafeHTTP) -> None:
        super().__init__(http)
        self._parent_id: str | None = None

    async def limits(self, job: ReplyJob) -> Limits | None:
        """The sending account's server's own limits; a failed read is tried again."""
        assert job.service_url  # the guard before needs it
        return await server_limits_async(self.http, job.service_url, retry_failed=True)

    @classmethod
    def posted_text(cls, body: str, parent_author_handle: str | None) -> str:
        handle = (parent_author_handle or "").lstrip("@")
        if handle and f"@{handle}".lower() not in body.lower():
            return f"@{handle} {body}"
        return body

    def _headers(self, job: ReplyJob) -> dict[str, str]:
        token = job.credentials.get("access_token")
        if not token:
            raise NeedsCredentials("the Mastodon account has no access_token")
        return {"Authorization": f"Bearer {token}"}

    async def _parent(self, job: ReplyJob) -> str:
        """The parent's id on our server (a status from elsewhere has another id here)."""
        if self._parent_id is None:
            status, data = await self.call(
                "GET",
                f"{job.service_url}/api/v2/search",
                headers=self._headers(job),
                params={
                    "q": job.parent_native_id,
                    "type": "statuses",
                    "resolve": "true",
                    "limit": "1",
                },
            )
            statuses = data.get("statuses") if isinstance(data, dict) else None
            if status != 200 or not statuses:
                raise Refused("the server cannot find the post to reply to", status)
            self._parent_id = str(statuses[0]["id"])
        return self._parent_id

    async def find_existing(self, job: ReplyJob, text: str) -> Remote | None:
        headers = self._headers(job)
        parent = await self._parent(job)
        status, me = await self.call(
            "GET", f"{job.service_url}/api/v1/accounts/verify_credentials", headers=headers
        )
        if status != 200 or not isinstance(me, dict):
            raise TransientError(f"verify_credentials answered HTTP {status}")
        status, recent = await self.call(
            "GET",
            f"{job.service_url}/api/v1/accounts/{me['id']}/statuses",
            headers=headers,
            params={"limit": "40", "exclude_reblogs": "true"},
        )
        if status != 200 or not isinstance(recent, list):
            raise TransientError(f"the account's statuses answered HTTP {status}")
        wanted = comparable(text)
        for item in recent:
            if (
                isinstance(item, dict)
                and str(item.get("in_reply_to_id")) == parent
                and comparable(str(item.get("content") or ""), markup=True) == wanted
            ):
                return Remote(str(item["id"]), item.get("url"), "found_existing")
        return None

    async def create(self, job: ReplyJob, text: str) -> Remote:
        headers = {**self._headers(job), "Idempotency-Key": job.key}
        parent = await self._parent(job)
        status, data = await self.call(
            "POST",
            f"{job.service_url}/api/v1/statuses",
            headers=headers,
            json={"status": text, "in_reply_to_id": parent},
        )
        if status != 200 or not isinstance(data, dict) or "id" not in data:
            error = data.get("error") if isinstance(data, dict) else None
            raise Refused(f"Mastodon refused the reply: {error or f'HTTP {status}'}", status)
        return Remote(str(data["id"]), data.get("url"))


# ---- Bluesky --------------------------------------------------------------------------------

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
POST_COLLECTION = "app.bsky.feed.post"


def record_key(key: str, created_at: datetime) -> str:
    """A TID (13 base32-sortable characters) from the reply's creation time in microseconds
    and 10 bits of its idempotency key: the same reply always names the same record."""
    micros = (created_at - _EPOCH) // timedelta(microseconds=1)
    clock = int.from_bytes(hashlib.sha256(key.encode()).digest()[:2], "big") & 0x3FF
    value = ((micros & ((1 << 53) - 1)) << 10) | clock
    return "".join(_TID_ALPHABET[(value >> (5 * (12 - i))) & 31] for i in range(13))


class BlueskyChannel(ReplyChannel):
    network = "bluesky"
    max_chars = 300  # graphemes, and at most MAX_BYTES of UTF-8 (the app.bsky.feed.post lexicon)
    MAX_BYTES = 3000
    counting = "graphemes, in at most 3,000 bytes"

    @classmethod
    def length(cls, text: str, url_chars: int | None = None) -> int:
        """Graphemes, as Bluesky counts: an emoji built of several code points (a family, a
        flag, a skin tone) is one. A text past the lexicon's byte cap counts as too long."""
        if len(text.encode("utf-8")) > cls.MAX_BYTES:
            return max(cls.max_chars + 1, len(text))
        return _graphemes(text)

    def __init__(self, http: SafeHTTP) -> None:
        super().__init__(http)
        self._login: tuple[str, str] | None = None

    async def _session(self, job: ReplyJob) -> tuple[str, str]:
        """(DID, access JWT) from an app password (``com.atproto.server.createSession``)."""
        if self._login is None:
            password = job.credentials.get("app_password")
            if not password:
                raise NeedsCredentials("the Bluesky account has no app_password")
            status, data = await self.call(
                "POST",
                f"{job.service_url}/xrpc/com.atproto.server.createSession",
                json={
                    "identifier": job.account_handle or job.account_native_id,
                    "password": password,
                },
            )
            if status != 200 or not isinstance(data, dict) or "accessJwt" not in data:
                raise NeedsCredentials(f"Bluesky refused the app password (HTTP {status})")
            self._login = (str(data["did"]), str(data["accessJwt"]))
        return self._login

    def _url(self, did: str, rkey: str) -> str:
        return f"https://bsky.app/profile/{did}/post/{rkey}"

    async def find_existing(self, job: ReplyJob, text: str) -> Remote | None:
        did, jwt = await self._session(job)
        rkey = record_key(job.key, job.created_at)
        status, data = await self.call(
            "GET",
            f"{job.service_url}/xrpc/com.atproto.repo.getRecord",
            headers={"Authorization": f"Bearer {jwt}"},
            params={"repo": did, "collection": POST_COLLECTION, "rkey": rkey},
        )
        if status != 200 or not isinstance(data, dict) or "uri" not in data:
            return None
        value = data.get("value")
        if not isinstance(value, dict) or value.get("text") != text:
            raise Refused(f"record {rkey} exists with other text; not ours to claim")
        return Remote(str(data["uri"]), self._url(did, rkey), "found_existing")

    async def _refs(self, job: ReplyJob, jwt: str) -> dict[str, Any]:
        """``reply.root`` and ``reply.parent`` strong refs (uri + cid) of the parent post."""
        cid: str | None = None
        root: Any = None
        try:
            raw = orjson.loads(job.parent_raw) if job.parent_raw else {}
        except orjson.JSONDecodeError:
            raw = {}
        commit = raw.get("commit") if isinstance(raw, dict) else None
        if isinstance(commit, dict):
            cid = commit.get("cid")
            record = commit.get("record")
            if isinstance(record, dict) and isinstance(record.get("reply"), dict):
                root = record["reply"].get("root")
        if not cid:
            status, data = await self.call(
                "GET",
                f"{job.service_url}/xrpc/app.bsky.feed.getPosts",
                headers={"Authorization": f"Bearer {jwt}"},
                params={"uris": job.parent_native_id},
            )
            posts = data.get("posts") if isinstance(data, dict) else None
            if status != 200 or not posts:
                raise Refused("Bluesky cannot find the post to reply to", status)
            cid = posts[0].get("cid")
            record = posts[0].get("record")
            if isinstance(record, dict) and isinstance(record.get("reply"), dict):
                root = record["reply"].get("root")
        parent = {"uri": job.parent_native_id, "cid": cid}
        if not (isinstance(root, dict) and root.get("uri") and root.get("cid")):
            root = parent
        return {"root": {"uri": root["uri"], "cid": root["cid"]}, "parent": parent}

    async def create(self, job: ReplyJob, text: str) -> Remote:
        did, jwt = await self._session(job)
        rkey = record_key(job.key, job.created_at)
        record = {
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": job.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "reply": await self._refs(job, jwt),
        }
        status, data = await self.call(
            "POST",
            f"{job.service_url}/xrpc/com.atproto.repo.createRecord",
            headers={"Authorization": f"Bearer {jwt}"},
            json={"repo": did, "collection": POST_COLLECTION, "rkey": rkey, "record": record},
        )
        if status == 200 and isinstance(data, dict) and "uri" in data:
            return Remote(str(data["uri"]), self._url(did, rkey))
        if status in (400, 409):
            # Most likely the record exists: an earlier attempt made it. Ask for it by key.
            found = await self.find_existing(job, text)
            if found is not None:
                return Remote(found.id, found.url, "conflict_found")
        error = data.get("message") or data.get("error") if isinstance(data, dict) else None
        raise Refused(f"Bluesky refused the reply: {error or f'HTTP {status}'}", status)


CHANNELS: dict[str, type[ReplyChannel]] = {
    MastodonChannel.network: MastodonChannel,
    BlueskyChannel.network: BlueskyChannel,
}


def max_reply_chars(network: str, limits: Limits | None = None) -> int | None:
    """The length limit for a reply (the server's, given its ``limits``, where the server
    sets it); ``None`` where replies are not built."""
    channel = CHANNELS.get(network)
    if channel is None:
        return None
    return (
        limits.max_chars if limits is not None and channel.server_sets_limits else channel.max_chars
    )


def sending_limits(
    settings: Settings | None, network: str, service_url: str | None
) -> Limits | None:
    """The limits of the server a reply on ``network`` goes out from (``None`` where the
    network's are fixed); see :func:`hubbub.inbox.limits.limits_for_account`."""
    channel = CHANNELS.get(network)
    if channel is None or not channel.server_sets_limits:
        return None
    return limits_for_account(settings, service_url)


@dataclass(frozen=True)
class ReplyLength:
    """A reply's length as its channel counts it (``added``: what it puts in front, which
    counts as ``added_counted``), the limit the send guard checks it against, how the
    network counts (``counting``) and where the limit comes from (``source``)."""

    network: str
    length: int
    limit: int
    added: str
    added_counted: str = ""
    counting: str = ""
    source: str = ""

    @property
    def too_long(self) -> bool:
        return self.length > self.limit


def reply_length(
    network: str, body: str, parent_author_handle: str | None, limits: Limits | None = None
) -> ReplyLength | None:
    """``body`` measured as :meth:`ReplyChannel.deliver` will measure it (against the
    sending server's ``limits`` where the server sets them), so a reply refused for its
    length is refused when queued; ``None`` where replies are not built."""
    channel = CHANNELS.get(network)
    if channel is None:
        return None
    if not channel.server_sets_limits:
        limits = None
    per_url = limits.url_chars if limits is not None else URL_CHARS
    text = channel.posted_text(body, parent_author_handle)
    added = text[: len(text) - len(body)]
    return ReplyLength(
        network,
        channel.length(text, per_url),
        limits.max_chars if limits is not None else channel.max_chars,
        added,
        channel.countable(added, per_url),
        channel.counting.format(url_chars=per_url),
        limits.source if limits is not None else "",
    )


async def send_reply(
    engine: Engine, settings: Settings, reply_id: int, *, now: datetime | None = None
) -> OutboundReply:
    """Try to send one queued reply; returns it in its new state.

    The claim commits before any HTTP and the outcome commits after, so no transaction is
    open while the network answers. A reply already sent, or claimed by another sender, is
    returned untouched.
    """
    with transaction(engine) as session:
        job = actions.claim_reply(session, settings, reply_id, now)
        if job is None:
            current = session.get(OutboundReply, reply_id)
            if current is None:
                raise actions.InboxError(f"no reply {reply_id}")
            return current
    channel = CHANNELS.get(job.network)
    if channel is None:
        outcome = Outcome("failed", "refused", detail=f"replies on {job.network} are not built")
    else:
        async with SafeHTTP(settings) as http:
            outcome = await channel(http).deliver(job)
    with transaction(engine) as session:
        return actions.finish_reply(session, reply_id, job.attempt, outcome, now)


MAX_AUTOMATIC_ATTEMPTS = 8


@dataclass
class SendResult:
    tried: int = 0
    sent: int = 0
    states: dict[int, str] = field(default_factory=dict)


async def send_due_replies(
    engine: Engine,
    settings: Settings,
    workspace_id: int,
    *,
    now: datetime | None = None,
    limit: int = 20,
) -> SendResult:
    """Try every reply that is due (see :func:`queries.due_reply_ids`), one at a time.

    The worker runs this each tick, so a reply queued in the web app reaches the network
    without anyone running a command. Each try is a :func:`send_reply`: claimed before any
    HTTP, the network asked before a retry, so it is posted once whoever sends it.
    """
    when = now or utcnow()
    with Session(engine) as session:
        due = queries.due_reply_ids(
            session,
            workspace_id,
            when,
            lease=actions.SENDING_LEASE,
            max_attempts=MAX_AUTOMATIC_ATTEMPTS,
            limit=limit,
        )
    result = SendResult()
    for reply_id in due:
        reply = await send_reply(engine, settings, reply_id, now=when)
        result.tried += 1
        result.sent += reply.state == "sent"
        result.states[reply_id] = reply.state
    return result


def send_reply_now(
    engine: Engine, settings: Settings, reply_id: int, *, now: datetime | None = None
) -> OutboundReply:
    """:func:`send_reply` for synchronous callers (the command line)."""
    return asyncio.run(send_reply(engine, settings, reply_id, now=now))
