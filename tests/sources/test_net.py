"""SafeHTTP against a real local server: SSRF refusal, bounded bodies, rate limits."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
from pathlib import Path

import pytest

from hubbub.core.errors import RateLimited, Rejected, TransientError, UnsafeURL
from hubbub.settings import Settings
from hubbub.sources.net import SafeHTTP, check_url, is_public_address, refuse_private_literal
from tests.support.http import Reply, serve


def _get(settings: Settings, url: str, limit: int | None = None):  # type: ignore[no-untyped-def]
    async def run():  # type: ignore[no-untyped-def]
        async with SafeHTTP(settings) as http:
            return await http.get(url, limit=limit)

    return asyncio.run(run())


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "224.0.0.1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


def test_public_address() -> None:
    assert is_public_address(ipaddress.ip_address("151.101.1.69"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8080/x",
        "http://[::1]/",
        "http://169.254.169.254/latest",
        "http://2130706433/",
        "file:///etc/passwd",
        "gopher://example.com/",
    ],
)
def test_unsafe_urls_are_refused_by_default(url: str) -> None:
    with pytest.raises((UnsafeURL, TransientError)):
        asyncio.run(check_url(url, Settings()))


def test_loopback_server_refused_by_default_allowed_when_listed() -> None:
    with serve({"/feed": Reply(body=b"hello")}) as server:
        with pytest.raises(UnsafeURL):
            _get(Settings(), server.base + "/feed")
        assert not server.requests  # refused before any byte was sent
        allowed = Settings(allowed_private_hosts=["127.0.0.1"])
        assert _get(allowed, server.base + "/feed").content == b"hello"


def test_redirect_to_a_private_address_is_refused() -> None:
    with (
        serve(
            {"/go": Reply(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})}
        ) as s,
        pytest.raises(UnsafeURL),
    ):
        _get(Settings(allowed_private_hosts=["127.0.0.1"]), s.base + "/go")


def test_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)  # ~50 KB on the wire, 50 MB unpacked
    with serve({"/bomb": Reply(body=bomb, headers={"Content-Encoding": "gzip"})}) as s:
        with pytest.raises(Rejected) as caught:
            _get(Settings(allowed_private_hosts=["127.0.0.1"]), s.base + "/bomb", limit=1_000_000)
    assert caught.value.code == "too_large"


def test_oversize_body_is_refused() -> None:
    with serve({"/big": Reply(body=b"x" * 3_000_000)}) as s:
        with pytest.raises(Rejected, match="too_large"):
            _get(Settings(allowed_private_hosts=["127.0.0.1"]), s.base + "/big")


def test_gzip_body_within_limit_is_decoded() -> None:
    with serve(
        {"/ok": Reply(body=gzip.compress(b"fine" * 100), headers={"Content-Encoding": "gzip"})}
    ) as s:
        assert (
            _get(Settings(allowed_private_hosts=["127.0.0.1"]), s.base + "/ok").content
            == b"fine" * 100
        )


def test_429_and_5xx_become_retryable_errors() -> None:
    routes = {"/slow-down": Reply(429, headers={"Retry-After": "7"}), "/broken": Reply(502)}
    allowed = Settings(allowed_private_hosts=["127.0.0.1"])
    with serve(routes) as s:
        with pytest.raises(RateLimited) as caught:
            _get(allowed, s.base + "/slow-down")
        assert caught.value.retry_after == 7
        with pytest.raises(TransientError):
            _get(allowed, s.base + "/broken")


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.1", "0x7f.0.0.1", "2130706433", "0177.0.0.1", "10.1", "[::1]", "0.0.0.0"],
)
def test_private_literals_are_refused_in_every_form_the_resolver_takes(
    host: str, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(UnsafeURL, match="non-public address"):
        refuse_private_literal(f"http://{host}/feed", settings)


@pytest.mark.parametrize("host", ["example.com", "93.184.215.14", "1.1.1.1", "feeds.example"])
def test_public_hosts_and_names_pass_the_literal_check(host: str, tmp_path: Path) -> None:
    refuse_private_literal(f"https://{host}/feed", Settings(home=tmp_path))
