"""Following a short link's redirects: HEAD first (GET, body unread, when a server refuses
HEAD), at most ``MAX_HOPS`` hops, each one checked by the SSRF guard of ``SafeHTTP``, and
every host spaced out by a :class:`HostPacer` so no shortener sees a burst from us."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from hubbub.core.errors import RateLimited, Rejected, TransientError, UnsafeURL
from hubbub.sources.net import SafeHTTP, raise_for_retry

MAX_HOPS = 5
#: Seconds between two requests to one host.
HOST_INTERVAL = 0.5
#: A host that asked us to wait longer than this is not waited for: its links are retried later.
MAX_WAIT = 5.0


@dataclass(frozen=True, slots=True)
class Resolved:
    """How following one short link ended.

    ``status`` is ``resolved``, ``refused``, ``failed`` (for good) or ``retry`` (a timeout, a
    5xx, a 429: try again after ``retry_after`` seconds when given).
    """

    status: str
    final_url: str | None = None
    http_status: int | None = None
    hops: int = 0
    error: str | None = None
    retry_after: float | None = None


@dataclass
class HostPacer:
    """Spaces requests to each host by ``interval`` seconds; a 429 pushes the host back.

    Plain floats on the monotonic clock, so one pacer serves every event loop of a process
    (the worker runs each tick in a loop of its own).
    """

    interval: float = HOST_INTERVAL
    _next: dict[str, float] = field(default_factory=dict)

    def delay(self, host: str) -> float:
        """Seconds until ``host`` may be asked again."""
        return max(0.0, self._next.get(host, 0.0) - time.monotonic())

    async def wait(self, host: str) -> None:
        """Take ``host``'s next turn. The turn is taken when the caller leaves, not reserved
        when it starts waiting: a sleep that overran (a busy machine) must not let the next
        caller follow it closer than ``interval``."""
        while True:
            now = time.monotonic()
            turn = self._next.get(host, 0.0)
            if turn <= now:
                self._next[host] = now + self.interval
                return
            await asyncio.sleep(turn - now)

    def back_off(self, host: str, seconds: float) -> None:
        self._next[host] = max(self._next.get(host, 0.0), time.monotonic() + seconds)


async def _hop(
    http: SafeHTTP, url: str, pacer: HostPacer, timeout: httpx.Timeout | None
) -> tuple[int, str | None]:
    """One request to ``url``: its status and, for a redirect, where it points."""
    host = urlsplit(url).hostname or ""
    for method in ("HEAD", "GET"):
        await pacer.wait(host)
        async with http.open(
            url, method=method, timeout=timeout, follow_redirects=False
        ) as response:
            status = response.status_code
            if response.is_redirect:
                return status, response.headers["location"]
            # Some servers refuse or mishandle HEAD; GET then, closed before any body is read.
            if method == "HEAD" and status >= 400 and status != 429:
                continue
            try:
                raise_for_retry(response)
            except RateLimited as exc:
                pacer.back_off(host, exc.retry_after)
                raise
            return status, None
    raise AssertionError("unreachable: GET always returns")


async def resolve_link(
    http: SafeHTTP,
    url: str,
    *,
    pacer: HostPacer | None = None,
    max_hops: int = MAX_HOPS,
    timeout: float | None = None,
) -> Resolved:
    """Follow ``url``'s redirects to the page they end at; never raises for the link's sake."""
    pacer = pacer or HostPacer()
    per_request = httpx.Timeout(timeout) if timeout is not None else None
    current = url
    seen = {url}
    for hop in range(max_hops + 1):
        host = urlsplit(current).hostname or ""
        waiting = pacer.delay(host)
        if waiting > MAX_WAIT:
            return Resolved(
                "retry", hops=hop, error=f"{host} asked us to wait", retry_after=waiting
            )
        try:
            status, location = await _hop(http, current, pacer, per_request)
        except UnsafeURL as exc:
            return Resolved("refused", hops=hop, error=str(exc))
        except RateLimited as exc:
            return Resolved("retry", hops=hop, error=str(exc), retry_after=exc.retry_after)
        except (TransientError, Rejected) as exc:
            return Resolved("retry", hops=hop, error=str(exc))
        if location is None:
            return Resolved("resolved", final_url=current, http_status=status, hops=hop)
        following = urljoin(current, location.strip())
        if following in seen:
            return Resolved("failed", hops=hop + 1, error=f"redirect loop at {following[:300]}")
        seen.add(following)
        current = following
    return Resolved("failed", hops=max_hops + 1, error=f"more than {max_hops} redirects")
