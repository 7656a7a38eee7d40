"""Real posts (Bluesky Jetstream captures, TweetEval tweets) through both evaluators.

Rules are drawn from the posts' own words, hashtags, handles and emoji, so many of them hit.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

from hubbub.connectors.bluesky.normalise import normalise_jetstream
from hubbub.core.errors import Rejected
from hubbub.core.items import AuthorRef, PostItem, RawEvent
from hubbub.listening.document import Document
from hubbub.listening.matcher import Matcher
from hubbub.listening.normal import tokens
from hubbub.listening.reference import matches
from tests.support.data import shared_path


def _bluesky_documents() -> list[Document]:
    docs = []
    lines = [
        line
        for name in ("expected_v1.jsonl", "golden_v1.jsonl")
        for line in shared_path("bluesky", "jetstream", name).read_bytes().splitlines()
    ]
    for line in lines:
        try:
            items = normalise_jetstream(RawEvent(line, "jetstream"))
        except Rejected:
            continue
        docs += [Document.from_post(i, network="bluesky") for i in items if isinstance(i, PostItem)]
    return docs


def _tweet_documents(limit: int) -> list[Document]:
    path = shared_path("sentiment", "tweeteval_val", "val_text.txt")
    at = datetime(2017, 1, 1, tzinfo=UTC)
    return [
        Document.from_post(
            PostItem(str(n), AuthorRef(str(n), handle=f"user{n % 7}"), at, text=line),
            network="twitter",
        )
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()[:limit])
    ]


def _rules(docs: list[Document], count: int, seed: int) -> dict[int, str]:
    rng = random.Random(seed)
    words = sorted({w for d in docs for w in tokens(d.text) if '"' not in w})
    tags = sorted({h for d in docs for h in d.hashtags if h.isalnum()}) or ["none"]
    handles = sorted({m for d in docs for m in d.mentions if m.replace(".", "").isalnum()})

    def atom() -> str:
        roll = rng.random()
        if roll < 0.5:
            return rng.choice(words)
        if roll < 0.6:
            return rng.choice(words)[:3] + "*"
        if roll < 0.75:
            return f'"{rng.choice(words)} {rng.choice(words)}"'
        if roll < 0.85:
            return "#" + rng.choice(tags)
        if roll < 0.9 and handles:
            return "@" + rng.choice(handles)
        return rng.choice(["lang:en", "is:reply", "has:link", "source:bluesky", "author:user3"])

    shapes: list[Callable[[], str]] = [
        atom,
        lambda: f"{atom()} OR {atom()}",
        lambda: f"({atom()} OR {atom()}) {atom()}",
        lambda: f"{atom()} NOT {atom()}",
        lambda: f"{rng.choice(words)} NEAR/{rng.randint(0, 5)} {rng.choice(words)}",
    ]
    return {i: rng.choice(shapes)() for i in range(count)}


def _agree(docs: list[Document], rules: dict[int, str]) -> int:
    matcher: Matcher[int] = Matcher(rules)
    matched = 0
    for doc in docs:
        expected = sorted(i for i, rule in rules.items() if matches(rule, doc))
        assert sorted(matcher.match(doc)) == expected, doc.text
        matched += len(expected)
    return matched


def test_real_bluesky_posts() -> None:
    docs = _bluesky_documents()
    assert len(docs) >= 15
    assert _agree(docs, _rules(docs, 300, seed=1)) > 20


def test_real_tweets() -> None:
    docs = _tweet_documents(300)
    assert any(d.hashtags for d in docs) and any(d.mentions for d in docs)
    assert _agree(docs, _rules(docs, 120, seed=2)) > 100
