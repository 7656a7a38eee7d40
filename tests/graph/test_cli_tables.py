"""``hubbub graph influencers|communities|cascades`` tables at 80 columns and wide, and the
workspace's own accounts marked among a community's members (as on the Communities page)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from hubbub.core.items import AuthorRef, Item, PostItem
from tests.graph.posts import store
from tests.support.cli import Invoke, hubbub_cli
from tests.support.factories import example_post
from tests.support.terminal import at_columns, fits

pytestmark = pytest.mark.db


BRAND = AuthorRef(
    native_id="did:plc:rocketbrand000000000000000",
    handle="the-rocket-skates-people-of-acme-corporation.bsky.social",  # 56 characters
    followers=5000,
)
FANS = [
    AuthorRef(native_id=f"did:plc:fan{i}00000000000000000000", handle=f"fan{i}.bsky.social")
    for i in range(1, 6)
]
SUPPORT = AuthorRef(native_id="did:plc:acmesupport0000000000000", handle="acme-support.bsky.social")


@pytest.fixture
def hubbub(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    with hubbub_cli(db_url, tmp_path / "home", monkeypatch, init=False) as invoke:
        yield invoke


def _post(n: int, author: AuthorRef, text: str, **changes: Any) -> PostItem:
    """``example_post`` by an author of this module (not one of the personas)."""
    native_id = f"at://{author.native_id}/app.bsky.feed.post/{n:013d}"
    return replace(example_post(n, text=text, **changes), native_id=native_id, author=author)


def audience() -> list[Item]:
    """The brand posts; five fans reply and quote (two interactions each), the support account
    replies once: one community, the support account its least central member."""
    root = _post(0, BRAND, "Rocket skates are out #acme", hashtags=("acme",))
    items: list[Item] = [root]
    for i, fan in enumerate(FANS, start=1):
        items.append(_post(10 * i, fan, "Love them", reply_to=root.native_id))
        items.append(_post(10 * i + 1, fan, "Look at these", quote_of=root.native_id))
    items.append(_post(90, SUPPORT, "Ask us", reply_to=root.native_id))
    return items


def test_influencers_and_cascades_fit_80_columns(
    hubbub: Invoke, engine: Engine, workspace_id: int
) -> None:
    store(engine, workspace_id, audience())
    for mark in ("advocate", "partner"):
        hubbub("graph", "mark", "fan2.bsky.social", "--as", mark, "-w", "acme")
    narrow = fits(at_columns(80, "graph", "influencers", "-w", "acme"))
    assert BRAND.handle not in narrow and "the-rocket-" in narrow and "…" in narrow
    assert "fan1.bsky" in narrow and "acme-support" in narrow
    assert "left out at this width:" in narrow  # named, not squeezed in
    wide = at_columns(250, "graph", "influencers", "-w", "acme")
    assert BRAND.handle in wide and "left out" not in wide
    for header in ("reach", "followers", "engaged", "per post", "cascade", "authority"):
        assert header in wide
    assert "5000" in wide  # the brand's followers, beside its reach
    assert "[advocate], [partner]" in wide

    narrow = fits(at_columns(80, "graph", "cascades", "-w", "acme"))
    assert BRAND.handle not in narrow and "…" in narrow
    wide = at_columns(250, "graph", "cascades", "-w", "acme")
    assert BRAND.handle in wide and "breadth" in wide and "left out" not in wide


def test_communities_fit_80_columns_and_mark_own_accounts(
    hubbub: Invoke, engine: Engine, workspace_id: int
) -> None:
    store(engine, workspace_id, audience())
    plain = at_columns(250, "graph", "communities", "-w", "acme")
    assert BRAND.handle in plain and "(you)" not in plain and "your accounts" not in plain

    # A representative (fan5) and a member too peripheral to be one (support) are ours.
    for account in (FANS[4], SUPPORT):
        hubbub("inbox", "account", "bluesky", account.native_id, account.handle, "-w", "acme")
    found = json.loads(hubbub("graph", "communities", "-w", "acme", "--json").output)
    (community,) = found["communities"]
    assert community["own_accounts"] == ["fan5.bsky.social", "acme-support.bsky.social"]
    assert "acme-support.bsky.social" not in community["representative_authors"]

    wide = at_columns(250, "graph", "communities", "-w", "acme")
    assert BRAND.handle in wide and "fan5.bsky.social (you)" in wide
    assert "fan4.bsky.social (you)" not in wide
    assert "your accounts" in wide and "acme-support.bsky.social" in wide
    assert "#acme" in wide and "left out" not in wide

    narrow = fits(at_columns(80, "graph", "communities", "-w", "acme"))
    assert BRAND.handle not in narrow and "…" in narrow
    assert "your accounts" in narrow and "acme-support" in narrow
