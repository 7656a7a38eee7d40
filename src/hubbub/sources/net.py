"""Outgoing HTTP with the guards every connector needs: SSRF refusal, size limits, rate limits.

* URLs whose host resolves to a loopback, private, link-local or otherwise non-public address
  are refused unless the settings allow it; the check runs before connecting, on every redirect
  hop, and again on the address actually connected to.
* Bodies are read raw and decompressed here with a bounded output, so a compressed bomb stops at
  ``max_payload_bytes`` instead of filling memory.
* 429 and 503 with ``Retry-After`` become :class:`RateLimited`; other 5xx become
  :class:`TransientError`. Callers decide how long to back off.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from hubbub.core.clock import utcnow
from hubbub.core.errors import RateLimited, Rejected, TransientError, UnsafeURL
from hubbub.settings import Settings

MAX_REDIRECTS = 5
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public_address(address: IPAddress) -> bool:
    """True for globally routable unicast addresses only."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public_address(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


def host_allowed(settings: Settings, host: str, port: int | None) -> bool:
    if settings.allow_private_addresses:
        return True
    allowed = {entry.lower() for entry in settings.allowed_private_hosts}
    return host.lower() in allowed or f"{host.lower()}:{port}" in allowed


def address_literal(host: str) -> IPAddress | None:
    """The address a host written as an IP literal stands for, the legacy IPv4 forms the
    system resolver also takes included (``127.1``, ``0x7f.0.0.1``, ``2130706433``)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def refuse_private_literal(url: str, settings: Settings) -> None:
    """The check that needs no DNS, for configuration time: a loopback or private IP literal
    or a ``localhost`` name is refused at once; names are resolved (and checked) when fetched."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or host_allowed(settings, host, parts.port):
        return
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeURL(f"{host} is this machine; allow it with HUBBUB_ALLOWED_PRIVATE_HOSTS")
    literal = address_literal(host)
    if literal is None:
        return
    if not is_public_address(literal):
        raise UnsafeURL(
            f"{host} is a non-public address; allow it with HUBBUB_ALLOWED_PRIVATE_HOSTS"
        )


async def check_url(url: str, settings: Settings) -> None:
    """Refuse URLs that are not http(s) or whose host resolves to a non-public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss"):
        raise UnsafeURL(f"scheme {parts.scheme!r} is not fetched: {url[:200]}")
    host = parts.hostname
    if not host:
        raise UnsafeURL(f"no host in {url[:200]}")
    if host_allowed(settings, host, parts.port):
        return
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or 443, type=socket.SOCK_STREAM
            )
        except socket.gaierror as exc:
            raise TransientError(f"cannot resolve {host}: {exc}") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not is_public_address(address):
            raise UnsafeURL(
                f"{host} resolves to non-public address {address}; "
                "allow it with HUBBUB_ALLOWED_PRIVATE_HOSTS"
            )


def retry_after_seconds(headers: httpx.Headers, default: float = 60.0) -> float:
    """Seconds to wait from ``Retry-After`` (delta or HTTP date) or ``X-RateLimit-Reset``."""
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
            except (TypeError, ValueError):
                pass
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            from hubbub.core.clock import parse_timestamp

            return max(0.0, (parse_timestamp(reset) - utcnow()).total_seconds())
        except ValueError:
            try:
                return max(0.0, float(reset) - utcnow().timestamp())
            except ValueError:
                pass
    return default


def raise_for_retry(response: httpx.Response) -> None:
    """Turn 429/5xx into the error a connector backs off on."""
    if response.status_code == 429 or (
        response.status_code == 503 and "retry-after" in response.headers
    ):
        raise RateLimited(retry_after_seconds(response.headers), str(response.url))
    if response.status_code >= 500:
        raise TransientError(f"HTTP {response.status_code} from {response.url}")


@dataclass(slots=True)
class Fetched:
    """A complete, size-checked HTTP response."""

    status: int
    url: str
    headers: httpx.Headers
    content: bytes


class _BoundedDecoder:
    """Decompresses gzip/deflate incrementally, refusing to produce more than ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.produced = 0
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._z: Any = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj()
        else:
            raise Rejected("bad_encoding", f"unsupported Content-Encoding {encoding!r}")

    def feed(self, chunk: bytes) -> bytes:
        if self._z is None:
            out = chunk
        else:
            try:
                out = self._z.decompress(chunk, self.limit - self.produced + 1)
            except zlib.error as exc:
                raise Rejected("bad_encoding", f"corrupt compressed body: {exc}") from None
            if self._z.unconsumed_tail:
                raise Rejected("too_large", f"body decompresses past {self.limit} bytes")
        self.produced += len(out)
        if self.produced > self.limit:
            raise Rejected("too_large", f"body is larger than {self.limit} bytes")
        return out


