"""Term extraction on real-looking posts: mentions, handles and links are not split into terms
(Bluesky and Mastodon handles gave ``bsky``, ``social`` and server names as top terms)."""

from __future__ import annotations

import pytest

from hubbub.enrich.terms import terms_of
from hubbub.graph.communities import terms_of as community_terms

CASES = [
    # Mastodon mentions have two parts: user and server.
    ("Thanks @user@server.social for the tip!", {"thanks", "tip"}),
    ("love it (@bob@mastodon.social)", {"love"}),
    ("hey @ana@hachyderm.io #Acme rocks", {"hey", "#acme", "rocks"}),
    ("merci @équipe@café.social, ça roule", {"merci", "roule"}),
    # Bluesky handles, with or without the @, and profile links without a scheme.
    ("cc @alice.bsky.social great launch", {"great", "launch"}),
    ("RT @alice.bsky.social: rocket skates", {"rocket", "skates"}),
    ("follow alice.bsky.social and bsky.app/profile/bob.bsky.social", {"follow"}),
    ("at://did:plc:abc123/app.bsky.feed.post/3kxyz quoted", {"quoted"}),
    # Links, e-mail addresses and bare host names.
    ("Read https://blog.example.com/launch?utm=x now", {"read"}),
    ("See WWW.Acme.io/skates and acme.com/launch", {"see"}),
    ("Write to support@acme.com please", {"write", "please"}),
    ("I moved to mastodon.social from fosstodon.org", {"moved"}),
    # Ordinary words stay words; hashtags stay terms.
    ("Rocket skates!!! #acme #BlackFriday", {"rocket", "skates", "#acme", "#blackfriday"}),
    ("The end.Then the wheels broke", {"end", "wheels", "broke"}),
    ("Mr.Smith loves skates", {"smith", "loves", "skates"}),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_terms_leave_mentions_handles_and_links_whole(text: str, expected: set[str]) -> None:
    assert terms_of(text) == expected


def test_handle_fragments_never_come_out() -> None:
    fragments = {"bsky", "social", "alice", "bob", "user", "server", "mastodon", "hachyderm"}
    for text, _ in CASES:
        assert not terms_of(text) & fragments, text


def test_community_labels_read_words_the_same_way() -> None:
    assert community_terms("Thanks @user@server.social, rocket skates #acme") == [
        "thanks",
        "rocket",
        "skates",
    ]
    assert community_terms("follow alice.bsky.social at acme.com/launch") == ["follow"]
