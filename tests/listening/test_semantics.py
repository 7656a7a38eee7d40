"""What rules mean: every operator and field, boundaries, case, accents, emoji and CJK.

Each case runs through both the reference evaluator and the compiled matcher.
"""

from __future__ import annotations

import pytest

from hubbub.listening.document import Document
from tests.listening.support import verdict


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        ("acme", "I love ACME!", True),
        ("acme", "welcome to acmeville", False),
        ("acme", "megaacme", False),
        ("acme*", "welcome to acmeville", True),
        ("acme*", "megaacme", False),
        ("acme", "acme's new phone", True),
        ("acme", "#acme rocks", True),  # a hashtag in the text is also the word
        ("acme", "visit acme.com", True),
        ("café", "CAFE au lait", True),
        ("cafe", "Café au lait", True),
        ("Ærø", "ærø", True),
        ("straße", "STRASSE", True),
        ('"acme corp"', "Acme, Corp. announced", True),
        ('"acme corp"', "acme big corp", False),
        ('"corp acme"', "acme corp", False),
        ("e-mail", "send an e-mail", True),
        ("e-mail", "send an e mail", True),
        ("email", "send an e-mail", False),
        ("a AND b", "b then a", True),
        ("a b", "only a", False),
        ("a OR b", "only b", True),
        ("NOT a", "only b", True),
        ("NOT a", "only a", False),
        ("acme NOT spam", "acme deals", True),
        ("acme NOT spam", "acme spam", False),
        ("(acme OR globex) AND (bad OR awful)", "globex is awful", True),
        ("(acme OR globex) AND (bad OR awful)", "globex is great", False),
    ],
)
def test_terms_and_booleans(rule: str, text: str, expected: bool) -> None:
    assert verdict(rule, text) is expected


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        ("acme NEAR/0 phone", "acme phone", True),
        ("acme NEAR/0 phone", "phone acme", True),
        ("acme NEAR/0 phone", "acme new phone", False),
        ("acme NEAR/1 phone", "acme new phone", True),
        ("acme NEAR/2 phone", "acme is a phone", True),
        ("acme NEAR/1 phone", "acme is a phone", False),
        ("acme NEAR/3 phone", "phone, said the man: acme", True),
        ("acme NEAR/1 acme", "acme", False),  # one occurrence is not near itself
        ("acme NEAR/1 acme", "acme and acme", True),
        ('"acme corp" NEAR/1 broken', "my acme corp phone is broken", False),
        ('"acme corp" NEAR/2 broken', "my acme corp phone is broken", True),
        ("(acme OR globex) NEAR/1 (bad OR awful)", "globex really awful", True),
        ("acm* NEAR/0 phone*", "acmes phones", True),
    ],
)
def test_near(rule: str, text: str, expected: bool) -> None:
    assert verdict(rule, text) is expected


def test_near_does_not_span_title_and_text() -> None:
    doc = Document(title="about acme", text="phone broken")
    assert verdict("acme NEAR/5 phone", doc) is False
    assert verdict("acme phone", doc) is True
    assert verdict('"acme phone"', doc) is False
    assert verdict("about NEAR/1 acme", doc) is True


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        ("🔥", "this is 🔥🔥", True),
        ("🔥", "this is 🔥", True),
        ("👍", "great 👍🏽", True),  # a skin tone is a modifier word of its own
        ("❤️", "love ❤ it", True),  # with or without the variation selector
        ("❤", "love ❤️ it", True),
        ('"🇫🇷"', "allez 🇫🇷!", True),
        ("acme 🔥", "acme🔥", True),
        ("東京", "東京タワーに行った", True),  # CJK: substring
        ("京タ", "東京タワーに行った", True),
        ("大阪", "東京タワーに行った", False),
        ("タワー", "ﾀﾜｰ", True),  # half-width katakana fold to full width
        ("が", "か", False),  # dakuten is part of the letter, not an accent
        ("acme", "acme製品が好き", True),
        ("ยินดี", "ขอบคุณยินดีครับ", True),  # Thai: substring
        ("삼성", "삼성 갤럭시", True),  # Korean is written with spaces: words
        ("삼성", "삼성은", False),
        ("삼성*", "삼성은", True),
        ("москва", "МОСКВА слезам не верит", True),
        ("ελλάδα", "ΕΛΛΑΔΑ", True),
        ("नमस्ते", "नमस्ते दुनिया", True),
        ("مرحبا", "مرحبا بالعالم", True),
    ],
)
def test_scripts_and_emoji(rule: str, text: str, expected: bool) -> None:
    assert verdict(rule, text) is expected


POST = Document(
    text="hello",
    langs=("en-US",),
    network="bluesky",
    author_handle="Alice.bsky.social",
    author_followers=1200,
    hashtags=("AcmeLaunch",),
    mentions=("bob@mastodon.social", "carol.bsky.social"),
    link_domains=("shop.acme.com",),
    is_reply=True,
)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("lang:en", True),
        ("lang:en-us", True),
        ("lang:en-gb", False),
        ("lang:e", False),
        ("source:bluesky", True),
        ("source:mastodon", False),
        ("author:alice.bsky.social", True),
        ("author:@Alice.bsky.social", True),
        ("author:alice", False),
        ("domain:acme.com", True),
        ("domain:shop.acme.com", True),
        ("domain:cme.com", False),
        ("domain:www.acme.com", True),
        ("#acmelaunch", True),
        ("#acme", False),
        ("@bob", True),
        ("@bob@mastodon.social", True),
        ("@bob@other.social", False),
        ("@carol.bsky.social", True),
        ("@carol", False),
        ("is:reply", True),
        ("is:repost", False),
        ("has:link", True),
        ("min_followers:1200", True),
        ("min_followers:1201", False),
        ("hello lang:en NOT is:repost", True),
    ],
)
def test_fields(rule: str, expected: bool) -> None:
    assert verdict(rule, POST) is expected


def test_unknown_followers_never_reach_a_minimum() -> None:
    assert verdict("min_followers:0", Document(text="x")) is False
    assert verdict("NOT min_followers:10", Document(text="x")) is True


def test_has_link_without_links() -> None:
    assert verdict("has:link", Document(text="no links")) is False
