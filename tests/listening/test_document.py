"""Building the matcher's input from a normalised post."""

from __future__ import annotations

from datetime import UTC, datetime

from hubbub.core.items import AuthorRef, PostItem
from hubbub.listening.document import Document, link_domain

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_from_post_collects_what_rules_can_name() -> None:
    item = PostItem(
        native_id="1",
        author=AuthorRef("did:plc:x", handle="alice.bsky.social", followers=10),
        created_at=AT,
        text="Loving #AcmeLaunch with @bob@mastodon.social and @carol. https://www.acme.com/x",
        title="Launch",
        langs=("en",),
        reply_to="0",
        hashtags=("acmelaunch", "Extra"),
        mentions=("did:plc:bob", "dave"),
        links=("https://shop.globex.net/p?q=1",),
        network="bluesky",
    )
    doc = Document.from_post(item)
    assert doc.title == "Launch" and doc.langs == ("en",) and doc.network == "bluesky"
    assert doc.author_handle == "alice.bsky.social" and doc.author_followers == 10
    assert doc.hashtags == ("acmelaunch", "Extra", "AcmeLaunch")
    assert doc.mentions == ("dave", "bob@mastodon.social", "carol")
    assert doc.link_domains == ("shop.globex.net", "acme.com")
    assert doc.is_reply and not doc.is_repost


def test_from_post_overrides() -> None:
    item = PostItem(
        native_id="2",
        author=AuthorRef("a"),
        created_at=AT,
        text="plain",
        kind="reshare",
    )
    doc = Document.from_post(item, followers=99, network="mastodon")
    assert doc.author_followers == 99 and doc.network == "mastodon" and doc.is_repost
    assert doc.hashtags == () and doc.mentions == () and doc.link_domains == ()


def test_email_and_anchor_signs_are_not_mentions_or_hashtags() -> None:
    item = PostItem(
        native_id="3",
        author=AuthorRef("a"),
        created_at=AT,
        text="write to me@example.com, see page.html#top or C# & F#",
    )
    doc = Document.from_post(item)
    assert doc.mentions == ()
    assert doc.hashtags == ()


def test_link_domain() -> None:
    assert link_domain("https://WWW.Example.COM:8443/a") == "example.com"
    assert link_domain("example.org/path") == "example.org"
    assert link_domain("http://[::1") is None
    assert link_domain("") is None
