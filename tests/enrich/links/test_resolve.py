"""Following short links against a local server: chains, loops, private hops, timeouts, pacing."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest

from hubbub.enrich.links.resolve import MAX_HOPS, HostPacer, Resolved, resolve_link
from hubbub.enrich.links.shorteners import canonical_link, known_shorteners, short_key
from hubbub.settings import Settings
from hubbub.sources.net import SafeHTTP
from tests.enrich.links.server import Hop, redirect_server


def _resolve(
    settings: Settings, url: str, pacer: HostPacer | None = None, timeout: float | None = None
) -> Resolved:
    async def run() -> Resolved:
        async with SafeHTTP(settings) as http:
            return await resolve_link(http, url, pacer=pacer or HostPacer(0.0), timeout=timeout)

    return asyncio.run(run())


@pytest.fixture
def loopback(tmp_path: Path) -> Settings:
    """Settings that allow this test's server on 127.0.0.1 (and only that)."""
    return Settings(home=tmp_path, allowed_private_hosts=["127.0.0.1"])


def test_a_chain_is_followed_with_head_to_the_page_it_ends_at(loopback: Settings) -> None:
    with redirect_server(
        {
            "/s/abc": Hop(301, "/hop/1"),
            "/hop/1": Hop(302),
            "/hop/2": Hop(307, "/landing?utm=x"),
            "/landing?utm=x": Hop(200),
        }
    ) as server:
        server.routes["/hop/1"].location = server.url("/hop/2")
        found = _resolve(loopback, server.url("/s/abc"))
    assert found == Resolved("resolved", server.url("/landing?utm=x"), 200, hops=3)
    assert [m for m, _p, _t in server.requests] == ["HEAD"] * 4
    assert server.paths() == ["/s/abc", "/hop/1", "/hop/2", "/landing?utm=x"]


def test_a_server_refusing_head_is_asked_with_get(loopback: Settings) -> None:
    with redirect_server(
        {"/s/get": Hop(301, "/landing", head_status=405), "/landing": Hop(200, head_status=501)}
    ) as server:
        found = _resolve(loopback, server.url("/s/get"))
    assert found.status == "resolved" and found.final_url == server.url("/landing")
    assert [(m, p) for m, p, _t in server.requests] == [
        ("HEAD", "/s/get"),
        ("GET", "/s/get"),
        ("HEAD", "/landing"),
        ("GET", "/landing"),
    ]


def test_a_page_that_does_not_redirect_resolves_to_itself(loopback: Settings) -> None:
    with redirect_server({"/plain": Hop(200)}) as server:
        found = _resolve(loopback, server.url("/plain"))
    assert found == Resolved("resolved", server.url("/plain"), 200, hops=0)


def test_a_loop_and_too_many_hops_fail(loopback: Settings) -> None:
    chain = {f"/r/{i}": Hop(302, f"/r/{i + 1}") for i in range(MAX_HOPS + 2)}
    with redirect_server({"/a": Hop(302, "/b"), "/b": Hop(301, "/a"), **chain}) as server:
        loop = _resolve(loopback, server.url("/a"))
        long = _resolve(loopback, server.url("/r/0"))
        requested = server.paths()
    assert loop.status == "failed" and "redirect loop" in (loop.error or "")
    assert requested.count("/a") == 1 and requested.count("/b") == 1
    assert long.status == "failed" and f"more than {MAX_HOPS} redirects" in (long.error or "")
    assert f"/r/{MAX_HOPS + 1}" not in requested  # the hop past the limit is never asked


def test_a_hop_to_a_loopback_address_is_refused_unless_allowed(tmp_path: Path) -> None:
    with redirect_server({"/s/evil": Hop(302, ""), "/secret": Hop(200)}) as server:
        server.routes["/s/evil"].location = server.url("/secret")  # 127.0.0.1
        only_localhost = Settings(home=tmp_path, allowed_private_hosts=[f"localhost:{server.port}"])
        refused = _resolve(only_localhost, server.url("/s/evil", host="localhost"))
        assert refused.status == "refused" and refused.hops == 1
        assert "127.0.0.1" in (refused.error or "")
        assert "/secret" not in server.paths()  # checked before connecting

        direct = _resolve(Settings(home=tmp_path), server.url("/s/evil"))
        assert direct.status == "refused" and direct.hops == 0
        assert server.paths().count("/s/evil") == 1  # the refused first hop was never asked

        allowed = _resolve(
            Settings(home=tmp_path, allow_private_addresses=True),
            server.url("/s/evil", host="localhost"),
        )
    assert allowed.status == "resolved" and allowed.final_url == server.url("/secret")


