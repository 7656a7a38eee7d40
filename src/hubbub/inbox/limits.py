"""The reply length a Mastodon server takes, read from the server itself.

Servers differ (500 is only Mastodon's default; many allow 5,000, and glitch-soc or Hometown
admins set their own), so a fixed 500 both refuses replies the server would take and lets
through ones it would refuse. The limit is ``configuration.statuses.max_characters`` of
``/api/v2/instance`` (``/api/v1/instance``, or its older ``max_toot_chars``, when v2 is missing
or silent), with ``characters_reserved_per_url`` for a link.

Values are kept per server in this process for :data:`FRESH_FOR`; a server that could not be
asked is remembered for :data:`FAILED_FOR` with Mastodon's default standing in, so a page
waits at most ``mastodon_limits_timeout_seconds`` (3 s by default) for an unreachable server,
once.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson

from hubbub.core.aio import run_sync
from hubbub.core.clock import utcnow
from hubbub.core.errors import HubbubError, TransientError, UnsafeURL
from hubbub.settings import Settings
from hubbub.sources.net import SafeHTTP

DEFAULT_MAX_CHARS = 500
DEFAULT_URL_CHARS = 23
FRESH_FOR = timedelta(hours=24)
FAILED_FOR = timedelta(minutes=5)
_MAX_BODY = 512 * 1024  # mastodon.social's v2 document is about 10 kB
_MAX_SANE = 1_000_000  # a larger "limit" is a broken document, not a limit


@dataclass(frozen=True)
class Limits:
    """A server's reply limits and where they come from (``source``, said in a refusal).

    ``answered`` is false when the server could not be asked: Mastodon's default stands in
    (``unsafe``: its address is one the settings refuse, which asking again will not change).
    """

    max_chars: int
    url_chars: int
    source: str
    answered: bool = True
    unsafe: bool = False


def default_limits(why: str, *, answered: bool = True, unsafe: bool = False) -> Limits:
    return Limits(
        DEFAULT_MAX_CHARS, DEFAULT_URL_CHARS, f"Mastodon's default: {why}", answered, unsafe
    )


def _number(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _MAX_SANE:
        return value
    return None


def _from_document(data: Any) -> tuple[int, int | None] | None:
    """(max characters, characters per link) as the instance document says them."""
    if not isinstance(data, dict):
        return None
    configuration = data.get("configuration")
    statuses = configuration.get("statuses") if isinstance(configuration, dict) else None
    statuses = statuses if isinstance(statuses, dict) else {}
    most = _number(statuses.get("max_characters")) or _number(data.get("max_toot_chars"))
    if most is None:
        return None
    per_url = statuses.get("characters_reserved_per_url")
    per_url = per_url if isinstance(per_url, int) and 0 <= per_url <= most else None
    return most, per_url


async def _get(http: SafeHTTP, url: str) -> tuple[int, Any]:
    timeout = httpx.Timeout(http.settings.mastodon_limits_timeout_seconds)
    async with http.open(url, headers={"Accept": "application/json"}, timeout=timeout) as response:
        status = response.status_code
        body = await http.read_body(response, _MAX_BODY) if status == 200 else b""
    try:
        return status, orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return status, None


async def read_limits(http: SafeHTTP, service_url: str) -> Limits:
    """Ask the server (v2, then v1); never raises: a server that cannot be asked gives
    Mastodon's default with ``answered`` false and the reason in ``source``."""
    base = service_url.rstrip("/")
    said: list[str] = []
    seconds = http.settings.mastodon_limits_timeout_seconds
    try:
        async with asyncio.timeout(seconds):
            for version in ("v2", "v1"):
                status, data = await _get(http, f"{base}/api/{version}/instance")
                if status >= 500 or status == 429:
                    raise TransientError(f"HTTP {status} from /api/{version}/instance")
                found = _from_document(data) if status == 200 else None
                if found is not None:
                    most, per_url = found
                    return Limits(
                        most,
                        DEFAULT_URL_CHARS if per_url is None else per_url,
                        f"the server's own, read from {base}/api/{version}/instance",
                    )
                said.append(
                    f"HTTP {status} from /api/{version}/instance"
                    if status != 200
                    else f"no max_characters in /api/{version}/instance"
                )
    except TimeoutError:
        return default_limits(f"{base} did not answer within {seconds:g} s", answered=False)
    except HubbubError as exc:  # unreachable, refused address, 5xx, 429, oversized body
        return default_limits(
            f"{base} could not be asked ({str(exc)[:200]})",
            answered=False,
            unsafe=isinstance(exc, UnsafeURL),
        )
    return default_limits(f"{base} does not say its own ({', '.join(said)})")


@dataclass(frozen=True)
class _Entry:
    limits: Limits
    until: datetime


_cache: dict[str, _Entry] = {}
_lock = threading.Lock()


def _cached(base: str, now: datetime, *, retry_failed: bool) -> Limits | None:
    with _lock:
        entry = _cache.get(base)
    if entry is None or entry.until <= now or (retry_failed and not entry.limits.answered):
        return None
    return entry.limits


def _keep(base: str, limits: Limits, now: datetime) -> Limits:
    """Remember what was read; a failed refresh keeps the last answer, for a short while."""
    with _lock:
        if not limits.answered:
            earlier = _cache.get(base)
            if earlier is not None and earlier.limits.answered:
                limits = earlier.limits
            _cache[base] = _Entry(limits, now + FAILED_FOR)
        else:
            _cache[base] = _Entry(limits, now + FRESH_FOR)
    return limits


async def server_limits_async(
    http: SafeHTTP, service_url: str, *, retry_failed: bool = False, now: datetime | None = None
) -> Limits:
    """:func:`read_limits` through the cache; ``retry_failed`` asks again a server that
    could not be asked lately (the sender, which is in no hurry)."""
    base = service_url.rstrip("/")
    now = now or utcnow()
    cached = _cached(base, now, retry_failed=retry_failed)
    if cached is not None:
        return cached
    return _keep(base, await read_limits(http, base), now)


def server_limits(settings: Settings, service_url: str, *, now: datetime | None = None) -> Limits:
    """:func:`server_limits_async` for synchronous callers (a page, the API, the command line);
    a cached value needs no HTTP client at all."""
    base = service_url.rstrip("/")
    cached = _cached(base, now or utcnow(), retry_failed=False)
    if cached is not None:
        return cached

    async def ask() -> Limits:
        async with SafeHTTP(settings) as http:
            return await server_limits_async(http, base, now=now)

    return run_sync(ask())


def limits_for_account(settings: Settings | None, service_url: str | None) -> Limits:
    """The limits a reply from an account on ``service_url`` is held to; without settings
    (a caller that cannot make requests) only what this process already read is used."""
    if not service_url:
        return default_limits("the account has no server yet")
    if settings is None:
        cached = _cached(service_url.rstrip("/"), utcnow(), retry_failed=False)
        return cached or default_limits("the server's own was not asked for")
    return server_limits(settings, service_url)


def forget(service_url: str | None = None) -> None:
    """Drop what was read about one server (or all): a new server at that address."""
    with _lock:
        if service_url is None:
            _cache.clear()
        else:
            _cache.pop(service_url.rstrip("/"), None)
