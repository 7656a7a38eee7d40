"""Term extraction on real-looking posts: mentions, handles and links are not split into terms
(Bluesky and Mastodon handles gave ``bsky``, ``social`` and server names as top terms)."""

from __future__ import annotations

import re

import pytest

from hubbub.core.domains import is_top_level_domain
from hubbub.enrich.terms import terms_of
from hubbub.graph.communities import terms_of as community_terms
from tests.support.data import shared_path

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
    # One dot and any top-level domain as the ending, country codes and newer ones alike.
    ("Moved from mas.to to hachyderm.io, then icosahedron.website", {"moved"}),
    ("Servers: toot.cat, goblin.camp, ieji.de or write.as!", {"servers"}),
    ("Заходите на пример.рф сегодня", {"заходите", "сегодня"}),
    # Ordinary words stay words; hashtags stay terms.
    ("Rocket skates!!! #acme #BlackFriday", {"rocket", "skates", "#acme", "#blackfriday"}),
    ("The end.Then the wheels broke", {"end", "wheels", "broke"}),
    ("Mr.Smith loves skates", {"smith", "loves", "skates"}),
    # A capitalised ending (a missing space) or one that is no TLD stays words.
    ("Skates done.It works", {"skates", "done", "works"}),
    ("Great skates this.morning", {"great", "skates", "morning"}),
    ("Try skates.Tomorrow", {"try", "skates", "tomorrow"}),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_terms_leave_mentions_handles_and_links_whole(text: str, expected: set[str]) -> None:
    assert terms_of(text) == expected


def test_handle_fragments_never_come_out() -> None:
    fragments = {"bsky", "social", "alice", "bob", "user", "server", "mastodon", "hachyderm"}
    fragments |= {"mas", "icosahedron", "website", "toot", "cat", "goblin", "camp", "пример"}
    for text, _ in CASES:
        assert not terms_of(text) & fragments, text


def test_real_server_names_written_bare_give_no_terms() -> None:
    """Every Mastodon server of the recorded accounts, and every valid Bluesky handle of the
    interop list with a lower-case ending, is a host when written alone in a post."""
    mastodon = shared_path("mastodon", "recorded_responses")
    hosts = {
        acct.rsplit("@", 1)[1]
        for path in mastodon.glob("*.yaml")
        for acct in re.findall(r'"acct": *"([^"]+@[^"]+)"', path.read_text(encoding="utf-8"))
    }
    handles = shared_path("bluesky", "syntax", "handle_syntax_valid.txt")
    for line in handles.read_text(encoding="utf-8").splitlines():
        tld = line.rsplit(".", 1)[-1]
        if line and not line.startswith("#") and tld.islower() and is_top_level_domain(tld):
            hosts.add(line)
    assert {"mas.to", "hachyderm.io", "icosahedron.website", "toot.cat", "ieji.de"} <= hosts
    for host in sorted(hosts):
        assert terms_of(f"Skates on {host}, today") == {"skates"}, host


def test_community_labels_read_words_the_same_way() -> None:
    assert community_terms("Thanks @user@server.social, rocket skates #acme") == [
        "thanks",
        "rocket",
        "skates",
    ]
    assert community_terms("follow alice.bsky.social at acme.com/launch") == ["follow"]
    # The case of the ending is read before lower-casing: "Sunday.So" is not a host.
    assert community_terms("Skates on Sunday.So fast") == ["skates", "sunday", "fast"]