def test_a_redirect_to_another_scheme_is_refused(loopback: Settings) -> None:
    with redirect_server({"/s/file": Hop(302, "file:///etc/passwd")}) as server:
        found = _resolve(loopback, server.url("/s/file"))
    assert found.status == "refused" and "scheme" in (found.error or "")


def test_a_slow_server_times_out_for_a_retry(loopback: Settings) -> None:
    with redirect_server({"/s/slow": Hop(301, "/landing", delay=2.0)}) as server:
        found = _resolve(loopback, server.url("/s/slow"), timeout=0.3)
    assert found.status == "retry" and "timeout" in (found.error or "")


def test_rate_limits_and_server_errors_are_retried_later(loopback: Settings) -> None:
    with redirect_server(
        {"/s/busy": Hop(429, headers={"Retry-After": "120"}), "/s/down": Hop(503)}
    ) as server:
        pacer = HostPacer(0.0)
        busy = _resolve(loopback, server.url("/s/busy"), pacer)
        down = _resolve(loopback, server.url("/s/down"))
        assert busy.status == "retry" and busy.retry_after == 120.0
        assert down.status == "retry" and "503" in (down.error or "")
        # The host asked for two minutes: nothing more is sent to it meanwhile.
        asked = len(server.requests)
        later = _resolve(loopback, server.url("/s/down"), pacer)
        assert later.status == "retry" and len(server.requests) == asked


def test_requests_to_one_host_are_spaced(loopback: Settings) -> None:
    interval = 0.5
    with redirect_server({f"/s/{i}": Hop(200) for i in range(4)}) as server:
        pacer = HostPacer(interval)

        async def run() -> list[Resolved]:
            async with SafeHTTP(loopback) as http:
                return await asyncio.gather(
                    *(resolve_link(http, server.url(f"/s/{i}"), pacer=pacer) for i in range(4))
                )

        results = asyncio.run(run())
    assert all(r.status == "resolved" for r in results)
    starts = sorted(when for _m, _p, when in server.requests)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # The server notes a request when its thread gets to it, which a loaded machine may delay
    # by a scheduling slice or two; unpaced requests would arrive together.
    assert len(gaps) == 3 and min(gaps) >= interval - 0.15, gaps


def test_a_late_turn_does_not_bring_the_next_one_closer() -> None:
    """The first caller hogs the loop past the second's turn (a busy machine); the third
    still leaves a whole interval after the second, not at its originally planned time."""
    interval = 0.2
    pacer = HostPacer(interval)
    left: list[float] = []

    async def caller(hog: float) -> None:
        await pacer.wait("bit.ly")
        left.append(time.monotonic())
        time.sleep(hog)  # blocks the event loop, as a busy process would

    async def run() -> None:
        await asyncio.gather(caller(0.3), caller(0.0), caller(0.0))

    asyncio.run(run())
    gaps = [b - a for a, b in itertools.pairwise(left)]
    assert len(gaps) == 2 and min(gaps) >= interval * 0.99, gaps


def test_short_keys_are_canonical_and_only_for_known_shorteners() -> None:
    assert short_key("HTTPS://Bit.ly/AbC#frag).") == "https://bit.ly/AbC"
    assert short_key("https://www.bit.ly/x?y=1") == "https://www.bit.ly/x?y=1"
    assert short_key("https://bit.ly/") is None  # the shortener's home page, no code
    assert short_key("https://example.com/AbC") is None
    assert short_key("ftp://bit.ly/AbC") is None
    assert short_key("https://go.acme.example/launch") is None
    known = known_shorteners([" Go.Acme.Example "])
    assert short_key("https://go.acme.example/launch", known) == "https://go.acme.example/launch"
    assert canonical_link("http://[::1]:8080/a") == "http://[::1]:8080/a"
    assert canonical_link("https://bit.ly/" + "x" * 600) is None