class SafeHTTP:
    """An ``httpx.AsyncClient`` wrapped with Hubbub's guards; one per running connector."""

    def __init__(self, settings: Settings, headers: dict[str, str] | None = None) -> None:
        self.settings = settings
        base_headers = {"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"}
        base_headers.update(headers or {})
        self._client = httpx.AsyncClient(
            headers=base_headers,
            timeout=httpx.Timeout(settings.http_timeout_seconds),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> SafeHTTP:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _check_peer(self, response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        if stream is None:
            return
        peer = stream.get_extra_info("server_addr")
        if not peer:
            return
        host = response.request.url.host
        if host_allowed(self.settings, host, response.request.url.port):
            return
        if not is_public_address(ipaddress.ip_address(peer[0])):
            raise UnsafeURL(f"{host} connected to non-public address {peer[0]}")

    @asynccontextmanager
    async def open(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        timeout: httpx.Timeout | None = None,
        follow_redirects: bool = True,
    ) -> AsyncIterator[httpx.Response]:
        """Send a request (following checked redirects) and yield the streaming response.

        ``follow_redirects=False`` yields a redirect itself, for a caller that walks the hops
        (each one still checked here before connecting and on the address connected to)."""
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            await check_url(current, self.settings)
            request = self._client.build_request(
                method,
                current,
                headers=headers,
                params=params,
                json=json,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
            try:
                response = await self._client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                raise TransientError(f"timeout from {current}: {exc!r}") from None
            except httpx.TransportError as exc:
                raise TransientError(f"cannot reach {current}: {exc!r}") from None
            try:
                self._check_peer(response)
                if follow_redirects and response.is_redirect and "location" in response.headers:
                    current = urljoin(str(response.url), response.headers["location"])
                    params = None
                    continue
                yield response
                return
            finally:
                await response.aclose()
        raise TransientError(f"more than {MAX_REDIRECTS} redirects from {url}")

    async def read_body(self, response: httpx.Response, limit: int | None = None) -> bytes:
        """The decompressed body, refused past ``limit`` (default: ``max_payload_bytes``)."""
        limit = limit or self.settings.max_payload_bytes
        declared = response.headers.get("content-length")
        if (
            declared
            and declared.isdigit()
            and int(declared) > limit
            and not response.headers.get("content-encoding")
        ):
            raise Rejected("too_large", f"Content-Length {declared} is over {limit} bytes")
        decoder = _BoundedDecoder(response.headers.get("content-encoding", ""), limit)
        parts: list[bytes] = []
        try:
            async for chunk in response.aiter_raw():
                parts.append(decoder.feed(chunk))
        except httpx.TimeoutException as exc:
            raise TransientError(f"timeout reading {response.url}: {exc!r}") from None
        except httpx.TransportError as exc:
            raise TransientError(f"connection lost reading {response.url}: {exc!r}") from None
        return b"".join(parts)

    async def get(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> Fetched:
        """GET a whole body; 429/5xx raise, other statuses are returned for the caller."""
        async with self.open(url, headers=headers, params=params) as response:
            raise_for_retry(response)
            body = b"" if response.status_code == 304 else await self.read_body(response, limit)
            return Fetched(response.status_code, str(response.url), response.headers, body)
