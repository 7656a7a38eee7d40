"""A reply's length as each network counts it: Mastodon's StatusLengthValidator rule (a link
is 23 characters, a remote mention its ``@name`` part, graphemes) and Bluesky's graphemes."""

from __future__ import annotations

import pytest

from hubbub.inbox.outbound import URL_CHARS, BlueskyChannel, MastodonChannel, reply_length

LONG_LINK = "https://shop.acme.com/returns/" + "a" * 370 + "?utm_source=reply"


def test_a_long_link_counts_as_23_characters() -> None:
    assert len(LONG_LINK) > 400
    body = f"Start your return here: {LONG_LINK} thanks!"
    assert MastodonChannel.length(body) == len("Start your return here:  thanks!") + URL_CHARS
    size = reply_length("mastodon", body, "chen@mastodon.example")
    assert size is not None and not size.too_long
    assert size.length == len("@chen ") + MastodonChannel.length(body)


def test_a_remote_mention_counts_as_its_local_part() -> None:
    assert MastodonChannel.countable("hi @chen@mastodon.example!") == "hi @chen!"
    assert MastodonChannel.length("@dana.l@social.example.org ok") == len("@dana.l ok")
    assert MastodonChannel.length("@chen hello") == len("@chen hello")  # a local one is whole
    # Not mentions, as Mastodon reads them: an e-mail address, an @ after a slash.
    assert MastodonChannel.countable("mail a@b.com") == "mail a@b.com"
    assert MastodonChannel.countable("see x.com/@chen@b.org") == "see x.com/@chen@b.org"
    # A domain past 253 characters makes no mention (Mastodon's Extractor): counted whole.
    long_domain = "@alice@" + "b" * 250 + ".com"
    assert MastodonChannel.length(long_domain) == len(long_domain)


def test_text_just_over_500_as_mastodon_counts_it_is_refused() -> None:
    mention = "@chen@mastodon.example"
    fits = f"{mention} {LONG_LINK} " + "x" * (500 - len("@chen  ") - URL_CHARS)
    assert MastodonChannel.length(fits) == 500
    over = fits + "x"
    assert MastodonChannel.length(over) == 501
    size = reply_length("mastodon", over, "chen@mastodon.example")  # the mention is there
    assert size is not None and size.too_long and size.added == ""


def test_the_link_ends_where_mastodon_ends_it() -> None:
    counted = "x" * URL_CHARS
    # Punctuation that ends a sentence is not part of the link; balanced brackets are.
    assert MastodonChannel.countable("see https://acme.com/a.") == f"see {counted}."
    assert MastodonChannel.countable("(https://acme.com/a_(b))") == f"({counted})"
    assert MastodonChannel.countable("https://acme.com/p?a=1&b=2, ok") == f"{counted}, ok"
    assert MastodonChannel.countable("https://acme.com:8443/x") == counted
    assert MastodonChannel.countable("gemini://acme.com/x") == counted


@pytest.mark.parametrize(
    "text",
    [
        "ahttps://acme.com/" + "a" * 40,  # a letter just before: no link to Mastodon
        "https://shop.example/" + "a" * 40,  # no top-level domain Mastodon knows
        "https://shop.morning/" + "a" * 40,
        "https://127.0.0.1/" + "a" * 40,  # an address, no domain
        "https://acme.com/?" + "a" * 4100,  # longer than twitter-text's 4096
        "acme.com/" + "a" * 40,  # no scheme
    ],
)
def test_what_mastodon_takes_for_no_link_counts_whole(text: str) -> None:
    assert MastodonChannel.length(text) == len(text)


def test_mastodon_counts_graphemes() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # five code points, one grapheme
    assert MastodonChannel.length(family * 500) == 500
    size = reply_length("mastodon", family * 494, "chen@mastodon.example")
    assert size is not None and size.length == 500 and not size.too_long


def test_bluesky_counts_links_and_handles_whole() -> None:
    text = f"@chen.bsky.social {LONG_LINK}"
    assert BlueskyChannel.length(text) == len(text)
    size = reply_length("bluesky", text, "chen.bsky.social")
    assert size is not None and size.too_long and size.counting.startswith("graphemes")
